// The designer's free-form mode on the same JSON: AntV X6 (vendored UMD, loaded on first use) draws every node at
// its `position` (or where the tree put it), nodes are dragged (snaplines, grid), edges drawn from a node's ports,
// waypoints kept in `points`; zoom with the toolbar or Ctrl+wheel, a minimap for long flows. Every change goes
// through `d.commit` (one undo step) and the graph is redrawn from the definition: the JSON stays the one truth.
import { el } from "./builder-dom.js";
import { kindOf, nodeOf } from "./builder-process-graph.js";
import { icon, labelIn } from "./builder-process.js";

const COLOURS = { approval: "#ff943e", cc: "#3296fa", fill: "#8f5cf5", exclusive: "#15bc83", inclusive: "#15bc83", parallel: "#718dff",
  timer: "#f25643", service: "#1cb5c4", start: "#5f6b7a", end: "#5f6b7a" };
const ADD = ["approval", "cc", "fill", "exclusive", "parallel", "timer", "service", "end"];
let loading = null;

function loadX6() {
  loading = loading || import("../vendor/x6/x6.min.js").then(() => {
    const X6 = globalThis.X6;
    X6.Config.autoInsertCSS = false; // the CSP refuses a style element without the nonce: builder-process.css has it
    return X6;
  });
  return loading;
}

const PORT = { r: 5, magnet: true, stroke: "#8a94a6", strokeWidth: 1, fill: "#fff" };
const PORTS = {
  groups: Object.fromEntries(["top", "bottom", "left", "right"].map((g) => [g, { position: g, attrs: { circle: PORT } }])),
  items: ["top", "bottom", "left", "right"].map((g) => ({ id: g, group: g })),
};

export class FreeCanvas {
  constructor(d, host) {
    this.d = d;
    this.host = host;
  }

  async start() {
    const X6 = await loadX6();
    const d = this.d;
    const stage = el("div", { class: "tg-pd-free-stage", "data-free-stage": "" });
    const minimap = el("div", { class: "tg-pd-minimap", "aria-hidden": "true" });
    const palette = el("div", { class: "tg-pd-free-add", role: "toolbar", "aria-label": d.s.add_node });
    for (const kind of ADD) {
      const b = el("button", { type: "button", class: `btn btn-sm k-${kind}`, "data-free-add": kind }, icon("plus"), el("span", { text: d.s[kind] }));
      b.addEventListener("click", () => this.add(kind));
      palette.append(b);
    }
    this.host.replaceChildren(palette, stage, minimap);
    this.graph = new X6.Graph({
      container: stage,
      autoResize: true,
      grid: { size: 10, visible: true },
      panning: { enabled: true, eventTypes: ["leftMouseDown"] },
      mousewheel: { enabled: true, modifiers: ["ctrl", "meta"] },
      connecting: {
        snap: true, allowBlank: false, allowLoop: false, allowMulti: false, allowNode: true, highlight: true,
        connector: { name: "rounded" }, router: { name: "manhattan" },
        createEdge: () => this.graph.createEdge({ attrs: { line: { stroke: "#8a94a6", strokeWidth: 1.5, targetMarker: "classic" } } }),
      },
      interacting: { nodeMovable: true, edgeMovable: false, vertexAddable: true, vertexMovable: true, vertexDeletable: true },
    });
    this.graph.use(new X6.Snapline({ enabled: true }));
    this.graph.use(new X6.MiniMap({ container: minimap, width: 180, height: 120, padding: 8 }));
    const g = this.graph;
    g.on("node:moved", ({ node }) => {
      const { x, y } = node.position();
      d.commit((def) => { const n = nodeOf(def, node.id); if (n) n.position = { x: Math.round(x), y: Math.round(y) }; }, { panel: false });
    });
    g.on("edge:connected", ({ edge, isNew }) => {
      const from = edge.getSourceCellId();
      const to = edge.getTargetCellId();
      if (!from || !to) return;
      if (isNew) d.commit((def) => { def.edges.push({ from, to }); });
      else {
        const index = edge.getData()?.index;
        d.commit((def) => { const e = def.edges[index]; if (e) { e.from = from; e.to = to; } });
      }
    });
    g.on("edge:change:vertices", ({ edge }) => {
      if (this.drawing) return;
      const index = edge.getData()?.index;
      const points = edge.getVertices().map((p) => ({ x: Math.round(p.x), y: Math.round(p.y) }));
      clearTimeout(this.vertexTimer);
      this.vertexTimer = setTimeout(() => d.commit((def) => {
        const e = def.edges[index];
        if (!e) return;
        if (points.length) e.points = points; else if (e.points?.length) e.points = [];
      }, { panel: false }), 150);
    });
    g.on("node:click", ({ node }) => d.select({ node: node.id }));
    g.on("edge:click", ({ edge }) => d.select({ edge: edge.getData()?.index }));
    g.on("blank:click", () => d.select(null));
    this.draw();
    g.zoomToFit({ padding: 40, maxScale: 1 });
  }

