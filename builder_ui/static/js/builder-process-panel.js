// The designer's property panel: the selected step's settings (who approves, how they decide, what they may do,
// deadlines, field permissions), a branch's condition (the shared FilterBuilder) or the process's own settings.
// Every change is one `d.commit` (an undo step) on the definition JSON; a key the person never touched is left
// out, so that opening and saving changes nothing.
import { el, fill } from "./builder-dom.js";
import { FilterBuilder } from "./list-tools.js";
import { isCc, isSplit, joinOf, kindOf, nodeOf } from "./builder-process-graph.js";
import { icon, labelIn } from "./builder-process.js";

const UNITS = ["minutes", "hours", "days", "weeks", "months"];
const APPROVAL_ACTIONS = ["approve", "reject", "return", "transfer", "add_signer", "comment"];
const FILL_ACTIONS = ["complete", "return", "transfer", "comment"];
let uid = 0;

// One line of the card: who, how.
export function summary(d, n) {
  const s = d.s;
  const kind = kindOf(n);
  if (kind === "approval" || kind === "fill") {
    const who = (n.assignees || []).map((a) => assigneeText(d, a)).join(d.s.list_sep) || s.no_assignee;
    const mode = kind === "approval" ? fill(s[`mode_${n.mode || "single"}`] || "", { n: n.percent }) : "";
    return mode ? `${who} · ${mode}` : who;
  }
  if (kind === "cc") return (n.actions[0].to || []).map((r) => recipientText(d, r)).join(d.s.list_sep);
  if (kind === "timer") {
    if (n.duration) return fill(s.wait_for, { n: n.duration.amount, unit: s[n.duration.unit] });
    const f = d.entity.fields.find((x) => x.key === n.field);
    return fill(s.wait_until, { field: f ? f.label : n.field });
  }
  if (kind === "service") return fill(s.actions_n, { n: (n.actions || []).length });
  if (kind === "end") return s[`outcome_${n.outcome || "done"}`];
  return "";
}

function assigneeText(d, a) {
  const s = d.s;
  if (a.type === "manager") return (a.levels || 1) === 1 ? s.manager_1 : fill(s.manager_n, { n: a.levels });
  if (a.type === "role") return fill(s.role_x, { name: d.data.roles.find((r) => r.key === a.role)?.label || a.role });
  if (a.type === "team") return fill(s.team_x, { name: d.data.teams.find((t) => t.key === a.team)?.label || a.team });
  if (a.type === "users") return (a.users || []).map((m) => d.data.users.find((u) => u.email === m)?.name || m).join(d.s.list_sep);
  if (a.type === "field") return fill(s.field_x, { name: d.entity.fields.find((f) => f.key === a.field)?.label || a.field });
  if (a.type === "submitter") return s.submitter;
  return a.type;
}

function recipientText(d, r) {
  if (r === "owner") return d.s.r_owner;
  if (r === "manager") return d.s.r_manager;
  if (r.team) return fill(d.s.team_x, { name: d.data.teams.find((t) => t.key === r.team)?.label || r.team });
  if (r.field) return fill(d.s.field_x, { name: d.entity.fields.find((f) => f.key === r.field)?.label || r.field });
  return JSON.stringify(r);
}

// -- small controls --------------------------------------------------------------------------------------
function row(label, control, extra = {}) {
  const id = control.id || `pd-${++uid}`;
  control.id = id;
  return el("div", { class: "tg-field", ...extra }, el("label", { for: id, text: label }), control);
}

function input(value, onInput, attrs = {}) {
  const i = el("input", { class: "form-control form-control-sm", value: value ?? "", ...attrs });
  i.addEventListener("input", () => onInput(i.value));
  return i;
}

function select(options, value, onChange, attrs = {}) {
  const s = el("select", { class: "form-select form-select-sm", ...attrs });
  for (const [k, text] of options) {
    const o = el("option", { value: k, text });
    if (String(k) === String(value ?? "")) o.selected = true;
    s.append(o);
  }
  s.addEventListener("change", () => onChange(s.value));
  return s;
}

