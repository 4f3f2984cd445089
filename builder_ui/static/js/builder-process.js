// The process designer (/build/apps/{app}/processes/{key}): loads the definition from the processes API, draws it
// top to bottom (builder-process-graph.js lays it out), a "+" on every connection inserts a step, the panel
// (builder-process-panel.js) edits the selected step or branch. Save is PUT with If-Match, publish POSTs
// .../publish, check POSTs .../validate: each problem is pinned on its step or branch. Undo/redo keep whole
// snapshots of the JSON, which is the one truth (what was loaded and not touched is sent back as it was).
import { api, toast } from "./api.js";
import { el, fill, icon, problemText } from "./builder-dom.js";
import { CARD, GATEWAYS, addBranch, deleteBlock, deleteBranch, deleteNode, freshId, insertStep, isSplit, joinOf, kindOf, layout, nodeOf, preview } from "./builder-process-graph.js";
import { FreeCanvas } from "./builder-process-free.js";
import { renderPanel, summary } from "./builder-process-panel.js";

const DRAFT_KEY = "tangram.process-draft";
const SERVER_FIELDS = ["id", "app", "version", "published_version", "updated_at"];
const INSERTS = ["approval", "cc", "fill", "exclusive", "parallel", "timer", "service"];
const ICONS = { approval: "user", cc: "paper-airplane", fill: "pencil-square", exclusive: "funnel", parallel: "queue-list",
  inclusive: "funnel", timer: "clock", service: "bolt", start: "play", end: "stop" };

export { icon };

export function labelIn(label, locale, fallback = "") {
  if (!label) return fallback;
  if (typeof label === "string") return label;
  return label[locale] || label["zh-CN"] || label.en || Object.values(label)[0] || fallback;
}

class Designer {
  constructor(root) {
    this.root = root;
    this.data = JSON.parse(root.querySelector("#tg-process-data").textContent);
    this.s = this.data.strings;
    this.locale = this.data.locale;
    this.key = this.data.key;
    this.canvas = root.querySelector("[data-canvas]");
    this.panel = root.querySelector("[data-panel]");
    this.status = root.querySelector("[data-status]");
    this.undoStack = [];
    this.redoStack = [];
    this.selected = null; // {node: id} | {edge: index} | null (the process settings)
    this.problems = []; // [{node?, edge?, message}]
    this.zoom = 1;
    this.dirty = false;
  }

  async start() {
    if (this.key) {
      const r = await api("GET", `${this.data.api}/${encodeURIComponent(this.key)}`);
      if (!r.ok) { this.banner(problemText(r)); return; }
      this.take(r.data);
    } else {
      const handed = JSON.parse(sessionStorage.getItem(DRAFT_KEY) || "null");
      if (!handed || handed.app !== this.data.app || !handed.definition) { this.banner(this.s.no_versions); return; }
      this.def = handed.definition;
      this.meta = { version: null, published_version: null };
      this.problems = (handed.issues || []).map((i) => ({ node: i.node, message: i.message }));
      this.dirty = true;
      this.say(this.s.imported);
    }
    this.wire();
    this.render();
    // A phone sees the whole width of the flow first (zoom stays adjustable).
    const scroll = this.root.querySelector("[data-scroll]");
    if (window.innerWidth < 760 && this.view.width > scroll.clientWidth) this.setZoom(Math.max(0.5, (scroll.clientWidth - 16) / this.view.width));
  }

  take(doc) {
    this.meta = Object.fromEntries(SERVER_FIELDS.map((k) => [k, doc[k]]));
    this.def = Object.fromEntries(Object.entries(doc).filter(([k]) => !SERVER_FIELDS.includes(k)));
  }

  get entity() { return this.data.entities.find((e) => e.key === this.def.entity) || { key: this.def.entity, label: this.def.entity, conditions: [], fields: [] }; }

  banner(text) {
    const b = this.root.querySelector("[data-banner]");
    b.textContent = text || "";
    b.hidden = !text;
  }

  say(text) { this.status.textContent = text; }