  // Where the tree view put each node: the starting place of a node that has no position yet.
  draw() {
    if (!this.graph) return;
    const d = this.d;
    const placed = new Map((d.view?.boxes || []).map((b) => [b.id, b]));
    const flagged = new Set(d.problems.map((p) => p.node).filter(Boolean));
    const badEdges = new Set(d.problems.map((p) => p.edge).filter((x) => x !== undefined));
    const cells = [];
    for (const n of d.def.nodes) {
      const kind = kindOf(n);
      const box = placed.get(n.id);
      const round = ["start", "end", "exclusive", "parallel", "inclusive"].includes(n.type);
      const selected = d.selected?.node === n.id;
      cells.push({
        id: n.id, shape: "rect", x: n.position?.x ?? box?.x ?? 0, y: n.position?.y ?? box?.y ?? 0,
        width: round ? 100 : 120, height: round ? 36 : 48, ports: PORTS,
        attrs: {
          body: { fill: "#fff", stroke: flagged.has(n.id) ? "#d63939" : selected ? "#066fd1" : COLOURS[kind] || "#8a94a6",
            strokeWidth: flagged.has(n.id) || selected ? 3 : 2, rx: round ? 20 : 8, ry: round ? 20 : 8 },
          label: { text: labelIn(n.label, d.locale, "") || d.s[kind] || n.type, fill: "#1d273b", fontSize: 12, textWrap: { width: -16, height: -8, ellipsis: true } },
        },
      });
    }
    d.def.edges.forEach((e, index) => {
      if (!nodeOf(d.def, e.from) || !nodeOf(d.def, e.to)) return;
      const selected = d.selected && d.selected.edge === index;
      const text = e.default ? d.s.otherwise : labelIn(e.label, d.locale, "") || d.describe(e.condition) || (e.outcome === "rejected" ? d.s.rejected_edge : "");
      cells.push({
        id: `edge-${index}`, shape: "edge", source: { cell: e.from }, target: { cell: e.to }, data: { index },
        vertices: (e.points || []).map((p) => ({ x: p.x, y: p.y })), router: e.points?.length ? { name: "normal" } : { name: "manhattan" },
        connector: { name: "rounded" },
        attrs: { line: { stroke: badEdges.has(index) ? "#d63939" : selected ? "#066fd1" : "#8a94a6", strokeWidth: selected || badEdges.has(index) ? 2.5 : 1.5, targetMarker: "classic",
          strokeDasharray: e.outcome === "rejected" ? "5 4" : null } },
        labels: text ? [{ attrs: { label: { text, fontSize: 12 } } }] : [],
      });
    });
    this.drawing = true;
    this.graph.fromJSON({ cells });
    this.drawing = false;
  }

  // A new node where the view's centre is, unconnected: the person draws its edges.
  add(kind) {
    const d = this.d;
    const area = this.graph.getGraphArea();
    let id = null;
    d.commit((def) => {
      const made = d.makeNode(def, kind);
      made.position = { x: Math.round(area.x + area.width / 2 - 90), y: Math.round(area.y + area.height / 2 - 28) };
      def.nodes.push(made);
      id = made.id;
    }, { panel: false });
    d.select({ node: id });
  }

  zoom(step) {
    if (!this.graph) return 1;
    if (step === 0) this.graph.zoomTo(1); else this.graph.zoom(step);
    return this.graph.zoom();
  }

  dispose() {
    this.graph?.dispose();
    this.graph = null;
  }
}
