// The dashboard designer: saved charts as tiles flowing in rows on the 24-column grid (width presets 1/3, 1/2,
// 2/3, full; height presets small, medium, large), moved by dragging or by the arrow buttons, removed, and the
// default filters (period, team, owner) every tile runs under. Each tile previews through
// POST /api/v1/apps/{app}/charts/{key}/data with those filters and is drawn by the dashboard's own tile
// (POST /build/apps/{app}/charts/tile + charts.js). Saved through the dashboards API; a layout nobody touched is
// saved as it came (x and y are only recomputed after a move or a resize).
import { api } from "./api.js";
import { el, fill } from "./builder-dom.js";
import { bindName, drawTile, iconOf, saveDefinition } from "./chart-tile.js";

const COLUMNS = 24;



class DashboardDesigner {
  constructor(root) {
    this.root = root;
    this.data = JSON.parse(root.querySelector("#tg-dashboard-data").textContent);
    this.s = this.data.strings;
    this.isNew = !this.data.dashboard;
    this.doc = this.data.dashboard ? structuredClone(this.data.dashboard) : { key: "", tiles: [] };
    this.version = this.data.version;
    this.charts = new Map(this.data.charts.map((c) => [c.key, c]));
    this.bodies = new WeakMap();  // tile -> its drawn body, kept while tiles move
  }

  get draftKey() { return `tg-dd-draft:${this.data.app}:${this.data.dashboard ? this.doc.key : "new"}`; }

  reflow() {
    // Row flow: each tile after the previous one, a new row when it no longer fits; a row is as tall as its tallest.
    let x = 0; let y = 0; let rowHeight = 0;
    for (const t of this.doc.tiles) {
      if (x + t.w > COLUMNS) { y += rowHeight; x = 0; rowHeight = 0; }
      t.x = x; t.y = y;
      x += t.w; rowHeight = Math.max(rowHeight, t.h);
    }
  }

  rows() {
    const rows = [];
    let x = COLUMNS;
    this.doc.tiles.forEach((t, i) => {
      if (x + t.w > COLUMNS) { rows.push([]); x = 0; }
      rows[rows.length - 1].push(i);
      x += t.w;
    });
    return rows;
  }

  move(i, to) {
    const tiles = this.doc.tiles;
    const target = Math.max(0, Math.min(tiles.length - 1, to));
    if (target === i) return;
    const [tile] = tiles.splice(i, 1);
    tiles.splice(target, 0, tile);
    this.layoutChanged();
  }

  moveRow(i, by) {
    // Up: before the first tile of the row above; down: after the last tile of the row below.
    const rows = this.rows();
    const r = rows.findIndex((row) => row.includes(i));
    const other = rows[r + by];
    if (!other) return;
    this.move(i, by < 0 ? other[0] : other[other.length - 1]);
  }

  layoutChanged() {
    this.reflow();
    this.render();
    this.root.dataset.layout = String(Number(this.root.dataset.layout || 0) + 1);
  }

  presetSelect(kind, presets, value, tile, title) {
    const s = el("select", { class: "form-select form-select-sm", "aria-label": `${this.s[kind]}: ${title}`, [`data-${kind}`]: "" });
    const options = presets.map(([label, n]) => [String(n), label]);
    if (!presets.some(([, n]) => n === value)) options.push([String(value), fill(this.s.custom, { n: value })]);
    for (const [v, text] of options) {
      const o = el("option", { value: v, text });
      if (Number(v) === value) o.selected = true;
      s.append(o);
    }
    s.addEventListener("change", () => {
      tile[kind === "width" ? "w" : "h"] = Number(s.value);
      this.layoutChanged();
    });
    return s;
  }

