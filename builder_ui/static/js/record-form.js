// The record form: values typed by field type, form rules evaluated live, save through the REST API with
// the version (If-Match), errors placed at their fields, conflicts shown with what the other person changed.
import { api, toast } from "./api.js";
import { startPicker } from "./picker.js";
import { applyRules } from "./form-rules.js";

const EMPTY = (v) => v === null || v === "" || (Array.isArray(v) && v.length === 0);

function tzOffsetMinutes(date, timeZone) {
  const parts = new Intl.DateTimeFormat("en-US", { timeZone, hourCycle: "h23", year: "numeric", month: "2-digit",
    day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit" }).formatToParts(date);
  const get = (t) => Number(parts.find((p) => p.type === t).value);
  const asUtc = Date.UTC(get("year"), get("month") - 1, get("day"), get("hour"), get("minute"), get("second"));
  return (asUtc - date.getTime()) / 60000;
}

// A wall time typed in the viewer's time zone (datetime-local) as an instant in UTC.
export function wallTimeToUtc(local, timeZone) {
  if (!local) return null;
  const guess = new Date(local + ":00Z");
  let instant = new Date(guess.getTime() - tzOffsetMinutes(guess, timeZone) * 60000);
  instant = new Date(guess.getTime() - tzOffsetMinutes(instant, timeZone) * 60000);
  return instant.toISOString().replace(".000Z", "Z");
}

export function readField(wrapper, timeZone) {
  const type = wrapper.dataset.type;
  if (type === "attachment") return [...wrapper.querySelectorAll("[data-file-id]")].map((li) => li.dataset.fileId);
  const named = wrapper.querySelectorAll("[name]");
  const el = named[0];
  if (!el) return undefined;
  switch (type) {
    case "boolean": return el.checked;
    case "multi_select": return [...named].filter((i) => i.checked).map((i) => i.value);
    case "relation": case "user": return el.value === "" ? null : Number(el.value);
    case "datetime": return wallTimeToUtc(el.value, timeZone);
    case "json": {
      if (el.value.trim() === "") return null;
      try { return JSON.parse(el.value); } catch { return el.value; }  // the server says what is wrong
    }
    case "integer": {
      const text = el.value.trim().replaceAll(",", "");
      if (text === "") return null;
      const n = Number(text);  // integers are JSON numbers; anything else goes as typed, for the server to explain
      return /^-?\d+$/.test(text) && Number.isSafeInteger(n) ? n : text;
    }
    case "decimal": case "currency": case "percent": {
      const text = el.value.trim().replaceAll(",", "");
      return text === "" ? null : text;  // decimals travel as text: exact, whatever their size
    }
    default: return el.value.trim() === "" ? null : el.value;
  }
}

class RecordForm {
  constructor(form) {
    this.form = form;
    this.msg = form.dataset;
    this.timeZone = document.body.dataset.timeZone || "UTC";
    this.version = form.dataset.version ? Number(form.dataset.version) : null;
    this.fields = [...form.querySelectorAll("[data-field]")];
    this.initial = this.values(true);
    this.grids = [];  // line-item grids (lines.js), loaded when the form has a lines section
  }

  start() {
    this.form.querySelectorAll("[data-picker]").forEach((p) => startPicker(p, this.msg));
    const options = { readField, timeZone: this.timeZone, msg: this.msg };
    this.gridsReady = this.form.querySelector("[data-lines-grid]")
      ? import("./lines.js").then((m) => { this.grids = m.startGrids(this.form, options); })
      : Promise.resolve();
    this.startTabs();
    this.form.addEventListener("submit", (e) => { e.preventDefault(); this.save(); });
    // Enter in a text box while an IME is composing (Chinese input) must not submit.
    this.form.addEventListener("keydown", (e) => { if (e.key === "Enter" && e.isComposing) e.preventDefault(); });
    this.form.addEventListener("input", () => this.rules());
    this.form.addEventListener("change", () => this.rules());
    this.form.querySelector("[data-action=reload]")?.addEventListener("click", () => location.reload());
    this.form.querySelector("[data-action=keep-mine]")?.addEventListener("click", () => this.save(true));
    this.form.querySelector("[data-action=delete]")?.addEventListener("click", (e) => this.remove(e.currentTarget));
    return Promise.all([this.rules(), this.gridsReady]);  // ready once the rules have shown or hidden fields
  }

  values(all = false) {
    const out = {};
    for (const w of this.fields) {
      if (!("editable" in w.dataset)) continue;
      if (!all && w.closest("[data-rule-hidden]")) continue;  // hidden by a form rule: neither required nor written
      const v = readField(w, this.timeZone);
      if (v !== undefined) out[w.dataset.field] = v;
    }
    return out;
  }

  rules() {
    return applyRules(this.form, this.values(true), { userId: Number(this.msg.userId), timeZone: this.timeZone });
  }

  changed() {
    const now = this.values();
    if (this.msg.mode === "new") return Object.fromEntries(Object.entries(now).filter(([, v]) => !EMPTY(v)));
    return Object.fromEntries(Object.entries(now).filter(([k, v]) => JSON.stringify(v) !== JSON.stringify(this.initial[k])));
  }

  clearErrors() {
    this.form.querySelectorAll("[data-error-for]").forEach((s) => { s.textContent = ""; });
    this.form.querySelectorAll(".has-error").forEach((w) => w.classList.remove("has-error"));
    this.form.querySelectorAll("[aria-invalid]").forEach((i) => i.removeAttribute("aria-invalid"));
    this.banner("[data-form-error]", null);
  }

  banner(selector, text) {
    const el = this.form.querySelector(selector);
    if (!el) return;
    el.hidden = !text;
    el.textContent = text || "";
  }

  showErrors(problem) {
    const loose = [];
    const lines = [];  // errors of line items, placed in their rows; the banner names the lines
    let first;
    for (const err of problem.errors || []) {
      const key = (err.path || "").split("/")[1];
      const grid = this.grids.find((g) => g.key === key);
      if (grid) { lines.push(grid.showError(err)); continue; }
      const slot = key && this.form.querySelector(`[data-error-for="${CSS.escape(key)}"]`);
      if (!slot) { loose.push(err.message); continue; }
      slot.textContent = slot.textContent ? `${slot.textContent}; ${err.message}` : err.message;
      const w = slot.closest("[data-field]");
      w.classList.add("has-error");
      w.querySelector("input, select, textarea")?.setAttribute("aria-invalid", "true");
    }
    first = this.fields.find((w) => w.classList.contains("has-error")) || null;  // the first in form order
    first = first || this.grids.map((g) => g.firstError()).find(Boolean) || null;
    const detail = loose.length ? loose.join("; ") : (first ? this.msg.msgError : problem.detail);
    this.banner("[data-form-error]", [detail, ...lines].join(" "));
    if (first) {
      this.revealTab(first);
      first.querySelector("input, select, textarea")?.focus();
    }
  }

  async save(keepMine = false) {
    this.clearErrors();
    const button = this.form.querySelector("[data-action=save]");
    button.disabled = true;
    try {
      const isNew = this.msg.mode === "new";
      const body = isNew ? this.changed() : (keepMine ? this.values() : this.changed());
      await this.gridsReady;
      for (const g of this.grids) if (g.changed()) body[g.key] = g.items();
      const headers = isNew ? {} : { "If-Match": `"${this.version}"` };
      const r = await api(isNew ? "POST" : "PATCH", this.msg.api, body, headers);
      if (r.ok) return this.saved(r);
      if (r.status === 409 || r.status === 412) return this.conflict();
      this.showErrors(r.data || {});
    } finally {
      button.disabled = false;
    }
  }

  saved(r) {
    const dups = r.headers.get("Tangram-Duplicates");
    const url = `${this.msg.page}/${r.data.id}` + (dups ? `?duplicates=${encodeURIComponent(dups)}` : "");
    sessionStorage.setItem("tg-toast", this.msg.msgSaved);
    location.assign(url);
  }

  async conflict() {
    const r = await api("GET", this.msg.api);
    if (!r.ok) return this.banner("[data-form-error]", r.data?.detail || String(r.status));
    const list = this.form.querySelector("[data-conflict-list]");
    list.replaceChildren();
    for (const w of this.fields) {
      const key = w.dataset.field;
      if (!("editable" in w.dataset) || JSON.stringify(r.data[key]) === JSON.stringify(this.initial[key])) continue;
      const li = document.createElement("li");
      const label = w.querySelector("label, .tg-label")?.textContent.replace("*", "").trim() || key;
      li.textContent = `${label}: ${this.initial[key] ?? "—"} → ${r.data[key] ?? "—"}`;
      list.append(li);
    }
    this.version = r.data.version;  // "keep mine" saves over their version, knowingly
    this.form.querySelector("[data-conflict]").hidden = false;
  }

  async remove(button) {
    if (!confirm(button.dataset.confirm)) return;
    const r = await api("DELETE", this.msg.api, undefined, { "If-Match": `"${this.version}"` });
    if (r.ok) location.assign(this.msg.page);
    else toast(r.data?.detail || String(r.status), "error");
  }

  startTabs() {
    const tabs = [...this.form.querySelectorAll("[role=tab]")];
    const select = (tab) => {
      for (const t of tabs) {
        const on = t === tab;
        t.setAttribute("aria-selected", String(on));
        t.tabIndex = on ? 0 : -1;
        document.getElementById(t.getAttribute("aria-controls")).hidden = !on;
      }
    };
    tabs.forEach((t, i) => {
      t.addEventListener("click", () => select(t));
      t.addEventListener("keydown", (e) => {
        const step = { ArrowRight: 1, ArrowLeft: -1 }[e.key];
        if (!step) return;
        const next = tabs[(i + step + tabs.length) % tabs.length];
        select(next);
        next.focus();
      });
    });
    this.selectTab = select;
  }

  revealTab(el) {
    const panel = el.closest("[role=tabpanel]");
    if (panel && panel.hidden) this.selectTab(this.form.querySelector(`[aria-controls="${panel.id}"]`));
    const folded = el.closest("details");
    if (folded) folded.open = true;
  }
}

export function start(form) {
  const note = sessionStorage.getItem("tg-toast");
  if (note) { sessionStorage.removeItem("tg-toast"); toast(note); }
  return new RecordForm(form).start();
}