function check(label, on, onChange, attrs = {}) {
  const box = el("input", { type: "checkbox", class: "form-check-input", ...attrs });
  box.checked = !!on;
  box.addEventListener("change", () => onChange(box.checked));
  return el("label", { class: "form-check" }, box, ` ${label}`);
}

function section(title, ...children) {
  return el("section", { class: "tg-pd-section" }, el("h3", { text: title }), ...children);
}

// Title in both languages: only the language typed in is written.
function titles(d, owner, merge) {
  const set = (lang) => (v) => d.commit(() => {
    const now = typeof owner.label === "string" ? { [d.locale]: owner.label } : { ...(owner.label || {}) };
    if (v.trim()) now[lang] = v; else delete now[lang];
    if (Object.keys(now).length) owner.label = now; else delete owner.label;
  }, { merge: `${merge}-${lang}`, panel: false });
  const value = (lang) => (typeof owner.label === "string" ? (lang === d.locale ? owner.label : "") : owner.label?.[lang] || "");
  return [row(d.s.title, input(value("zh-CN"), set("zh-CN"), { maxlength: 200, "data-prop": "label-zh" })),
    row(d.s.title_en, input(value("en"), set("en"), { maxlength: 200, "data-prop": "label-en" }))];
}

function offset(d, value, onChange, name) {
  const amount = el("input", { class: "form-control form-control-sm", type: "number", min: 1, max: 100000, value: value?.amount ?? "", "data-prop": `${name}-amount`, "aria-label": d.s[name] || name });
  const unit = select(UNITS.map((u) => [u, d.s[u]]), value?.unit || "hours", () => emit(), { "data-prop": `${name}-unit`, "aria-label": d.s[name] || name });
  const emit = () => onChange(amount.value ? { amount: Number(amount.value), unit: unit.value } : null);
  amount.addEventListener("change", emit);
  return el("div", { class: "tg-pd-offset" }, amount, unit);
}

// -- who ---------------------------------------------------------------------------------------------------
function assigneeEditor(d, list, onChange, name) {
  const s = d.s;
  const box = el("div", { class: "tg-pd-assignees", "data-assignees": name });
  const items = list.map((a) => a);
  const write = () => onChange(items);
  items.forEach((a, i) => {
    const remove = el("button", { type: "button", class: "btn btn-sm btn-ghost-danger", "aria-label": s.remove, title: s.remove }, icon("x-mark"));
    remove.addEventListener("click", () => { items.splice(i, 1); write(); });
    const detail = el("div", { class: "tg-pd-assignee-detail" });
    const swap = (next) => { items[i] = next; write(); };
    if (a.type === "manager") {
      detail.append(select([1, 2, 3, 4, 5].map((n) => [n, n === 1 ? s.manager_1 : fill(s.manager_n, { n })]), a.levels || 1,
        (v) => swap({ ...a, levels: Number(v) }), { "data-prop": "levels", "aria-label": s.levels }),
      select([["submitter", s.of_submitter], ["owner", s.of_owner]], a.of || "submitter", (v) => swap({ ...a, of: v }), { "aria-label": s.a_manager }));
    } else if (a.type === "role") {
      detail.append(select(d.data.roles.map((r) => [r.key, r.label]), a.role, (v) => swap({ ...a, role: v }), { "data-prop": "role", "aria-label": s.a_role }));
    } else if (a.type === "team") {
      detail.append(select(d.data.teams.map((t) => [t.key, t.label]), a.team, (v) => swap({ ...a, team: v }), { "data-prop": "team", "aria-label": s.a_team }),
        check(s.subteams, a.subteams, (v) => swap({ ...a, subteams: v })));
    } else if (a.type === "field") {
      const people = d.entity.fields.filter((f) => f.type === "user");
      detail.append(select(people.map((f) => [f.key, f.label]), a.field, (v) => swap({ ...a, field: v }), { "aria-label": s.a_field }));
    } else if (a.type === "users") {
      const listId = `pd-people-${++uid}`;
      const datalist = el("datalist", { id: listId }, ...d.data.users.map((u) => el("option", { value: u.email, text: u.name })));
      const chips = el("div", { class: "tg-pd-chips" }, ...(a.users || []).map((m, k) => {
        const x = el("button", { type: "button", class: "tg-pd-chipx", "aria-label": `${s.remove} ${m}` }, d.data.users.find((u) => u.email === m)?.name || m, icon("x-mark"));
        x.addEventListener("click", () => swap({ ...a, users: a.users.filter((_, j) => j !== k) }));
        return x;
      }));
      const pick = el("input", { class: "form-control form-control-sm", list: listId, placeholder: s.people_hint, "aria-label": s.a_users, "data-prop": "users" });
      pick.addEventListener("change", () => {
        const v = pick.value.trim();
        const hit = d.data.users.find((u) => u.email === v || u.name === v);
        const email = hit ? hit.email : v;
        if (email.includes("@")) swap({ ...a, users: [...new Set([...(a.users || []), email])] });
      });
      detail.append(chips, pick, datalist);
    }
    box.append(el("div", { class: "tg-pd-assignee" }, el("strong", { text: s[`a_${a.type}`] || a.type }), detail, remove));
  });
  const kinds = [["manager", { type: "manager" }], ["role", () => ({ type: "role", role: d.data.roles[0]?.key || "" })],
    ["users", { type: "users", users: [] }], ["team", () => ({ type: "team", team: d.data.teams[0]?.key || "" })],
    ["field", () => ({ type: "field", field: d.entity.fields.find((f) => f.type === "user")?.key || "owner" })], ["submitter", { type: "submitter" }]];
  const add = select([["", `+ ${s.add_assignee}…`], ...kinds.map(([k]) => [k, s[`a_${k}`]])], "", (v) => {
    const made = kinds.find(([k]) => k === v)?.[1];
    if (!made) return;
    items.push(typeof made === "function" ? made() : { ...made });
    write();
  }, { "data-add-assignee": name, "aria-label": s.add_assignee });
  box.append(add);
  return box;
}

