// The list's tools: the filter builder (writes the engine's condition language), the column chooser,
// saving the current list as a view, bulk selection (delete, assign owner) and export of what is shown.
import { api, toast } from "./api.js";
import { startPicker } from "./picker.js";

const NO_VALUE = new Set(["is_empty", "is_not_empty", "is_today", "changed", "anniversary_today", ...["this", "last", "next"].flatMap((w) =>
  ["week", "month", "quarter", "year"].map((u) => `${w}_${u}`))]);
const SPANS = new Set(["within_last", "within_next", "older_than"]);
const LISTS = new Set(["in", "not_in", "has_any", "has_all"]);
const NUMERIC = new Set(["integer", "decimal", "currency", "percent"]);

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "text") node.textContent = v;
    else if (v !== false && v !== null && v !== undefined) node.setAttribute(k, v === true ? "" : v);
  }
  node.append(...children);
  return node;
}

function select(options, value, label) {
  const s = el("select", { class: "form-select form-select-sm", "aria-label": label });
  for (const [key, text] of options) s.append(el("option", { value: key, selected: key === value, text }));
  return s;
}

export class FilterBuilder {  // also the form designer's condition builder (builder-form.js)
  constructor(dialog, data) {
    this.dialog = dialog;
    this.msg = dialog.dataset;
    this.fields = new Map(data.fields.map((f) => [f.key, f]));
    this.ops = data.ops;
    this.units = data.units;
    this.root = this.parse(data.filter ? JSON.parse(data.filter) : null);
    this.body = dialog.querySelector("[data-filter-root]");
  }

  parse(cond) {
    if (!cond) return { mode: "all", items: [] };
    const mode = cond.any ? "any" : "all";
    const list = cond.all || cond.any || [cond];
    return { mode, items: list.map((c) => (c.all || c.any ? this.parse(c) : { ...c })) };
  }

  leaf() {
    const first = [...this.fields.values()][0];
    return { field: first.key, op: first.ops[0], value: null };
  }

  render() {
    this.body.replaceChildren(this.group(this.root, true));
  }

  group(g, top) {
    const box = el("div", { class: top ? "tg-filter-group" : "tg-filter-group nested" });
    const mode = select([["all", this.msg.msgAll], ["any", this.msg.msgAny]], g.mode, this.msg.msgMatch);
    mode.addEventListener("change", () => { g.mode = mode.value; });
    box.append(el("div", { class: "tg-filter-mode" }, el("span", { text: this.msg.msgMatch }), mode));
    g.items.forEach((item, i) => {
      const remove = el("button", { type: "button", class: "btn btn-sm btn-ghost-danger", "aria-label": this.msg.msgRemove, text: "×" });
      remove.addEventListener("click", () => { g.items.splice(i, 1); this.render(); });
      const row = item.items ? this.group(item, false) : this.row(item);
      row.append(remove);
      box.append(row);
    });
    const add = el("button", { type: "button", class: "btn btn-sm", text: `+ ${this.msg.msgAdd}` });
    add.addEventListener("click", () => { g.items.push(this.leaf()); this.render(); });
    const actions = el("div", { class: "tg-filter-actions" }, add);
    if (top) {
      const addGroup = el("button", { type: "button", class: "btn btn-sm", text: `+ ${this.msg.msgGroup}` });
      addGroup.addEventListener("click", () => { g.items.push({ mode: "any", items: [this.leaf()] }); this.render(); });
      actions.append(addGroup);
    }
    box.append(actions);
    return box;
  }

  row(leaf) {
    const row = el("div", { class: "tg-filter-row" });
    const field = this.fields.get(leaf.field) || [...this.fields.values()][0];
    const pickField = select([...this.fields.values()].map((f) => [f.key, f.label]), field.key, this.msg.msgField);
    pickField.addEventListener("change", () => {
      const f = this.fields.get(pickField.value);
      Object.assign(leaf, { field: f.key, op: f.ops[0], value: null });
      this.render();
    });
    const op = field.ops.includes(leaf.op) ? leaf.op : field.ops[0];
    leaf.op = op;
    const pickOp = select(field.ops.map((o) => [o, this.ops[o] || o]), op, this.msg.msgOp);
    pickOp.addEventListener("change", () => { leaf.op = pickOp.value; leaf.value = null; this.render(); });
    row.append(pickField, pickOp, this.value(field, leaf));
    return row;
  }

