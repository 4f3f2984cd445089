// The chart designer: edits a chart definition (engine/reports/definition.py) without JSON. Fields of the source
// and of linked entities are clicked (or dragged) into dimensions and measures; the type, filter (the shared
// FilterBuilder), sort, top N and the type's options (from its JSON Schema) are set beside them. After every
// change the unsaved chart runs through POST /api/v1/apps/{app}/query (the builder's own scope) and is drawn by
// the dashboard's tile (POST /build/apps/{app}/charts/tile + charts.js); its problems land at their controls.
// The definition is kept whole: what the designer has no control for (ratios, formulas, filtered measures) is
// saved back as it came, so opening and saving a chart changes nothing.
import { api } from "./api.js";
import { el, fill, showErrors } from "./builder-dom.js";
import { bindName, drawTile, iconOf, saveDefinition } from "./chart-tile.js";
import { FilterBuilder } from "./list-tools.js";

const NUMERIC = new Set(["integer", "decimal", "currency", "percent"]);
const DATES = new Set(["date", "datetime"]);
const DELAY = 350;  // ms of quiet before the preview runs

function aggregatesFor(type) {
  if (NUMERIC.has(type)) return ["sum", "avg", "min", "max", "median", "count", "count_distinct"];
  if (DATES.has(type)) return ["count", "count_distinct", "min", "max"];
  return ["count", "count_distinct"];
}


function pick(options, value, label, attrs = {}) {
  const s = el("select", { class: "form-select form-select-sm", "aria-label": label, ...attrs });
  for (const [key, text] of options) {
    const o = el("option", { value: key, text });
    if (key === value) o.selected = true;
    s.append(o);
  }
  return s;
}

function unique(base, taken) {
  let key = base.slice(0, 60) || "m";
  for (let i = 2; taken.has(key); i += 1) key = `${base.slice(0, 56)}_${i}`;
  return key;
}

class ChartDesigner {
  constructor(root) {
    this.root = root;
    this.data = JSON.parse(root.querySelector("#tg-chart-data").textContent);
    this.s = this.data.strings;
    this.types = new Map(this.data.types.map((t) => [t.key, t]));
    this.isNew = !this.data.chart;
    const first = Object.keys(this.data.entities)[0];
    this.doc = this.data.chart ? structuredClone(this.data.chart)
      : { key: "", type: "column", source: first, dimensions: [], measures: [] };
    this.version = this.data.version;
    this.optionsByType = { [this.doc.type]: this.doc.options };  // switching back and forth keeps each type's options
    this.timer = null;
    this.ticket = 0;
    this.named = new WeakSet();  // measures whose label the designer made (it follows their aggregate)
  }

  // -- where a field lives ------------------------------------------------------------------------
  aliases() {
    const out = { source: this.doc.source };
    for (const j of this.doc.joins || []) {
      const from = out[j.from || "source"];
      if (j.direction === "reverse") out[j.as] = j.entity;
      else out[j.as] = this.fieldOf(from, j.field)?.target || null;
    }
    return out;
  }

  fieldOf(entity, key) {
    return (this.data.entities[entity]?.fields || []).find((f) => f.key === key) || null;
  }

  resolve(ref) {
    const [alias, key] = ref.includes(".") ? ref.split(".") : ["source", ref];
    const entity = this.aliases()[alias];
    const f = this.fieldOf(entity, key);
    const where = alias === "source" ? "" : `${this.data.entities[entity]?.label || alias} · `;
    return { type: f?.type || "", label: `${where}${f?.label || key}` };
  }

