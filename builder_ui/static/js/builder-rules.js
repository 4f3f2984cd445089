// The rule list: the switch turns a rule on or off at once (the stored rule, PUT with If-Match), delete asks
// first; the entity filter reloads the list. Everything through /api/v1/meta/apps/{app}/rules.
import { api, toast } from "./api.js";
import { ask, fill, problemText } from "./builder-dom.js";

const SERVER_KEYS = ["id", "version", "app", "updated_at"];

export function start(root) {
  const url = root.dataset.api;
  root.querySelector("[data-entity-filter]")?.addEventListener("change", (e) => e.target.form.submit());
  root.querySelectorAll("[data-rule]").forEach((item) => {
    const key = item.dataset.rule;
    const slot = item.querySelector("[data-error-for]");
    const box = item.querySelector("[data-enable]");
    box.addEventListener("change", async () => {
      slot.textContent = "";
      box.disabled = true;
      const got = await api("GET", `${url}/${key}`);
      let r = got;
      if (got.ok) {
        const doc = Object.fromEntries(Object.entries(got.data).filter(([k]) => !SERVER_KEYS.includes(k)));
        doc.enabled = box.checked;
        r = await api("PUT", `${url}/${key}`, doc, { "If-Match": `"${got.data.version}"` });
      }
      box.disabled = false;
      if (!r.ok) {
        box.checked = !box.checked;
        slot.textContent = problemText(r);
        return;
      }
      item.classList.toggle("is-off", !box.checked);
      toast(box.checked ? root.dataset.msgOn : root.dataset.msgOff);
    });
    item.querySelector("[data-delete]").addEventListener("click", async () => {
      if (!await ask(root, fill(root.dataset.msgConfirm, { label: item.dataset.label }), root.dataset.msgDelete, root.dataset.msgCancel)) return;
      const r = await api("DELETE", `${url}/${key}`);
      if (!r.ok) { slot.textContent = problemText(r); return; }
      item.remove();
      toast(root.dataset.msgDeleted);
    });
  });
}
