// The process graph as the designer sees it: the definition JSON is the one truth; this module lays it out
// (top to bottom, in layers, like DingTalk / Feishu approval flows) and changes it so that it stays a valid
// graph (a step goes into a connection, a branch block gets its join, deleting reconnects). Pure functions over
// plain objects: no DOM.

export const GATEWAYS = new Set(["exclusive", "parallel", "inclusive"]);
export const CARD = { w: 220, h: 84, pill: 40, gap: 104, col: 44 };

const outOf = (def, id) => def.edges.map((e, i) => [e, i]).filter(([e]) => e.from === id);
const inOf = (def, id) => def.edges.map((e, i) => [e, i]).filter(([e]) => e.to === id);
export const nodeOf = (def, id) => def.nodes.find((n) => n.id === id);

// A service node with one notify action: shown and edited as "copy to" (抄送人).
export const isCc = (n) => n.type === "service" && Array.isArray(n.actions) && n.actions.length === 1 && n.actions[0]?.type === "notify";
export const kindOf = (n) => (isCc(n) ? "cc" : n.type);

// A rejection that goes straight to an end is drawn as a tag on its approval, not as a line across the flow.
const hiddenEdge = (def, e) => e.outcome === "rejected" && nodeOf(def, e.to)?.type === "end";

export function isSplit(def, id) {
  const n = nodeOf(def, id);
  return !!n && GATEWAYS.has(n.type) && outOf(def, id).length > 1;
}

// The node where every branch of a split meets again (nearest by distance from the split), or null.
export function joinOf(def, split) {
  const starts = outOf(def, split).map(([e]) => e.to);
  if (starts.length < 2) return null;
  const dist = starts.map((s) => {
    const seen = new Map([[s, 0]]);
    const queue = [s];
    while (queue.length) {
      const id = queue.shift();
      for (const [e] of outOf(def, id)) {
        if (hiddenEdge(def, e) || seen.has(e.to) || e.to === split) continue;
        seen.set(e.to, seen.get(id) + 1);
        queue.push(e.to);
      }
    }
    return seen;
  });
  let best = null;
  for (const [id, d] of dist[0]) {
    if (!dist.every((m) => m.has(id))) continue;
    const total = dist.reduce((sum, m) => sum + m.get(id), d * 0);
    if (!best || total < best[1]) best = [id, total];
  }
  return best && GATEWAYS.has(nodeOf(def, best[0])?.type) ? best[0] : null;
}