// -- panels ------------------------------------------------------------------------------------------------
function humanPanel(d, n) {
  const s = d.s;
  const approval = n.type === "approval";
  const out = [];
  out.push(section(approval ? s.assignees : s.assignees_fill, assigneeEditor(d, n.assignees || [], (items) => d.commit(() => { n.assignees = items; }), "assignees")));
  const modes = approval ? [["single", s.m_single], ["sequential", s.m_sequential], ["all", s.m_all], ["percent", s.m_percent]]
    : [["single", s.m_fill_single], ["all", s.m_fill_all]];
  const how = [row(s.mode, select(modes, n.mode || "single", (v) => d.commit(() => {
    n.mode = v;
    if (v === "percent") n.percent = n.percent || 50; else delete n.percent;
  }), { "data-prop": "mode" }))];
  if (n.mode === "percent") how.push(row(s.percent, input(n.percent, (v) => d.commit(() => { n.percent = Number(v) || 1; }, { merge: "percent", panel: false }), { type: "number", min: 1, max: 100, "data-prop": "percent" })));
  const all = approval ? APPROVAL_ACTIONS : FILL_ACTIONS;
  const actions = n.actions || all;
  how.push(el("fieldset", { class: "tg-pd-checks" }, el("legend", { text: s.actions }), ...all.map((a) => check(s[`act_${a}`], actions.includes(a), (on) => d.commit(() => {
    const next = all.filter((x) => (x === a ? on : actions.includes(x)));
    if (next.length) n.actions = next;
  }), { "data-action-check": a }))));
  if (approval) {
    const req = n.comment_required || [];
    how.push(el("fieldset", { class: "tg-pd-checks" }, el("legend", { text: s.comment_required }), ...["approve", "reject", "return"].map((a) => check(s[`act_${a}`], req.includes(a), (on) => d.commit(() => {
      const next = ["approve", "reject", "return"].filter((x) => (x === a ? on : req.includes(x)));
      if (next.length) n.comment_required = next; else delete n.comment_required;
    }), { "data-comment-check": a }))));
  }
  how.push(row(s.if_nobody, select([["admins", s.nobody_admins], ["skip", s.nobody_skip], ["error", s.nobody_error]], n.if_nobody || "admins", (v) => d.commit(() => { n.if_nobody = v; }))));
  out.push(section(s.mode, ...how));
  out.push(section(s.cc_list, assigneeEditor(d, n.cc || [], (items) => d.commit(() => { if (items.length) n.cc = items; else delete n.cc; }), "cc")));
  out.push(deadlinePanel(d, n));
  out.push(fieldMatrix(d, n));
  return out;
}