  value(field, leaf) {
    const box = el("span", { class: "tg-filter-value" });
    const label = this.msg.msgValue;
    if (NO_VALUE.has(leaf.op)) return box;
    if (SPANS.has(leaf.op)) {
      const v = leaf.value && typeof leaf.value === "object" ? leaf.value : { amount: 7, unit: "days" };
      leaf.value = v;
      const amount = el("input", { class: "form-control form-control-sm", type: "number", min: 1, max: 10000, value: v.amount, "aria-label": label });
      amount.addEventListener("input", () => { v.amount = Number(amount.value); });
      const units = field.type === "date" ? ["days", "weeks", "months"] : Object.keys(this.units);
      const unit = select(units.map((u) => [u, this.units[u]]), v.unit, label);
      unit.addEventListener("change", () => { v.unit = unit.value; });
      box.append(amount, unit);
      return box;
    }
    if (LISTS.has(leaf.op) && field.options.length) {
      const chosen = new Set(Array.isArray(leaf.value) ? leaf.value : []);
      leaf.value = [...chosen];
      for (const o of field.options) {
        const check = el("input", { type: "checkbox", class: "form-check-input", value: o.key, checked: chosen.has(o.key) });
        check.addEventListener("change", () => {
          if (check.checked) chosen.add(o.key); else chosen.delete(o.key);
          leaf.value = [...chosen];
        });
        box.append(el("label", { class: "tg-chip-input" }, check, o.label));
      }
      return box;
    }
    if (leaf.op === "between") {
      const pair = Array.isArray(leaf.value) ? leaf.value : [null, null];
      leaf.value = pair;
      [0, 1].forEach((i) => box.append(this.input(field, pair[i], (v) => { pair[i] = v; })));
      return box;
    }
    box.append(this.input(field, leaf.value, (v) => { leaf.value = LISTS.has(leaf.op) ? String(v ?? "").split(",").map((s) => s.trim()).filter(Boolean) : v; }));
    return box;
  }

  input(field, value, set) {
    const label = this.msg.msgValue;
    if (field.options.length) {
      const s = select([["", "—"], ...field.options.map((o) => [o.key, o.label])], value ?? "", label);
      s.addEventListener("change", () => set(s.value || null));
      return s;
    }
    if (field.type === "boolean") {
      const s = select([["true", this.msg.msgYes], ["false", this.msg.msgNo]], String(value ?? true), label);
      set(s.value === "true");
      s.addEventListener("change", () => set(s.value === "true"));
      return s;
    }
    if (field.type === "user") {
      const s = select([["me", this.msg.msgMe]], "me", label);
      set({ var: "user" });
      return s;
    }
    const type = { date: "date", datetime: "datetime-local" }[field.type] || (NUMERIC.has(field.type) ? "number" : "text");
    const shown = Array.isArray(value) ? value.join(", ") : (value ?? "");
    const input = el("input", { class: "form-control form-control-sm", type, value: shown, "aria-label": label, step: type === "number" ? "any" : null });
    input.addEventListener("input", () => {
      const raw = input.value.trim();
      set(raw === "" ? null : (NUMERIC.has(field.type) ? Number(raw) : (type === "datetime-local" ? new Date(raw).toISOString() : raw)));
    });
    return input;
  }

  condition() {
    const build = (g) => {
      const items = g.items.map((i) => (i.items ? build(i) : { field: i.field, op: i.op, ...(NO_VALUE.has(i.op) ? {} : { value: i.value }) }))
        .filter((i) => i && (!("all" in i || "any" in i) || (i.all || i.any).length));
      return items.length ? { [g.mode]: items } : null;
    };
    return build(this.root);
  }
}

