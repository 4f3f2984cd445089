// The rule designer: one rule's JSON edited as a sentence, 当 (trigger) → 如果 (condition) → 就 (actions), saved
// through the rules API (POST, or PUT with If-Match), tested before saving (POST rules/dry-run with the draft:
// the engine checks it as a save would, runs it on stored records and rolls back) and followed in its log.
// Only what the person touches is rewritten: a rule opened and saved unchanged is stored byte for byte as it was.
// The condition is the list's FilterBuilder; each action's form is drawn from its config JSON Schema by
// schema-form.js (as the form designer's property panel), with richer widgets for fields, people and templates.
import { api, toast } from "./api.js";
import { ask, fill, proposeKeys, showErrors } from "./builder-dom.js";
import { FilterBuilder } from "./list-tools.js";
import { startPicker } from "./picker.js";
import { el, schemaControls } from "./schema-form.js";

const SERVER_KEYS = ["id", "version", "app", "updated_at"];
const TRIGGERS = ["created", "updated", "saved", "field_changed", "deleted", "schedule", "date"];
const RECORD_TRIGGERS = new Set(["created", "updated", "saved", "field_changed"]);
const TEMPLATES = new Set(["title", "body", "subject"]);
const NUMERIC = new Set(["integer", "decimal", "currency", "percent"]);
const clone = (x) => JSON.parse(JSON.stringify(x));

class RuleDesigner {
  constructor(root) {
    this.root = root;
    this.data = JSON.parse(root.querySelector("#tg-rule-data").textContent);
    this.s = this.data.strings;
    this.api = root.dataset.api;
    const stored = this.data.rule;
    this.version = stored ? stored.version : null;
    this.key = stored ? stored.key : null;
    this.draft = stored ? Object.fromEntries(Object.entries(stored).filter(([k]) => !SERVER_KEYS.includes(k)))
      : { key: "", entity: this.data.entity, when: "after_save", trigger: { type: "created" }, actions: [] };
    this.types = new Map(this.data.actions.map((a) => [a.type, a]));
    this.entities = new Map(this.data.entities.map((e) => [e.key, e]));
    this.dirty = false;
    this.number = new Intl.NumberFormat(this.data.locale);
  }

  // -- helpers -----------------------------------------------------------------------------------------
  $(sel) { return this.root.querySelector(sel); }
  entity(key = this.draft.entity) { return this.entities.get(key) || { key, label: key, fields: [] }; }
  fields(pred = () => true, entity = this.draft.entity) { return this.entity(entity).fields.filter(pred); }
  fieldLabel(key, entity = this.draft.entity) { return (this.entity(entity).fields.find((f) => f.key === key) || { label: key }).label; }
  changed() {
    this.dirty = true;
    this.$("[data-dirty]").textContent = this.s.unsaved;
  }

  options(select, pairs, value) {
    select.replaceChildren(...pairs.map(([k, t]) => el("option", { value: k, selected: k === value, text: t })));
    return select;
  }

  row(label, control, { help = null } = {}) {
    const target = control.id ? control : control.querySelector("[id]");
    return el("div", { class: "tg-dz-prop" }, el("label", { for: target ? target.id : null, text: label }), control,
      help ? el("div", { class: "tg-help", text: help }) : null);
  }

  input(id, value, onInput, attrs = {}) {
    const node = el("input", { class: "form-control form-control-sm", id, value: value ?? "", ...attrs });
    node.addEventListener("input", () => onInput(node.value, node));
    return node;
  }

  check(id, label, value, onChange) {
    const box = el("input", { class: "form-check-input", type: "checkbox", id, checked: Boolean(value) });
    box.addEventListener("change", () => onChange(box.checked));
    return el("label", { class: "form-check m-0", for: id }, box, el("span", { class: "form-check-label", text: label }));
  }

  fieldSelect(id, value, pred, onChange, { entity = this.draft.entity, empty = false } = {}) {
    const pairs = this.fields(pred, entity).map((f) => [f.key, f.label]);
    if (value && !pairs.some(([k]) => k === value)) pairs.unshift([value, value]);
    const pick = this.options(el("select", { class: "form-select form-select-sm", id, "aria-label": this.s.field }), [...(empty || !value ? [["", this.s.pick_field]] : []), ...pairs], value || "");
    pick.addEventListener("change", () => onChange(pick.value || null));
    return pick;
  }

  // -- name and switch ---------------------------------------------------------------------------------
  startName() {
    const d = this.draft;
    const inputs = [...this.root.querySelectorAll("[data-label]")];
    for (const input of inputs) {
      const loc = input.dataset.label;
      input.value = typeof d.label === "string" ? (loc === this.data.locale ? d.label : "") : (d.label || {})[loc] || "";
      input.addEventListener("input", () => {
        const map = typeof d.label === "string" ? { [this.data.locale]: d.label } : { ...(d.label || {}) };
        if (input.value.trim()) map[loc] = input.value; else delete map[loc];
        if (Object.keys(map).length) d.label = map; else delete d.label;
        this.$("[data-title]").textContent = input.value || this.$("[data-title]").textContent;
        this.changed();
      });
    }
    const key = this.$("[data-key]");
    key.value = d.key;
    if (this.key) key.readOnly = true;
    else proposeKeys(key, inputs, "rule", () => this.data.taken, () => !this.key);
    key.addEventListener("input", () => { d.key = key.value.trim(); this.changed(); });
    // proposeKeys writes the key without an input event: read it at save time too.
    this.keyInput = key;
    const on = this.$("[data-enabled]");
    on.checked = d.enabled !== false;
    on.addEventListener("change", () => {
      if (on.checked && !("enabled" in this.stored())) delete d.enabled; else d.enabled = on.checked;
      this.changed();
    });
  }

  stored() { return this.data.rule || {}; }