  tileElement(tile, i) {
    const chart = this.charts.get(tile.chart);
    const title = chart ? chart.label : tile.chart;
    const button = (icon, label, action) => {
      const b = el("button", { type: "button", class: "btn btn-sm btn-ghost", "aria-label": `${label}: ${title}`, title: label }, iconOf(icon));
      b.addEventListener("click", action);
      return b;
    };
    const remove = button("trash", this.s.remove, () => { this.doc.tiles.splice(i, 1); this.layoutChanged(); });
    remove.classList.replace("btn-ghost", "btn-ghost-danger");
    const tools = el("div", { class: "tg-dd-tools" },
      this.presetSelect("width", this.data.widths, tile.w, tile, title),
      this.presetSelect("height", this.data.heights, tile.h, tile, title),
      button("arrow-left", this.s.left, () => this.move(i, i - 1)), button("arrow-up", this.s.up, () => this.moveRow(i, -1)),
      button("arrow-down", this.s.down, () => this.moveRow(i, 1)), button("arrow-right", this.s.right, () => this.move(i, i + 1)),
      el("a", { class: "btn btn-sm btn-ghost", href: `/build/apps/${this.data.app}/charts/${tile.chart}`, title: this.s.edit_chart,
        "aria-label": `${this.s.edit_chart}: ${title}` }, iconOf("pencil-square")), remove);
    let body = this.bodies.get(tile);
    if (!body) {
      body = el("div", { class: "tg-tile-body" }, el("div", { class: "tg-tile-loading", text: this.s.loading }));
      this.bodies.set(tile, body);
      this.load(tile, body);
    }
    return el("section", { class: `tg-tile tg-dd-tile tg-w-${Math.min(tile.w, 24)} tg-h-${Math.min(tile.h, 12)}`, "data-tile": String(i), "data-chart": tile.chart },
      el("header", { class: "tg-tile-head" }, el("span", { class: "tg-dd-grip", "aria-hidden": "true", text: "⋮⋮" }),
        el("h2", { text: title }), tools),
      el("div", { class: "tg-error", "data-error-for": `/tiles/${i}` }), body);
  }

  async load(tile, body) {
    body.dataset.state = "loading";
    const r = await api("POST", `/api/v1/apps/${this.data.app}/charts/${tile.chart}/data`, { filters: this.doc.filters || {}, locale: this.data.locale });
    await drawTile(this.data.app, body, r, this.data.locale);
    body.dataset.state = r.ok ? "ok" : "error";
  }

  render() {
    const grid = this.root.querySelector("[data-tiles]");
    grid.replaceChildren(...this.doc.tiles.map((t, i) => this.tileElement(t, i)));
    if (!this.doc.tiles.length) grid.append(el("div", { class: "tg-dd-empty", text: this.s.empty }));
  }

  addTile(chart) {
    this.doc.tiles.push({ chart, x: 0, y: 0, w: 12, h: 6 });
    this.layoutChanged();
  }

  filtersChanged(select) {
    const filters = { ...(this.doc.filters || {}) };
    const name = select.dataset.filter;
    if (name === "relative") { if (select.value) filters.relative = select.value; else delete filters.relative; }
    else if (name === "owners") filters.owners = select.value ? [Number(select.value)] : [];
    else filters.teams = select.value ? [select.value] : [];
    this.doc.filters = filters;
    for (const tile of this.doc.tiles) { const body = this.bodies.get(tile); if (body) this.load(tile, body); }
  }

  async save() {
    if (!(await saveDefinition(this, "dashboards"))) return;
    sessionStorage.removeItem(this.draftKey);
    const open = this.root.querySelector("[data-open-app]");
    open.href = `/apps/${this.data.app}/dashboards/${this.doc.key}`;
    open.hidden = false;
  }

  start() {
    const root = this.root;
    const params = new URLSearchParams(location.search);
    const added = params.get("add");
    if (added) {  // back from "new chart": the draft left behind, with the new chart on it
      const draft = sessionStorage.getItem(this.draftKey);
      if (draft) this.doc = JSON.parse(draft);
      sessionStorage.removeItem(this.draftKey);
      history.replaceState(null, "", location.pathname);
    }
    const syncKey = bindName(root, this.doc, this.isNew, "dashboard", () => this.data.taken);
    root.querySelectorAll("[data-filter]").forEach((s) => s.addEventListener("change", () => this.filtersChanged(s)));
    root.querySelector("[data-add-tile]").addEventListener("click", () => {
      const choice = root.querySelector("[data-chart-choice]").value;
      if (choice) this.addTile(choice);
    });
    root.querySelector("[data-new-chart]").addEventListener("click", () => {
      syncKey();
      sessionStorage.setItem(this.draftKey, JSON.stringify(this.doc));
      location.assign(`/build/apps/${this.data.app}/charts/new?back=${encodeURIComponent(location.pathname)}`);
    });
    root.querySelector("[data-save]").addEventListener("click", () => this.save());
    if (added && this.charts.has(added)) this.addTile(added); else this.render();
    import("/static/vendor/sortable/sortable.esm.js").then(({ default: Sortable }) => {
      Sortable.create(root.querySelector("[data-tiles]"), {
        handle: ".tg-dd-grip", animation: 120, draggable: ".tg-tile",
        onEnd: (e) => { if (e.oldIndex !== e.newIndex) { const [t] = this.doc.tiles.splice(e.oldIndex, 1); this.doc.tiles.splice(e.newIndex, 0, t); this.layoutChanged(); } },
      });
    }).catch(() => {});  // the arrow buttons still move tiles
  }
}

export function start(root) {
  const designer = new DashboardDesigner(root);
  root.designer = designer;  // tests read the definition back
  designer.start();
}