class ListTools {
  constructor(toolbar) {
    this.toolbar = toolbar;
    this.data = JSON.parse(document.getElementById("tg-list-data").textContent);
    this.base = toolbar.dataset.base;
    this.apiBase = toolbar.dataset.api;
  }

  go(changes) {
    const url = new URL(location.href);
    url.searchParams.delete("pages");
    for (const [k, v] of Object.entries(changes)) {
      if (v === null || v === "") url.searchParams.delete(k); else url.searchParams.set(k, v);
    }
    location.assign(url.pathname + url.search);
  }

  start() {
    document.querySelectorAll("[data-open]").forEach((b) => b.addEventListener("click", () => {
      const dialog = document.getElementById(b.dataset.open);
      if (dialog.id === "tg-filter-dialog") this.filter.render();
      this.show(dialog);
    }));
    this.filter = new FilterBuilder(document.getElementById("tg-filter-dialog"), this.data);
    document.querySelector("[data-filter-apply]").addEventListener("click", () => {
      const cond = this.filter.condition();
      this.go({ filter: cond ? JSON.stringify(cond) : null });
    });
    document.querySelector("[data-filter-clear]").addEventListener("click", () => this.go({ filter: null }));
    this.startColumns();
    this.startViews();
    this.startBulk();
    if (location.hash === "#filter") {  // a link (or the guide's screenshot) straight to the builder
      if (!this.filter.root.items.length) this.filter.root.items.push(this.filter.leaf());
      this.filter.render();
      this.show(document.getElementById("tg-filter-dialog"));
    }
  }

  show(dialog) {
    dialog.showModal();
    // Start in the dialog's first input, not on its close button.
    dialog.querySelector(".tg-dialog-body select, .tg-dialog-body input:not([type=hidden])")?.focus();
  }

  startColumns() {
    const list = document.querySelector("[data-columns-root]");
    list.addEventListener("click", (e) => {
      const button = e.target.closest("[data-move]");
      if (!button) return;
      const item = button.closest("li");
      const sibling = button.dataset.move === "-1" ? item.previousElementSibling : item.nextElementSibling;
      if (!sibling) return;
      if (button.dataset.move === "-1") sibling.before(item); else sibling.after(item);
      button.focus();
    });
    // Checked columns first, in the order they are shown now.
    const order = this.data.selected_columns;
    [...list.children].sort((a, b) => rank(a) - rank(b)).forEach((li) => list.append(li));
    function rank(li) { const i = order.indexOf(li.dataset.column); return i < 0 ? 1000 : i; }
    document.querySelector("[data-columns-apply]").addEventListener("click", () => {
      const keys = [...list.querySelectorAll("input:checked")].map((i) => i.value);
      if (keys.length) this.go({ columns: keys.join(",") });
    });
  }

  startViews() {
    const form = document.querySelector("[data-view-form]");
    form.querySelector("[data-view-save]").addEventListener("click", async () => {
      const name = form.elements.name.value.trim();
      const slot = form.querySelector("[data-error-for=name]");
      slot.textContent = name ? "" : (form.elements.name.validationMessage || "*");
      if (!name) return form.elements.name.focus();
      const filters = [this.toolbar.dataset.viewFilter, this.toolbar.dataset.filter].filter(Boolean).map((f) => JSON.parse(f));
      const sort = (this.toolbar.dataset.sort || "").split(",").filter(Boolean)
        .map((s) => ({ field: s.replace(/^-/, ""), desc: s.startsWith("-") }));
      const body = {
        name, kind: "table", columns: this.toolbar.dataset.columns.split(","), sort,
        filter: filters.length > 1 ? { all: filters } : (filters[0] || null),
        shared_with: form.elements.shared_with ? (form.elements.shared_with.value || null) : null,
        is_default: form.elements.is_default ? form.elements.is_default.checked : false,
      };
      const r = await api("POST", `${this.apiBase}/views`, body);
      if (r.ok) return this.go({ view: r.data.id, filter: null, columns: null, sort: null });
      const banner = form.querySelector("[data-view-error]");
      banner.hidden = false;
      banner.textContent = (r.data?.errors || []).map((e) => `${e.path}: ${e.message}`).join("; ") || r.data?.detail || String(r.status);
    });
  }