  // -- 当: trigger and phase ----------------------------------------------------------------------------
  startTrigger() {
    const entity = this.$("[data-entity]");
    this.options(entity, this.data.entities.map((e) => [e.key, e.label]), this.draft.entity);
    entity.disabled = Boolean(this.key);
    entity.addEventListener("change", () => {
      this.draft.entity = entity.value;
      this.draft.condition = undefined;
      delete this.draft.condition;
      if (this.draft.trigger.fields) this.draft.trigger.fields = [];
      const picker = this.$("[data-record-picker]");
      picker.dataset.entity = entity.value;
      this.setDisplay();
      this.changed();
      this.drawTrigger(); this.drawCondition(); this.drawActions();
    });
    const pick = this.$("[data-trigger]");
    this.options(pick, TRIGGERS.map((t) => [t, this.s[t]]), this.draft.trigger.type);
    pick.addEventListener("change", () => {
      const type = pick.value;
      const dates = this.fields((f) => f.type === "date" || f.type === "datetime");
      this.draft.trigger = {
        field_changed: { type, fields: [] }, schedule: { type, cron: "0 9 * * *" },
        date: { type, field: dates[0]?.key || "", offset: { amount: 1, unit: "days" }, direction: "after" },
      }[type] || { type };
      if (!RECORD_TRIGGERS.has(type) && this.draft.when === "before_save") this.draft.when = "after_save";
      this.changed();
      this.drawTrigger(); this.drawCondition();
    });
    this.root.querySelectorAll("input[name=rd-when]").forEach((radio) => radio.addEventListener("change", () => {
      this.draft.when = radio.value;
      this.changed();
      this.drawActions();
    }));
    this.drawTrigger();
  }

  drawTrigger() {
    const t = this.draft.trigger;
    const box = this.$("[data-trigger-details]");
    box.replaceChildren();
    if (t.type === "field_changed") box.append(this.fieldChips(t));
    if (t.type === "schedule") box.append(this.cronHelper(t));
    if (t.type === "date") box.append(this.dateOffset(t));
    const record = RECORD_TRIGGERS.has(t.type);
    const when = this.draft.when || "after_save";
    this.root.querySelectorAll("input[name=rd-when]").forEach((radio) => {
      radio.checked = radio.value === when;
      radio.disabled = radio.value === "before_save" && !record;
    });
  }

  fieldChips(t) {
    const chosen = new Set(t.fields || []);
    const box = el("div", { class: "tg-rd-chips", "data-changed-fields": true });
    for (const f of this.fields((x) => !["id", "created_at", "updated_at", "created_by", "updated_by"].includes(x.key))) {
      const c = el("input", { type: "checkbox", class: "form-check-input", value: f.key, checked: chosen.has(f.key) });
      c.addEventListener("change", () => {
        if (c.checked) chosen.add(f.key); else chosen.delete(f.key);
        t.fields = (t.fields || []).filter((k) => chosen.has(k)).concat([...chosen].filter((k) => !(t.fields || []).includes(k)));
        this.changed();
      });
      box.append(el("label", { class: "tg-chip-input" }, c, f.label));
    }
    return box;
  }

  cronHelper(t) {
    // Presets write a cron; the next runs come from the server (croniter, business time zone), never from a JS parser.
    const s = this.s;
    const m = /^(\d{1,2}) (\d{1,2}) (\*|\d{1,2}) \* (\*|[0-6])$/.exec(t.cron || "");
    let preset = "raw";
    if (m && m[3] === "*" && m[4] === "*") preset = "daily";
    else if (m && m[3] === "*") preset = "weekly";
    else if (m && m[4] === "*") preset = "monthly";
    const pad = (x) => String(x).padStart(2, "0");
    const kind = this.options(el("select", { class: "form-select form-select-sm", id: "rd-cron-preset", "data-cron-preset": true, "aria-label": s.schedule }),
      ["daily", "weekly", "monthly", "raw"].map((k) => [k, s[k]]), preset);
    const time = el("input", { type: "time", class: "form-control form-control-sm", id: "rd-cron-time", "aria-label": s.at,
      value: m ? `${pad(m[2])}:${pad(m[1])}` : "09:00", "data-cron-time": true });
    const weekday = this.options(el("select", { class: "form-select form-select-sm", "aria-label": s.weekly, "data-cron-weekday": true }),
      [1, 2, 3, 4, 5, 6, 0].map((d) => [String(d), s[`day_${d}`]]), m && m[4] !== "*" ? m[4] : "1");
    const day = el("input", { type: "number", min: 1, max: 31, class: "form-control form-control-sm", "aria-label": s.monthly,
      value: m && m[3] !== "*" ? m[3] : "1", "data-cron-day": true });
    const raw = el("input", { class: "form-control form-control-sm font-monospace", id: "rd-cron", value: t.cron || "", "data-cron": true,
      "aria-label": s.raw, spellcheck: "false", maxlength: 100 });
    const runs = el("ol", { class: "tg-rd-runs", "data-cron-runs": true });
    const head = el("div", { class: "tg-muted small", "data-cron-head": true });
    const show = () => {
      weekday.hidden = kind.value !== "weekly";
      day.hidden = kind.value !== "monthly";
      time.hidden = kind.value === "raw";
      raw.hidden = kind.value !== "raw";
    };
    const write = () => {
      const [hh, mm] = (time.value || "09:00").split(":").map(Number);
      if (kind.value === "daily") t.cron = `${mm} ${hh} * * *`;
      if (kind.value === "weekly") t.cron = `${mm} ${hh} * * ${weekday.value}`;
      if (kind.value === "monthly") t.cron = `${mm} ${hh} ${Math.min(31, Math.max(1, Number(day.value) || 1))} * *`;
      if (kind.value !== "raw") raw.value = t.cron; else t.cron = raw.value.trim();
      this.changed();
      this.nextRuns(t.cron, head, runs);
    };
    kind.addEventListener("change", () => { show(); write(); });
    [time, weekday, day, raw].forEach((x) => x.addEventListener(x.tagName === "SELECT" ? "change" : "input", write));
    show();
    this.nextRuns(t.cron, head, runs);
    return el("div", {}, el("div", { class: "tg-rd-row" }, kind, weekday, day, time, raw), head, runs);
  }

