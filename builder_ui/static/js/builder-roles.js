// Roles: the list's dialogs (new role, delete with the engine's refusal shown) and the role editor's
// permission matrix. The editor keeps the role definition as JSON and saves it whole with
// PUT /api/v1/admin/roles/{key}; errors come back with JSON paths (/grants/3/read) and land on their cell.
// The words beside the matrix come from the server (POST /build/roles/{key}/explain), never from here.
import { api, toast } from "./api.js";
import { el, fill, problemText, proposeKeys, showErrors } from "./builder-dom.js";

const COLUMNS = ["read", "create", "update", "delete", "export", "assign", "manage"];
const FLAGS = new Set(["create", "assign", "manage"]);

// -- the list ------------------------------------------------------------------------------------
function startList(root) {
  const msg = root.dataset;
  const created = document.getElementById("tg-role-new");
  const form = created.querySelector("[data-role-create]");
  const keyInput = form.elements.key;
  const taken = () => [...root.querySelectorAll("[data-role]")].map((r) => r.dataset.role);
  const resetKey = proposeKeys(keyInput, [form.elements.en, form.elements.zh], "role", taken);
  root.querySelector("[data-role-new]").addEventListener("click", () => {
    form.reset();
    resetKey();
    form.querySelectorAll("[data-error-for]").forEach((e) => { e.textContent = ""; });
    created.showModal();
    form.elements.zh.focus();
  });
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    if (e.isComposing) return;
    form.querySelectorAll("[data-error-for]").forEach((x) => { x.textContent = ""; });
    const label = {};
    if (form.elements.zh.value.trim()) label["zh-CN"] = form.elements.zh.value.trim();
    if (form.elements.en.value.trim()) label.en = form.elements.en.value.trim();
    if (!Object.keys(label).length) {
      form.querySelector('[data-error-for="/label"]').textContent = msg.msgRequired;
      return;
    }
    const r = await api("POST", "/api/v1/admin/roles", { key: keyInput.value.trim(), label, grants: [] });
    if (r.ok) { location.href = `/build/roles/${encodeURIComponent(r.data.key)}`; return; }
    const loose = showErrors(form, r);
    if (loose.length) form.querySelector('[data-error-for="/key"]').textContent = loose.join("; ");
  });
  created.querySelectorAll("[data-close]").forEach((b) => b.addEventListener("click", () => created.close()));

  const removing = document.getElementById("tg-role-delete");
  const removeForm = removing.querySelector("form");
  const question = removing.querySelector("[data-delete-question]");
  const error = removing.querySelector("[data-delete-error]");
  let target = null;
  root.querySelectorAll("[data-role-delete]").forEach((button) => button.addEventListener("click", () => {
    target = button;
    question.textContent = fill(question.dataset.template, { role: button.dataset.label });
    error.hidden = true;
    removing.showModal();
  }));
  removeForm.addEventListener("submit", async (e) => {
    e.preventDefault();
    const key = target.dataset.roleDelete;
    const r = await api("DELETE", `/api/v1/admin/roles/${encodeURIComponent(key)}`);
    if (r.ok) {
      removing.close();
      root.querySelector(`[data-role="${CSS.escape(key)}"]`)?.remove();
      toast(msg.msgDeleted, "ok");
      return;
    }
    const code = r.data?.code;
    error.textContent = code === "in_use" ? fill(msg.msgInUse, { n: r.data.users }) : code === "builtin" ? msg.msgBuiltin : problemText(r);
    error.hidden = false;
  });
  removing.querySelectorAll("[data-close]").forEach((b) => b.addEventListener("click", () => removing.close()));
}

// -- the editor ----------------------------------------------------------------------------------
class RoleEditor {
  constructor(root) {
    this.root = root;
    const data = JSON.parse(document.getElementById("tg-role-data").textContent);
    this.def = structuredClone(data.definition);
    this.def.grants = this.def.grants || [];
    this.apps = data.apps;
    this.levels = data.levels;
    this.msg = data.msg;
    this.key = root.dataset.key;
    this.body = root.querySelector("[data-matrix-body]");
    this.words = root.querySelector("[data-words]");
    this.open = new Set();  // entities whose fields are unfolded
    this.dirty = false;
    this.explaining = 0;
  }

  start() {
    const label = typeof this.def.label === "string" ? { en: this.def.label } : (this.def.label || {});
    this.root.querySelectorAll("[data-label]").forEach((input) => {
      input.value = label[input.dataset.label] || "";
      input.addEventListener("input", () => this.changed());
    });
    const description = this.root.querySelector("[data-description]");
    const desc = this.def.description;
    description.value = typeof desc === "string" ? desc : (desc?.[document.documentElement.lang] || desc?.en || desc?.["zh-CN"] || "");
    description.addEventListener("input", () => this.changed());
    this.root.querySelector("[data-role-save]").addEventListener("click", () => this.save());
    window.addEventListener("beforeunload", (e) => { if (this.dirty) { e.preventDefault(); e.returnValue = ""; } });
    document.addEventListener("keydown", (e) => {
      if ((e.ctrlKey || e.metaKey) && e.key === "s") { e.preventDefault(); this.save(); }
    });
    this.render();
  }