function deadlinePanel(d, n) {
  const s = d.s;
  const dl = n.deadline || {};
  const set = (k, v) => d.commit(() => {
    const next = { ...(n.deadline || {}) };
    if (v === null || v === undefined || v === "") delete next[k]; else next[k] = v;
    if (k === "auto" && !v) delete next.auto_action;
    if (k === "auto" && v && !next.auto_action) next.auto_action = n.type === "fill" ? "complete" : "approve";
    if (Object.keys(next).length) n.deadline = next; else delete n.deadline;
  });
  const parts = [row(s.remind, offset(d, dl.remind, (v) => set("remind", v), "remind"), { "data-deadline": "remind" }),
    row(s.escalate, offset(d, dl.escalate, (v) => set("escalate", v), "escalate"), { "data-deadline": "escalate" })];
  if (dl.escalate) parts.push(row(s.escalate_mode, select([["reassign", s.esc_reassign], ["add", s.esc_add]], dl.escalate_mode || "reassign", (v) => set("escalate_mode", v))));
  parts.push(row(s.auto, offset(d, dl.auto, (v) => set("auto", v), "auto"), { "data-deadline": "auto" }));
  if (dl.auto) {
    const acts = n.type === "fill" ? [["complete", s.act_complete]] : [["approve", s.act_approve], ["reject", s.act_reject]];
    parts.push(row(s.auto_action, select(acts, dl.auto_action, (v) => set("auto_action", v))));
  }
  parts.push(check(s.working_hours, dl.working_hours, (v) => set("working_hours", v || null)));
  return section(s.deadline, ...parts);
}

// Every field of the entity x visible / editable / required (visible unset: what their role reads).
function fieldMatrix(d, n) {
  const s = d.s;
  const fa = n.fields || {};
  const table = el("table", { class: "tg-pd-matrix" }, el("thead", {}, el("tr", {}, el("th", { text: s.f_field }), el("th", { text: s.f_visible }), el("th", { text: s.f_editable }), el("th", { text: s.f_required }))));
  const body = el("tbody");
  const set = (key, group, on) => d.commit(() => {
    const next = { ...(n.fields || {}) };
    let list = group === "visible" ? (next.visible ? [...next.visible] : d.entity.fields.map((f) => f.key)) : [...(next[group] || [])];
    list = on ? [...new Set([...list, key])] : list.filter((k) => k !== key);
    next[group] = list;
    if (group !== "visible" && !list.length) delete next[group];
    if (on && group === "required" && !(next.editable || []).includes(key)) next.editable = [...(next.editable || []), key];
    if (!on && group === "editable" && next.required) { next.required = next.required.filter((k) => k !== key); if (!next.required.length) delete next.required; }
    if (Object.keys(next).length) n.fields = next; else delete n.fields;
  });
  for (const f of d.entity.fields) {
    const visible = fa.visible ? fa.visible.includes(f.key) : true;
    const cell = (group, on, disabled = false) => {
      const box = el("input", { type: "checkbox", class: "form-check-input", "aria-label": `${f.label}: ${s[`f_${group}`]}`, "data-matrix": `${f.key}:${group}` });
      box.checked = on;
      box.disabled = disabled;
      box.addEventListener("change", () => set(f.key, group, box.checked));
      return el("td", {}, box);
    };
    body.append(el("tr", {}, el("th", { scope: "row", text: f.label }), cell("visible", visible),
      cell("editable", (fa.editable || []).includes(f.key), !f.writable), cell("required", (fa.required || []).includes(f.key), !f.writable)));
  }
  table.append(body);
  const hint = fa.visible ? null : el("p", { class: "tg-muted small", text: s.f_all_visible });
  return section(s.field_access, ...(hint ? [hint] : []), el("div", { class: "tg-pd-matrix-wrap" }, table));
}