  async nextRuns(cron, head, list) {
    const ticket = (this.cronTicket = (this.cronTicket || 0) + 1);
    const r = await api("GET", `${this.root.dataset.cron}?${new URLSearchParams({ cron, n: "3" })}`);
    if (ticket !== this.cronTicket) return;
    if (!r.ok || !r.data.ok) {
      head.textContent = this.s.bad_cron;
      head.classList.add("text-danger");
      list.replaceChildren();
      return;
    }
    head.classList.remove("text-danger");
    head.textContent = fill(this.s.next_runs, { tz: r.data.tz });
    list.replaceChildren(...r.data.runs.map((x) => el("li", { text: `${x.text} (${x.in})` })));
  }

  dateOffset(t) {
    const s = this.s;
    t.offset = t.offset || { amount: 1, unit: "days" };
    const amount = el("input", { type: "number", min: 1, class: "form-control form-control-sm", value: t.offset.amount, "aria-label": s.prop_amount, "data-offset-amount": true });
    amount.addEventListener("input", () => { t.offset.amount = Number(amount.value); this.changed(); });
    const unit = this.options(el("select", { class: "form-select form-select-sm", "aria-label": s.prop_unit }),
      ["minutes", "hours", "days", "weeks", "months"].map((u) => [u, s[`enum_${u}`]]), t.offset.unit);
    unit.addEventListener("change", () => { t.offset.unit = unit.value; this.changed(); });
    const dir = this.options(el("select", { class: "form-select form-select-sm", "aria-label": s.after }),
      [["before", s.before], ["after", s.after]], t.direction || "after");
    dir.addEventListener("change", () => { t.direction = dir.value; this.changed(); });
    const field = this.fieldSelect("rd-date-field", t.field, (f) => f.type === "date" || f.type === "datetime", (v) => { t.field = v; this.changed(); });
    // Read as a sentence: "最近跟进时间 之后 3 天" in Chinese, "3 days after Last activity" in English.
    const parts = this.data.locale.startsWith("zh") ? [field, dir, amount, unit] : [amount, unit, dir, field];
    return el("div", { class: "tg-rd-row", "data-date-offset": true }, ...parts);
  }

  // -- 如果: condition ------------------------------------------------------------------------------------
  conditionFields() {
    const c = this.data.conditions;
    const changes = c.change_aware.includes(this.draft.trigger.type);
    return this.fields((f) => c.by_type[f.kind]).map((f) => ({
      key: f.key, label: f.label, type: f.kind, options: f.options,
      ops: c.by_type[f.kind].filter((o) => changes || !c.changes.includes(o)),
    }));
  }

  drawCondition() {
    const box = this.$("[data-condition]");
    const cond = this.draft.condition;
    const fields = this.conditionFields();
    if (!cond) {
      const add = el("button", { type: "button", class: "btn btn-sm", "data-set-condition": true, text: `+ ${this.s.set_condition}` });
      add.disabled = !fields.length;
      add.addEventListener("click", () => {
        this.builder = this.filterBuilder(box, fields, null);
        this.builder.root.items.push(this.builder.leaf());
        this.draft.condition = this.builder.condition();
        this.changed();
        this.drawCondition();
      });
      box.replaceChildren(el("p", { class: "tg-muted mb-2", text: this.s.always }), add);
      return;
    }
    const known = new Set(fields.map((f) => f.key));
    const leaves = (c) => (c.all || c.any ? (c.all || c.any).flatMap(leaves) : (c.not ? leaves(c.not) : [c]));
    if (leaves(cond).some((c) => !known.has(c.field) || c.not || (typeof c.value === "object" && c.value !== null && ("field" in c.value || "var" in c.value)))) {
      // Beyond what the builder draws (a path through a relation, a NOT, a comparison with another field): the JSON.
      const area = el("textarea", { class: "form-control form-control-sm font-monospace", rows: 6, "data-condition-json": true, spellcheck: "false" });
      area.value = JSON.stringify(cond, null, 1);
      area.addEventListener("input", () => {
        try { this.draft.condition = JSON.parse(area.value); area.classList.remove("is-invalid"); this.changed(); } catch { area.classList.add("is-invalid"); }
      });
      box.replaceChildren(area, el("div", { class: "tg-help", text: this.s.json_hint }));
      return;
    }
    const host = el("div", { class: "tg-dz-cond" });
    box.replaceChildren(host);
    this.builder = this.filterBuilder(host, fields, cond);
    this.builder.render();
    // The condition is rewritten only once the person changes it: opened and saved, it stays as stored.
    const sync = () => setTimeout(() => { this.draft.condition = this.builder.condition() || undefined; if (!this.draft.condition) delete this.draft.condition; this.changed(); }, 0);
    host.addEventListener("input", sync);
    host.addEventListener("change", sync);
    host.addEventListener("click", (e) => { if (e.target.closest("button")) sync(); });
    const clear = el("button", { type: "button", class: "btn btn-sm mt-2", "data-clear-condition": true, text: this.s.clear_condition });
    clear.addEventListener("click", () => { delete this.draft.condition; this.changed(); this.drawCondition(); });
    box.append(clear);
  }

  filterBuilder(host, fields, cond) {
    const m = this.s;
    const words = { all: m.all, any: m.any, add: m.add, group: m.group, remove: m.remove, yes: m.yes, no: m.no, field: m.field,
      op: m.op, value: m.value, me: m.me, match: m.match };
    for (const [k, v] of Object.entries(words)) host.dataset[`msg${k[0].toUpperCase()}${k.slice(1)}`] = v;
    if (!host.querySelector("[data-filter-root]")) host.append(el("div", { "data-filter-root": true }));
    return new FilterBuilder(host, { fields, ops: this.data.conditions.ops, units: this.data.conditions.units, filter: cond ? JSON.stringify(cond) : null });
  }