  grant(entity) { return this.def.grants.find((g) => g.entity === entity); }

  parentOf(entity) {
    if (entity === "*") return null;
    return entity.endsWith(".*") ? "*" : `${entity.split(".")[0]}.*`;
  }

  effective(entity) {  // the grant that applies: its own, else its app's, else every app's, else nothing
    for (let e = entity; e; e = this.parentOf(e)) {
      const g = this.grant(e);
      if (g) return { grant: g, from: e };
    }
    return { grant: { entity, read: "none", create: false, update: "none", delete: "none", export: "none", assign: false, manage: false }, from: null };
  }

  own(entity) {  // make (or keep) the entity's own grant, starting from what applied so far
    let g = this.grant(entity);
    if (!g) {
      const base = this.effective(entity).grant;
      g = { ...structuredClone(base), entity };
      if (entity.endsWith("*")) { delete g.hidden_fields; delete g.read_only_fields; }
      this.def.grants.push(g);
    }
    return g;
  }

  render() {
    const rows = [this.row("*", this.msg.everyApp, null, "tg-row-all")];
    for (const app of this.apps) {
      rows.push(this.row(`${app.key}.*`, fill(this.msg.everyForm, { app: app.label }), null, "tg-row-app"));
      for (const entity of app.entities) {
        const full = `${app.key}.${entity.key}`;
        rows.push(this.row(full, entity.label, entity, "tg-row-entity"));
        if (this.open.has(full)) rows.push(this.fieldsRow(full, entity));
      }
    }
    this.body.replaceChildren(...rows);
  }

  row(entity, label, info, kind) {
    const { grant, from } = this.effective(entity);
    const inherited = from !== entity;
    const tr = el("tr", { class: `${kind}${inherited ? " tg-inherited" : ""}`, "data-entity": entity });
    const name = el("th", { scope: "row", class: "tg-matrix-entity" }, el("span", { class: "tg-entity-name", text: label }));
    if (inherited && entity !== "*") {
      name.append(el("span", { class: "tg-inherit-note", text: from === "*" || !from ? this.msg.inheritAll : this.msg.inherit }));
    } else if (entity !== "*") {
      const reset = el("button", { type: "button", class: "tg-reset", title: this.msg.reset, "aria-label": `${this.msg.reset}: ${label}` }, this.msg.reset);
      reset.addEventListener("click", () => {
        this.def.grants = this.def.grants.filter((g) => g.entity !== entity);
        this.changed(true);
      });
      name.append(reset);
    }
    tr.append(name);
    for (const action of COLUMNS) {
      const td = el("td", { "data-action": action });
      const aria = fill(this.msg.cell, { action: this.msg[action], entity: label });
      if (FLAGS.has(action)) {
        const box = el("input", { type: "checkbox", class: "form-check-input", "aria-label": aria });
        box.checked = Boolean(grant[action]);
        box.addEventListener("change", () => { this.own(entity)[action] = box.checked; this.changed(true); });
        td.append(box);
      } else {
        const select = el("select", { class: `form-select form-select-sm tg-level tg-level-${grant[action] || "none"}`, "aria-label": aria });
        for (const level of this.levels) select.append(new Option(this.msg[level], level));
        select.value = grant[action] || "none";
        select.addEventListener("change", () => { this.own(entity)[action] = select.value; this.changed(true); });
        td.append(select);
      }
      tr.append(td);
    }
    const fieldsCell = el("td", { "data-action": "fields" });
    if (info) {
      const g = this.grant(entity) || {};
      const n = (g.hidden_fields || []).length + (g.read_only_fields || []).length;
      const open = this.open.has(entity);
      const text = `${this.msg.fields}${n ? ` · ${n}` : ""}`;
      const toggle = el("button", { type: "button", class: `btn btn-sm tg-fields-toggle${n ? " has" : ""}`, "aria-expanded": String(open),
        "aria-label": `${text} (${fill(this.msg.showFields, { entity: label })})` }, text);
      toggle.addEventListener("click", () => {
        if (open) this.open.delete(entity); else this.open.add(entity);
        this.render();
        this.body.querySelector(`tr[data-entity="${CSS.escape(entity)}"] .tg-fields-toggle`)?.focus();
      });
      fieldsCell.append(toggle);
    }
    tr.append(fieldsCell);
    return tr;
  }