// -- layout -----------------------------------------------------------------------------------------------
// Layers by longest path from the start (back edges ignored), long edges through virtual points, order in a
// layer by first visit (branches in edge order) then by the mean position of the parents, x by the parents.
export function layout(def) {
  const nodes = def.nodes.filter((n) => n && typeof n.id === "string");
  const ids = new Set(nodes.map((n) => n.id));
  const hidden = new Set();
  for (const n of nodes) {
    const incoming = def.edges.filter((e) => e.to === n.id);
    if (n.type === "end" && incoming.length && incoming.every((e) => hiddenEdge(def, e))) hidden.add(n.id);
  }
  const shown = nodes.filter((n) => !hidden.has(n.id));
  const edges = def.edges.map((e, i) => ({ e, i })).filter(({ e }) => ids.has(e.from) && ids.has(e.to) && !hidden.has(e.to));
  const succ = new Map(shown.map((n) => [n.id, []]));
  edges.forEach(({ e }) => succ.get(e.from)?.push(e.to));
  // Depth-first from the start (then from anything unreached): visit order, and back edges to leave out.
  const order = [];
  const state = new Map();
  const back = new Set();
  const visit = (id) => {
    state.set(id, 1);
    order.push(id);
    for (const t of succ.get(id) || []) {
      if (state.get(t) === 1) back.add(`${id}>${t}`);
      else if (!state.has(t)) visit(t);
    }
    state.set(id, 2);
  };
  const start = shown.find((n) => n.type === "start");
  if (start) visit(start.id);
  shown.forEach((n) => { if (!state.has(n.id)) visit(n.id); });
  const forward = edges.filter(({ e }) => !back.has(`${e.from}>${e.to}`) && e.from !== e.to);
  const layer = new Map(shown.map((n) => [n.id, 0]));
  // Longest path: relax in topological order (Kahn over the forward edges).
  const indeg = new Map(shown.map((n) => [n.id, 0]));
  forward.forEach(({ e }) => indeg.set(e.to, indeg.get(e.to) + 1));
  const queue = order.filter((id) => indeg.get(id) === 0);
  while (queue.length) {
    const id = queue.shift();
    for (const { e } of forward.filter((x) => x.e.from === id)) {
      layer.set(e.to, Math.max(layer.get(e.to), layer.get(id) + 1));
      indeg.set(e.to, indeg.get(e.to) - 1);
      if (indeg.get(e.to) === 0) queue.push(e.to);
    }
  }
  // Rows of items: real nodes and virtual points of long edges.
  const rank = new Map(order.map((id, i) => [id, i]));
  const items = new Map(shown.map((n) => [n.id, { id: n.id, node: n, layer: layer.get(n.id), w: CARD.w, h: GATEWAYS.has(n.type) || n.type === "start" || n.type === "end" ? CARD.pill : CARD.h, parents: [], key: rank.get(n.id) }]));
  const routes = [];
  for (const { e, i } of forward) {
    const chain = [e.from];
    for (let l = layer.get(e.from) + 1; l < layer.get(e.to); l += 1) {
      const id = `~${i}~${l}`;
      items.set(id, { id, virtual: true, layer: l, w: 24, h: 0, parents: [chain[chain.length - 1]], key: rank.get(e.from) + 0.5 });
      chain.push(id);
    }
    chain.push(e.to);
    items.get(e.to).parents.push(chain[chain.length - 2]);
    routes.push({ edge: e, index: i, chain });
  }
  const depth = Math.max(0, ...[...items.values()].map((it) => it.layer));
  const rows = Array.from({ length: depth + 1 }, () => []);
  items.forEach((it) => rows[it.layer].push(it));
  // Order: by visit, then children follow their parents' order (branch order = edge order).
  const pos = new Map();
  rows.forEach((row, l) => {
    if (l > 0) {
      row.forEach((it) => {
        const ps = it.parents.filter((p) => pos.has(p));
        const childIndex = (p) => (succ.get(p) || []).indexOf(it.id.startsWith("~") ? routes.find((r) => r.chain.includes(it.id))?.chain[1] ?? it.id : it.id);
        it.key = ps.length ? ps.reduce((s, p) => s + pos.get(p) + Math.max(0, childIndex(p)) / 100, 0) / ps.length : it.key;
      });
    }
    row.sort((a, b) => a.key - b.key);
    row.forEach((it, i) => pos.set(it.id, i));
  });
  // x: the parents' centre, children of one parent spread evenly, then pushed apart in order.
  const x = new Map();
  rows.forEach((row) => {
    const want = row.map((it) => {
      const ps = it.parents.filter((p) => x.has(p));
      if (!ps.length) return 0;
      const spread = ps.map((p) => {
        const kids = rows[it.layer].filter((k) => k.parents.includes(p));
        const k = kids.indexOf(it);
        const widths = kids.map((c) => c.w + CARD.col);
        const total = widths.reduce((s, w) => s + w, 0);
        const before = widths.slice(0, k).reduce((s, w) => s + w, 0);
        return x.get(p) - total / 2 + before + widths[k] / 2;
      });
      return spread.reduce((s, v) => s + v, 0) / spread.length;
    });
    const placed = [];
    row.forEach((it, i) => {
      const min = i ? placed[i - 1] + (row[i - 1].w + it.w) / 2 + CARD.col : -Infinity;
      placed.push(Math.max(want[i], min));
    });
    const shift = row.length ? (want.reduce((s, v) => s + v, 0) - placed.reduce((s, v) => s + v, 0)) / row.length : 0;
    const pushedOnly = placed.map((v, i) => v + shift);
    // Keep the order gaps after centring.
    for (let i = 1; i < row.length; i += 1) pushedOnly[i] = Math.max(pushedOnly[i], pushedOnly[i - 1] + (row[i - 1].w + row[i].w) / 2 + CARD.col);
    row.forEach((it, i) => x.set(it.id, pushedOnly[i]));
  });
  const tops = [];
  let y = 24;
  rows.forEach((row, l) => { tops[l] = y; y += Math.max(CARD.pill, ...row.map((it) => it.h)) + CARD.gap; });
  const minX = Math.min(0, ...[...items.values()].map((it) => x.get(it.id) - it.w / 2)) - 24;
  const boxes = new Map();
  items.forEach((it) => {
    const cx = x.get(it.id) - minX;
    boxes.set(it.id, { id: it.id, node: it.node, virtual: !!it.virtual, x: cx - it.w / 2, y: tops[it.layer], w: it.w, h: it.h, cx });
  });
  const width = Math.max(...[...boxes.values()].map((b) => b.x + b.w), 0) + 24;
  const inCount = (id) => forward.filter(({ e }) => e.to === id).length;
  const outCount = (id) => forward.filter(({ e }) => e.from === id).length;
  const lines = routes.map(({ edge, index, chain }) => {
    const points = [];
    let plus = null;
    let chip = null;
    for (let k = 0; k + 1 < chain.length; k += 1) {
      const a = boxes.get(chain[k]);
      const b = boxes.get(chain[k + 1]);
      const top = b.y;
      const bottom = a.y + a.h;
      const nearTarget = !b.virtual && inCount(b.id) > 1 && (a.virtual || outCount(a.id) === 1);
      const bend = nearTarget ? top - 28 : bottom + 28;
      if (!k) points.push([a.cx, bottom]);
      if (!k && isSplit(def, edge.from)) chip = { x: b.cx, y: bend + 24 };
      points.push([a.cx, bend], [b.cx, bend], [b.cx, b.virtual ? b.y + b.h : top]);
      if (k + 1 === chain.length - 1) {
        const labelled = isSplit(def, edge.from);
        if (nearTarget) plus = { x: a.cx, y: Math.min(bottom + 40, bend - 14) };
        else if (labelled) plus = { x: b.cx, y: Math.max(top - 18, (chip?.y ?? 0) + 26) };
        else plus = { x: b.cx, y: (bend + top) / 2 };
      }
    }
    return { edge, index, points, plus, chip, back: false };
  });
  // Back edges (loops): around the right side.
  const backLines = edges.filter(({ e }) => back.has(`${e.from}>${e.to}`) || e.from === e.to).map(({ e, i }) => {
    const a = boxes.get(e.from);
    const b = boxes.get(e.to);
    const right = width - 8;
    return { edge: e, index: i, points: [[a.x + a.w, a.y + a.h / 2], [right, a.y + a.h / 2], [right, b.y + b.h / 2], [b.x + b.w, b.y + b.h / 2]], plus: null, chip: null, back: true };
  });
  const rejected = new Map();
  def.edges.forEach((e, i) => { if (hidden.has(e.to) || (hiddenEdge(def, e) && ids.has(e.from))) rejected.set(e.from, { index: i, edge: e }); });
  return { boxes: [...boxes.values()].filter((b) => !b.virtual), lines: [...lines, ...backLines], width: Math.max(width + 24, 320), height: y, rejected, hidden };
}