  // -- 就: actions --------------------------------------------------------------------------------------
  startActions() {
    const add = this.$("[data-new-action]");
    this.options(add, this.data.actions.map((a) => [a.type, a.label]), "set_fields");
    this.$("[data-add-action]").addEventListener("click", () => {
      this.draft.actions.push(this.newAction(add.value));
      this.changed();
      this.drawActions();
      const cards = this.root.querySelectorAll("[data-action-index]");
      cards[cards.length - 1]?.querySelector("input, select, textarea")?.focus();
    });
    import("/static/vendor/sortable/sortable.esm.js").then(({ default: Sortable }) => Sortable.create(this.$("[data-actions]"), {
      handle: ".tg-rd-grip", animation: 120,
      onEnd: (e) => { if (e.oldIndex !== e.newIndex) this.move(e.oldIndex, e.newIndex); },
    })).catch(() => {});  // the arrows still order the actions
    this.drawActions();
  }

  newAction(type) {
    const fresh = {
      set_fields: { values: {} }, notify: { to: ["owner"], title: "" }, send_email: { to: [], subject: "" },
      wait: { amount: 1, unit: "days" }, create_record: { entity: "", values: {} }, reject: { message: { [this.data.locale]: "" } },
    }[type] || {};
    return { type, ...clone(fresh) };
  }

  move(from, to, focus = null) {
    const [a] = this.draft.actions.splice(from, 1);
    this.draft.actions.splice(to, 0, a);
    this.changed();
    this.drawActions();
    // Keyboard moves keep the focus on the moved card's button, so ↑ ↑ ↑ walks it up.
    // At the top or the bottom that button is disabled: the other one takes the focus.
    const card = focus && this.root.querySelector(`[data-action-index="${to}"]`);
    if (card) (card.querySelector(`[${focus}]:not([disabled])`) || card.querySelector("[data-move-up]:not([disabled]), [data-move-down]:not([disabled])"))?.focus();
  }

  drawActions() {
    const list = this.$("[data-actions]");
    list.replaceChildren(...this.draft.actions.map((a, i) => this.actionCard(a, i)));
    if (!this.draft.actions.length) list.append(el("li", { class: "tg-rd-empty", text: this.s.no_actions }));
  }

  actionCard(a, i) {
    const s = this.s;
    const n = this.draft.actions.length;
    const type = this.options(el("select", { class: "form-select form-select-sm", "aria-label": s.prop_type, "data-action-type": true }),
      this.data.actions.map((t) => [t.type, t.label]), a.type);
    type.addEventListener("change", () => { this.draft.actions[i] = this.newAction(type.value); this.changed(); this.drawActions(); });
    const button = (label, symbol, fn, extra = {}) => {
      const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
      svg.setAttribute("class", "tg-icon tg-icon-sm");
      const use = document.createElementNS("http://www.w3.org/2000/svg", "use");
      use.setAttribute("href", `/static/vendor/icons/sprite.svg#${symbol}`);
      svg.append(use);
      return el("button", { type: "button", class: "tg-icon-btn", "aria-label": label, title: label, on: { click: fn }, ...extra }, svg);
    };
    const head = el("div", { class: "tg-rd-action-head" },
      el("span", { class: "tg-rd-grip", "aria-hidden": "true", text: "⋮⋮" }), el("span", { class: "tg-rd-no", text: `${i + 1}.` }), type,
      el("span", { class: "tg-top-spacer" }),
      button(s.move_up, "arrow-up", () => this.move(i, i - 1, "data-move-up"), { disabled: i === 0, "data-move-up": true }),
      button(s.move_down, "arrow-down", () => this.move(i, i + 1, "data-move-down"), { disabled: i === n - 1, "data-move-down": true }),
      button(s.remove, "x-mark", () => { this.draft.actions.splice(i, 1); this.changed(); this.drawActions(); }, { "data-remove-action": true }));
    const body = el("div", { class: "tg-rd-action-body" });
    const t = this.types.get(a.type);
    if (t && !t.phases.includes(this.draft.when || "after_save")) body.append(el("div", { class: "tg-help", text: s.type_phase }));
    body.append(...this.actionControls(a, i, t));
    body.append(el("div", { class: "tg-error", "data-error-for": `/actions/${i}` }));
    return el("li", { class: "tg-rd-action", "data-action-index": i, "data-action": a.type }, head, body);
  }

