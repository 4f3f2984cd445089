// Simulate (试运行) a process in the builder: a record (picked) or values (typed in the end user's field
// controls), a version, who submits and each approver's decision, sent to POST .../processes/{key}/simulate
// (the integrators' API, which writes nothing); the answer is drawn as a vertical timeline.
import { api } from "./api.js";
import { el, fill, showErrors } from "./builder-dom.js";
import { startPicker } from "./picker.js";
import { readField } from "./record-form.js";

const SYMBOLS = { eq: "=", ne: "≠", gt: ">", gte: "≥", lt: "<", lte: "≤" };

function textIn(label, locale, fallback) {
  if (label && typeof label === "object") return label[locale] || label.en || label["zh-CN"] || Object.values(label)[0] || fallback;
  return label || fallback;
}

class Simulator {
  constructor(root) {
    this.root = root;
    this.msg = root.dataset;
    this.labels = JSON.parse(root.dataset.labels);
    this.options = JSON.parse(root.dataset.options);
    this.percent = new Set(JSON.parse(root.dataset.percent));
    this.locale = document.body.dataset.locale || "en";
    this.timeZone = document.body.dataset.timeZone || "UTC";
    this.colon = this.locale.startsWith("zh") ? "：" : ": ";
    this.when = new Intl.DateTimeFormat(this.locale, { timeZone: this.timeZone, weekday: "short", month: "short",
      day: "numeric", hour: "2-digit", minute: "2-digit", hour12: false });
  }

  start() {
    const form = this.root.querySelector("[data-form]");
    form.querySelectorAll("[data-picker]").forEach((p) => startPicker(p, this.msg));
    form.addEventListener("change", (event) => {
      if (event.target.name === "source") this.showSource(event.target.value);
    });
    form.addEventListener("submit", (event) => { event.preventDefault(); this.run(); });
  }

  source() {
    return this.root.querySelector("input[name=source]:checked").value;
  }

  showSource(which) {
    this.root.querySelectorAll("[data-source]").forEach((part) => { part.hidden = part.dataset.source !== which; });
  }

  body() {
    const form = this.root.querySelector("[data-form]");
    const body = {};
    if (this.source() === "record") {
      const id = form.querySelector("input[name=record_id]").value;
      if (id) body.record_id = Number(id);
    } else {
      body.values = {};
      form.querySelectorAll("[data-values] .tg-field[data-field]").forEach((wrapper) => {
        const value = readField(wrapper, this.timeZone);
        if (value !== undefined && value !== null && !(Array.isArray(value) && value.length === 0)) body.values[wrapper.dataset.field] = value;
      });
    }
    const version = form.querySelector("[name=version]").value;
    if (version) body.version = Number(version);
    const submitter = form.querySelector("input[name=submitter_id]").value;
    if (submitter) body.submitter_id = Number(submitter);
    const decisions = {};
    form.querySelectorAll("[data-decision]").forEach((select) => { decisions[select.dataset.decision] = select.value; });
    body.decisions = decisions;
    return body;
  }

  async run() {
    const form = this.root.querySelector("[data-form]");
    const banner = form.querySelector("[data-form-error]");
    banner.hidden = true;
    form.querySelectorAll("[data-error-for]").forEach((s) => { s.textContent = ""; });
    const body = this.body();
    if (this.source() === "record" && !body.record_id) {
      form.querySelector("[data-error-for='/record_id']").textContent = this.msg.msgPickRecord;
      return;
    }
    const button = form.querySelector("[data-run]");
    button.disabled = true;
    const r = await api("POST", this.msg.url, body);
    button.disabled = false;
    if (!r.ok) {
      // The values' errors come at /values/<field>: the field controls' slots are named by the field key.
      form.querySelectorAll("[data-values] [data-error-for]").forEach((s) => {
        if (!s.dataset.errorFor.startsWith("/")) s.dataset.errorFor = `/values/${s.dataset.errorFor}`;
      });
      const loose = showErrors(form, r);
      banner.textContent = loose.length ? loose.join("; ") : this.msg.msgError;
      banner.hidden = false;
      return;
    }
    this.draw(r.data);
  }

  draw(result) {
    this.nodeLabels = Object.fromEntries(result.steps.map((s) => [s.node, textIn(s.label, this.locale, s.node)]));
    const box = this.root.querySelector(".tg-sim-result");
    box.querySelector("[data-placeholder]").hidden = true;
    box.querySelector("[data-written]").hidden = result.written !== false;
    box.querySelector("[data-steps]").replaceChildren(...result.steps.map((step) => this.step(step)));
    const outcome = box.querySelector("[data-outcome]");
    outcome.hidden = false;
    outcome.className = `tg-sim-outcome ${result.state === "completed" ? result.outcome || "done" : "stuck"}`;
    outcome.textContent = result.state === "completed"
      ? this.msg[`msgOutcome${(result.outcome || "done").replace(/^./, (c) => c.toUpperCase())}`] || this.msg.msgOutcomeDone
      : this.msg.msgStuck;
    box.querySelector("[data-notes]").replaceChildren(...result.notes.map((n) => el("li", { class: "tg-muted", text: this.note(n) })));
  }

  note(n) {
    // Worded in the viewer's language by its code; the engine's English message when the page does not know it.
    const key = `note${n.code.split("_").map((w) => w.replace(/^./, (c) => c.toUpperCase())).join("")}`;
    const template = this.msg[key];
    if (!template) return n.message;
    return fill(template, { ...n, node: (this.nodeLabels || {})[n.node] || n.node || "" });
  }

