// What the builder's admin pages (roles, people) share: elements made without HTML strings, message
// templates filled in, and a problem+json answer's errors placed at their [data-error-for] slots.
import { api } from "./api.js";

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else node.setAttribute(k, v);
  }
  node.append(...children);
  return node;
}

export const fill = (template, values) => template.replace(/\{(\w+)\}/g, (m, k) => (k in values ? values[k] : m));

// One icon of the vendored sprite (the same markup as the templates' icon macro).
export function icon(name) {
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("class", "tg-icon tg-icon-sm");
  svg.setAttribute("aria-hidden", "true");
  const use = document.createElementNS("http://www.w3.org/2000/svg", "use");
  use.setAttribute("href", `/static/vendor/icons/sprite.svg#${name}`);
  svg.append(use);
  return svg;
}

export function problemText(r) {
  const errors = (r.data?.errors || []).map((e) => e.message);
  return errors.length ? errors.join("; ") : (r.data?.detail || String(r.status));
}

// Each error at the slot whose JSON path is its own or a prefix of it, in the viewer's words when its code is
// in `known`; returns what found no slot (or the problem's detail when it has no errors).
export function showErrors(scope, r, known = {}) {
  const slots = [...scope.querySelectorAll("[data-error-for]")];
  slots.forEach((s) => { s.textContent = ""; });
  const loose = [];
  for (const err of r.data?.errors || []) {
    const slot = slots.find((s) => err.path === s.dataset.errorFor || err.path.startsWith(`${s.dataset.errorFor}/`));
    const text = known[err.code] || err.message;
    if (slot) slot.textContent = text; else loose.push(text);
  }
  if (!(r.data?.errors || []).length) loose.push(known[r.data?.code] || problemText(r));
  return loose;
}

// The key proposed from a label as it is typed (GET /build/key: pinyin for Chinese, free of `taken()`), as long
// as the key field still holds the last proposal: a key the person typed is theirs and never overwritten.
// Returns a reset for a new dialog.
export function proposeKeys(keyInput, labelInputs, fallback, taken, active = () => true) {
  let proposed = "";
  let ticket = 0;
  const propose = async () => {
    if (!active() || keyInput.value !== proposed) return;
    const label = labelInputs.map((i) => i.value.trim()).find(Boolean) || "";
    const mine = ++ticket;
    const query = new URLSearchParams({ fallback, label });
    taken().forEach((k) => query.append("taken", k));
    const r = await api("GET", `/build/key?${query}`);
    if (mine !== ticket || !r.ok || !active() || keyInput.value !== proposed) return;
    proposed = label ? r.data.key : "";
    keyInput.value = proposed;
  };
  labelInputs.forEach((i) => i.addEventListener("input", propose));
  return () => { proposed = ""; ticket += 1; };
}

// "Are you sure?" as a modal dialog: resolves true for `yes`, false for `no` or Escape. Starts on `no`.
export function ask(root, message, yes, no, { dialogClass = "tg-dialog", footClass = "tg-dialog-foot" } = {}) {
  return new Promise((resolve) => {
    const ok = el("button", { type: "button", class: "btn btn-danger", "data-confirm": "yes", text: yes });
    const cancel = el("button", { type: "button", class: "btn", text: no });
    const dialog = el("dialog", { class: dialogClass, role: "alertdialog" },
      el("div", { class: "tg-dialog-body" }, el("p", { text: message })), el("div", { class: footClass }, cancel, ok));
    const close = (answer) => { dialog.close(); dialog.remove(); resolve(answer); };
    ok.addEventListener("click", () => close(true));
    cancel.addEventListener("click", () => close(false));
    dialog.addEventListener("cancel", () => close(false));
    root.append(dialog);
    dialog.showModal();
    cancel.focus();
  });
}