  actionControls(a, i, t) {
    if (!t) return [el("p", { class: "tg-muted", text: a.type })];
    const id = (name) => `rd-a${i}-${name}`;
    const set = (name, v) => {
      if (v === undefined || v === null || v === "") delete a[name]; else a[name] = v;
      this.changed();
    };
    const out = [];
    const skip = new Set(["type"]);
    const slot = (name, control) => { skip.add(name); out.push(control, el("div", { class: "tg-error", "data-error-for": `/actions/${i}/${name}` })); };
    const props = t.schema.properties || {};
    const s = this.s;
    if ("entity" in props && a.type === "create_record") {
      slot("entity", this.row(s.prop_entity, this.options(el("select", { class: "form-select form-select-sm", id: id("entity"), "data-prop": "entity",
        on: { change: (e) => { a.entity = e.target.value; a.values = {}; delete a.link; this.changed(); this.drawActions(); } } }),
      [["", s.none], ...this.data.entities.map((e) => [e.key, e.label])], a.entity || "")));
      const back = (f) => f.type === "relation" && f.target === this.draft.entity;
      slot("link", this.row(s.prop_link, this.fieldSelect(id("link"), a.link, back, (v) => set("link", v), { entity: a.entity, empty: true })));
    }
    if ("values" in props) slot("values", this.valuesEditor(a, i, a.type === "create_record" ? a.entity : this.draft.entity));
    if (a.type === "notify") slot("to", this.recipients(a, i));
    if (a.type === "send_email") {
      const emails = this.fields((f) => f.type === "email");
      const area = el("textarea", { class: "form-control form-control-sm", id: id("to"), rows: 2, "data-prop": "to" });
      area.value = (a.to || []).join("\n");
      area.addEventListener("input", () => set("to", area.value.split("\n").map((x) => x.trim()).filter(Boolean)));
      const insert = this.options(el("select", { class: "form-select form-select-sm", "aria-label": s.insert_field }),
        [["", s.insert_field], ...emails.map((f) => [f.key, f.label])], "");
      insert.addEventListener("change", () => {
        if (!insert.value) return;
        area.value = [area.value.trim(), insert.value].filter(Boolean).join("\n");
        area.dispatchEvent(new Event("input"));
        insert.value = "";
      });
      slot("to", this.row(s.email_to, el("div", { class: "tg-rd-template" }, area, insert), { help: s.one_value_per_line }));
    }
    for (const name of Object.keys(props)) {
      if (TEMPLATES.has(name) && props[name].type === "string") slot(name, this.template(a, i, name));
    }
    if (a.type === "reject") slot("message", this.messageEditor(a, i));
    if ("field" in props && a.type !== "reject") {
      const pred = { add_tag: (f) => f.type === "multi_select", remove_tag: (f) => f.type === "multi_select", add_points: (f) => NUMERIC.has(f.type) }[a.type] || (() => true);
      slot("field", this.row(s.prop_field, this.fieldSelect(id("field"), a.field, pred, (v) => set("field", v))));
    } else if (a.type === "reject") {
      slot("field", this.row(s.prop_field, this.fieldSelect(id("field"), a.field, () => true, (v) => set("field", v), { empty: true })));
    }
    if (a.type === "add_points" && typeof a.points !== "object") {
      slot("points", this.row(s.prop_points, this.input(id("points"), a.points, (v) => set("points", v === "" ? null : Number(v)), { type: "number", step: "any", "data-prop": "points" })));
    }
    if (a.type === "assign_owner") {
      slot("user", this.row(s.prop_user, this.userPicker(id("user"), a.user, (v, name) => {
        if (name) this.data.users[String(v)] = name;
        set("user", v);
      })));
    }
    if ("team" in props && this.data.teams.length) {
      slot("team", this.row(s.prop_team, this.options(el("select", { class: "form-select form-select-sm", id: id("team"), "data-prop": "team",
        on: { change: (e) => set("team", e.target.value || null) } }), [["", s.none], ...this.teamPairs(a.team)], a.team || "")));
    }
    out.push(...schemaControls(t.schema, a, skip, {
      words: s, id, json: true,
      set: (name, v) => set(name, v),
      row: (...x) => this.row(...x), input: (...x) => this.input(...x), check: (...x) => this.check(...x),
    }).flatMap((node) => {
      const name = node.querySelector?.("[data-prop]")?.dataset.prop;
      return name ? [node, el("div", { class: "tg-error", "data-error-for": `/actions/${i}/${name}` })] : [node];
    }));
    return out;
  }

  teamPairs(current) {
    const pairs = this.data.teams.map((t) => [t.key, t.label]);
    if (current && !pairs.some(([k]) => k === current)) pairs.unshift([current, current]);
    return pairs;
  }

  valuesEditor(a, i, entity) {
    // Field = a value (checked by the field's type when saved) or a formula computed when the action runs.
    const s = this.s;
    a.values = a.values || {};
    const box = el("div", { class: "tg-rd-values", "data-values": true });
    const draw = () => {
      const keys = Object.keys(a.values);
      box.replaceChildren(...keys.map((key, j) => {
        const v = a.values[key];
        const f = this.entity(entity).fields.find((x) => x.key === key) || { key, type: "text", options: [] };
        const formula = v && typeof v === "object" && "formula" in v;
        const pick = this.fieldSelect(`rd-a${i}-v${j}`, key, (x) => x.key === key || !(x.key in a.values), (nk) => {
          if (!nk) return;
          a.values = Object.fromEntries(Object.entries(a.values).map(([k, old]) => (k === key ? [nk, null] : [k, old])));
          this.changed(); draw();
        }, { entity });
        pick.setAttribute("aria-label", s.field);
        pick.dataset.valueField = key;
        const mode = this.options(el("select", { class: "form-select form-select-sm", "aria-label": s.value_mode }),
          [["value", s.value_mode], ["formula", s.formula_mode]], formula ? "formula" : "value");
        mode.addEventListener("change", () => { a.values[key] = mode.value === "formula" ? { formula: "" } : null; this.changed(); draw(); });
        const control = formula ? this.input(`rd-a${i}-f${j}`, v.formula, (x) => { a.values[key] = { formula: x }; this.changed(); },
          { class: "form-control form-control-sm font-monospace", "aria-label": s.formula_mode, "data-formula": key })
          : this.valueInput(f, v, (x) => { a.values[key] = x; this.changed(); }, `rd-a${i}-x${j}`);
        const remove = el("button", { type: "button", class: "btn btn-sm btn-ghost-danger", "aria-label": s.remove, text: "×",
          on: { click: () => { delete a.values[key]; this.changed(); draw(); } } });
        return el("div", { class: "tg-rd-value" }, pick, mode, control, remove);
      }));
      const free = this.entity(entity).fields.filter((x) => !(x.key in a.values) && !["id", "created_at", "updated_at", "created_by", "updated_by"].includes(x.key));
      const add = el("button", { type: "button", class: "btn btn-sm", "data-add-value": true, text: `+ ${s.add_value}` });
      add.disabled = !free.length;
      add.addEventListener("click", () => { a.values[free[0].key] = null; this.changed(); draw(); });
      box.append(el("div", {}, add));
    };
    draw();
    return this.row(s.prop_values, box);
  }

