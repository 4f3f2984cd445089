// The builder's list of charts and dashboards: delete one after a question, through the reports API (a chart
// still shown on a dashboard is refused: the engine's reason stays in the dialog).
import { api } from "./api.js";
import { fill, problemText } from "./builder-dom.js";

export function start(root) {
  const dialog = root.querySelector("#tg-bc-delete");
  const question = dialog.querySelector("[data-delete-question]");
  const error = dialog.querySelector("[data-delete-error]");
  let item = null;
  root.addEventListener("click", (e) => {
    const button = e.target.closest("[data-delete]");
    if (!button) return;
    item = button.closest("[data-item]");
    question.textContent = fill(question.dataset.template, { name: item.dataset.label });
    error.hidden = true;
    dialog.showModal();
  });
  dialog.querySelector("[data-close]").addEventListener("click", () => dialog.close());
  dialog.querySelector("[data-delete-form]").addEventListener("submit", async (e) => {
    e.preventDefault();
    const r = await api("DELETE", `${root.dataset.meta}/${item.dataset.item}`);
    if (!r.ok) { error.textContent = problemText(r); error.hidden = false; return; }
    dialog.close();
    item.remove();
  });
}