function ccPanel(d, n) {
  const s = d.s;
  const act = n.actions[0];
  const to = act.to || [];
  const has = (r) => to.some((x) => JSON.stringify(x) === JSON.stringify(r));
  const toggle = (r, on) => d.commit(() => {
    const next = on ? [...to, r] : to.filter((x) => JSON.stringify(x) !== JSON.stringify(r));
    if (next.length) act.to = next;
  });
  const people = [["owner", s.r_owner], ["manager", s.r_manager],
    ...d.entity.fields.filter((f) => f.type === "user" && f.key !== "owner").map((f) => [{ field: f.key }, fill(s.field_x, { name: f.label })]),
    ...d.data.teams.map((t) => [{ team: t.key }, fill(s.team_x, { name: t.label })])];
  return [section(s.recipients, el("fieldset", { class: "tg-pd-checks" }, ...people.map(([r, label]) => check(label, has(r), (on) => toggle(r, on))))),
    section(s.notice_title, row(s.notice_title, input(act.title, (v) => d.commit(() => { act.title = v; }, { merge: "cc-title", panel: false }), { maxlength: 500 })),
      row(s.notice_body, input(act.body, (v) => d.commit(() => { if (v) act.body = v; else delete act.body; }, { merge: "cc-body", panel: false }), { maxlength: 2000 })),
      check(s.by_email, act.email, (v) => d.commit(() => { if (v) act.email = true; else delete act.email; })))];
}

function timerPanel(d, n) {
  const s = d.s;
  const dates = d.entity.fields.filter((f) => f.type === "date" || f.type === "datetime");
  const byDate = !n.duration;
  const parts = [row(s.wait_mode, select([["duration", s.wait_duration], ...(dates.length ? [["field", s.wait_date]] : [])], byDate ? "field" : "duration", (v) => d.commit(() => {
    if (v === "field") { delete n.duration; n.field = dates[0].key; } else { delete n.field; delete n.offset; delete n.direction; n.duration = { amount: 1, unit: "days" }; }
  })))];
  if (byDate) {
    parts.push(row(s.until_field, select(dates.map((f) => [f.key, f.label]), n.field, (v) => d.commit(() => { n.field = v; }))),
      row(s.offset, offset(d, n.offset, (v) => d.commit(() => { if (v) n.offset = v; else delete n.offset; }), "offset")),
      row(s.offset, select([["after", s.after], ["before", s.before]], n.direction || "after", (v) => d.commit(() => { n.direction = v; }))));
  } else {
    parts.push(row(s.duration, offset(d, n.duration, (v) => d.commit(() => { if (v) n.duration = v; }), "duration")));
  }
  parts.push(check(s.working_hours, n.working_hours, (v) => d.commit(() => { if (v) n.working_hours = true; else delete n.working_hours; })));
  return [section(s.timer, ...parts)];
}

// -- the generic part: every setting of the node type's config schema that has no widget above --------------
const COMMON = new Set(["id", "type", "label", "description", "position"]);
const HANDLED = {
  approval: ["assignees", "cc", "fields", "deadline", "mode", "percent", "actions", "comment_required", "if_nobody"],
  fill: ["assignees", "cc", "fields", "deadline", "mode", "actions", "if_nobody"],
  timer: ["duration", "field", "offset", "direction", "working_hours"], end: ["outcome", "set"], cc: ["actions"],
};

function resolve(schema, root) {
  let out = schema;
  while (out && out.$ref) out = root.$defs?.[out.$ref.split("/").pop()];
  const options = out?.anyOf?.filter((x) => x.type !== "null");
  return options?.length === 1 ? resolve(options[0], root) : out || {};
}