  selected() {
    return [...document.querySelectorAll("[data-select]:checked")].map((c) => ({ id: Number(c.dataset.select), version: Number(c.dataset.version) }));
  }

  startBulk() {
    const bar = document.getElementById("tg-bulkbar");
    const refresh = () => {
      const n = this.selected().length;
      bar.hidden = n === 0;
      bar.querySelector("[data-selected-count]").textContent = `${n} ✓`;
    };
    document.addEventListener("change", (e) => {
      if (e.target.matches("[data-select-all]")) {
        document.querySelectorAll("[data-select]").forEach((c) => { c.checked = e.target.checked; });
      }
      if (e.target.matches("[data-select], [data-select-all]")) refresh();
    });
    document.addEventListener("htmx:afterSettle", refresh);
    bar.querySelector("[data-bulk=clear]").addEventListener("click", () => {
      document.querySelectorAll("[data-select], [data-select-all]").forEach((c) => { c.checked = false; });
      refresh();
    });
    bar.querySelector("[data-bulk=delete]")?.addEventListener("click", (e) => this.bulkDelete(e.currentTarget));
    const assign = document.getElementById("tg-assign-dialog");
    if (assign) {
      startPicker(assign.querySelector("[data-picker]"), assign.dataset);
      assign.querySelector("[data-assign-save]").addEventListener("click", () => this.bulkAssign(assign));
    }
    document.querySelectorAll("[data-export]").forEach((b) => b.addEventListener("click", () => this.exportShown(b.dataset.export)));
  }

  async bulkDelete(button) {
    const chosen = this.selected();
    if (!chosen.length || !confirm(button.dataset.confirm)) return;
    const failed = [];
    for (const { id, version } of chosen) {
      const r = await api("DELETE", `${this.apiBase}/${id}`, undefined, { "If-Match": `"${version}"` });
      if (!r.ok) failed.push(`#${id}: ${r.data?.detail || r.status}`);
    }
    if (failed.length) sessionStorage.setItem("tg-toast-error", failed.join("; "));
    location.reload();
  }

  async bulkAssign(dialog) {
    const owner = Number(dialog.querySelector("input[name=owner]").value);
    const slot = dialog.querySelector("[data-error-for=owner]");
    if (!owner) { slot.textContent = "*"; return; }
    const items = this.selected().map(({ id, version }) => ({ id, version, owner }));
    const r = await api("POST", `${this.apiBase}/bulk`, { op: "update", items });
    if (r.ok) return location.reload();
    slot.textContent = (r.data?.errors || []).map((e) => `${e.path}: ${e.message}`).join("; ") || r.data?.detail || String(r.status);
  }

  exportShown(format) {
    // Exactly what is shown: the view's and the page's filters (or the selected rows), the columns, the sort.
    const filters = [this.toolbar.dataset.viewFilter, this.toolbar.dataset.filter].filter(Boolean).map((f) => JSON.parse(f));
    const ids = this.selected().map((s) => s.id);
    if (ids.length) filters.push({ field: "id", op: "in", value: ids });
    const params = new URLSearchParams({ format, fields: this.toolbar.dataset.columns });
    if (filters.length) params.set("filter", JSON.stringify(filters.length > 1 ? { all: filters } : filters[0]));
    if (this.toolbar.dataset.sort) params.set("sort", this.toolbar.dataset.sort);
    location.assign(`${this.apiBase}/export?${params}`);
  }
}

export function start(toolbar) {
  new ListTools(toolbar).start();
  const error = sessionStorage.getItem("tg-toast-error");
  if (error) { sessionStorage.removeItem("tg-toast-error"); toast(error, "error"); }
}
