// The entity and form designer: one draft {entity definition, form layout} edited in the browser, with undo
// and redo as a stack of snapshots, and published through the definition API (PUT the entity with If-Match,
// then the form). The middle pane is drawn by the server with the end user's field macros; the property
// panel is built from each field type's config JSON Schema, with richer widgets for labels, options,
// relation targets, formulas and form rules (the list's condition builder).
import { api, toast } from "./api.js";
import { ask } from "./builder-dom.js";
import { FilterBuilder } from "./list-tools.js";
import { el, schemaControls } from "./schema-form.js";
import Sortable from "/static/vendor/sortable/sortable.esm.js";

const RICH = new Set(["key", "type", "label", "help_text", "options", "target", "expression", "default"]);
const RULES = ["visible_when", "required_when", "read_only_when"];
const LIMIT = 100;  // undo steps kept

function fmt(text, values) {
  return text.replace(/\{(\w+)\}/g, (m, k) => (k in values ? String(values[k]) : m));
}

function labelIn(label, locale, fallback = "") {
  if (typeof label === "string") return label;
  if (label && typeof label === "object") return label[locale] || label["zh-CN"] || label.en || Object.values(label)[0] || fallback;
  return fallback;
}

function hexOf(colour) {
  // An option's colour as the colour input needs it (#rrggbb): CSS names ("blue") through the canvas API.
  if (!colour) return "#8c8c8c";
  if (/^#[0-9a-f]{6}$/i.test(colour)) return colour;
  const ctx = document.createElement("canvas").getContext("2d");
  ctx.fillStyle = "#8c8c8c";
  ctx.fillStyle = colour;
  return ctx.fillStyle;
}

const clone = (x) => JSON.parse(JSON.stringify(x));
function canonical(x) {
  // JSON with object keys sorted: two versions of a definition compare equal whatever order the database kept
  if (Array.isArray(x)) return x.map(canonical);
  if (x && typeof x === "object") return Object.fromEntries(Object.keys(x).sort().map((k) => [k, canonical(x[k])]));
  return x;
}
const same = (a, b) => JSON.stringify(canonical(a)) === JSON.stringify(canonical(b));
const itemKey = (item) => (typeof item === "string" ? item : item.field);

class Designer {
  constructor(root) {
    this.root = root;
    this.data = JSON.parse(root.querySelector("#tg-designer-data").textContent);
    this.s = this.data.strings;
    this.locale = this.data.locale;
    this.app = this.data.app;
    this.types = new Map(this.data.types.map((t) => [t.key, t]));
    const { version, ...entity } = this.data.entity;
    this.version = version;
    this.formMeta = this.data.form ? { key: this.data.form.key, version: this.data.form.version } : null;
    this.published = { entity: clone(entity), form: this.data.form ? this.layoutOf(this.data.form) : null };
    this.draft = { entity: clone(entity), form: this.published.form ? clone(this.published.form) : this.defaultForm(entity) };
    this.publishedKeys = new Set(entity.fields.map((f) => f.key));
    this.autoKeys = new Set();  // new fields whose key still follows their label
    this.undoStack = [];
    this.redoStack = [];
    this.mergeKey = null;
    this.selected = null;  // {kind: "field", key} | {kind: "section", index} | null
    this.errors = {};  // field key (or "" for the form) -> messages from the last publish
    this.seq = 0;
    this.storageKey = `tg-designer:${this.app}:${entity.key}:${version}:${this.formMeta ? this.formMeta.version : 0}`;
    this.canvasBody = root.querySelector("[data-canvas-body]");
    this.props = root.querySelector("[data-props]");
    this.status = root.querySelector("[data-status]");
    this.banner = root.querySelector("[data-banner]");
  }

  layoutOf(form) {
    const { id, app, version, updated_at: _u, ...layout } = form;
    return layout;
  }

  defaultForm(entity) {
    return { key: entity.key, entity: entity.key, sections: [{ columns: 2, fields: entity.fields.map((f) => f.key) }] };
  }

  // -- state -------------------------------------------------------------------------------------------
  get fields() { return this.draft.entity.fields; }
  field(key) { return this.fields.find((f) => f.key === key); }
  typeLabel(key) { return (this.types.get(key) || { label: key }).label; }
  fieldLabel(f) { return labelIn(f.label, this.locale, f.key); }

  commit(change, { mergeKey = null, props = true, canvas = true } = {}) {
    if (!(mergeKey && mergeKey === this.mergeKey)) {
      this.undoStack.push(JSON.stringify({ draft: this.draft, selected: this.selected, auto: [...this.autoKeys] }));
      if (this.undoStack.length > LIMIT) this.undoStack.shift();
      this.redoStack = [];
    }
    this.mergeKey = mergeKey;
    change();
    this.changed(props, canvas);
  }

  changed(props = true, canvas = true) {
    // canvas false: the canvas already shows the change (a drag or a keyboard move done in its DOM)
    // A drawing still on its way carries an older draft: draw again rather than let it undo the change in place.
    if (canvas || this.drawing) this.renderCanvas(!props && canvas);
    else { this.markSelection(); this.shown(); }
    if (props) this.renderProps();
    this.renderOffForm();
    this.saveDraft();
    this.root.querySelector("[data-action=undo]").disabled = !this.undoStack.length;
    this.root.querySelector("[data-action=redo]").disabled = !this.redoStack.length;
  }

  step(from, to) {
    if (!from.length) return;
    to.push(JSON.stringify({ draft: this.draft, selected: this.selected, auto: [...this.autoKeys] }));
    const snap = JSON.parse(from.pop());
    this.draft = snap.draft;
    this.selected = snap.selected;
    this.autoKeys = new Set(snap.auto);
    this.mergeKey = null;
    this.changed();
  }

  undo() { this.step(this.undoStack, this.redoStack); }
  redo() { this.step(this.redoStack, this.undoStack); }

  // -- drafts in this browser ---------------------------------------------------------------------------
  dirty() {
    return !same(this.draft.entity, this.published.entity) || !same(this.draft.form, this.published.form || this.defaultForm(this.published.entity));
  }

  get draftUrl() { return `/api/v1/meta/apps/${this.app}/entities/${this.draft.entity.key}/draft`; }

  saveDraft() {
    // In this browser at once (localStorage), on the server a moment later (another computer finds it there).
    clearTimeout(this.draftTimer);
    this.draftTimer = setTimeout(() => {
      const dirty = this.dirty();
      try {
        if (dirty) localStorage.setItem(this.storageKey, JSON.stringify({ draft: this.draft, at: new Date().toISOString(), auto: [...this.autoKeys] }));
        else localStorage.removeItem(this.storageKey);
      } catch { /* storage full or refused: the server keeps it */ }
      if (dirty) this.status.textContent = this.s.saved_draft;  // else it keeps what publishing said
    }, 300);
    clearTimeout(this.serverTimer);
    this.serverTimer = setTimeout(async () => {
      const dirty = this.dirty();
      if (!dirty && !this.serverDraft) return;
      const r = dirty
        ? await api("PUT", this.draftUrl, { base_version: this.version, draft: this.draft })
        : await api("DELETE", this.draftUrl);
      this.serverDraft = dirty && r.ok;
      if (dirty && r.ok) this.status.textContent = this.s.draft_saved;
    }, 1200);
  }

  async offerDraft() {
    let kept = null;
    try { kept = JSON.parse(localStorage.getItem(this.storageKey) || "null"); } catch { kept = null; }
    const server = await api("GET", this.draftUrl);
    this.serverDraft = server.ok;
    if (server.ok && server.data.base_version === this.version && (!kept || new Date(server.data.updated_at) > new Date(kept.at))) {
      kept = { draft: server.data.draft, at: server.data.updated_at, auto: [] };
    }
    if (!kept || !kept.draft || same(kept.draft, this.draft)) return;
    const when = new Date(kept.at).toLocaleString(this.locale);
    const restore = el("button", { type: "button", class: "btn btn-sm btn-primary", text: this.s.yes, "data-restore-draft": true });
    const drop = el("button", { type: "button", class: "btn btn-sm", text: this.s.no });
    const box = el("div", { class: "tg-banner warn", role: "alert", "data-draft-offer": true },
      el("span", { class: "flex-fill", text: fmt(this.s.restore, { time: when }) }), restore, drop);
    restore.addEventListener("click", () => {
      box.remove();
      this.commit(() => { this.draft = kept.draft; this.autoKeys = new Set(kept.auto || []); });
    });
    drop.addEventListener("click", () => {
      box.remove();
      localStorage.removeItem(this.storageKey);
      if (this.serverDraft) api("DELETE", this.draftUrl).then(() => { this.serverDraft = false; });
    });
    this.banner.before(box);
  }

  // -- canvas ------------------------------------------------------------------------------------------
  async renderCanvas(debounce = false) {
    clearTimeout(this.canvasTimer);
    this.drawing = true;
    if (debounce) {
      this.canvasTimer = setTimeout(() => this.renderCanvas(false), 200);
      return;
    }
    const seq = ++this.seq;
    const response = await fetch(this.root.dataset.canvas, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": JSON.parse(document.body.getAttribute("hx-headers"))["X-CSRF-Token"] },
      body: JSON.stringify({ entity: this.draft.entity, form: this.draft.form }),
    });
    const html = await response.text();
    if (seq !== this.seq) return;  // a later draft is already on its way
    this.drawing = false;
    const tpl = document.createElement("template");
    tpl.innerHTML = response.ok ? html : "";  // the server's partial, escaped by its templates
    this.canvasBody.replaceChildren(tpl.content);
    this.root.querySelector("[data-form-title]").textContent = labelIn(this.draft.entity.label, this.locale, this.draft.entity.key);
    this.decorateCanvas();
    this.shown();
  }

  shown() {
    // the canvas shows the draft (redrawn, or changed in place): tests and benchmarks wait on this count
    this.root.dataset.renders = String(Number(this.root.dataset.renders || 0) + 1);
  }

  decorateCanvas() {
    // the fields are pictures of the form: out of the tab order and the accessibility tree, clicks go to their frame
    this.canvasBody.querySelectorAll(".tg-dz-field > .tg-field").forEach((c) => { c.inert = true; });
    this.canvasBody.querySelectorAll("[data-drop]").forEach((grid) => {
      Sortable.create(grid, {
        group: "fields", animation: 120, draggable: ".tg-dz-field", ghostClass: "tg-dz-ghost", forceFallback: true,
        onEnd: (e) => { if (e.from !== e.to || e.oldIndex !== e.newIndex) this.readOrder(); },
        onAdd: (e) => {
          if (!e.item.dataset.type) return;
          const type = e.item.dataset.type;
          const section = Number(grid.dataset.drop);
          const position = [...grid.querySelectorAll(".tg-dz-field, .tg-dz-type")].indexOf(e.item);
          e.item.remove();
          this.addField(type, section, position);
        },
      });
    });
    this.markSelection();
    this.showErrors();
  }

  readOrder() {
    // The canvas after a drag: each section's fields in their new order (rules travel with their field).
    const items = new Map();
    for (const s of this.draft.form.sections) for (const i of (s.kind === "lines" ? [] : s.fields)) items.set(itemKey(i), i);
    this.commit(() => {
      this.canvasBody.querySelectorAll("[data-drop]").forEach((grid) => {
        const s = this.draft.form.sections[Number(grid.dataset.drop)];
        s.fields = [...grid.querySelectorAll(".tg-dz-field")].map((f) => items.get(f.dataset.key)).filter(Boolean);
      });
    }, { canvas: [...this.canvasBody.querySelectorAll("[data-drop]")].some((g) => !g.querySelector(".tg-dz-field") || g.querySelector("[data-empty]")) });
  }

  markSelection() {
    this.canvasBody.querySelectorAll(".is-selected").forEach((n) => n.classList.remove("is-selected"));
    if (!this.selected) return;
    const node = this.selected.kind === "field"
      ? this.canvasBody.querySelector(`.tg-dz-field[data-key="${CSS.escape(this.selected.key)}"]`)
      : this.canvasBody.querySelector(`[data-section="${this.selected.index}"]`);
    if (node) node.classList.add("is-selected");
  }

  showErrors() {
    for (const [key, messages] of Object.entries(this.errors)) {
      const slot = this.canvasBody.querySelector(`.tg-dz-field[data-key="${CSS.escape(key)}"] .tg-error`);
      if (!slot) continue;
      slot.textContent = messages.join(" ");
      slot.closest(".tg-field").classList.add("has-error");
      slot.closest(".tg-dz-field").classList.add("has-error");
    }
  }

  select(target) {
    this.selected = target;
    this.mergeKey = null;
    this.markSelection();
    this.renderProps();
  }

  // -- field operations --------------------------------------------------------------------------------
  freeKey(base) {
    const taken = new Set([...this.fields.map((f) => f.key), ...this.data.removed]);
    let n = 1;
    while (taken.has(`${base}_${n}`)) n += 1;
    return `${base}_${n}`;
  }

  newField(type) {
    const t = this.types.get(type);
    const key = this.freeKey(type === "long_text" ? "text" : type);
    const f = { key, type, label: { [this.locale]: t.label } };
    if (type === "select" || type === "multi_select") {
      f.options = [1, 2, 3].map((n) => ({ key: `option_${n}`, label: { [this.locale]: `${this.s.options} ${n}` } }));
    }
    if (type === "relation") {
      const other = this.data.targets.find((x) => x.ref !== this.draft.entity.key) || this.data.targets[0];
      f.target = other ? other.ref : this.draft.entity.key;
    }
    if (type === "formula") f.expression = "0";
    return f;
  }

  targetSection() {
    const sections = this.draft.form.sections;
    if (this.selected && this.selected.kind === "section" && sections[this.selected.index]?.kind !== "lines") return [this.selected.index, null];
    if (this.selected && this.selected.kind === "field") {
      const i = sections.findIndex((s) => s.kind !== "lines" && s.fields.some((x) => itemKey(x) === this.selected.key));
      if (i >= 0) return [i, sections[i].fields.findIndex((x) => itemKey(x) === this.selected.key) + 1];
    }
    let last = -1;
    sections.forEach((s, i) => { if (s.kind !== "lines") last = i; });
    return [last, null];
  }

  addField(type, section = null, position = null) {
    const f = this.newField(type);
    if (section === null) [section, position] = this.targetSection();
    this.commit(() => {
      this.fields.push(f);
      this.autoKeys.add(f.key);
      if (section < 0) {
        this.draft.form.sections.push({ columns: 2, fields: [] });
        section = this.draft.form.sections.length - 1;
      }
      const list = this.draft.form.sections[section].fields;
      list.splice(position === null || position < 0 ? list.length : position, 0, f.key);
      this.selected = { kind: "field", key: f.key };
    });
    toast(fmt(this.s.added, { label: this.fieldLabel(f) }));
    this.proposeKey(f.key);
  }

  placeField(key) {
    const [section, position] = this.targetSection();
    this.commit(() => {
      if (section < 0) this.draft.form.sections.push({ columns: 2, fields: [key] });
      else this.draft.form.sections[section].fields.splice(position ?? this.draft.form.sections[section].fields.length, 0, key);
      this.selected = { kind: "field", key };
    });
  }

  async removeField(key) {
    const f = this.field(key);
    if (!(await this.ask(fmt(this.s.confirm_field, { label: this.fieldLabel(f) })))) return;
    this.commit(() => {
      this.draft.entity.fields = this.fields.filter((x) => x.key !== key);
      for (const s of this.draft.form.sections) if (s.kind !== "lines") s.fields = s.fields.filter((x) => itemKey(x) !== key);
      if (this.draft.entity.display_field === key) delete this.draft.entity.display_field;
      this.selected = null;
    });
    toast(fmt(this.s.removed, { label: this.fieldLabel(f) }));
  }

  moveField(key, delta) {
    const sections = this.draft.form.sections;
    const si = sections.findIndex((s) => s.kind !== "lines" && s.fields.some((x) => itemKey(x) === key));
    if (si < 0) return;
    const within = (() => {
      const i = sections[si].fields.findIndex((x) => itemKey(x) === key);
      return i + delta >= 0 && i + delta < sections[si].fields.length;
    })();
    const node = this.canvasBody.querySelector(`.tg-dz-field[data-key="${CSS.escape(key)}"]`);
    const sibling = node && (delta < 0 ? node.previousElementSibling : node.nextElementSibling);
    const inPlace = within && sibling && sibling.classList.contains("tg-dz-field");
    this.commit(() => {
      const list = sections[si].fields;
      const i = list.findIndex((x) => itemKey(x) === key);
      const [item] = list.splice(i, 1);
      if (i + delta >= 0 && i + delta <= list.length) {
        list.splice(i + delta, 0, item);
        if (inPlace) { if (delta < 0) sibling.before(node); else sibling.after(node); }
        return;
      }
      // past the end of its section: into the next (or previous) section of fields
      let next = si + delta;
      while (sections[next] && sections[next].kind === "lines") next += delta;
      if (!sections[next]) { list.splice(i, 0, item); return; }
      if (delta > 0) sections[next].fields.unshift(item); else sections[next].fields.push(item);
    }, { canvas: !inPlace, props: !inPlace });  // in place: the canvas and the panel already show it
    this.focusSelected();
  }

  focusSelected() {
    requestAnimationFrame(() => setTimeout(() => {
      const node = this.selected?.kind === "field" && this.canvasBody.querySelector(`.tg-dz-field[data-key="${CSS.escape(this.selected.key)}"]`);
      if (node && !this.props.contains(document.activeElement)) node.focus();
    }, 60));
  }

  async proposeKey(key) {
    // A new field's key follows its label (pinyin for Chinese) until edited by hand or published.
    if (!this.autoKeys.has(key)) return;
    const f = this.field(key);
    const text = labelIn(f.label, "en", "") || labelIn(f.label, "zh-CN", "");
    const params = new URLSearchParams({ label: text, fallback: "field" });
    this.fields.forEach((x) => { if (x.key !== key) params.append("taken", x.key); });
    this.data.removed.forEach((k) => params.append("taken", k));
    const r = await api("GET", `/build/key?${params}`);
    const now = this.field(key);
    if (!r.ok || !now || !this.autoKeys.has(key) || r.data.key === key) return;
    this.renameKey(key, r.data.key);
  }

  renameKey(old, key) {
    const f = this.field(old);
    f.key = key;
    if (this.autoKeys.delete(old)) this.autoKeys.add(key);
    for (const s of this.draft.form.sections) {
      if (s.kind === "lines") continue;
      s.fields = s.fields.map((x) => (itemKey(x) !== old ? x : (typeof x === "string" ? key : { ...x, field: key })));
    }
    if (this.draft.entity.display_field === old) this.draft.entity.display_field = key;
    if (this.selected?.key === old) this.selected = { kind: "field", key };
    this.changed(false);
    const keyInput = this.props.querySelector("[data-prop=key]");
    if (keyInput && document.activeElement !== keyInput) keyInput.value = key;
  }

  // -- sections ----------------------------------------------------------------------------------------
  addSection() {
    this.commit(() => {
      const sections = this.draft.form.sections;
      const tab = sections.length ? sections[sections.length - 1].tab : undefined;
      sections.push({ label: { [this.locale]: `${this.s.section} ${sections.length + 1}` }, columns: 2, fields: [], ...(tab ? { tab } : {}) });
      this.selected = { kind: "section", index: sections.length - 1 };
    });
  }

  async removeSection(index) {
    const s = this.draft.form.sections[index];
    const n = s.kind === "lines" ? 0 : s.fields.length;
    if (n && !(await this.ask(fmt(this.s.confirm_section, { n })))) return;
    this.commit(() => { this.draft.form.sections.splice(index, 1); this.selected = null; });
  }

  moveSection(index, delta) {
    const sections = this.draft.form.sections;
    if (!sections[index + delta]) return;
    this.commit(() => {
      const [s] = sections.splice(index, 1);
      sections.splice(index + delta, 0, s);
      this.selected = { kind: "section", index: index + delta };
    });
  }

  // -- panes: palette, fields off the form ----------------------------------------------------------------
  renderOffForm() {
    const placed = new Set(this.draft.form.sections.flatMap((s) => (s.kind === "lines" ? [] : s.fields.map(itemKey))));
    const off = this.fields.filter((f) => !placed.has(f.key));
    const box = this.root.querySelector("[data-offform]");
    this.root.querySelector("[data-offform-head]").hidden = !off.length;
    box.replaceChildren(...off.map((f) => el("button", {
      type: "button", class: "tg-dz-type", "data-offform-key": f.key,
      on: { click: () => this.placeField(f.key) },
    }, el("span", { text: this.fieldLabel(f) }), el("small", { class: "tg-muted", text: this.typeLabel(f.type) }))));
  }

  startPalette() {
    const palette = this.root.querySelector("[data-palette]");
    palette.addEventListener("click", (e) => {
      const b = e.target.closest("[data-type]");
      if (b) this.addField(b.dataset.type);
    });
    palette.querySelectorAll("[data-palette-group]").forEach((g) => Sortable.create(g, {
      group: { name: "fields", pull: "clone", put: false }, sort: false, draggable: ".tg-dz-type", animation: 120,
      forceFallback: true,  // buttons do not start a native drag in every browser
    }));
    const search = this.root.querySelector("[data-palette-search]");
    search.addEventListener("input", () => {
      const q = search.value.trim().toLowerCase();
      let shown = 0;
      palette.querySelectorAll("[data-type]").forEach((b) => {
        b.hidden = Boolean(q) && !b.dataset.search.toLowerCase().includes(q);
        if (!b.hidden) shown += 1;
      });
      palette.querySelectorAll("h3").forEach((h) => { h.hidden = ![...h.nextElementSibling.children].some((b) => !b.hidden); });
      palette.querySelector("[data-palette-none]").hidden = shown > 0;
    });
    search.addEventListener("keydown", (e) => {
      if (e.key !== "Enter" || e.isComposing) return;
      const first = [...palette.querySelectorAll("[data-type]")].find((b) => !b.hidden);
      if (first) { e.preventDefault(); this.addField(first.dataset.type); }
    });
  }

  // -- properties ----------------------------------------------------------------------------------------
  renderProps() {
    const sel = this.selected;
    if (sel?.kind === "field" && this.field(sel.key)) this.props.replaceChildren(...this.fieldPanel(this.field(sel.key)));
    else if (sel?.kind === "section" && this.draft.form.sections[sel.index]) this.props.replaceChildren(...this.sectionPanel(sel.index));
    else this.props.replaceChildren(...this.formPanel());
  }

  row(label, control, { help = null, id = null, error = null } = {}) {
    return el("div", { class: `tg-dz-prop${error ? " has-error" : ""}` },
      el("label", { for: id || control.id || null, text: label }), control,
      help ? el("div", { class: "tg-help", text: help }) : null,
      error ? el("div", { class: "tg-error", text: error }) : null);
  }

  input(id, value, onInput, attrs = {}) {
    const node = el("input", { class: "form-control form-control-sm", id, value: value ?? "", ...attrs });
    node.addEventListener("input", () => onInput(node.value, node));
    node.addEventListener("blur", () => { this.mergeKey = null; });
    return node;
  }

  check(id, label, value, onChange) {
    const box = el("input", { class: "form-check-input", type: "checkbox", id, checked: Boolean(value) });
    box.addEventListener("change", () => onChange(box.checked));
    return el("label", { class: "form-check tg-dz-check", for: id }, box, el("span", { class: "form-check-label", text: label }));
  }

  labelInputs(target, id, onChange = null) {
    const out = [];
    for (const [loc, word] of [["zh-CN", this.s.label_zh], ["en", this.s.label_en]]) {
      const current = typeof target.label === "string" ? (loc === this.locale ? target.label : "") : (target.label || {})[loc];
      out.push(this.row(word, this.input(`${id}-${loc}`, current, (v) => {
        this.commit(() => {
          const map = typeof target.label === "string" ? { [this.locale]: target.label } : { ...(target.label || {}) };
          if (v.trim()) map[loc] = v; else delete map[loc];
          target.label = Object.keys(map).length ? map : undefined;
          if (!target.label) delete target.label;
          if (onChange) onChange();
        }, { mergeKey: `${id}-${loc}`, props: false });
      }, { "data-prop": `label-${loc}`, maxlength: 200 })));
    }
    return out;
  }

  head(title, actions = []) {
    return el("div", { class: "tg-dz-props-head" }, el("h2", { text: title }), el("span", { class: "tg-dz-props-actions" }, ...actions));
  }

  iconButton(label, symbol, onClick, extra = {}) {
    const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
    svg.setAttribute("class", "tg-icon tg-icon-sm");
    const use = document.createElementNS("http://www.w3.org/2000/svg", "use");
    use.setAttribute("href", `/static/vendor/icons/sprite.svg#${symbol}`);
    svg.append(use);
    return el("button", { type: "button", class: "tg-icon-btn", "aria-label": label, title: label, on: { click: onClick }, ...extra }, svg);
  }

  fieldPanel(f) {
    const key = f.key;
    const published = this.publishedKeys.has(key);
    const t = this.types.get(f.type);
    const out = [this.head(this.s.props_field, [
      this.iconButton(this.s.move_up, "arrow-up", () => this.moveField(f.key, -1)),
      this.iconButton(this.s.move_down, "arrow-down", () => this.moveField(f.key, 1)),
      this.iconButton(this.s.remove, "trash", () => this.removeField(f.key), { "data-action": "remove-field" }),
    ])];
    if (this.errors[key]) out.push(el("div", { class: "tg-banner error tg-dz-field-error", role: "alert", "data-field-error": key, text: this.errors[key].join(" ") }));
    const typeSelect = el("select", { class: "form-select form-select-sm", id: "p-type", "data-prop": "type" },
      ...this.data.types.map((x) => el("option", { value: x.key, selected: x.key === f.type, text: x.label })));
    typeSelect.addEventListener("change", () => this.commit(() => this.changeType(f, typeSelect.value)));
    out.push(this.row(this.s.type, typeSelect));
    out.push(...this.labelInputs(f, "p-label", () => { this.proposeKeySoon(f); }));
    const keyInput = this.input("p-key", key, (v, node) => {
      if (!/^[a-z][a-z0-9_]{0,62}$/.test(v) || this.fields.some((x) => x !== f && x.key === v)) { node.classList.add("is-invalid"); return; }
      node.classList.remove("is-invalid");
      this.autoKeys.delete(f.key);
      this.commit(() => this.renameKey(f.key, v), { mergeKey: "p-key", props: false });
    }, { "data-prop": "key", readonly: published, maxlength: 63, autocomplete: "off" });
    out.push(this.row(this.s.key, keyInput, { help: published ? this.s.key_locked : null }));
    out.push(this.row(this.s.help_text, this.input("p-help", labelIn(f.help_text, this.locale, ""), (v) => {
      this.commit(() => {
        const map = typeof f.help_text === "object" && f.help_text ? { ...f.help_text } : {};
        if (typeof f.help_text === "string" && f.help_text) map[this.locale] = f.help_text;
        if (v) map[this.locale] = v; else delete map[this.locale];
        if (Object.keys(map).length) f.help_text = map; else delete f.help_text;
      }, { mergeKey: "p-help", props: false });
    }, { "data-prop": "help_text" })));
    if (f.type === "select" || f.type === "multi_select") out.push(this.optionsEditor(f));
    if (f.type === "relation") out.push(this.targetPicker(f));
    if (f.type === "formula") out.push(this.formulaEditor(f));
    if (t && !t.computed && f.type !== "attachment") out.push(this.defaultInput(f));
    if (t) out.push(...this.schemaProps(f, t.schema));
    out.push(this.rulesEditor(f));
    return out;
  }

  changeType(f, type) {
    const fresh = this.newField(type);
    for (const k of Object.keys(f)) if (!["key", "type", "label", "help_text", "required"].includes(k)) delete f[k];
    f.type = type;
    for (const k of ["options", "target", "expression"]) if (fresh[k] !== undefined) f[k] = fresh[k];
  }

  proposeKeySoon(f) {
    clearTimeout(this.keyTimer);
    this.keyTimer = setTimeout(() => this.proposeKey(f.key), 250);
  }

  schemaProps(f, schema) {
    // The generic part of the panel: every config property the field type's JSON Schema declares (schema-form.js).
    return schemaControls(schema, f, RICH, {
      words: this.s, id: (name) => `p-${name}`,
      set: (name, v, merge, s) => this.commit(() => {
        if (v === undefined || v === null || v === "" || same(v, s.default)) delete f[name]; else f[name] = v;
      }, { mergeKey: merge ? `p-${name}` : null, props: false }),
      row: (...a) => this.row(...a), input: (...a) => this.input(...a), check: (...a) => this.check(...a),
    });
  }

  defaultInput(f) {
    const numeric = ["integer", "decimal", "currency", "percent"].includes(f.type);
    const shown = f.default === undefined || f.default === null ? "" : (typeof f.default === "object" ? JSON.stringify(f.default) : String(f.default));
    const type = { date: "date", datetime: "datetime-local" }[f.type] || (numeric ? "number" : "text");
    let control;
    if (f.type === "boolean" || f.type === "select") {
      const choices = f.type === "boolean" ? [["true", this.s.yes], ["false", this.s.no]] : (f.options || []).map((o) => [o.key, labelIn(o.label, this.locale, o.key)]);
      control = el("select", { class: "form-select form-select-sm", id: "p-default", "data-prop": "default" },
        el("option", { value: "", text: this.s.none }), ...choices.map(([k, v]) => el("option", { value: k, selected: k === shown, text: v })));
      control.addEventListener("change", () => this.commit(() => {
        if (!control.value) delete f.default; else f.default = f.type === "boolean" ? control.value === "true" : control.value;
      }));
    } else {
      control = this.input("p-default", shown, (v) => this.commit(() => {
        if (v === "") delete f.default; else f.default = numeric ? Number(v) : v;
      }, { mergeKey: "p-default", props: false }), { type, "data-prop": "default" });
    }
    return this.row(this.s.prop_default, control);
  }

  optionsEditor(f) {
    const box = el("div", { class: "tg-dz-options", "data-options": true });
    const list = el("ul", { class: "tg-dz-option-list" });
    const draw = () => {
      list.replaceChildren(...(f.options || []).map((o, i) => {
        const label = this.input(`p-opt-${i}`, labelIn(o.label, this.locale, ""), (v) => {
          this.commit(() => {
            o.label = { ...(typeof o.label === "object" ? o.label : {}), [this.locale]: v };
          }, { mergeKey: `p-opt-${i}`, props: false });
          // the panel is not redrawn while typing: the default value's choice follows the new name at once
          const choice = [...(this.props.querySelector("#p-default")?.options || [])].find((x) => x.value === o.key);
          if (choice) choice.textContent = labelIn(o.label, this.locale, o.key);
        }, { "aria-label": this.s.option_label, "data-option-label": o.key });
        const colour = el("input", { type: "color", class: "tg-dz-colour", value: hexOf(o.color), "aria-label": this.s.colour });
        colour.addEventListener("change", () => this.commit(() => { o.color = colour.value.toLowerCase(); }, { props: false }));
        const handle = el("span", { class: "tg-dz-handle", "aria-hidden": "true", text: "⋮⋮" });
        return el("li", { "data-option": o.key }, handle, colour, label,
          el("code", { class: "tg-muted", text: o.key }),
          this.iconButton(this.s.remove, "x-mark", () => this.commit(() => { f.options.splice(i, 1); })));
      }));
    };
    draw();
    Sortable.create(list, {
      handle: ".tg-dz-handle", animation: 120,
      onEnd: (e) => {
        if (e.oldIndex === e.newIndex) return;
        this.commit(() => { const [o] = f.options.splice(e.oldIndex, 1); f.options.splice(e.newIndex, 0, o); });
      },
    });
    const add = el("button", { type: "button", class: "btn btn-sm", "data-action": "add-option", text: `+ ${this.s.add_option}` });
    add.addEventListener("click", () => {
      const taken = new Set((f.options || []).map((o) => o.key));
      let n = (f.options || []).length + 1;
      while (taken.has(`option_${n}`)) n += 1;
      this.commit(() => { f.options = [...(f.options || []), { key: `option_${n}`, label: { [this.locale]: `${this.s.options} ${n}` } }]; });
      setTimeout(() => { const inputs = this.props.querySelectorAll("[data-option-label]"); inputs[inputs.length - 1]?.focus(); }, 0);
    });
    box.append(el("div", { class: "tg-dz-sub", text: this.s.options }), list, add);
    if (this.errors[`${f.key}/options`]) box.append(el("div", { class: "tg-error", text: this.errors[`${f.key}/options`].join(" ") }));
    return box;
  }

  targetPicker(f) {
    const pick = el("select", { class: "form-select form-select-sm", id: "p-target", "data-prop": "target" },
      ...this.data.targets.map((x) => el("option", { value: x.ref, selected: x.ref === f.target, text: x.label })));
    if (!this.data.targets.some((x) => x.ref === f.target)) pick.prepend(el("option", { value: f.target, selected: true, text: f.target }));
    pick.addEventListener("change", () => this.commit(() => { f.target = pick.value; }, { props: false }));
    return this.row(this.s.target, pick);
  }

  formulaEditor(f) {
    const area = el("textarea", { class: "form-control form-control-sm tg-dz-formula", id: "p-expression", rows: 3, "data-prop": "expression", spellcheck: "false" });
    area.value = f.expression || "";
    const result = el("div", { class: "tg-dz-formula-result", "data-formula-result": true, role: "status" });
    const insert = el("select", { class: "form-select form-select-sm", "aria-label": this.s.insert_field, "data-insert-field": true },
      el("option", { value: "", text: this.s.insert_field }),
      ...this.fields.filter((x) => x.key !== f.key).map((x) => el("option", { value: x.key, text: `${this.fieldLabel(x)} (${x.key})` })));
    const changed = () => {
      this.commit(() => { f.expression = area.value; }, { mergeKey: "p-expression", props: false });
      clearTimeout(this.formulaTimer);
      this.formulaTimer = setTimeout(() => this.checkFormula(f, area, result), 350);
    };
    area.addEventListener("input", changed);
    area.addEventListener("blur", () => { this.mergeKey = null; });
    insert.addEventListener("change", () => {
      if (!insert.value) return;
      const at = area.selectionStart ?? area.value.length;
      area.value = area.value.slice(0, at) + insert.value + area.value.slice(area.selectionEnd ?? at);
      area.focus();
      area.setSelectionRange(at + insert.value.length, at + insert.value.length);
      insert.value = "";
      this.mergeKey = null;
      changed();
    });
    setTimeout(() => this.checkFormula(f, area, result), 0);
    return el("div", { class: "tg-dz-prop" }, el("label", { for: "p-expression", text: this.s.expression }), area, insert, result);
  }

  async checkFormula(f, area, result) {
    const index = this.fields.indexOf(f);
    if (index < 0) return;
    const r = await api("POST", `/api/v1/meta/apps/${this.app}/entities/${this.draft.entity.key}/check`, this.draft.entity);
    if (!area.isConnected) return;
    const mine = ((r.data && r.data.errors) || []).filter((e) => e.path.startsWith(`/fields/${index}/`) || e.path === `/fields/${index}`);
    result.classList.toggle("is-ok", r.ok || !mine.length);
    if (r.ok || !mine.length) { result.textContent = `✓ ${this.s.formula_ok}`; return; }
    result.textContent = mine.map((e) => e.message).join(" ");
    const where = /line (\d+), column (\d+)/.exec(result.textContent);
    if (where) {
      const lines = area.value.split("\n");
      const line = Number(where[1]) - 1;
      const offset = lines.slice(0, line).reduce((n, l) => n + l.length + 1, 0) + Number(where[2]) - 1;
      result.dataset.position = String(offset);
    }
  }

  rulesEditor(f) {
    const item = this.layoutItem(f.key);
    const box = el("div", { class: "tg-dz-rules", "data-rules": true }, el("div", { class: "tg-dz-sub", text: this.s.rules }));
    if (!item) return box;
    for (const rule of RULES) box.append(this.ruleRow(rule, () => this.layoutItem(f.key), (value) => this.setRule(f.key, rule, value)));
    return box;
  }

  layoutItem(key) {
    for (const s of this.draft.form.sections) {
      if (s.kind === "lines") continue;
      const item = s.fields.find((x) => itemKey(x) === key);
      if (item !== undefined) return typeof item === "string" ? { field: item } : item;
    }
    return null;
  }

  setRule(key, rule, value) {
    this.commit(() => {
      for (const s of this.draft.form.sections) {
        if (s.kind === "lines") continue;
        s.fields = s.fields.map((x) => {
          if (itemKey(x) !== key) return x;
          const item = typeof x === "string" ? { field: x } : { ...x };
          if (value) item[rule] = value; else delete item[rule];
          return Object.keys(item).length === 1 ? item.field : item;
        });
      }
    });
  }

  conditionFields(exclude) {
    const by = this.data.conditions.by_type;
    return this.fields.filter((f) => f.key !== exclude && by[f.type] && f.type !== "formula").map((f) => ({
      key: f.key, label: this.fieldLabel(f), type: f.type, ops: by[f.type],
      options: (f.options || []).map((o) => ({ key: o.key, label: labelIn(o.label, this.locale, o.key) })),
    }));
  }

  describe(cond) {
    if (!cond) return this.s.always;
    const parts = (cond.all || cond.any || [cond]).map((c) => {
      if (c.all || c.any) return "(…)";
      const f = this.field(c.field);
      const value = Array.isArray(c.value) ? c.value : (c.value === undefined ? [] : [c.value]);
      const shown = value.map((v) => {
        const o = f && (f.options || []).find((x) => x.key === v);
        return o ? labelIn(o.label, this.locale, v) : (typeof v === "object" ? "…" : String(v));
      }).join(", ");
      return `${f ? this.fieldLabel(f) : c.field} ${this.data.conditions.ops[c.op] || c.op} ${shown}`.trim();
    });
    return parts.join(cond.any ? ` ${this.s.any} ` : " · ");
  }

  ruleRow(rule, getItem, setValue, exclude = null) {
    const current = (getItem() || {})[rule];
    const row = el("div", { class: "tg-dz-rule-row", "data-rule": rule });
    const summary = el("div", { class: "tg-dz-rule-text", text: this.describe(current) });
    const edit = el("button", { type: "button", class: "btn btn-sm", text: current ? "…" : this.s.add_rule, "data-edit-rule": rule });
    row.append(el("div", { class: "tg-dz-rule-head" }, el("strong", { text: this.s[rule] }), edit), summary);
    edit.addEventListener("click", () => {
      const fields = this.conditionFields(exclude ?? (this.selected?.key || null));
      if (!fields.length) return;
      const host = el("div", {
        class: "tg-dz-cond", "data-msg-all": this.s.all, "data-msg-any": this.s.any, "data-msg-add": this.s.add,
        "data-msg-group": this.s.group, "data-msg-remove": this.s.remove, "data-msg-yes": this.s.yes, "data-msg-no": this.s.no,
        "data-msg-field": this.s.field, "data-msg-op": this.s.op, "data-msg-value": this.s.value, "data-msg-me": this.s.me,
        "data-msg-match": this.s.match,
      }, el("div", { "data-filter-root": true }));
      const builder = new FilterBuilder(host, {
        fields, ops: this.data.conditions.ops, units: this.data.conditions.units, filter: current ? JSON.stringify(current) : null,
      });
      if (!current) builder.root.items.push(builder.leaf());
      builder.render();
      const apply = el("button", { type: "button", class: "btn btn-sm btn-primary", "data-apply-rule": rule, text: this.s.apply });
      const clear = el("button", { type: "button", class: "btn btn-sm", text: this.s.clear_rule });
      apply.addEventListener("click", () => setValue(builder.condition()));
      clear.addEventListener("click", () => setValue(null));
      row.replaceChildren(el("strong", { text: this.s[rule] }), host, el("div", { class: "tg-dz-cond-actions" }, apply, clear));
    });
    return row;
  }

  sectionPanel(index) {
    const s = this.draft.form.sections[index];
    const out = [this.head(this.s.section_settings, [
      this.iconButton(this.s.move_up, "arrow-up", () => this.moveSection(index, -1)),
      this.iconButton(this.s.move_down, "arrow-down", () => this.moveSection(index, 1)),
      this.iconButton(this.s.delete_section, "trash", () => this.removeSection(index), { "data-action": "remove-section" }),
    ])];
    out.push(...this.labelInputs(s, `p-section-${index}`));
    out.push(this.row(this.s.tab_label, this.input("p-tab", labelIn(s.tab, this.locale, ""), (v) => this.commit(() => {
      if (v.trim()) s.tab = { ...(typeof s.tab === "object" ? s.tab : {}), [this.locale]: v }; else delete s.tab;
    }, { mergeKey: "p-tab", props: false }), { "data-prop": "tab" })));
    const toggles = [];
    if (s.kind !== "lines") {
      toggles.push(this.check("p-columns", this.s.two_columns, s.columns === 2, (v) => this.commit(() => { s.columns = v ? 2 : 1; }, { props: false })));
    }
    toggles.push(this.check("p-collapsible", this.s.collapsible, s.collapsible, (v) => this.commit(() => {
      if (v) s.collapsible = true; else { delete s.collapsible; delete s.collapsed; }
    })));
    if (s.collapsible) toggles.push(this.check("p-collapsed", this.s.collapsed, s.collapsed, (v) => this.commit(() => { if (v) s.collapsed = true; else delete s.collapsed; }, { props: false })));
    out.push(el("div", { class: "tg-dz-toggles" }, ...toggles));
    if (s.kind !== "lines") {
      out.push(el("div", { class: "tg-dz-rules" }, this.ruleRow("visible_when", () => s, (v) => this.commit(() => {
        if (v) s.visible_when = v; else delete s.visible_when;
      }), "")));
    }
    return out;
  }

  formPanel() {
    const e = this.draft.entity;
    const out = [this.head(this.s.props_form)];
    if (this.errors[""]) out.push(el("div", { class: "tg-banner error", role: "alert", text: this.errors[""].join(" ") }));
    out.push(...this.labelInputs(e, "p-entity"));
    const titles = this.fields.filter((f) => ["text", "auto_number", "email", "phone", "select", "date", "integer"].includes(f.type));
    const pick = el("select", { class: "form-select form-select-sm", id: "p-display", "data-prop": "display_field" },
      el("option", { value: "", text: this.s.none }),
      ...titles.map((f) => el("option", { value: f.key, selected: f.key === e.display_field, text: this.fieldLabel(f) })));
    pick.addEventListener("change", () => this.commit(() => { if (pick.value) e.display_field = pick.value; else delete e.display_field; }, { props: false }));
    out.push(this.row(this.s.title_field, pick));
    const list = el("ol", { class: "tg-dz-section-list" }, ...this.draft.form.sections.map((s, i) => el("li", {},
      el("button", { type: "button", class: "btn btn-sm btn-ghost", on: { click: () => this.select({ kind: "section", index: i }) },
        text: labelIn(s.label, this.locale, "") || (s.kind === "lines" ? fmt(this.s.lines, { entity: s.entity }) : `${this.s.section} ${i + 1}`) }),
      el("span", { class: "tg-muted", text: s.tab ? labelIn(s.tab, this.locale, "") : "" }))));
    out.push(el("div", { class: "tg-dz-sub", text: this.s.section }), list);
    const add = el("button", { type: "button", class: "btn btn-sm", text: `+ ${this.s.add_section}`, on: { click: () => this.addSection() } });
    out.push(add);
    return out;
  }

  // -- publish -------------------------------------------------------------------------------------------
  publishableForm() {
    // Empty sections have nothing to show (the engine needs at least one field each); a tab given to some
    // sections is given to all (the engine wants every section tabbed, or none).
    const form = clone(this.draft.form);
    form.sections = form.sections.filter((s) => s.kind === "lines" || s.fields.length);
    if (form.sections.some((s) => s.tab)) {
      let tab = form.sections.find((s) => s.tab).tab;
      for (const s of form.sections) { if (s.tab) tab = s.tab; else s.tab = tab; }
    }
    return form;
  }

  locate(errors, pathToKey) {
    const found = {};
    for (const e of errors || []) {
      const key = pathToKey(e.path) ?? "";
      (found[key] = found[key] || []).push(e.message);
      if (/^\/fields\/\d+\/options/.test(e.path) && key) (found[`${key}/options`] = found[`${key}/options`] || []).push(e.message);
    }
    return found;
  }

  async publish() {
    const button = this.root.querySelector("[data-action=publish]");
    this.banner.hidden = true;
    this.errors = {};
    const entity = this.draft.entity;
    const form = this.publishableForm();
    const entityChanged = !same(entity, this.published.entity);
    const formChanged = !this.formMeta || !same(form, this.published.form);
    if (!entityChanged && !formChanged) { toast(this.s.nothing); this.status.textContent = this.s.nothing; return; }
    button.disabled = true;
    try {
      if (entityChanged) {
        const url = `/api/v1/meta/apps/${this.app}/entities/${entity.key}`;
        const r = await api("PUT", url, entity, { "If-Match": `"${this.version}"` });
        if (!r.ok) return this.refused(r, (path) => {
          const m = /^\/fields\/(\d+)/.exec(path);
          return m && entity.fields[Number(m[1])] ? entity.fields[Number(m[1])].key : null;
        });
        this.version = r.data.version;
        this.data.removed = (r.data.removed_fields || []).map((f) => f.key);
        this.published.entity = clone(entity);
        entity.fields.forEach((f) => this.publishedKeys.add(f.key));
        this.autoKeys.clear();
      }
      if (formChanged) {
        const base = `/api/v1/meta/apps/${this.app}/forms`;
        const r = this.formMeta
          ? await api("PUT", `${base}/${this.formMeta.key}`, { ...form, key: this.formMeta.key }, { "If-Match": `"${this.formMeta.version}"` })
          : await api("POST", base, form);
        if (!r.ok) {
          return this.refused(r, (path) => {
            const m = /^\/sections\/(\d+)\/fields\/(\d+)/.exec(path);
            const item = m && form.sections[Number(m[1])]?.fields?.[Number(m[2])];
            return item ? itemKey(item) : null;
          }, this.s.form_failed);
        }
        this.formMeta = { key: r.data.key, version: r.data.version };
        this.published.form = clone(form);
        this.draft.form = clone(form);
      }
      localStorage.removeItem(this.storageKey);
      clearTimeout(this.serverTimer);
      if (this.serverDraft) { await api("DELETE", this.draftUrl); this.serverDraft = false; }
      this.storageKey = `tg-designer:${this.app}:${entity.key}:${this.version}:${this.formMeta.version}`;
      const done = fmt(this.s.published, { version: this.version });
      this.status.textContent = done;
      this.status.dataset.published = String(this.version);
      toast(done, "ok");
      this.changed();
    } finally {
      button.disabled = false;
    }
  }

  refused(r, pathToKey, lead = null) {
    const data = r.data || {};
    this.errors = this.locate(data.errors, pathToKey);
    let text = lead ? `${lead} ${data.detail || ""}` : this.s.publish_failed;
    if (r.status === 409 && data.current_version !== undefined && !(data.errors || []).length) text = fmt(this.s.conflict, { version: data.current_version });
    else if (!(data.errors || []).length) text = `${this.s.publish_failed} ${data.detail || data.title || r.status}`;
    const general = this.errors[""];
    this.banner.replaceChildren(el("div", { class: "flex-fill" }, el("strong", { text }), general ? el("div", { text: general.join(" ") }) : null));
    this.banner.hidden = false;
    this.status.textContent = this.s.publish_failed;
    const first = Object.keys(this.errors).find((k) => k && this.field(k));
    if (first) this.selected = { kind: "field", key: first };
    this.changed();
  }

  // -- versions ------------------------------------------------------------------------------------------
  async showVersions() {
    const dialog = this.root.querySelector("[data-versions-dialog]");
    const list = dialog.querySelector("[data-versions]");
    const r = await api("GET", `/api/v1/meta/apps/${this.app}/entities/${this.draft.entity.key}/versions`);
    const items = r.ok ? r.data.items : [];
    const rows = items.map((v, i) => {
      const before = i ? new Map(items[i - 1].definition.fields.map((f) => [f.key, f])) : new Map();
      const after = new Map(v.definition.fields.map((f) => [f.key, f]));
      const name = (f) => `${labelIn(f.label, this.locale, f.key)}`;
      const added = [...after.values()].filter((f) => !before.has(f.key)).map(name);
      const removed = [...before.values()].filter((f) => !after.has(f.key)).map(name);
      const changed = [...after.values()].filter((f) => before.has(f.key) && !same(before.get(f.key), f)).map((f) => {
        const old = before.get(f.key);
        const keys = [...new Set([...Object.keys(old), ...Object.keys(f)])].filter((k) => !same(old[k], f[k]));
        const relabel = name(old) !== name(f) ? `${name(old)} → ${name(f)}` : name(f);
        const what = keys.filter((k) => k !== "label" || name(old) === name(f)).map((k) => this.s[`prop_${k}`] || k);
        return what.length ? `${relabel} (${what.join(", ")})` : relabel;
      });
      const line = (word, names, cls) => (names.length ? el("div", { class: cls }, el("strong", { text: `${word}: ` }), names.join("、")) : null);
      return el("li", { "data-version": v.version },
        el("div", { class: "tg-dz-version-head" }, el("strong", { text: fmt(this.s.version, { version: v.version }) }),
          el("span", { class: "tg-muted", text: new Date(v.created_at).toLocaleString(this.locale) })),
        i === 0 ? el("div", { text: this.s.created }) : null,
        i ? line(this.s.fields_added, added, "tg-dz-added") : null,
        i ? line(this.s.fields_removed, removed, "tg-dz-removed") : null,
        i ? line(this.s.fields_changed, changed, "tg-dz-changed") : null,
        i && !added.length && !removed.length && !changed.length ? el("div", { class: "tg-muted", text: this.s.no_change }) : null);
    });
    list.replaceChildren(...rows.reverse());
    dialog.showModal();
  }

  // -- a question with a real dialog (undo stays available after) ---------------------------------------
  ask(message) {
    return ask(this.root, message, this.s.remove, this.s.no, { dialogClass: "tg-dialog tg-dz-ask", footClass: "tg-dz-ask-actions" });
  }

  // -- wiring ------------------------------------------------------------------------------------------
  wire() {
    const on = (action, fn) => this.root.querySelector(`[data-action=${action}]`).addEventListener("click", fn);
    on("undo", () => this.undo());
    on("redo", () => this.redo());
    on("publish", () => this.publish());
    on("add-section", () => this.addSection());
    on("versions", () => this.showVersions());
    this.root.querySelector("[data-versions-dialog] [data-close]").addEventListener("click", (e) => e.target.closest("dialog").close());
    this.root.querySelectorAll("[data-preview]").forEach((b) => b.addEventListener("click", () => {
      this.root.querySelectorAll("[data-preview]").forEach((x) => x.setAttribute("aria-pressed", String(x === b)));
      this.root.querySelector("[data-canvas-box]").classList.toggle("is-phone", b.dataset.preview === "phone");
    }));
    this.canvasBody.addEventListener("click", (e) => {
      const f = e.target.closest(".tg-dz-field");
      if (f) { e.preventDefault(); this.select({ kind: "field", key: f.dataset.key }); return; }
      const s = e.target.closest("[data-select-section]");
      if (s) this.select({ kind: "section", index: Number(s.dataset.selectSection) });
    });
    this.root.querySelector("[data-canvas-box]").addEventListener("click", (e) => {
      if (!e.target.closest(".tg-dz-field, [data-select-section], button")) this.select(null);
    });
    this.canvasBody.addEventListener("keydown", (e) => {
      const f = e.target.closest(".tg-dz-field");
      const s = e.target.closest("[data-select-section]");
      if ((e.key === "Enter" || e.key === " ") && (f || s)) {
        e.preventDefault();
        this.select(f ? { kind: "field", key: f.dataset.key } : { kind: "section", index: Number(s.dataset.selectSection) });
      } else if (f && e.altKey && (e.key === "ArrowUp" || e.key === "ArrowDown")) {
        e.preventDefault();
        this.selected = { kind: "field", key: f.dataset.key };
        this.moveField(f.dataset.key, e.key === "ArrowUp" ? -1 : 1);
      } else if (f && e.key === "Delete") {
        e.preventDefault();
        this.removeField(f.dataset.key);
      }
    });
    document.addEventListener("keydown", (e) => {
      if (!(e.ctrlKey || e.metaKey) || e.isComposing) return;
      const typing = e.target.closest && e.target.closest("input, textarea, select");
      const key = e.key.toLowerCase();
      if (key === "z" && !typing) { e.preventDefault(); if (e.shiftKey) this.redo(); else this.undo(); }
      else if (key === "y" && !typing) { e.preventDefault(); this.redo(); }
    });
  }

  async start() {
    this.wire();
    this.startPalette();
    this.renderProps();
    this.renderOffForm();
    if (this.canvasBody.firstElementChild) { this.decorateCanvas(); this.shown(); } else await this.renderCanvas();
    await this.offerDraft();
  }
}

export function start(root) {
  const designer = new Designer(root);
  root.designer = designer;
  return designer.start();
}
