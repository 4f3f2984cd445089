// Relation and user pickers: type-ahead inside the viewer's scope (the API answers only what they may
// read), keyboard navigation, and "create" for a relation when nothing matches.
import { api } from "./api.js";

export function startPicker(root, msg) {
  const input = root.querySelector("input[type=text]");
  const hidden = root.querySelector("input[type=hidden]");
  const list = root.querySelector("[role=listbox]");
  let items = [];
  let active = -1;
  let timer = null;

  const close = () => { list.hidden = true; input.setAttribute("aria-expanded", "false"); active = -1; };
  const choose = (item) => {
    if (item.create) return create(item.text);
    hidden.value = String(item.id);
    input.value = item.label;
    close();
    hidden.dispatchEvent(new Event("change", { bubbles: true }));
  };
  const render = () => {
    list.replaceChildren(...items.map((item, i) => {
      const li = document.createElement("li");
      li.id = `${list.id}-${i}`;
      li.setAttribute("role", "option");
      li.setAttribute("aria-selected", String(i === active));
      li.textContent = item.label;
      li.addEventListener("mousedown", (e) => { e.preventDefault(); choose(item); });
      return li;
    }));
    list.hidden = items.length === 0;
    input.setAttribute("aria-expanded", String(!list.hidden));
    if (active >= 0) input.setAttribute("aria-activedescendant", `${list.id}-${active}`);
  };
  const search = async () => {
    const text = input.value.trim();
    if (root.dataset.picker === "user") {
      const r = await api("GET", `/ui/users?q=${encodeURIComponent(text)}`);
      items = r.ok ? r.data.items : [];
    } else {
      const display = root.dataset.display || "id";
      const q = text ? `&q=${encodeURIComponent(text)}` : "";
      const r = await api("GET", `/api/v1/apps/${root.dataset.app}/${root.dataset.entity}?limit=8${q}`);
      items = r.ok ? r.data.items.map((rec) => ({ id: rec.id, label: String(rec[display] ?? `#${rec.id}`) })) : [];
      if (text && root.dataset.display && !("noCreate" in root.dataset)) items.push({ create: true, text, label: msg.msgCreate.replace("{text}", text) });
    }
    if (!items.length) items = [];
    active = -1;
    render();
  };
  const create = async (text) => {
    const r = await api("POST", `/api/v1/apps/${root.dataset.app}/${root.dataset.entity}`, { [root.dataset.display]: text });
    if (r.ok) return choose({ id: r.data.id, label: text });
    const slot = root.closest("[data-field], [data-cell]").querySelector("[data-error-for]");
    slot.textContent = r.data?.errors?.map((e) => e.message).join("; ") || r.data?.detail || String(r.status);
    close();
  };

  input.addEventListener("input", () => {
    if (input.value.trim() === "") hidden.value = "";
    clearTimeout(timer);
    timer = setTimeout(search, 200);
  });
  input.addEventListener("focus", () => { if (!items.length) search(); });
  input.addEventListener("blur", () => setTimeout(close, 100));
  input.addEventListener("keydown", (e) => {
    if (e.isComposing) return;
    if (e.key === "ArrowDown" || e.key === "ArrowUp") {
      e.preventDefault();
      if (list.hidden) return search();
      active = (active + (e.key === "ArrowDown" ? 1 : -1) + items.length) % items.length;
      render();
    } else if (e.key === "Enter" && !list.hidden && active >= 0) {
      e.preventDefault();
      choose(items[active]);
    } else if (e.key === "Escape") {
      close();
    }
  });
}