  valueInput(f, v, set, id) {
    const s = this.s;
    if (f.options && f.options.length) {
      const pick = this.options(el("select", { class: "form-select form-select-sm", id, "aria-label": s.value, "data-value": f.key }),
        [["", "—"], ...f.options.map((o) => [o.key, o.label])], v ?? "");
      pick.addEventListener("change", () => set(pick.value || null));
      return pick;
    }
    if (f.type === "boolean") {
      const pick = this.options(el("select", { class: "form-select form-select-sm", id, "aria-label": s.value, "data-value": f.key }),
        [["", "—"], ["true", s.yes], ["false", s.no]], v === null || v === undefined ? "" : String(v));
      pick.addEventListener("change", () => set(pick.value === "" ? null : pick.value === "true"));
      return pick;
    }
    const numeric = NUMERIC.has(f.type);
    const type = { date: "date" }[f.type] || (numeric ? "number" : "text");
    return this.input(id, typeof v === "object" && v !== null ? JSON.stringify(v) : v, (x) => set(x === "" ? null : (numeric ? Number(x) : x)),
      { type, step: numeric ? "any" : null, "aria-label": s.value, "data-value": f.key });
  }

  recipients(a, i) {
    const s = this.s;
    a.to = a.to || [];
    const box = el("div", { class: "tg-rd-template", "data-recipients": true });
    const words = (r) => {
      if (r === "owner") return s.owner;
      if (r === "manager") return s.manager;
      if (r.user) return r.name || this.data.users[String(r.user)] || fill(s.recipient_user, { id: r.user });
      if (r.team) return fill(s.recipient_team, { team: (this.data.teams.find((t) => t.key === r.team) || { label: r.team }).label });
      if (r.field) return fill(s.recipient_field, { field: this.fieldLabel(r.field) });
      return JSON.stringify(r);
    };
    const draw = () => {
      const chips = el("div", { class: "tg-rd-chips" }, ...a.to.map((r, j) => el("span", { class: "tg-tag", "data-recipient": typeof r === "string" ? r : Object.keys(r)[0] }, words(r),
        el("button", { type: "button", class: "btn btn-sm btn-ghost p-0 ms-1", "aria-label": s.remove, text: "×",
          on: { click: () => { a.to.splice(j, 1); this.changed(); draw(); } } }))));
      const kind = this.options(el("select", { class: "form-select form-select-sm w-auto", "aria-label": s.add_recipient, "data-recipient-kind": true }),
        [["", `+ ${s.add_recipient}`], ["owner", s.owner], ["manager", s.manager], ["user", s.a_member],
          ...(this.data.teams.length ? [["team", s.a_team]] : []), ["field", s.a_field]], "");
      const extra = el("span", { class: "tg-rd-row" });
      kind.addEventListener("change", () => {
        extra.replaceChildren();
        const push = (r) => { a.to.push(r); this.changed(); draw(); };
        if (kind.value === "owner" || kind.value === "manager") return push(kind.value);
        if (kind.value === "team") {
          const team = this.options(el("select", { class: "form-select form-select-sm w-auto", "aria-label": s.a_team, "data-recipient-team": true }),
            [["", s.a_team], ...this.teamPairs(null)], "");
          team.addEventListener("change", () => team.value && push({ team: team.value }));
          extra.append(team);
        }
        if (kind.value === "field") {
          extra.append(this.fieldSelect(`rd-a${i}-rf`, null, (f) => f.type === "user", (v) => v && push({ field: v }), { empty: true }));
        }
        if (kind.value === "user") {
          const picker = this.userPicker(`rd-a${i}-ru`, null, (id, name) => id && push({ user: id, name }));
          extra.append(picker);
          picker.querySelector("input").focus();
        }
      });
      box.replaceChildren(chips, el("div", { class: "tg-rd-row" }, kind, extra));
    };
    draw();
    return this.row(s.prop_to, box);
  }

  userPicker(id, current, onChange) {
    // The one user picker (picker.js): type to search colleagues; the chosen member's id, and their name.
    const input = el("input", { class: "form-control form-control-sm", id, type: "text", role: "combobox", "aria-autocomplete": "list",
      "aria-expanded": "false", "aria-controls": `${id}-list`, autocomplete: "off", "aria-label": this.s.a_member,
      placeholder: this.s.a_member, value: current ? (this.data.users[String(current)] || `#${current}`) : "", "data-user-picker": true });
    const hidden = el("input", { type: "hidden", value: current ?? "" });
    const picker = el("div", { class: "tg-picker", "data-picker": "user" }, input, hidden,
      el("ul", { class: "tg-picker-list", id: `${id}-list`, role: "listbox", hidden: true }));
    hidden.addEventListener("change", () => { if (hidden.value) onChange(Number(hidden.value), input.value); });
    input.addEventListener("input", () => { if (!input.value.trim()) onChange(null, ""); });
    startPicker(picker, {});
    return picker;
  }

  template(a, i, name) {
    // A title, subject or body with {{ record.field }} placeholders, inserted from a field list at the cursor.
    const s = this.s;
    const long = name === "body";
    const box = long ? el("textarea", { class: "form-control form-control-sm", id: `rd-a${i}-${name}`, rows: 3, "data-prop": name })
      : el("input", { class: "form-control form-control-sm", id: `rd-a${i}-${name}`, "data-prop": name });
    box.value = a[name] ?? "";
    box.addEventListener("input", () => { if (box.value === "") delete a[name]; else a[name] = box.value; this.changed(); });
    const insert = this.options(el("select", { class: "form-select form-select-sm", "aria-label": s.insert_field, "data-insert": name }),
      [["", s.insert_field], ...this.fields().map((f) => [f.key, f.label])], "");
    insert.addEventListener("change", () => {
      if (!insert.value) return;
      const text = `{{ record.${insert.value} }}`;
      const at = box.selectionStart ?? box.value.length;
      box.value = box.value.slice(0, at) + text + box.value.slice(box.selectionEnd ?? at);
      box.dispatchEvent(new Event("input"));
      insert.value = "";
      box.focus();
    });
    return this.row(s[`prop_${name}`] || name, el("div", { class: "tg-rd-template" }, box, insert));
  }