// -- changes ----------------------------------------------------------------------------------------------
export function freshId(def, base) {
  const taken = new Set(def.nodes.map((n) => n.id));
  for (let n = 1; ; n += 1) if (!taken.has(`${base}_${n}`)) return `${base}_${n}`;
}

// A step into the connection `index` (A -> B becomes A -> N -> B; the connection keeps its condition).
// `make(id)` builds each new node; returns the ids of the new nodes (the one to select first).
export function insertStep(def, index, kind, make) {
  const edge = def.edges[index];
  const target = edge.to;
  const link = (from, to, extra = {}) => ({ from, to, ...extra });
  const add = (type, base) => { const n = make(type, freshId(def, base)); def.nodes.push(n); return n.id; };
  if (kind === "exclusive" || kind === "parallel") {
    const split = add(kind, kind === "exclusive" ? "branch" : "parallel");
    const join = add(kind, kind === "exclusive" ? "merge" : "join");
    const first = add("approval", "approval");
    edge.to = split;
    const after = [link(join, target)];
    let branches;
    if (kind === "exclusive") {
      branches = [link(split, first), link(split, join, { default: true }), link(first, join)];
    } else {
      const second = add("approval", "approval");
      branches = [link(split, first), link(split, second), link(first, join), link(second, join)];
    }
    def.edges.splice(index + 1, 0, ...branches, ...after);
    return [first, split, join];
  }
  const id = add(kind, kind === "cc" ? "cc" : kind);
  edge.to = id;
  def.edges.splice(index + 1, 0, link(id, target));
  return [id];
}

// One more branch on a split: a new approver between the split and its join (before the default branch).
export function addBranch(def, split, make) {
  const join = joinOf(def, split);
  if (!join) return null;
  const id = make("approval", freshId(def, "approval"));
  def.nodes.push(id);
  const fallback = def.edges.findIndex((e) => e.from === split && e.default);
  const at = fallback >= 0 ? fallback : def.edges.length;
  def.edges.splice(at, 0, { from: split, to: id.id });
  def.edges.push({ from: id.id, to: join });
  return id.id;
}