// One control from a JSON Schema property: choices, yes/no, numbers, text, lists of choices; anything else as JSON.
function schemaControl(d, n, name, prop, root) {
  const s = d.s;
  const set = (v, merge) => d.commit(() => { if (v === undefined) delete n[name]; else n[name] = v; }, merge ? { merge: `${n.id}-${name}`, panel: false } : {});
  const label = s[`p_${name}`] || name;
  const choices = name === "return_to"
    ? [["submitter", s.submitter], ...d.def.nodes.filter((x) => (x.type === "approval" || x.type === "fill") && x.id !== n.id).map((x) => [x.id, labelIn(x.label, d.locale, x.id)])]
    : null;
  const items = prop.type === "array" ? resolve(prop.items || {}, root) : null;
  if (prop.enum) return row(label, select(prop.enum.map((v) => [v, s[`v_${v}`] || v]), n[name] ?? prop.default, (v) => set(v), { "data-prop": name }));
  if (prop.type === "boolean") return check(label, n[name] ?? prop.default, (v) => set(v), { "data-prop": name });
  if (prop.type === "integer" || prop.type === "number") {
    return row(label, input(n[name], (v) => set(v === "" ? undefined : Number(v), true), { type: "number", min: prop.minimum, max: prop.maximum, "data-prop": name }));
  }
  if (prop.type === "string") return row(label, input(n[name], (v) => set(v === "" ? undefined : v, true), { maxlength: prop.maxLength || 500, "data-prop": name }));
  if (items && (items.enum || choices)) {
    const all = choices || items.enum.map((v) => [v, s[`v_${v}`] || v]);
    const chosen = n[name] || [];
    return el("fieldset", { class: "tg-pd-checks", "data-prop": name }, el("legend", { text: label }), ...all.map(([v, text]) => check(text, chosen.includes(v), (on) => {
      const next = all.map(([k]) => k).filter((k) => (k === v ? on : chosen.includes(k)));
      set(next.length ? next : undefined);
    })));
  }
  const area = el("textarea", { class: "form-control form-control-sm tg-pd-json", rows: 6, spellcheck: "false", "data-prop": name });
  area.value = n[name] === undefined ? "" : JSON.stringify(n[name], null, 2);
  const error = el("div", { class: "tg-error" });
  area.addEventListener("change", () => {
    if (!area.value.trim()) { error.textContent = ""; set(undefined); return; }
    try { const parsed = JSON.parse(area.value); error.textContent = ""; set(parsed); } catch { error.textContent = s.invalid_json; }
  });
  return row(label, area, { "data-json-prop": name });
}

function schemaPanel(d, n, kind) {
  const root = d.data.node_schemas[n.type];
  if (!root) return [];
  const skip = new Set([...COMMON, ...(HANDLED[kind] || [])]);
  const controls = Object.entries(root.properties || {}).filter(([k]) => !skip.has(k)).map(([k, prop]) => schemaControl(d, n, k, resolve(prop, root), root));
  return controls.length ? [section(d.s.more, ...controls)] : [];
}

function endPanel(d, n) {
  const s = d.s;
  return [section(s.outcome, row(s.outcome, select(["approved", "rejected", "done"].map((o) => [o, s[`outcome_${o}`]]), n.outcome || "done", (v) => d.commit(() => { n.outcome = v; })))),
    section(s.set_fields, endSetter(d, n))];
}