  // -- changes --------------------------------------------------------------------------------------
  changed(structure = true) {
    if (structure) this.render();
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.preview(), DELAY);
  }

  addDimension(ref) {
    const dims = this.doc.dimensions || (this.doc.dimensions = []);
    const dim = { field: ref };
    if (DATES.has(this.resolve(ref).type)) dim.bucket = "month";
    dims.push(dim);
    this.changed();
  }

  addMeasure(ref) {
    const measures = this.doc.measures || (this.doc.measures = []);
    const taken = new Set([...measures.map((m) => m.key), ...(this.doc.dimensions || []).map((d) => d.key || d.field.replace(".", "_"))]);
    if (!ref) {
      measures.push({ key: unique("count", taken), label: { [this.data.locale]: this.s.rows }, agg: "count" });
      this.changed();
      return;
    }
    const agg = aggregatesFor(this.resolve(ref).type)[0];
    const measure = { key: unique(`${ref.replace(".", "_")}_${agg}`, taken), agg, field: ref };
    measure.label = { [this.data.locale]: this.autoLabel(measure) };
    this.named.add(measure);
    measures.push(measure);
    this.changed();
  }

  autoLabel(m) {
    // A new measure is called after its field and aggregate ("金额 · 求和") until it is renamed in the data.
    return `${this.resolve(m.field).label} · ${this.data.aggregates[m.agg]}`;
  }

  setType(key) {
    if (key === this.doc.type) return;
    this.optionsByType[this.doc.type] = this.doc.options;
    this.doc.type = key;
    if (this.optionsByType[key] !== undefined) this.doc.options = this.optionsByType[key];
    else delete this.doc.options;
    this.changed();
  }

  addJoin(offer) {
    const taken = new Set((this.doc.joins || []).map((j) => j.as));
    const join = { as: unique(offer.alias, taken), ...offer.join };
    (this.doc.joins || (this.doc.joins = [])).push(join);
    this.changed();
  }

  joinOffers() {
    // From the source and every linked entity: follow a relation forward (many-to-one), or back from an entity
    // whose relation points here (one-to-many).
    const offers = [];
    const aliases = this.aliases();
    for (const [alias, entity] of Object.entries(aliases)) {
      const def = this.data.entities[entity];
      if (!def) continue;
      const from = alias === "source" ? {} : { from: alias };
      for (const f of def.fields) {
        if (f.target && this.data.entities[f.target]) {
          offers.push({ alias: f.key, join: { ...from, field: f.key },
            label: fill(this.s.via, { entity: this.data.entities[f.target].label, field: f.label }) });
        }
      }
      for (const [other, odef] of Object.entries(this.data.entities)) {
        for (const f of odef.fields) {
          if (f.target === entity) {
            offers.push({ alias: other, join: { ...from, direction: "reverse", entity: other, field: f.key },
              label: fill(this.s.of, { entity: odef.label, field: f.label, source: def.label }) });
          }
        }
      }
    }
    return offers;
  }

  // -- drawing --------------------------------------------------------------------------------------
  render() {
    this.renderSource();
    this.renderFields();
    this.renderTypes();
    this.renderDimensions();
    this.renderMeasures();
    this.renderSort();
    this.renderOptions();
  }

  renderSource() {
    const source = this.root.querySelector("[data-source]");
    source.replaceChildren(...Object.entries(this.data.entities).map(([k, e]) => {
      const o = el("option", { value: k, text: e.label });
      if (k === this.doc.source) o.selected = true;
      return o;
    }));
    const joins = this.root.querySelector("[data-joins]");
    joins.replaceChildren(...(this.doc.joins || []).map((j, i) => {
      const entity = this.aliases()[j.as];
      const remove = el("button", { type: "button", class: "btn btn-sm btn-ghost", "aria-label": this.s.remove_join }, iconOf("x-mark"));
      remove.addEventListener("click", () => { this.doc.joins.splice(i, 1); this.changed(); });
      return el("div", { class: "tg-cd-join", "data-join": j.as }, iconOf("link"),
        el("span", { text: fill(this.s.joined, { label: this.data.entities[entity]?.label || j.as }) }), remove);
    }));
    this.offers = this.joinOffers();
    const add = this.root.querySelector("[data-add-join]");
    add.replaceChildren(add.options[0], ...this.offers.map((o, i) => el("option", { value: String(i), text: o.label })));
    add.value = "";
  }

  renderFields() {
    const box = this.root.querySelector("[data-fields]");
    const term = this.root.querySelector("[data-field-search]").value.trim().toLowerCase();
    const groups = [];
    for (const [alias, entity] of Object.entries(this.aliases())) {
      const def = this.data.entities[entity];
      if (!def) continue;
      const items = def.fields.filter((f) => !term || f.label.toLowerCase().includes(term) || f.key.includes(term)).map((f) => {
        const ref = alias === "source" ? f.key : `${alias}.${f.key}`;
        const dim = el("button", { type: "button", class: "btn btn-sm", "data-add-dim": ref, title: this.s.add_dimension,
          "aria-label": `${this.s.add_dimension}: ${f.label}` }, el("span", { text: "+", "aria-hidden": "true" }), el("span", { class: "tg-cd-word", text: this.s.dimension_short }));
        const measure = el("button", { type: "button", class: "btn btn-sm", "data-add-measure": ref, title: this.s.add_measure,
          "aria-label": `${this.s.add_measure}: ${f.label}` }, el("span", { text: "+", "aria-hidden": "true" }), el("span", { class: "tg-cd-word", text: this.s.measure_short }));
        return el("li", { class: "tg-cd-field", "data-ref": ref, "data-type": f.type },
          el("span", { class: "tg-cd-grip", "aria-hidden": "true", text: "⋮⋮" }),
          el("span", { class: "tg-cd-fname", text: f.label, title: f.label }), el("span", { class: "tg-cd-add" }, dim, measure));
      });
      const title = alias === "source" ? def.label : fill(this.s.joined, { label: def.label });
      groups.push(el("section", { class: "tg-cd-group" }, el("h3", { text: title }), el("ul", { "data-field-list": alias }, ...items)));
    }
    box.replaceChildren(...groups);
    this.draggable();
  }

  renderTypes() {
    const bar = this.root.querySelector("[data-types]");
    bar.replaceChildren(...this.data.types.map((t) => {
      const b = el("button", { type: "button", class: "tg-cd-type", role: "radio", "aria-checked": String(t.key === this.doc.type),
        "data-type": t.key, title: t.label }, iconOf(t.icon), el("span", { text: t.label }));
      return b;
    }));
  }

  chip(kind, i, title, controls, name = el("span", { class: "tg-cd-chip-name", text: title })) {
    const list = this.doc[kind];
    const up = el("button", { type: "button", class: "btn btn-sm btn-ghost", "aria-label": `${this.s.move_up}: ${title}` }, iconOf("arrow-up"));
    const down = el("button", { type: "button", class: "btn btn-sm btn-ghost", "aria-label": `${this.s.move_down}: ${title}` }, iconOf("arrow-down"));
    const remove = el("button", { type: "button", class: "btn btn-sm btn-ghost-danger", "data-remove": "", "aria-label": `${this.s.remove}: ${title}` }, iconOf("x-mark"));
    const move = (by) => { const [item] = list.splice(i, 1); list.splice(Math.max(0, Math.min(list.length, i + by)), 0, item); this.changed(); };
    up.addEventListener("click", () => move(-1));
    down.addEventListener("click", () => move(1));
    remove.addEventListener("click", () => { list.splice(i, 1); this.changed(); });
    up.disabled = i === 0;
    down.disabled = i === list.length - 1;
    return el("li", { class: "tg-cd-chip", [`data-${kind === "dimensions" ? "dimension" : "measure"}`]: String(i) },
      name, ...controls, el("span", { class: "tg-cd-chip-tools" }, up, down, remove),
      el("div", { class: "tg-error", "data-error-for": `/chart/${kind}/${i}` }));
  }

  renderDimensions() {
    const list = this.root.querySelector("[data-dimensions]");
    const dims = this.doc.dimensions || [];
    list.replaceChildren(...dims.map((d, i) => {
      const { type, label } = this.resolve(d.field);
      const controls = [];
      if (DATES.has(type) && !d.bins) {
        const buckets = Object.entries(this.data.buckets).filter(([b]) => type === "datetime" || b !== "hour");
        const s = pick([["", this.s.no_bucket], ...buckets], d.bucket || "", this.s.bucket, { "data-bucket": "" });
        s.addEventListener("change", () => { if (s.value) d.bucket = s.value; else delete d.bucket; this.changed(false); });
        controls.push(s);
      }
      return this.chip("dimensions", i, this.text(d.label) || label, controls);
    }));
    if (!dims.length) list.append(el("li", { class: "tg-cd-empty", text: this.s.empty_dims }));
  }

  renderMeasures() {
    const list = this.root.querySelector("[data-measures]");
    const measures = this.doc.measures || [];
    list.replaceChildren(...measures.map((m, i) => {
      const controls = [];
      let title = this.text(m.label);
      if (m.agg && !m.expr && !m.where && (m.field || m.agg === "count")) {
        const { type, label } = m.field ? this.resolve(m.field) : { type: "", label: this.s.rows };
        title = title || label;
        const choices = m.field ? aggregatesFor(type) : ["count"];
        if (!choices.includes(m.agg)) choices.push(m.agg);
        const s = pick(choices.map((a) => [a, this.data.aggregates[a]]), m.agg, this.s.aggregate, { "data-agg": "" });
        s.disabled = !m.field;
        s.addEventListener("change", () => {
          m.agg = s.value;
          if (this.named.has(m)) m.label = { [this.data.locale]: this.autoLabel(m) };
          this.changed();
        });
        controls.push(s);
      } else {
        title = title || m.key;
        controls.push(el("span", { class: "tg-cd-kept", text: this.s.kept }));
      }
      const name = el("input", { class: "form-control form-control-sm tg-cd-chip-name", value: title, "data-measure-label": "",
        "aria-label": `${this.s.measure_label}: ${title}` });
      name.addEventListener("change", () => {  // the name in the viewer's language; the other language's is kept
        const label = { ...(typeof m.label === "object" && m.label ? m.label : {}) };
        if (name.value.trim()) label[this.data.locale] = name.value.trim(); else delete label[this.data.locale];
        if (Object.keys(label).length) m.label = label; else delete m.label;
        this.named.delete(m);
        this.changed();
      });
      return this.chip("measures", i, title, controls, name);
    }));
    if (!measures.length) list.append(el("li", { class: "tg-cd-empty", text: this.s.empty_measures }));
  }

  text(label) {
    if (!label || typeof label !== "object") return label || "";
    return label[this.data.locale] || label.en || Object.values(label)[0] || "";
  }

  renderSort() {
    const names = [
      ...(this.doc.dimensions || []).map((d) => [d.key || d.field.replace(".", "_"), this.text(d.label) || this.resolve(d.field).label]),
      ...(this.doc.measures || []).map((m) => [m.key, this.text(m.label) || (m.field ? `${this.data.aggregates[m.agg] || ""} ${this.resolve(m.field).label}` : m.agg === "count" ? this.s.rows : m.key)]),
    ];
    const first = (this.doc.sort || [])[0];
    const sort = this.root.querySelector("[data-sort]");
    sort.replaceChildren(...[["", this.s.no_sort], ...names].map(([k, t]) => el("option", { value: k, text: t })));
    sort.value = first ? first.by : "";
    this.root.querySelector("[data-dir]").value = first ? first.dir || "asc" : "desc";
    const date = this.root.querySelector("[data-date-field]");
    const dates = (this.data.entities[this.doc.source]?.fields || []).filter((f) => DATES.has(f.type));
    date.replaceChildren(...dates.map((f) => el("option", { value: f.key, text: f.label })));
    date.value = this.doc.date_field || "created_at";
    const type = this.types.get(this.doc.type);
    const others = this.root.querySelector("[data-others]");
    others.disabled = !type?.others;
  }

  renderOptions() {
    const box = this.root.querySelector("[data-options]");
    const type = this.types.get(this.doc.type);
    const props = type?.schema?.properties || {};
    const options = this.doc.options || {};
    const set = (name, value) => {
      const next = { ...(this.doc.options || {}) };
      if (value === undefined) delete next[name]; else next[name] = value;
      this.doc.options = next;
      this.changed(false);
    };
    const rows = [];
    for (const [name, raw] of Object.entries(props)) {
      const prop = raw.anyOf ? raw.anyOf.find((p) => p.type !== "null") || raw : raw;
      const label = this.s[`option_${name}`] || raw.title || name;
      if (prop.type === "boolean") {
        const check = el("input", { type: "checkbox", class: "form-check-input", "data-option": name });
        check.checked = options[name] ?? raw.default ?? false;
        check.addEventListener("change", () => set(name, check.checked));
        rows.push(el("label", { class: "form-check" }, check, ` ${label}`));
      } else if (prop.type === "string" && name === "measure") {
        const s = pick([["", this.s.first_measure], ...(this.doc.measures || []).map((m) => [m.key, this.text(m.label) || m.key])],
          options[name] || "", label, { "data-option": name });
        s.addEventListener("change", () => set(name, s.value || undefined));
        rows.push(el("div", { class: "tg-field" }, el("label", { text: label }), s));
      } else if (prop.type === "array" && ["rows", "columns"].includes(name)) {
        const chosen = new Set(options[name] || []);
        const boxes = (this.doc.dimensions || []).map((d) => {
          const key = d.key || d.field.replace(".", "_");
          const check = el("input", { type: "checkbox", class: "form-check-input", value: key });
          check.checked = chosen.has(key);
          check.addEventListener("change", () => {
            if (check.checked) chosen.add(key); else chosen.delete(key);
            set(name, (this.doc.dimensions || []).map((x) => x.key || x.field.replace(".", "_")).filter((k) => chosen.has(k)));
          });
          return el("label", { class: "tg-chip-input" }, check, this.text(d.label) || this.resolve(d.field).label);
        });
        rows.push(el("div", { class: "tg-field" }, el("span", { class: "tg-label", text: label }), el("div", { class: "tg-cd-checks", "data-option": name }, ...boxes)));
      } else if (prop.type === "array") {
        const input = el("input", { class: "form-control form-control-sm", value: (options[name] || []).join(", "), "data-option": name });
        input.addEventListener("change", () => set(name, input.value.split(",").map((v) => v.trim()).filter(Boolean)));
        rows.push(el("div", { class: "tg-field" }, el("label", { text: label }), input));
      } else if (name in options) {
        rows.push(el("div", { class: "tg-field" }, el("span", { class: "tg-label", text: label }), el("span", { class: "tg-cd-kept", text: this.s.kept })));
      }
    }
    box.replaceChildren(...rows);
    this.root.querySelector("[data-options-box]").hidden = !rows.length;
  }

  startFilter() {
    const host = this.root.querySelector("[data-filter-host]");
    const fields = this.data.entities[this.doc.source]?.filter || [];
    host.replaceChildren(el("div", { "data-filter-root": "" }));
    if (!fields.length) return;
    Object.assign(host.dataset, this.root.dataset);  // the condition builder's words (data-msg-*)
    this.filter = new FilterBuilder(host, { fields, ops: this.data.ops, units: this.data.units,
      filter: this.doc.filter ? JSON.stringify(this.doc.filter) : null });
    this.filter.render();
  }

  filterChanged() {
    // The builder keeps its own tree; the chart's filter is read back from it whenever the person changes it.
    queueMicrotask(() => {
      const cond = this.filter ? this.filter.condition() : null;
      if (cond) this.doc.filter = cond; else delete this.doc.filter;
      this.changed(false);
    });
  }

  draggable() {
    import("/static/vendor/sortable/sortable.esm.js").then(({ default: Sortable }) => {
      this.root.querySelectorAll("[data-field-list]").forEach((list) => Sortable.create(list, {
        group: { name: "chart-fields", pull: "clone", put: false }, sort: false, handle: ".tg-cd-grip", animation: 120,
      }));
      if (this.zones) return;
      this.zones = true;
      for (const [zone, add] of [["[data-dimensions]", (r) => this.addDimension(r)], ["[data-measures]", (r) => this.addMeasure(r)]]) {
        Sortable.create(this.root.querySelector(zone), {
          group: { name: "chart-fields", pull: false, put: true }, sort: false,
          onAdd: (e) => { const ref = e.item.dataset.ref; e.item.remove(); add(ref); },
        });
      }
    }).catch(() => {});  // the + buttons still add fields
  }

  // -- preview and save -----------------------------------------------------------------------------
  body() {
    return { ...this.doc, key: this.doc.key || "preview" };
  }

  async preview() {
    const box = this.root.querySelector("[data-preview]");
    const problem = this.root.querySelector("[data-preview-error]");
    if (!(this.doc.measures || []).length) {
      box.replaceChildren(el("p", { class: "tg-muted", text: this.s.empty_measures }));
      problem.textContent = "";
      box.dataset.state = "empty";
      return;
    }
    const mine = ++this.ticket;
    box.dataset.state = "loading";
    const r = await api("POST", `/api/v1/apps/${this.data.app}/query`, { chart: this.body(), locale: this.data.locale });
    if (mine !== this.ticket) return;
    const loose = showErrors(this.root, r.ok ? { data: { errors: [] } } : r);
    if (!r.ok) {
      problem.textContent = loose.length ? `${this.s.preview_failed} ${loose.join("; ")}` : "";
      box.dataset.state = "error";
      return;
    }
    problem.textContent = "";
    await drawTile(this.data.app, box, r, this.data.locale);
    if (mine === this.ticket) box.dataset.state = "ok";
  }

  async save() {
    if (!(await saveDefinition(this, "charts", "/chart"))) return;
    if (this.data.back) window.location.assign(`${this.data.back}?add=${encodeURIComponent(this.doc.key)}`);
  }

  // -- wiring ---------------------------------------------------------------------------------------
  start() {
    const root = this.root;
    bindName(root, this.doc, this.isNew, "chart", () => this.data.taken);
    const limit = root.querySelector("[data-limit]");
    limit.value = this.doc.limit ?? "";
    limit.addEventListener("change", () => { if (limit.value) this.doc.limit = Number(limit.value); else delete this.doc.limit; this.changed(false); });
    const others = root.querySelector("[data-others]");
    others.checked = Boolean(this.doc.others);
    others.addEventListener("change", () => { this.doc.others = others.checked; this.changed(false); });
    root.querySelector("[data-source]").addEventListener("change", (e) => {
      Object.assign(this.doc, { source: e.target.value, joins: [], dimensions: [], measures: [] });
      delete this.doc.filter;
      delete this.doc.sort;
      delete this.doc.date_field;
      this.startFilter();
      this.changed();
    });
    root.querySelector("[data-add-join]").addEventListener("change", (e) => {
      if (e.target.value !== "") this.addJoin(this.offers[Number(e.target.value)]);
    });
    root.querySelector("[data-field-search]").addEventListener("input", () => this.renderFields());
    root.querySelector("[data-fields]").addEventListener("click", (e) => {
      const dim = e.target.closest("[data-add-dim]");
      if (dim) this.addDimension(dim.dataset.addDim);
      const measure = e.target.closest("[data-add-measure]");
      if (measure) this.addMeasure(measure.dataset.addMeasure);
    });
    root.querySelector("[data-count]").addEventListener("click", () => this.addMeasure(null));
    root.querySelector("[data-types]").addEventListener("click", (e) => {
      const b = e.target.closest("[data-type]");
      if (b) this.setType(b.dataset.type);
    });
    const sort = root.querySelector("[data-sort]");
    const dir = root.querySelector("[data-dir]");
    const setSort = () => {
      const rest = (this.doc.sort || []).slice(1);
      if (sort.value) this.doc.sort = [{ by: sort.value, dir: dir.value }, ...rest.filter((x) => x.by !== sort.value)];
      else if (rest.length) this.doc.sort = rest; else delete this.doc.sort;
      this.changed(false);
    };
    sort.addEventListener("change", setSort);
    dir.addEventListener("change", setSort);
    root.querySelector("[data-date-field]").addEventListener("change", (e) => { this.doc.date_field = e.target.value; this.changed(false); });
    const host = root.querySelector("[data-filter-host]");
    for (const kind of ["change", "input", "click"]) host.addEventListener(kind, () => this.filterChanged());
    root.querySelector("[data-save]").addEventListener("click", () => this.save());
    this.startFilter();
    this.render();
    return this.preview();
  }
}

export function start(root) {
  const designer = new ChartDesigner(root);
  root.designer = designer;  // tests read the definition back
  return designer.start();
}