  messageEditor(a, i) {
    const s = this.s;
    const map = typeof a.message === "string" ? { [this.data.locale]: a.message } : { ...(a.message || {}) };
    const rows = [["zh-CN", s.label_zh], ["en", s.label_en]].map(([loc, word]) => this.input(`rd-a${i}-msg-${loc}`, map[loc] || "", (v) => {
      const next = typeof a.message === "string" ? { [this.data.locale]: a.message } : { ...(a.message || {}) };
      if (v.trim()) next[loc] = v; else delete next[loc];
      a.message = next;
      this.changed();
    }, { "aria-label": `${s.prop_message} ${word}`, placeholder: word, "data-prop": "message" }));
    return this.row(s.prop_message, el("div", { class: "tg-rd-template" }, ...rows));
  }

  // -- save, delete -------------------------------------------------------------------------------------
  body() {
    const d = clone(this.draft);
    if (!this.key) d.key = this.keyInput.value.trim();
    for (const a of d.actions) {
      if (Array.isArray(a.to)) a.to = a.to.map((r) => (r && typeof r === "object" && r.user ? { user: r.user } : r));
    }
    return d;
  }

  async save() {
    this.clearErrors();
    const body = this.body();
    const buttons = this.root.querySelectorAll("[data-save]");
    buttons.forEach((b) => { b.disabled = true; });
    const r = this.key
      ? await api("PUT", `${this.api}/${this.key}`, body, { "If-Match": `"${this.version}"` })
      : await api("POST", this.api, body);
    buttons.forEach((b) => { b.disabled = false; });
    if (r.ok) {
      this.version = r.data.version;
      this.data.rule = r.data;
      if (!this.key) {
        this.key = r.data.key;
        this.keyInput.readOnly = true;
        this.$("[data-entity]").disabled = true;
        this.$("[data-delete]").hidden = false;
        history.replaceState(null, "", `${this.root.dataset.list}/${this.key}`);
        this.loadLog();
      }
      this.dirty = false;
      this.$("[data-dirty]").textContent = "";
      this.$("[data-status]").textContent = this.s.saved_ok;
      toast(this.s.saved_ok);
      return true;
    }
    this.refused(r);
    return false;
  }

  clearErrors() {
    this.$("[data-banner]").hidden = true;
    this.root.querySelectorAll(".tg-rd-action.has-error").forEach((x) => x.classList.remove("has-error"));
    this.root.querySelectorAll("[data-error-for]").forEach((x) => { x.textContent = ""; });
  }

  refused(r) {
    const banner = this.$("[data-banner]");
    const loose = showErrors(this.root, r);
    for (const e of r.data?.errors || []) {
      const m = /^\/actions\/(\d+)/.exec(e.path);
      if (m) this.root.querySelector(`[data-action-index="${m[1]}"]`)?.classList.add("has-error");
    }
    banner.hidden = false;
    banner.textContent = r.status === 409 && this.key ? `${this.s.conflict} ${r.data?.detail || ""}`
      : [r.status === 422 ? this.s.save_failed : "", ...loose].filter(Boolean).join(" ");
    (this.root.querySelector(".tg-error:not(:empty)") || banner).scrollIntoView({ block: "center" });
  }

  async remove() {
    const label = this.$("[data-title]").textContent;
    if (!await this.ask(fill(this.s.confirm_delete, { label }))) return;
    const r = await api("DELETE", `${this.api}/${this.key}`);
    if (!r.ok) return this.refused(r);
    toast(this.s.deleted_ok);
    this.dirty = false;
    location.assign(this.root.dataset.list);
  }

  ask(message) {
    return ask(this.root, message, this.s.remove, this.s.no);
  }

  // -- dry run ------------------------------------------------------------------------------------------
  setDisplay() {
    const picker = this.$("[data-record-picker]");
    const e = this.entity();
    if (e.display) picker.dataset.display = e.display; else delete picker.dataset.display;
  }

  async test(choice) {
    const out = this.$("[data-test-results]");
    out.replaceChildren();
    this.clearErrors();
    const r = await api("POST", `${this.api}/dry-run`, { rule: this.body(), ...choice });
    if (!r.ok) {
      this.refused(r);
      out.append(el("p", { class: "tg-error", text: this.s.dry_run_failed }));
      return;
    }
    if (!r.data.items.length) { out.append(el("p", { class: "tg-muted", text: this.s.no_records })); return; }
    for (const item of r.data.items) out.append(this.result(item));
  }

  result(item) {
    const s = this.s;
    const link = el("a", { href: `${this.root.dataset.records}/${this.draft.entity}/${item.record_id}`, target: "_blank", rel: "noopener",
      text: item.label ? `${item.label} #${item.record_id}` : fill(s.record, { id: item.record_id }) });
    const verdict = el("span", { class: `tg-rd-verdict ${item.matched ? "ok" : "no"}`, text: item.matched ? s.matched : s.not_matched });
    const box = el("div", { class: "tg-rd-result", "data-result": item.record_id, "data-matched": String(item.matched) },
      el("div", { class: "tg-rd-row" }, link, verdict));
    if (item.condition) box.append(this.node(item.condition));
    if (item.actions && item.actions.length) {
      box.append(el("div", { class: "tg-muted", text: s.would }),
        el("ul", { class: "tg-rd-did" }, ...item.actions.map((a) => el("li", { "data-did": a.type, text: this.did(a) }))));
    }
    if (item.error) box.append(el("div", { class: "tg-error", text: `${s.error}: ${item.error}` }));
    return box;
  }

