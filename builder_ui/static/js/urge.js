// Urge (催办): the submitter nudges whoever the request waits for; a 429 says when to try again
// (Retry-After, in minutes). Used by the record page's approval panel and the task page.
import { api, toast } from "./api.js";

export async function urge(button, slot, msg) {
  button.disabled = true;
  const r = await api("POST", button.dataset.urge, {});
  button.disabled = false;
  slot.textContent = "";
  if (r.ok) {
    const names = (r.data?.urged || []).map((u) => u.assignee?.name || "—").join(", ");
    toast(msg.msgUrged.replace("{names}", names));
    return true;
  }
  if (r.status === 429) {
    const minutes = Math.max(1, Math.ceil(Number(r.headers.get("Retry-After") || "60") / 60));
    slot.textContent = msg.msgUrgeLater.replace("{n}", String(minutes));
  } else slot.textContent = r.data?.detail || String(r.status);
  return false;
}
