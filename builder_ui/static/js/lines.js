// Line items in the record form: one grid per lines section (a row of the child's inputs per line; add and
// remove), sent with the record's save as `"<section key>": [{id?, ...}]` and saved with it in one
// transaction; a 422 at /<key>/<i>/<field> lands in that row's cell and the banner names the line.
import { startPicker } from "./picker.js";

const EMPTY = (v) => v === null || v === "" || (Array.isArray(v) && v.length === 0);
const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);
const RENAMED = ["id", "for", "aria-describedby", "aria-controls"];

class LineGrid {
  constructor(root, { readField, timeZone, msg }) {
    this.root = root;
    this.key = root.dataset.linesGrid;
    this.readField = readField;
    this.timeZone = timeZone;
    this.msg = msg;
    this.body = root.querySelector("[data-rows]");
    this.template = root.querySelector("[data-new-line]");
    this.added = 0;
    this.sent = [];  // the rows in the order of the last array built: what /<key>/<i> points at
    this.initial = new Map(this.rows().filter((r) => r.dataset.lineId).map((r) => [r.dataset.lineId, this.values(r)]));
    this.unchanged = JSON.stringify(this.items());
  }

  start() {
    this.root.querySelector("[data-action=add-line]")?.addEventListener("click", () => this.add(true));
    this.body.addEventListener("click", (e) => {
      const button = e.target.closest("[data-action=remove-line]");
      if (button) this.remove(button.closest("[data-line]"));
    });
    if (this.msg.mode === "new" && !this.rows().length && "mayCreate" in this.root.dataset) this.add(false);
    return this;
  }

  rows() {
    return [...this.body.querySelectorAll("[data-line]")];
  }

  values(row) {
    const out = {};
    for (const cell of row.querySelectorAll("[data-cell][data-editable]")) {
      const v = this.readField(cell, this.timeZone);
      if (v !== undefined) out[cell.dataset.cell] = v;
    }
    return out;
  }

  // The array to send: a kept line as its id plus what changed in it, a new line as its filled cells.
  items() {
    this.sent = [];
    const out = [];
    for (const row of this.rows()) {
      const values = this.values(row);
      const id = row.dataset.lineId;
      let item;
      if (id) {
        const before = this.initial.get(id) || {};
        item = { id: Number(id), ...Object.fromEntries(Object.entries(values).filter(([k, v]) => !same(v, before[k]))) };
      } else {
        item = Object.fromEntries(Object.entries(values).filter(([, v]) => !EMPTY(v)));
        if (!Object.keys(item).length) continue;  // a row added and left blank is no line
      }
      out.push(item);
      this.sent.push(row);
    }
    return out;
  }

  changed() {
    return JSON.stringify(this.items()) !== this.unchanged;
  }

  add(focus) {
    const row = this.template.content.firstElementChild.cloneNode(true);
    const from = `l-${this.key}-new-`;
    const to = `l-${this.key}-n${this.added++}-`;
    for (const el of [row, ...row.querySelectorAll("*")]) {
      for (const name of RENAMED) {
        const v = el.getAttribute(name);
        if (v && v.includes(from)) el.setAttribute(name, v.replaceAll(from, to));
      }
    }
    this.body.append(row);
    row.querySelectorAll("[data-picker]").forEach((p) => startPicker(p, this.msg));
    const files = [...row.querySelectorAll("[data-files]")];
    if (files.length) {
      import("./attachments.js").then((m) => files.forEach((el) => { el.dataset.started = "1"; m.start(el); }));
    }
    this.renumber();
    if (focus) row.querySelector("input, select, textarea")?.focus();
  }

  remove(row) {
    const next = row.nextElementSibling || row.previousElementSibling;
    row.remove();
    this.renumber();
    (next?.querySelector("input, select, textarea") || this.root.querySelector("[data-action=add-line]"))?.focus();
    this.root.dispatchEvent(new Event("change", { bubbles: true }));
  }

  renumber() {
    const rows = this.rows();
    rows.forEach((r, i) => { r.querySelector("[data-line-no]").textContent = String(i + 1); });
    const count = this.root.closest("[data-lines]")?.querySelector("[data-line-count]");
    if (count) count.textContent = String(rows.length);
  }

  // One error under this section's key, placed at its row's cell; returns the banner's words for it.
  showError(err) {
    const [, , index, field] = (err.path || "").split("/");
    const row = index === undefined ? null : this.sent[Number(index)];
    const label = this.root.dataset.label;
    if (!row) {
      note(this.root.querySelector(`[data-error-for="${CSS.escape(this.key)}"]`), err.message);
      return `${label}: ${err.message}`;
    }
    const cell = (field && row.querySelector(`[data-cell="${CSS.escape(field)}"]`)) || row.querySelector("[data-cell]");
    const own = cell.dataset.cell === field;
    note(cell.querySelector("[data-cell-error]"), own || !field ? err.message : `${field}: ${err.message}`);
    cell.classList.add("has-error");
    cell.querySelector("input, select, textarea")?.setAttribute("aria-invalid", "true");
    const where = this.root.dataset.msgRow.replace("{section}", label).replace("{n}", String(this.rows().indexOf(row) + 1));
    return `${where} ${own ? `${cell.closest("td").dataset.label} ` : ""}${err.message}`;
  }

  firstError() {
    return this.root.querySelector(".tg-cell.has-error");
  }
}

function note(slot, text) {
  if (slot) slot.textContent = slot.textContent ? `${slot.textContent}; ${text}` : text;
}

// Every lines grid of the form, started; record-form.js asks each for its array at save and hands it its errors.
export function startGrids(form, options) {
  return [...form.querySelectorAll("[data-lines-grid]")].map((root) => new LineGrid(root, options).start());
}