function reachableFromStart(def) {
  const start = def.nodes.find((n) => n.type === "start");
  const seen = new Set(start ? [start.id] : []);
  const stack = [...seen];
  while (stack.length) {
    const id = stack.pop();
    for (const e of def.edges) if (e.from === id && !seen.has(e.to)) { seen.add(e.to); stack.push(e.to); }
  }
  return seen;
}

// Nodes no longer reached from the start go, with their edges (what was inside a deleted branch).
function collect(def) {
  const keep = reachableFromStart(def);
  const removed = def.nodes.filter((n) => !keep.has(n.id)).map((n) => n.id);
  def.nodes = def.nodes.filter((n) => keep.has(n.id));
  def.edges = def.edges.filter((e) => keep.has(e.from) && keep.has(e.to));
  return removed;
}

const hasEdge = (def, from, to) => def.edges.some((e) => e.from === from && e.to === to);

// A split left with one branch is no branch any more: the split and its join go, the flow goes straight.
function collapse(def, split) {
  const outs = outOf(def, split);
  if (outs.length !== 1) return;
  const join = joinOf({ ...def, edges: [...def.edges, { from: split, to: "~none~" }] }, split);
  const [only] = outs[0];
  const ins = inOf(def, split);
  ins.forEach(([e]) => { e.to = only.to; });
  def.edges = def.edges.filter((e) => e !== only);
  def.nodes = def.nodes.filter((n) => n.id !== split);
  if (join) unjoin(def, join);
  def.edges = def.edges.filter((e, i, all) => all.findIndex((f) => f.from === e.from && f.to === e.to) === i);
}

function unjoin(def, join) {
  const ins = inOf(def, join);
  const outs = outOf(def, join);
  if (ins.length !== 1 || outs.length !== 1) return;
  ins[0][0].to = outs[0][0].to;
  def.edges = def.edges.filter((e) => e !== outs[0][0]);
  def.nodes = def.nodes.filter((n) => n.id !== join);
}

// What deleting would take with it, without doing it: { nodes: [ids] } on a copy.
export function preview(def, action, arg) {
  const copy = JSON.parse(JSON.stringify(def));
  const removed = action === "node" ? deleteNode(copy, arg) : action === "branch" ? deleteBranch(copy, arg) : deleteBlock(copy, arg);
  return removed;
}

// Delete a step: its way in goes where its (approved) way out went. The only step of a branch takes the
// branch with it. Returns the removed node ids (null when the step cannot go, e.g. the start).
export function deleteNode(def, id) {
  const n = nodeOf(def, id);
  if (!n || n.type === "start") return null;
  if (isSplit(def, id)) return deleteBlock(def, id);
  const ins = inOf(def, id);
  const outs = outOf(def, id).filter(([e]) => !hiddenEdge(def, e) && e.outcome !== "rejected");
  if (n.type === "end" || outs.length !== 1) {
    if (ins.length === 1 && isSplit(def, ins[0][0].from)) return deleteBranch(def, ins[0][1]);
    return null;
  }
  const next = outs[0][0].to;
  const splitIns = ins.filter(([e]) => isSplit(def, e.from) && hasEdge(def, e.from, next));
  if (splitIns.length) return deleteBranch(def, splitIns[0][1]);
  ins.forEach(([e]) => { e.to = next; });
  def.edges = def.edges.filter((e) => e.from !== id);
  def.nodes = def.nodes.filter((x) => x.id !== id);
  return [id, ...collect(def)];
}

// Delete the branch that leaves a split along edge `index`, and every step only it reaches.
export function deleteBranch(def, index) {
  const edge = def.edges[index];
  if (!edge) return null;
  const split = edge.from;
  def.edges.splice(index, 1);
  if (edge.default) {
    const other = def.edges.filter((e) => e.from === split);
    if (other.length) { other[other.length - 1].default = true; delete other[other.length - 1].condition; }
  }
  const removed = collect(def);
  collapse(def, split);
  return removed;
}

// Delete a whole branch block: the split, its join and everything between; the flow goes on after the join.
export function deleteBlock(def, split) {
  const join = joinOf(def, split);
  if (!join) return null;
  const after = outOf(def, join);
  if (after.length !== 1) return null;
  const next = after[0][0].to;
  inOf(def, split).forEach(([e]) => { e.to = next; });
  return collect(def);
}