// "When it ends here, set": one row per field written on the record (a select's option picked from a list,
// other values typed), and a select to add one: what `set` holds, without JSON.
function endSetter(d, n) {
  const s = d.s;
  const box = el("div", { class: "tg-pd-set", "data-end-set": n.id });
  const write = (next) => d.commit(() => { if (Object.keys(next).length) n.set = next; else delete n.set; });
  const current = n.set || {};
  const choices = (key) => d.entity.conditions.find((c) => c.key === key)?.options || [];
  for (const [key, value] of Object.entries(current)) {
    const f = d.entity.fields.find((x) => x.key === key);
    const options = choices(key);
    const update = (v) => write({ ...(n.set || {}), [key]: v });
    const control = options.length
      ? select([["", "—"], ...options.map((o) => [o.key, o.label])], value, (v) => update(v === "" ? null : v), { "data-set-value": key, "aria-label": f?.label || key })
      : typeof value === "object" && value !== null
        ? el("code", { text: JSON.stringify(value) })
        : input(value, (v) => d.commit(() => { n.set = { ...(n.set || {}), [key]: v }; }, { merge: `${n.id}-set-${key}`, panel: false }), { "data-set-value": key, "aria-label": f?.label || key });
    const remove = el("button", { type: "button", class: "btn btn-sm btn-ghost-danger", "aria-label": s.remove, title: s.remove }, icon("x-mark"));
    remove.addEventListener("click", () => { const next = { ...(n.set || {}) }; delete next[key]; write(next); });
    box.append(el("div", { class: "tg-pd-set-row", "data-set": key }, el("span", { text: f?.label || key }), control, remove));
  }
  const free = d.entity.fields.filter((f) => f.settable && f.key !== "owner" && !(f.key in current));
  if (free.length) {
    box.append(select([["", `+ ${s.add_set}…`], ...free.map((f) => [f.key, f.label])], "", (v) => {
      if (v) write({ ...current, [v]: choices(v)[0]?.key ?? "" });
    }, { "data-add-set": n.id, "aria-label": s.add_set }));
  }
  return box;
}

function gatewayPanel(d, n) {
  const s = d.s;
  const parts = [];
  if (isSplit(d.def, n.id) && joinOf(d.def, n.id)) {
    const add = el("button", { type: "button", class: "btn btn-sm", "data-add-branch": n.id, text: `+ ${s.add_branch}` });
    add.addEventListener("click", () => d.addBranch(n.id));
    const del = el("button", { type: "button", class: "btn btn-sm btn-ghost-danger", "data-delete-block": n.id }, icon("trash"), ` ${s.delete_gateway}`);
    del.addEventListener("click", () => d.removeBlock(n.id));
    parts.push(el("div", { class: "tg-actions" }, add, del));
  }
  return parts.length ? [section(s[n.type], ...parts)] : [];
}

function edgePanel(d, index) {
  const s = d.s;
  const e = d.def.edges[index];
  const from = nodeOf(d.def, e.from);
  const out = [el("h2", { class: "tg-pd-panel-title", text: s.edge })];
  out.push(...titles(d, e, `edge-${index}`));
  if (from && (from.type === "exclusive" || from.type === "inclusive")) {
    out.push(check(s.default_branch, e.default, (v) => d.commit(() => {
      if (v) { d.def.edges.forEach((x) => { if (x.from === e.from && x !== e && x.default) x.default = false; }); e.default = true; delete e.condition; } else e.default = false;
    }), { "data-prop": "default" }));
    if (!e.default) out.push(conditionEditor(d, e));
  }
  if (from && isSplit(d.def, e.from)) {
    const del = el("button", { type: "button", class: "btn btn-sm btn-ghost-danger", "data-delete-branch": String(index) }, icon("trash"), ` ${s.delete_branch}`);
    del.addEventListener("click", () => d.removeBranch(index));
    out.push(el("div", { class: "tg-actions mt-2" }, del));
  }
  out.push(problemsOf(d, d.problems.filter((p) => p.edge === index)));
  return out;
}

function conditionEditor(d, e) {
  const s = d.s;
  const fields = d.entity.conditions;
  const msg = d.root.dataset;
  const host = el("div", {
    class: "tg-pd-cond", "data-msg-all": msg.msgAll, "data-msg-any": msg.msgAny, "data-msg-add": msg.msgAdd, "data-msg-group": msg.msgGroup,
    "data-msg-remove": msg.msgRemove, "data-msg-yes": msg.msgYes, "data-msg-no": msg.msgNo, "data-msg-field": msg.msgField,
    "data-msg-op": msg.msgOp, "data-msg-value": msg.msgValue, "data-msg-me": msg.msgMe, "data-msg-match": msg.msgMatch,
  }, el("div", { "data-filter-root": "" }));
  if (!fields.length) return host;
  const builder = new FilterBuilder(host, { fields, ops: d.data.conditions.ops, units: d.data.conditions.units, filter: e.condition ? JSON.stringify(e.condition) : null });
  if (!e.condition) builder.root.items.push(builder.leaf());
  builder.render();
  const apply = el("button", { type: "button", class: "btn btn-sm btn-primary", "data-apply-condition": "", text: s.apply });
  apply.addEventListener("click", () => d.commit(() => { const c = builder.condition(); if (c) e.condition = c; else delete e.condition; }));
  const clear = el("button", { type: "button", class: "btn btn-sm", text: s.clear });
  clear.addEventListener("click", () => d.commit(() => { delete e.condition; }));
  return section(s.condition, el("p", { class: "tg-muted small", text: d.describe(e.condition) || s.set_condition }), host, el("div", { class: "tg-actions" }, apply, clear));
}

