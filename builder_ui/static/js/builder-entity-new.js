// The new form page: its key follows the name as it is typed (pinyin for Chinese, /build/key), until the
// builder edits the key by hand.
import { api } from "./api.js";

export function start(form) {
  const key = form.querySelector("[data-key-for]");
  const labels = [...form.querySelectorAll(key.dataset.keyFor)];
  let typed = Boolean(key.value);
  let timer = null;
  key.addEventListener("input", () => { typed = Boolean(key.value); });
  const propose = async () => {
    if (typed) return;
    const text = labels.map((l) => l.value.trim()).find(Boolean) || "";
    const r = await api("GET", `/build/key?${new URLSearchParams({ label: text, fallback: "entity" })}`);
    if (r.ok && !typed) key.value = text ? r.data.key : "";
  };
  labels.forEach((l) => l.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(propose, 200); }));
}