  wire() {
    const on = (action, fn) => this.root.querySelectorAll(`[data-action="${action}"]`).forEach((b) => b.addEventListener("click", fn));
    on("undo", () => this.undo());
    on("redo", () => this.redo());
    on("zoom-in", () => this.setZoom(this.zoom + 0.1));
    on("zoom-out", () => this.setZoom(this.zoom - 0.1));
    on("zoom-reset", () => this.setZoom(1));
    this.root.querySelectorAll("[data-mode]").forEach((b) => b.addEventListener("click", () => this.setMode(b.dataset.mode)));
    on("save", () => this.save());
    on("validate", () => this.validate());
    on("publish", () => this.publish());
    on("versions", () => this.versions());
    const dialog = this.root.querySelector("[data-versions-dialog]");
    dialog.querySelectorAll("[data-dialog-close]").forEach((b) => b.addEventListener("click", () => dialog.close()));
    document.addEventListener("click", (e) => { if (this.menu && !this.menu.contains(e.target)) this.closeMenu(); });
    document.addEventListener("keydown", (e) => {
      const typing = e.target.closest?.("input, textarea, select, dialog");
      if ((e.key === "Delete" || e.key === "Backspace") && !typing && this.selected?.node && this.mode !== "free") {
        e.preventDefault();
        this.remove(this.selected.node);
        return;
      }
      if (!(e.ctrlKey || e.metaKey) || e.key.toLowerCase() !== "z") return;
      if (typing) return;
      e.preventDefault();
      if (e.shiftKey) this.redo(); else this.undo();
    });
    this.canvas.addEventListener("click", (e) => {
      if (e.target === this.canvas || e.target.closest("svg.tg-pd-lines")) { this.closeMenu(); this.select(null); }
    });
    window.addEventListener("beforeunload", (e) => { if (this.dirty) e.preventDefault(); });
  }

  // -- history ------------------------------------------------------------------------------------------
  // One call = one undo step; `merge` folds repeated edits of one input (typing) into the step before.
  commit(change, { merge = null, panel = true } = {}) {
    const before = JSON.stringify(this.def);
    change(this.def);
    if (JSON.stringify(this.def) === before) return;
    if (!(merge && this.lastMerge === merge && this.undoStack.length)) this.undoStack.push(before);
    this.lastMerge = merge;
    this.redoStack = [];
    this.dirty = true;
    this.render({ panel });
  }

  undo() { this.step(this.undoStack, this.redoStack); }
  redo() { this.step(this.redoStack, this.undoStack); }

  step(from, to) {
    if (!from.length) return;
    to.push(JSON.stringify(this.def));
    this.def = JSON.parse(from.pop());
    this.lastMerge = null;
    this.dirty = true;
    if (this.selected?.node && !nodeOf(this.def, this.selected.node)) this.selected = null;
    if (this.selected && "edge" in this.selected && !this.def.edges[this.selected.edge]) this.selected = null;
    this.render();
  }

  // -- drawing ------------------------------------------------------------------------------------------
  render({ panel = true } = {}) {
    this.root.querySelector('[data-action="undo"]').disabled = !this.undoStack.length;
    this.root.querySelector('[data-action="redo"]').disabled = !this.redoStack.length;
    this.root.querySelector("[data-title]").textContent = labelIn(this.def.label, this.locale, this.def.key);
    const state = this.root.querySelector("[data-state]");
    state.textContent = this.meta.published_version ? fill(this.s.published_v, { version: this.meta.published_version }) : this.s.draft;
    state.className = `badge ${this.meta.published_version ? "bg-green text-white" : "bg-secondary text-white"}`;
    const base = `/build/apps/${encodeURIComponent(this.data.app)}/processes/${encodeURIComponent(this.def.key || "new")}`;
    this.root.querySelector("[data-simulate]").href = `${base}/simulate`;
    const exp = this.root.querySelector("[data-export]");
    exp.href = this.key ? `${this.data.api}/${encodeURIComponent(this.key)}/bpmn` : "#";
    exp.classList.toggle("disabled", !this.key);
    if (this.dirty) this.say(this.s.unsaved);
    this.draw();
    this.drawProblems();
    if (panel) renderPanel(this);
  }

  // The tree, or the free canvas: both drawn from the definition.
  draw() {
    if (this.mode === "free") { this.view = layout(this.def); this.free?.draw(); } else this.drawCanvas();
  }