function problemsOf(d, list) {
  if (!list.length) return el("div");
  return el("div", { class: "tg-pd-node-problems", role: "alert" }, ...list.map((p) => el("p", { text: p.message })));
}

function processPanel(d) {
  const s = d.s;
  const p = d.def;
  const start = p.start || {};
  const setStart = (k, v) => d.commit(() => { p.start = { ...(p.start || {}), [k]: v }; });
  const out = [el("h2", { class: "tg-pd-panel-title", text: s.process_settings }), ...titles(d, p, "process"),
    row(s.entity, el("input", { class: "form-control form-control-sm", value: d.entity.label, readonly: "" })),
    check(s.manual, start.manual ?? true, (v) => setStart("manual", v)),
    check(s.on_create, start.on_create, (v) => setStart("on_create", v)),
    row(s.lock, select([["none", s.lock_none], ["record", s.lock_record], ["fields", s.lock_fields]], p.lock || "none", (v) => d.commit(() => {
      p.lock = v;
      if (v !== "fields") delete p.lock_fields;
    })))];
  if (p.lock === "fields") {
    const locked = p.lock_fields || [];
    out.push(el("fieldset", { class: "tg-pd-checks tg-pd-scrolly" }, ...d.entity.fields.map((f) => check(f.label, locked.includes(f.key), (on) => d.commit(() => {
      p.lock_fields = d.entity.fields.map((x) => x.key).filter((k) => (k === f.key ? on : locked.includes(k)));
    })))));
  }
  out.push(el("div", { class: "mt-2" }, check(s.withdraw, p.withdraw ?? true, (v) => d.commit(() => { p.withdraw = v; }))));
  out.push(problemsOf(d, d.problems.filter((x) => x.node === undefined && x.edge === undefined)));
  out.push(el("p", { class: "tg-muted small mt-3", text: d.s.select_hint }));
  return out;
}

export function renderPanel(d) {
  const sel = d.selected;
  let content;
  if (sel && "edge" in sel && d.def.edges[sel.edge]) content = edgePanel(d, sel.edge);
  else if (sel?.node && nodeOf(d.def, sel.node)) {
    const n = nodeOf(d.def, sel.node);
    const kind = kindOf(n);
    const head = el("div", { class: `tg-pd-panel-head k-${kind}` }, icon("cog-6-tooth"), el("h2", { class: "tg-pd-panel-title", text: d.s[kind] || n.type }));
    if (n.type !== "start") {
      const del = el("button", { type: "button", class: "btn btn-sm btn-ghost-danger ms-auto", "data-panel-delete": n.id, "aria-label": d.s.delete_node, title: d.s.delete_node }, icon("trash"));
      del.addEventListener("click", () => d.remove(n.id));
      head.append(del);
    }
    content = [head, problemsOf(d, d.problems.filter((p) => p.node === n.id)), ...titles(d, n, `node-${n.id}`)];
    if (kind === "approval" || kind === "fill") content.push(...humanPanel(d, n));
    else if (kind === "cc" && isCc(n)) content.push(...ccPanel(d, n));
    else if (kind === "timer") content.push(...timerPanel(d, n));
    else if (kind === "end") content.push(...endPanel(d, n));
    else if (kind === "exclusive" || kind === "parallel" || kind === "inclusive") content.push(...gatewayPanel(d, n));
    else if (kind === "start") content.push(...processPanel(d).slice(1));
    content.push(...schemaPanel(d, n, kind));
  } else content = processPanel(d);
  d.panel.replaceChildren(...content);
}
