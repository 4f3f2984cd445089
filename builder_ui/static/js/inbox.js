// The inbox's batch approve: each selected task through the task action API alone (each checked and
// recorded on its own); the ones refused stay, with their reason beside them.
import { api, toast } from "./api.js";

export function start(root) {
  const button = root.querySelector("[data-batch-approve]");
  if (!button) return;
  const boxes = () => [...root.querySelectorAll("[data-select]:checked")];
  root.addEventListener("change", () => { button.disabled = boxes().length === 0; });
  button.disabled = true;
  button.addEventListener("click", async () => {
    button.disabled = true;
    const errors = [];
    let done = 0;
    for (const box of boxes()) {
      const id = box.dataset.select;
      const r = await api("POST", `/api/v1/tasks/${id}/actions`, { action: "approve" });
      const item = root.querySelector(`[data-task="${CSS.escape(id)}"]`);
      if (r.ok) { done += 1; item.remove(); continue; }
      const reason = r.data?.errors?.map((e) => e.message).join("; ") || r.data?.detail || String(r.status);
      item.querySelector(`[data-error-for="task-${CSS.escape(id)}"]`).textContent = reason;
      errors.push(`${item.querySelector(".tg-inbox-title").textContent}: ${reason}`);
    }
    const list = root.querySelector("[data-batch-list]");
    list.replaceChildren(...errors.map((text) => { const li = document.createElement("li"); li.textContent = text; return li; }));
    root.querySelector("[data-batch-errors]").hidden = errors.length === 0;
    const count = root.querySelector("[data-count=pending]");
    if (count && /^\d+$/.test(count.textContent)) count.textContent = String(Number(count.textContent) - done);
    if (done) toast(root.dataset.msgDone.replace("{n}", String(done)));
    button.disabled = boxes().length === 0;
  });
}