  async setMode(mode) {
    this.mode = mode;
    this.root.querySelectorAll("[data-mode]").forEach((b) => b.setAttribute("aria-pressed", String(b.dataset.mode === mode)));
    const host = this.root.querySelector("[data-free]");
    this.root.querySelector("[data-scroll]").hidden = mode === "free";
    host.hidden = mode !== "free";
    this.closeMenu();
    if (mode === "free") {
      this.view = layout(this.def);
      this.free = new FreeCanvas(this, host);
      await this.free.start();
    } else {
      this.free?.dispose();
      this.free = null;
      this.drawCanvas();
    }
    this.root.querySelector("[data-zoom]").textContent = "100%";
    this.root.dataset.mode = mode;
  }

  drawCanvas() {
    const view = layout(this.def);
    this.view = view;
    this.canvas.replaceChildren();
    this.canvas.style.width = `${view.width}px`;
    this.canvas.style.height = `${view.height}px`;
    this.setZoom(this.zoom);
    const NS = "http://www.w3.org/2000/svg";
    const svg = document.createElementNS(NS, "svg");
    svg.setAttribute("class", "tg-pd-lines");
    svg.setAttribute("width", view.width);
    svg.setAttribute("height", view.height);
    const arrow = document.createElementNS(NS, "marker");
    arrow.id = "tg-pd-arrow";
    for (const [k, v] of Object.entries({ viewBox: "0 0 10 10", refX: "9", refY: "5", markerWidth: "7", markerHeight: "7", orient: "auto-start-reverse" })) arrow.setAttribute(k, v);
    const tip = document.createElementNS(NS, "path");
    tip.setAttribute("d", "M 0 0 L 10 5 L 0 10 z");
    tip.setAttribute("class", "tg-pd-arrow");
    arrow.append(tip);
    const defs = document.createElementNS(NS, "defs");
    defs.append(arrow);
    svg.append(defs);
    const flagged = new Set(this.problems.filter((p) => p.edge !== undefined).map((p) => p.edge));
    for (const line of view.lines) {
      const path = document.createElementNS(NS, "path");
      path.setAttribute("d", `M ${line.points.map((p) => p.join(" ")).join(" L ")}`);
      path.setAttribute("class", `tg-pd-line${line.back ? " back" : ""}${flagged.has(line.index) ? " error" : ""}`);
      path.setAttribute("marker-end", "url(#tg-pd-arrow)");
      svg.append(path);
    }
    this.canvas.append(svg);
    for (const line of view.lines) {
      if (line.chip) this.canvas.append(this.chip(line));
      if (line.plus) this.canvas.append(this.plus(line));
    }
    for (const box of view.boxes) this.canvas.append(this.card(box));
  }

  place(node, x, y) {
    node.style.left = `${x}px`;
    node.style.top = `${y}px`;
    return node;
  }

  plus(line) {
    const b = el("button", { type: "button", class: "tg-pd-plus", "aria-label": this.s.add_node, title: this.s.add_node, "data-plus": String(line.index) }, icon("plus"));
    b.addEventListener("click", (e) => { e.stopPropagation(); this.openMenu(line, b); });
    return this.place(b, line.plus.x, line.plus.y);
  }

  chip(line) {
    const e = line.edge;
    const branches = this.def.edges.filter((x) => x.from === e.from);
    const n = branches.indexOf(e) + 1;
    const gateway = nodeOf(this.def, e.from);
    const text = gateway?.type === "parallel" ? labelIn(e.label, this.locale, "") || fill(this.s.branch_n, { n })
      : e.default ? this.s.otherwise : labelIn(e.label, this.locale, "") || this.describe(e.condition) || fill(this.s.branch, { n });
    const flagged = this.problems.some((p) => p.edge === line.index);
    const selected = this.selected && this.selected.edge === line.index;
    const b = el("button", { type: "button", class: `tg-pd-chip${e.default ? " default" : ""}${flagged ? " error" : ""}${selected ? " selected" : ""}`, "data-edge": String(line.index), title: text, text });
    b.addEventListener("click", (ev) => { ev.stopPropagation(); this.select({ edge: line.index }); });
    return this.place(b, line.chip.x, line.chip.y);
  }

