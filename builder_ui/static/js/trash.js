// The recycle bin: restore a record through the API, then drop its row.
import { api, toast } from "./api.js";

export function start(button) {
  button.addEventListener("click", async () => {
    button.disabled = true;
    const r = await api("POST", button.dataset.restore);
    if (r.ok) {
      toast(button.dataset.done);
      button.closest("tr").remove();
    } else {
      toast(r.data?.detail || String(r.status), "error");
      button.disabled = false;
    }
  });
}