  step(step) {
    const m = this.msg;
    const type = m[`type${step.type.replace(/^./, (c) => c.toUpperCase())}`] || step.type;
    const li = el("li", { class: `tg-sim-step type-${step.type}${step.decision ? ` ${step.decision}` : ""}`, "data-node": step.node });
    li.append(el("span", { class: "tg-sim-dot", "aria-hidden": "true" }));
    const main = el("div", { class: "tg-sim-body" });
    const head = el("div", { class: "tg-sim-head" }, el("strong", { text: textIn(step.label, this.locale, step.node) }),
      el("span", { class: "tg-sim-type", text: type }));
    if (step.decision) head.append(el("span", { class: `tg-sim-decision ${step.decision}`, text: m[`msg${step.decision.replace(/^./, (c) => c.toUpperCase())}`] || step.decision }));
    main.append(head);
    if (["approval", "fill"].includes(step.type)) main.append(this.people(step));
    if (step.mode && step.assignees.length > 1) main.append(this.line(m.msgMode, m[`msgMode${step.mode.replace(/^./, (c) => c.toUpperCase())}`] || step.mode));
    for (const d of step.deadlines || []) {
      main.append(this.line(m[`msg${d.kind.replace(/^./, (c) => c.toUpperCase())}`] || d.kind, this.when.format(new Date(d.at))));
    }
    if (step.waits_until) main.append(el("div", { class: "tg-sim-line", text: fill(m.msgWaits, { at: this.when.format(new Date(step.waits_until)) }) }));
    if (step.branch_taken) main.append(this.branch(step.branch_taken));
    if (step.sets) main.append(this.line(m.msgSets, Object.entries(step.sets).map(([k, v]) => `${this.labels[k] || k} = ${this.value(v, k)}`).join(", ")));
    for (const note of step.notes || []) main.append(el("div", { class: "tg-sim-note tg-muted", text: this.note(note) }));
    li.append(main);
    return li;
  }

  line(label, text) {
    return el("div", { class: "tg-sim-line" }, el("span", { class: "tg-sim-key", text: `${label}${this.colon}` }), el("span", { text }));
  }

  people(step) {
    const m = this.msg;
    if (!step.assignees.length) return this.line(m.msgWho, m.msgNobody);
    const names = step.assignees.map((a) => (a.on_behalf_of
      ? `${a.name || `#${a.id}`} (${fill(m.msgOnBehalf, { name: a.on_behalf_of.name || `#${a.on_behalf_of.id}` })})`
      : a.name || `#${a.id}`));
    const line = el("div", { class: "tg-sim-line" }, el("span", { class: "tg-sim-key", text: `${m.msgWho}${this.colon}` }),
      ...names.map((n) => el("span", { class: "tg-sim-person", text: n })));
    if (!step.cc?.length) return line;
    const wrap = el("div", {}, line);
    wrap.append(this.line(m.msgCc, step.cc.map((a) => a.name || `#${a.id}`).join(", ")));
    return wrap;
  }

  value(v, field) {
    const option = field && this.options[field]?.[v];
    if (option) return option;
    if (v === null || v === undefined || v === "") return this.msg.msgEmpty;
    if (v === true) return this.msg.msgYes;
    if (v === false) return this.msg.msgNo;
    if (Array.isArray(v)) return v.map((x) => this.value(x, field)).join(", ");
    if (typeof v === "object") return v.field ? this.labels[v.field] || v.field : JSON.stringify(v);
    return this.percent.has(field) ? `${v}%` : String(v);
  }

  condition(c) {
    if (!c) return "";
    if (c.all) return c.all.map((x) => this.condition(x)).join(" ∧ ");
    if (c.any) return c.any.map((x) => `(${this.condition(x)})`).join(" ∨ ");
    if (c.not) return `¬(${this.condition(c.not)})`;
    const field = this.labels[c.field] || c.field;
    return "value" in c ? `${field} ${SYMBOLS[c.op] || c.op} ${this.value(c.value, c.field)}` : `${field} ${c.op}`;
  }

  branch(taken) {
    const m = this.msg;
    const box = el("div", { class: "tg-sim-branch" });
    for (const edge of taken.edges) {
      const to = textIn(edge.label, this.locale, "") || edge.to;
      const why = edge.default ? m.msgOtherwise : `${m.msgBecause} ${this.condition(edge.condition)}`;
      box.append(el("div", { class: "tg-sim-line" }, el("span", { class: "tg-sim-key", text: `${m.msgBranch}${this.colon}` }),
        el("strong", { text: to }), el("span", { class: "tg-muted", text: ` · ${why}` })));
    }
    const tried = taken.tried.filter((t) => "held" in t && !t.taken);
    for (const t of tried) {
      box.append(el("div", { class: "tg-sim-line tg-muted", text: `${this.condition(t.condition)} · ${t.held ? m.msgHeld : m.msgNotHeld}` }));
    }
    const values = Object.entries(taken.values || {});
    if (values.length) box.append(this.line(m.msgValues, values.map(([k, v]) => `${this.labels[k] || k} = ${this.value(v, k)}`).join(", ")));
    return box;
  }
}

export function start(root) {
  new Simulator(root).start();
}