  card(box) {
    const n = box.node;
    const kind = kindOf(n);
    const flagged = this.problems.filter((p) => p.node === n.id);
    const selected = this.selected?.node === n.id;
    const pill = box.h === CARD.pill;
    const join = pill && n.type !== "start" && n.type !== "end" && !isSplit(this.def, n.id);
    const classes = ["tg-pd-node", `k-${kind}`, pill ? "pill" : "", join ? "join" : "", flagged.length ? "error" : "", selected ? "selected" : ""];
    const title = labelIn(n.label, this.locale, "") || (join ? this.s.join : this.s[kind] || n.type);
    const card = el("div", { class: classes.filter(Boolean).join(" "), "data-node": n.id, role: "button", tabindex: "0", "aria-pressed": String(selected) });
    card.style.width = `${box.w}px`;
    card.style.height = `${box.h}px`;
    const head = el("div", { class: "tg-pd-node-head" }, icon(ICONS[kind] || "squares-plus"), el("span", { class: "tg-pd-node-title", text: title }));
    card.append(head);
    if (!pill) {
      const rejected = this.view.rejected.get(n.id);
      const line = summary(this, n) + (rejected ? ` · ${this.s.if_rejected} → ${this.s.end}` : "");
      card.append(el("div", { class: "tg-pd-node-sum", text: line || "…", title: line }));
    } else if (isSplit(this.def, n.id) && joinOf(this.def, n.id)) {
      const add = el("button", { type: "button", class: "tg-pd-add-branch", "data-add-branch": n.id, text: `+ ${this.s.add_branch}` });
      add.addEventListener("click", (e) => { e.stopPropagation(); this.addBranch(n.id); });
      card.append(add);
    }
    if (flagged.length) card.append(el("span", { class: "tg-pd-node-flag", title: flagged.map((p) => p.message).join("\n"), "aria-label": flagged.map((p) => p.message).join("; ") }, icon("exclamation-circle")));
    if (n.type !== "start" && !join) {
      const del = el("button", { type: "button", class: "tg-pd-node-del", "aria-label": `${this.s.delete_node}: ${title}`, title: this.s.delete_node, "data-delete": n.id }, icon("x-mark"));
      del.addEventListener("click", (e) => { e.stopPropagation(); this.remove(n.id); });
      card.append(del);
    }
    const choose = () => this.select({ node: n.id });
    card.addEventListener("click", (e) => { e.stopPropagation(); choose(); });
    card.addEventListener("keydown", (e) => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); choose(); } });
    return this.place(card, box.x, box.y);
  }

  describe(cond) {
    if (!cond) return "";
    const fields = new Map(this.entity.conditions.map((f) => [f.key, f]));
    const parts = (cond.all || cond.any || [cond]).map((c) => {
      if (c.all || c.any) return "(…)";
      const f = fields.get(c.field);
      const value = Array.isArray(c.value) ? c.value : c.value === undefined || c.value === null ? [] : [c.value];
      const shown = value.map((v) => (f?.options.find((o) => o.key === v)?.label) ?? (typeof v === "object" ? "…" : String(v))).join(", ");
      return `${f ? f.label : c.field} ${this.data.conditions.ops[c.op] || c.op} ${shown}`.trim();
    });
    return parts.join(cond.any ? ` ${this.s.any || "/"} ` : " · ");
  }

  setZoom(z) {
    if (this.free) {
      const now = this.free.zoom(z === 1 ? 0 : z > this.zoom ? 0.1 : -0.1);
      this.root.querySelector("[data-zoom]").textContent = `${Math.round(now * 100)}%`;
      return;
    }
    this.zoom = Math.min(2, Math.max(0.3, Math.round(z * 10) / 10));
    this.canvas.style.transform = `scale(${this.zoom})`;
    const sizer = this.root.querySelector("[data-sizer]");
    if (this.view) {
      sizer.style.width = `${this.view.width * this.zoom}px`;
      sizer.style.height = `${this.view.height * this.zoom}px`;
    }
    this.root.querySelector("[data-zoom]").textContent = `${Math.round(this.zoom * 100)}%`;
  }

  // -- the "+" menu ---------------------------------------------------------------------------------------
  openMenu(line, anchor) {
    this.closeMenu();
    const menu = el("div", { class: "tg-pd-menu", role: "menu", "data-insert-menu": "" });
    for (const kind of INSERTS) {
      const item = el("button", { type: "button", role: "menuitem", class: `k-${kind}`, "data-insert": kind }, icon(ICONS[kind]), el("span", { text: this.s[kind] }));
      item.addEventListener("click", (e) => { e.stopPropagation(); this.closeMenu(); this.insert(line.index, kind); });
      menu.append(item);
    }
    this.menu = menu;
    this.place(menu, line.plus.x, line.plus.y + 16);
    this.canvas.append(menu);
    menu.querySelector("button").focus();
    menu.addEventListener("keydown", (e) => { if (e.key === "Escape") { this.closeMenu(); anchor.focus(); } });
  }

  closeMenu() { this.menu?.remove(); this.menu = null; }

  make(type, id) {
    const lang = this.locale === "zh-CN" ? "zh-CN" : "en";
    const title = (text) => ({ [lang]: text });
    if (type === "cc") {
      return { id, type: "service", label: title(this.s.cc), actions: [{ type: "notify", to: ["owner"], title: `${labelIn(this.def.label, this.locale, this.def.key)} · ${this.s.cc}` }] };
    }
    if (type === "approval" || type === "fill") return { id, type, label: title(this.s[type]), assignees: [] };
    if (type === "timer") return { id, type, label: title(this.s.timer), duration: { amount: 1, unit: "days" } };
    if (type === "service") return { id, type, label: title(this.s.service), actions: [{ type: "set_fields", values: {} }] };
    return { id, type };
  }

  // A new node for the free canvas (unconnected).
  makeNode(def, kind) {
    const base = { exclusive: "branch", parallel: "parallel" }[kind] || kind;
    const made = this.make(kind, freshId(def, base));
    if (kind === "end") made.outcome = "approved";
    return made;
  }

  insert(index, kind) {
    let made = [];
    this.commit((def) => { made = insertStep(def, index, kind, (type, id) => this.make(type, id)); }, { panel: false });
    this.select({ node: made[0] });
  }

  addBranch(split) {
    let made = null;
    this.commit((def) => { made = addBranch(def, split, (type, id) => this.make(type, id)); }, { panel: false });
    if (made) this.select({ node: made });
  }

  // Deleting a plain step is one undoable step; what takes more steps with it (a branch, a branch block) asks first.
  remove(id) {
    const n = nodeOf(this.def, id);
    if (n && GATEWAYS.has(n.type) && !isSplit(this.def, id)) return; // a join goes with its branches
    this.removeAsking("node", id);
  }
  removeBranch(index) { this.removeAsking("branch", index); }
  removeBlock(split) { this.removeAsking("block", split); }

  removeAsking(action, arg) {
    const gone = preview(this.def, action, arg);
    if (!gone) return;
    const block = action === "block" || (action === "node" && isSplit(this.def, arg));
    const steps = gone.filter((x) => x !== arg && nodeOf(this.def, x)?.type !== "end").length;
    if (action !== "node" || block || gone.length > 1) {
      if (!window.confirm(fill(block ? this.s.confirm_gateway : this.s.confirm_branch, { n: steps }))) return;
    }
    const run = { node: deleteNode, branch: deleteBranch, block: deleteBlock }[action];
    this.commit((def) => { run(def, arg); }, { panel: false });
    this.select(null);
    toast(this.s.deleted);
  }

  select(what) {
    this.selected = what;
    this.lastMerge = null;
    this.draw();
    renderPanel(this);
    const target = what?.node ? this.canvas.querySelector(`[data-node="${CSS.escape(what.node)}"]`) : what && "edge" in what ? this.canvas.querySelector(`[data-edge="${what.edge}"]`) : null;
    target?.scrollIntoView?.({ block: "nearest", inline: "nearest" });
  }

  // -- problems -----------------------------------------------------------------------------------------
  pin(r) {
    const errors = r.data?.errors || [];
    this.problems = errors.map((err) => {
      const m = /^\/(nodes|edges)\/(\d+)(\/.*)?$/.exec(err.path || "");
      const where = m ? (m[1] === "nodes" ? { node: this.def.nodes[Number(m[2])]?.id } : { edge: Number(m[2]) }) : {};
      return { ...where, path: m?.[3] || err.path, message: err.message };
    });
    if (!errors.length) this.problems = [{ message: problemText(r) }];
    this.render();
  }

  drawProblems() {
    const box = this.root.querySelector("[data-problems]");
    const list = box.querySelector("[data-problems-list]");
    box.hidden = !this.problems.length;
    box.querySelector("[data-problems-title]").textContent = fill(this.s.problems, { n: this.problems.length });
    list.replaceChildren(...this.problems.map((p) => {
      const name = p.node ? labelIn(nodeOf(this.def, p.node)?.label, this.locale, p.node) : p.edge !== undefined ? this.s.edge : "";
      const item = el("button", { type: "button", class: "tg-pd-problem", text: name ? `${name}: ${p.message}` : p.message });
      item.addEventListener("click", () => this.select(p.node ? { node: p.node } : p.edge !== undefined ? { edge: p.edge } : null));
      return el("li", {}, item);
    }));
  }

  // -- saving -------------------------------------------------------------------------------------------
  async validate() {
    const r = await api("POST", `${this.data.api}/validate`, this.def);
    if (r.ok) { this.problems = []; this.render(); this.say(this.s.valid); toast(this.s.valid); return true; }
    this.pin(r);
    this.say(fill(this.s.problems, { n: this.problems.length }));
    return false;
  }

  async save() {
    this.banner("");
    const first = !this.key;
    const r = first ? await api("POST", this.data.api, this.def)
      : await api("PUT", `${this.data.api}/${encodeURIComponent(this.key)}`, this.def, { "If-Match": `"${this.meta.version}"` });
    if (r.status === 409) { this.banner(this.s.conflict); return false; }
    if (!r.ok) { this.pin(r); this.banner(this.s.not_saved); return false; }
    this.take(r.data);
    this.problems = [];
    this.dirty = false;
    if (first) {
      sessionStorage.removeItem(DRAFT_KEY);
      this.key = r.data.key;
      history.replaceState(null, "", `/build/apps/${encodeURIComponent(this.data.app)}/processes/${encodeURIComponent(this.key)}`);
    }
    this.render({ panel: false });
    this.say(first ? this.s.saved_created : this.s.saved);
    toast(first ? this.s.saved_created : this.s.saved);
    return true;
  }

  async publish() {
    if (!window.confirm(this.s.confirm_publish)) return;
    if ((this.dirty || !this.key) && !(await this.save())) { this.banner(this.s.not_published); return; }
    const r = await api("POST", `${this.data.api}/${encodeURIComponent(this.key)}/publish`);
    if (!r.ok) { this.pin(r); this.banner(r.status === 422 ? this.s.not_published : problemText(r)); return; }
    this.take(r.data);
    this.render({ panel: false });
    const text = fill(this.s.published, { version: r.data.published_version });
    this.say(text);
    toast(text);
  }

  async versions() {
    const dialog = this.root.querySelector("[data-versions-dialog]");
    const list = dialog.querySelector("[data-versions]");
    list.replaceChildren();
    if (this.key) {
      const r = await api("GET", `${this.data.api}/${encodeURIComponent(this.key)}/versions`);
      const items = r.ok ? r.data.items : [];
      for (const v of [...items].reverse()) {
        const when = new Date(v.published_at).toLocaleString(this.locale);
        const who = this.data.names[v.published_by] || this.data.names[String(v.published_by)] || "";
        const line = el("li", { "data-version": String(v.version) },
          el("strong", { text: fill(this.s.published_v, { version: v.version }) }), el("span", { class: "tg-muted", text: ` · ${when}${who ? ` · ${who}` : ""}` }));
        if (this.key) {
          const a = el("a", { class: "btn btn-sm btn-ghost", href: `${this.data.api}/${encodeURIComponent(this.key)}/bpmn?version=${v.version}`, download: "" }, icon("arrow-down-tray"), "BPMN");
          line.append(a);
        }
        list.append(line);
      }
    }
    if (!list.children.length) list.append(el("li", { class: "tg-muted", text: this.s.no_versions }));
    dialog.showModal();
  }
}

export function start(root) {
  const designer = new Designer(root);
  root.designer = designer;
  return designer.start();
}