  fieldsRow(entity, info) {
    const tr = el("tr", { class: "tg-fields-row", "data-fields-of": entity });
    const td = el("td", { colspan: String(COLUMNS.length + 2) });
    if (!info.fields.length) {
      td.append(el("p", { class: "tg-muted", text: this.msg.noFields }));
    } else {
      const { grant } = this.effective(entity);
      const list = el("ul", { class: "tg-field-list" });
      for (const f of info.fields) {
        const li = el("li", { "data-field": f.key }, el("span", { class: "tg-field-name", text: f.label }));
        for (const [prop, text] of [["hidden_fields", this.msg.hidden], ["read_only_fields", this.msg.readOnly]]) {
          const id = `tg-f-${entity}-${f.key}-${prop}`.replace(/[^a-zA-Z0-9_-]/g, "_");
          const box = el("input", { type: "checkbox", class: "form-check-input", id, "data-prop": prop });
          box.checked = (grant[prop] || []).includes(f.key);
          box.addEventListener("change", () => {
            const g = this.own(entity);
            const set = new Set(g[prop] || []);
            if (box.checked) set.add(f.key); else set.delete(f.key);
            g[prop] = [...set];
            this.changed(true);
          });
          li.append(el("label", { class: "form-check form-check-inline", for: id }, box, el("span", { text: text })));
        }
        list.append(li);
      }
      td.append(list);
    }
    tr.append(td);
    return tr;
  }

  changed(rerender = false) {
    this.dirty = true;
    this.root.querySelector("[data-dirty]").textContent = this.msg.unsaved;
    if (rerender) {
      const focused = document.activeElement;
      const where = focused?.closest("tr")?.dataset;
      const action = focused?.closest("td")?.dataset.action;
      const field = focused?.closest("li")?.dataset.field;
      const prop = focused?.dataset?.prop;
      this.render();
      this.refocus(where, action, field, prop);
    }
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.explain(), 250);
  }

  refocus(where, action, field, prop) {  // keyboard users stay on the control they changed
    if (!where) return;
    const row = where.entity ? this.body.querySelector(`tr[data-entity="${CSS.escape(where.entity)}"]`)
      : this.body.querySelector(`tr[data-fields-of="${CSS.escape(where.fieldsOf || "")}"]`);
    const target = field ? row?.querySelector(`li[data-field="${CSS.escape(field)}"] [data-prop="${prop}"]`)
      : row?.querySelector(`td[data-action="${action}"] select, td[data-action="${action}"] input`) || row?.querySelector("th");
    target?.focus();
  }

  draft() {
    const label = {};
    this.root.querySelectorAll("[data-label]").forEach((i) => { if (i.value.trim()) label[i.dataset.label] = i.value.trim(); });
    const def = { ...structuredClone(this.def), label };
    const description = this.root.querySelector("[data-description]").value.trim();
    if (description) def.description = description; else delete def.description;
    return def;
  }

  async explain() {
    const ticket = ++this.explaining;
    const r = await api("POST", `/build/roles/${encodeURIComponent(this.key)}/explain`, this.draft());
    if (ticket !== this.explaining || !r.ok || !r.data.lines) return;
    this.words.replaceChildren(...r.data.lines.map((l) => el("li", {}, el("strong", { text: l.title }), el("span", { text: l.text }))));
  }

  async save() {
    const banner = this.root.querySelector("[data-role-error]");
    banner.hidden = true;
    this.root.querySelectorAll(".tg-cell-error").forEach((c) => { c.classList.remove("tg-cell-error"); c.removeAttribute("title"); });
    this.root.querySelectorAll("[data-error-for]").forEach((s) => { s.textContent = ""; });
    const draft = this.draft();
    const r = await api("PUT", `/api/v1/admin/roles/${encodeURIComponent(this.key)}`, draft);
    if (r.ok) {
      this.dirty = false;
      this.root.querySelector("[data-dirty]").textContent = "";
      this.root.querySelector(".tg-page-head h1").textContent = r.data.label?.[document.documentElement.lang] || r.data.label?.en || r.data.label?.["zh-CN"] || this.key;
      toast(this.msg.saved, "ok");
      return;
    }
    showErrors(this.root, r);
    const loose = [];
    for (const err of r.data?.errors || []) {
      const m = /^\/grants\/(\d+)(?:\/([a-z_]+))?/.exec(err.path);
      const grant = m && draft.grants[Number(m[1])];
      const row = grant && this.body.querySelector(`tr[data-entity="${CSS.escape(grant.entity)}"]`);
      if (!row) { if (!err.path.startsWith("/label")) loose.push(err.message); continue; }
      const prop = m[2] === "hidden_fields" || m[2] === "read_only_fields" ? "fields" : m[2];
      const cell = row.querySelector(`td[data-action="${prop}"]`) || row.querySelector("th");
      cell.classList.add("tg-cell-error");
      cell.title = err.message;
      loose.push(`${row.querySelector(".tg-entity-name").textContent}: ${err.message}`);
    }
    banner.textContent = `${this.msg.saveFailed} ${loose.length ? loose.join("; ") : (r.data?.errors?.length ? "" : problemText(r))}`.trim();
    banner.hidden = false;
    toast(this.msg.saveFailed, "error");
  }
}

export function start(root) {
  if (root.id === "tg-roles") startList(root);
  else new RoleEditor(root).start();
}