  node(n) {
    const s = this.s;
    const group = n.all || n.any;
    if (group) {
      return el("div", { class: "tg-rd-nest" },
        el("div", { class: `tg-rd-node ${n.matched ? "ok" : "no"}`, text: `${n.matched ? "✓" : "✗"} ${n.all ? s.all : s.any}` }),
        ...group.map((x) => this.node(x)));
    }
    if (n.not) return this.node(n.not);
    const op = this.data.conditions.ops[n.op] || n.op;
    const value = n.value === undefined ? "" : this.shown(n.field, n.value);
    const actual = fill(s.actual, { value: n.actual === null || n.actual === undefined ? s.empty : this.shown(n.field, n.actual) });
    return el("div", { class: `tg-rd-node ${n.matched ? "ok" : "no"}`, "data-node": n.field, "data-node-matched": String(n.matched) },
      el("span", { text: `${n.matched ? "✓" : "✗"} ${this.fieldLabel(n.field)} ${op} ${value}` }), el("span", { class: "tg-rd-actual", text: `(${actual})` }));
  }

  shown(field, v) {
    const f = this.entity().fields.find((x) => x.key === field);
    const one = (x) => {
      const o = f && f.options.find((y) => y.key === x);
      if (o) return o.label;
      if (x === true) return this.s.yes;
      if (x === false) return this.s.no;
      if (typeof x === "number") return this.number.format(x);
      return typeof x === "object" && x !== null ? (x.amount ? `${x.amount} ${this.s[`enum_${x.unit}`] || x.unit}` : JSON.stringify(x)) : String(x);
    };
    return Array.isArray(v) ? v.map(one).join(", ") : one(v);
  }

  did(a) {
    // What an action did (dry run) or does (log), in words: the engine's short description read field by field.
    const s = this.s;
    const label = (this.types.get(a.type) || { label: a.type }).label;
    const known = (k) => this.entity().fields.some((f) => f.key === k);
    const pairs = (v) => Object.entries(v).map(([f, x]) => `${this.fieldLabel(f)} = ${this.shown(f, x)}`).join(", ");
    const rest = Object.entries(a).filter(([k]) => k !== "type").map(([k, v]) => {
      if (k === "set" && v && typeof v === "object") return pairs(v);
      if (k === "created" && v) return fill(s.did_created, { entity: this.entity(v.entity).label, id: v.id });
      if (k === "notified" && Array.isArray(v)) return fill(s.did_notified, { n: v.length });
      if (k === "emailed") return fill(s.did_emailed, { to: [].concat(v).join(", ") });
      if (k === "unchanged") return s.did_unchanged;
      if (k === "owner") return fill(s.did_owner, { id: v });
      if (k === "rejected") return fill(s.did_rejected, { message: typeof v === "object" ? Object.values(v)[0] : v });
      if (known(k)) return `${this.fieldLabel(k)} = ${this.shown(k, v)}`;
      return `${s[`prop_${k}`] || k}: ${typeof v === "object" ? JSON.stringify(v) : v}`;
    });
    return rest.length ? `${label}: ${rest.join("; ")}` : label;
  }

  // -- execution log ------------------------------------------------------------------------------------
  async loadLog(before = null) {
    if (!this.key) return;
    const q = new URLSearchParams({ limit: "20" });
    if (before) q.set("before", String(before));
    const r = await api("GET", `${this.api}/${this.key}/log?${q}`);
    if (!r.ok) return;
    const t = r.data.totals;
    this.$("[data-log-totals]").textContent = t.runs ? fill(this.s.runs_total, { runs: t.runs, actions: t.actions_done, errors: t.errors, stopped: t.stopped }) : this.s.no_runs;
    const list = this.$("[data-log]");
    if (!before) list.replaceChildren();
    const time = new Intl.DateTimeFormat(this.data.locale, { dateStyle: "medium", timeStyle: "short" });
    for (const run of r.data.items) {
      const link = run.record_id ? el("a", { href: `${this.root.dataset.records}/${this.draft.entity}/${run.record_id}`, text: fill(this.s.record, { id: run.record_id }) }) : null;
      const head = el("div", { class: "tg-rd-row" }, el("strong", { text: time.format(new Date(run.at)) }), link,
        el("span", { class: run.outcome === "done" ? "" : "error", text: this.s[`outcome_${run.outcome}`] || run.outcome }));
      const item = el("li", { "data-run": run.id, "data-outcome": run.outcome }, head);
      if (run.actions) item.append(el("ul", { class: "tg-rd-did" }, ...run.actions.map((a) => el("li", { text: this.did(a) }))));
      if (run.detail) item.append(el("div", { class: run.outcome === "done" ? "tg-muted" : "error", text: run.detail }));
      list.append(item);
    }
    const more = this.$("[data-log-more]");
    more.hidden = !r.data.more;
    more.dataset.before = r.data.items.length ? r.data.items[r.data.items.length - 1].id : "";
  }

  start() {
    this.startName();
    this.startTrigger();
    this.drawCondition();
    this.startActions();
    this.setDisplay();
    const picker = this.$("[data-record-picker]");
    startPicker(picker, { msgCreate: "" });
    this.$("[data-test-record]").addEventListener("click", () => {
      const id = Number(this.$("[data-record-id]").value);
      if (id) this.test({ record_id: id }); else this.$("#rd-record").focus();
    });
    this.$("[data-test-last]").addEventListener("click", () => this.test({ last: Number(this.$("[data-test-n]").value) }));
    this.root.querySelectorAll("[data-save]").forEach((b) => b.addEventListener("click", () => this.save()));
    this.$("[data-delete]").addEventListener("click", () => this.remove());
    this.$("[data-log-more]").addEventListener("click", (e) => this.loadLog(Number(e.currentTarget.dataset.before)));
    window.addEventListener("beforeunload", (e) => { if (this.dirty) e.preventDefault(); });
    return this.loadLog();
  }
}

export function start(root) {
  return new RuleDesigner(root).start();
}
