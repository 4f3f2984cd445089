// The record page's approval panel: submit the record to a process, withdraw or urge the running request.
import { api, toast } from "./api.js";
import { urge } from "./urge.js";

export function start(root) {
  root.addEventListener("click", async (event) => {
    const nudge = event.target.closest("[data-urge]");
    if (nudge) { urge(nudge, root.querySelector("[data-error-for=approval]"), root.dataset); return; }
    const button = event.target.closest("[data-submit-process], [data-withdraw]");
    if (!button) return;
    button.disabled = true;
    const url = button.dataset.submitProcess || button.dataset.withdraw;
    const r = await api("POST", url, {});
    if (r.ok) { toast(root.dataset.msgDone); window.location.reload(); return; }
    root.querySelector("[data-error-for=approval]").textContent = r.data?.detail || String(r.status);
    button.disabled = false;
  });
}
