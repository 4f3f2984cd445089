// People and teams: users (search, paging, one role added or removed at a time, teams, deactivation,
// invitation links) and the team tree (drag a team onto another, or the "Move to" select in its dialog).
// Everything goes through /api/v1/admin/...; the engine decides (cycles, last administrator, duplicate
// emails) and its refusals are shown at their field, in the viewer's language when their code is known.
import { api, toast } from "./api.js";
import { el, fill, problemText, proposeKeys, showErrors } from "./builder-dom.js";

const ADMIN = "/api/v1/admin";
const PAGE = 20;

class People {
  constructor(root) {
    this.root = root;
    const data = JSON.parse(document.getElementById("tg-people-data").textContent);
    this.msg = data.msg;
    this.locale = data.locale;
    this.roles = new Map(data.roles.map((r) => [r.key, r.label]));
    this.me = Number(root.dataset.me);
    this.teams = [];
    this.users = [];
    this.pages = [0];  // the `after` of each page seen, for Previous
    this.filterTeam = null;
    this.known = { taken: this.msg.taken, cycle: this.msg.cycle, self: this.msg.self };
  }

  label(value, fallback) {
    if (typeof value === "string") return value;
    return value?.[this.locale] || value?.en || value?.["zh-CN"] || fallback;
  }

  teamLabel(key) {
    const t = this.teams.find((x) => x.key === key);
    return t ? this.label(t.label, key) : key;
  }

  async start() {
    const search = this.root.querySelector("[data-user-search]");
    let timer;
    search.elements.q.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(() => this.reload(), 250); });
    search.elements.role.addEventListener("change", () => this.reload());
    search.addEventListener("submit", (e) => { e.preventDefault(); this.reload(); });
    this.root.querySelector("[data-team-filter-clear]").addEventListener("click", () => { this.filterTeam = null; this.reload(); });
    this.root.querySelector("[data-page-next]").addEventListener("click", () => { this.pages.push(this.next); this.loadUsers(); });
    this.root.querySelector("[data-page-prev]").addEventListener("click", () => { this.pages.pop(); this.loadUsers(); });
    this.root.querySelector("[data-invite]").addEventListener("click", () => this.openInvite());
    this.root.querySelector("[data-team-new]").addEventListener("click", () => this.openTeam(null));
    this.root.querySelector("[data-tree-hint]").textContent = this.msg.dragHint;
    for (const dialog of this.root.querySelectorAll("dialog")) {
      dialog.querySelectorAll("[data-close]").forEach((b) => b.addEventListener("click", () => dialog.close()));
    }
    this.root.querySelectorAll("[data-copy]").forEach((b) => b.addEventListener("click", () => this.copy(b)));
    this.setupUserDialog();
    this.setupInvite();
    this.setupTeamDialog();
    this.setupDrop(this.root.querySelector("[data-tree-root]"), null);
    await this.loadTeams();  // first: the users' rows name their teams
    await this.loadUsers();
  }

  // -- users ---------------------------------------------------------------------------------------
  reload() { this.pages = [0]; return this.loadUsers(); }

  async loadUsers() {
    const form = this.root.querySelector("[data-user-search]");
    const params = new URLSearchParams({ limit: String(PAGE), after: String(this.pages.at(-1) || 0) });
    if (form.elements.q.value.trim()) params.set("q", form.elements.q.value.trim());
    if (form.elements.role.value) params.set("role", form.elements.role.value);
    if (this.filterTeam) params.set("team", this.filterTeam);
    const filter = this.root.querySelector("[data-team-filter]");
    filter.hidden = !this.filterTeam;
    this.root.querySelector("[data-team-filter-label]").textContent = this.filterTeam ? this.teamLabel(this.filterTeam) : "";
    const r = await api("GET", `${ADMIN}/users?${params}`);
    if (!r.ok) { toast(problemText(r), "error"); return; }
    this.users = r.data.items;
    this.next = r.data.next_after;
    this.root.querySelector("[data-page-next]").disabled = this.next === null;
    this.root.querySelector("[data-page-prev]").disabled = this.pages.length < 2;
    const body = this.root.querySelector("[data-users]");
    if (!this.users.length) {
      body.replaceChildren(el("tr", {}, el("td", { colspan: "4", class: "tg-empty", text: this.msg.noUsers })));
      return;
    }
    body.replaceChildren(...this.users.map((u) => this.userRow(u)));
  }

  userRow(u) {
    const open = el("button", { type: "button", class: "tg-link-btn", "data-user-open": String(u.id) }, u.name || u.email);
    open.addEventListener("click", () => this.openUser(u.id));
    const box = el("div", {}, open);
    if (u.id === this.me) box.append(" ", el("span", { class: "tg-tag", text: this.msg.youTag }));
    if (u.is_admin) box.append(" ", el("span", { class: "tg-tag tg-tag-admin", text: this.msg.admin }));
    box.append(el("div", { class: "tg-muted tg-email", text: u.email }));
    const who = el("td", { class: "tg-first" }, box);
    const [, rolesHead, teamsHead, statusHead] = [...this.root.querySelectorAll(".tg-users-table thead th")].map((th) => th.textContent);
    const roles = el("td", { "data-label": rolesHead }, el("span", { class: "tg-chips" }, ...(u.roles.length ? u.roles.map((k) => el("span", { class: "tg-tag", text: this.roles.get(k) || k }))
      : [el("span", { class: "tg-muted", text: this.msg.noRoles })])));
    const teams = el("td", { "data-label": teamsHead }, el("span", { class: "tg-chips" }, ...(u.teams.length ? u.teams.map((t) => el("span", { class: `tg-tag${t.is_primary ? " tg-primary-team" : ""}`, text: this.teamLabel(t.key) }))
      : [el("span", { class: "tg-muted", text: this.msg.noTeam })])));
    const status = el("td", { "data-label": statusHead }, el("span", { class: `tg-status ${u.active ? "on" : "off"}`, text: u.active ? this.msg.active : this.msg.inactive }));
    return el("tr", { "data-user": String(u.id), class: u.active ? "" : "tg-inactive" }, who, roles, teams, status);
  }

  setupUserDialog() {
    const d = this.root.querySelector("#tg-user");
    this.userDialog = d;
    d.querySelector("[data-user-add-role]").addEventListener("change", async (e) => {
      const key = e.target.value;
      if (!key) return;
      await this.userCall("POST", `/roles/${encodeURIComponent(key)}`, this.msg.roleAdded);
    });
    d.querySelector("[data-user-add-team]").addEventListener("change", async (e) => {
      const key = e.target.value;
      if (!key) return;
      const teams = this.user.teams;
      const primary = teams.find((t) => t.is_primary)?.key || key;
      const extra = [...teams.map((t) => t.key), key].filter((k) => k !== primary);
      await this.userCall("PUT", "/teams", this.msg.teamsSaved, { primary, extra: [...new Set(extra)] });
    });
    d.querySelector("[data-user-active]").addEventListener("click", async () => {
      const name = this.user.name || this.user.email;
      if (this.user.active && !window.confirm(fill(this.msg.confirmDeactivate, { name }))) return;
      const active = !this.user.active;
      await this.userCall("PATCH", "", fill(active ? this.msg.reactivated : this.msg.deactivated, { name }), { active });
    });
    d.querySelector("[data-user-invite]").addEventListener("click", async () => {
      const r = await api("POST", `${ADMIN}/users/${this.user.id}/invitation`);
      if (!r.ok) { this.userError(r); return; }
      const box = d.querySelector("[data-user-link]");
      box.hidden = false;
      d.querySelector("[data-user-link-label]").textContent = fill(this.msg.linkFor, { name: this.user.name || this.user.email });
      d.querySelector("#tg-user-link-url").value = location.origin + r.data.invitation.path;
      d.querySelector("#tg-user-link-url").select();
    });
  }

  userError(r) {
    const banner = this.userDialog.querySelector("[data-user-error]");
    banner.textContent = this.known[r.data?.code] || problemText(r);
    banner.hidden = false;
  }

  async userCall(method, path, done, body) {
    const r = await api(method, `${ADMIN}/users/${this.user.id}${path}`, body);
    if (!r.ok) { this.userError(r); this.renderUser(); return; }
    this.user = r.data;
    this.userDialog.querySelector("[data-user-error]").hidden = true;
    this.userDialog.querySelector("[data-user-status]").textContent = done;
    this.renderUser();
    const row = this.root.querySelector(`tr[data-user="${this.user.id}"]`);
    row?.replaceWith(this.userRow(this.user));
  }

  async openUser(id) {
    const r = await api("GET", `${ADMIN}/users/${id}`);
    if (!r.ok) { toast(problemText(r), "error"); return; }
    this.user = r.data;
    const d = this.userDialog;
    d.querySelector("[data-user-error]").hidden = true;
    d.querySelector("[data-user-status]").textContent = "";
    d.querySelector("[data-user-link]").hidden = true;
    this.renderUser();
    d.showModal();
  }

  renderUser() {
    const u = this.user;
    const d = this.userDialog;
    d.querySelector("[data-user-name]").textContent = u.name || u.email;
    d.querySelector("[data-user-email]").textContent = `${u.email} · ${u.active ? this.msg.active : this.msg.inactive}`;
    const chips = u.roles.map((key) => {
      const name = this.roles.get(key) || key;
      const x = el("button", { type: "button", class: "tg-chip-x", "aria-label": fill(this.msg.removeRole, { role: name }) }, "×");
      x.addEventListener("click", () => this.userCall("DELETE", `/roles/${encodeURIComponent(key)}`, this.msg.roleRemoved));
      return el("span", { class: "tg-chip", "data-role-chip": key }, el("span", { text: name }), x);
    });
    d.querySelector("[data-user-roles]").replaceChildren(...(chips.length ? chips : [el("span", { class: "tg-muted", text: this.msg.noRoles })]));
    const add = d.querySelector("[data-user-add-role]");
    add.replaceChildren(new Option(this.msg.addRole, ""), ...[...this.roles].filter(([k]) => !u.roles.includes(k)).map(([k, l]) => new Option(l, k)));
    const teamChips = u.teams.map((t) => {
      const name = this.teamLabel(t.key);
      const x = el("button", { type: "button", class: "tg-chip-x", "aria-label": fill(this.msg.removeTeam, { team: name }) }, "×");
      x.addEventListener("click", () => {
        const rest = u.teams.filter((o) => o.key !== t.key);
        const primary = rest.find((o) => o.is_primary)?.key || rest[0]?.key || null;
        this.userCall("PUT", "/teams", this.msg.teamsSaved, { primary, extra: rest.map((o) => o.key).filter((k) => k !== primary) });
      });
      const chip = el("span", { class: "tg-chip", "data-team-chip": t.key }, el("span", { text: name }));
      if (t.is_primary) chip.append(el("small", { class: "tg-muted", text: ` · ${this.msg.primary}` }));
      chip.append(x);
      return chip;
    });
    d.querySelector("[data-user-teams]").replaceChildren(...(teamChips.length ? teamChips : [el("span", { class: "tg-muted", text: this.msg.noTeam })]));
    const addTeam = d.querySelector("[data-user-add-team]");
    const held = new Set(u.teams.map((t) => t.key));
    addTeam.replaceChildren(new Option(this.msg.addTeam, ""), ...this.teams.filter((t) => !held.has(t.key)).map((t) => new Option(this.label(t.label, t.key), t.key)));
    const toggle = d.querySelector("[data-user-active]");
    toggle.textContent = u.active ? this.msg.deactivate : this.msg.reactivate;
    toggle.className = `btn btn-sm ${u.active ? "btn-outline-danger" : "btn-outline-success"}`;
    d.querySelector("[data-user-invite]").hidden = !u.active;
  }

  // -- invitations ---------------------------------------------------------------------------------
  setupInvite() {
    const d = this.root.querySelector("#tg-invite");
    const form = d.querySelector("form");
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      if (e.isComposing) return;
      const roles = [...form.querySelectorAll("input[name=roles]:checked")].map((b) => b.value);
      const body = { email: form.elements.email.value.trim(), name: form.elements.name.value.trim(), locale: form.elements.locale.value, roles };
      const r = await api("POST", `${ADMIN}/invitations`, body);
      if (!r.ok) {
        const loose = showErrors(form, r, this.known);
        if (loose.length) form.querySelector('[data-error-for="/email"]').textContent = loose.join("; ");
        return;
      }
      d.querySelector("[data-invite-fields]").hidden = true;
      d.querySelector("[data-invite-done]").hidden = false;
      d.querySelector("[data-invite-submit]").hidden = true;
      d.querySelector("[data-invite-message]").textContent = fill(this.msg.invited, { name: r.data.user.name || r.data.user.email });
      const url = d.querySelector("#tg-invite-url");
      url.value = location.origin + r.data.invitation.path;
      url.select();
      this.reload();
    });
  }

  openInvite() {
    const d = this.root.querySelector("#tg-invite");
    const form = d.querySelector("form");
    form.elements.email.value = "";
    form.elements.name.value = "";
    form.querySelectorAll("[data-error-for]").forEach((s) => { s.textContent = ""; });
    d.querySelector("[data-invite-fields]").hidden = false;
    d.querySelector("[data-invite-done]").hidden = true;
    d.querySelector("[data-invite-submit]").hidden = false;
    d.showModal();
    form.elements.email.focus();
  }

  async copy(button) {
    const input = button.parentElement.querySelector("input");
    input.select();
    try { await navigator.clipboard.writeText(input.value); toast(this.msg.copied, "ok"); } catch { document.execCommand?.("copy"); }
  }

  // -- teams ---------------------------------------------------------------------------------------
  async loadTeams() {
    const r = await api("GET", `${ADMIN}/teams`);
    if (!r.ok) { toast(problemText(r), "error"); return; }
    this.teams = r.data.items;
    this.renderTree();
  }

  renderTree() {
    const tree = this.root.querySelector("[data-tree]");
    const children = new Map();
    for (const t of this.teams) {
      if (!children.has(t.parent)) children.set(t.parent, []);
      children.get(t.parent).push(t);
    }
    const level = (parent, depth) => (children.get(parent) || [])
      .sort((a, b) => this.label(a.label, a.key).localeCompare(this.label(b.label, b.key), this.locale))
      .map((t) => this.node(t, depth, level(t.key, depth + 1)));
    const nodes = level(null, 1);
    tree.replaceChildren(...(nodes.length ? nodes : [el("li", { class: "tg-muted tg-tree-empty", text: this.msg.noTeams })]));
    const root = this.root.querySelector("[data-tree-root]");
    root.textContent = this.msg.moveHere;
  }

  node(t, depth, kids) {
    const name = this.label(t.label, t.key);
    const show = el("button", { type: "button", class: `tg-team-name${this.filterTeam === t.key ? " on" : ""}` }, name);
    show.addEventListener("click", () => { this.filterTeam = this.filterTeam === t.key ? null : t.key; this.renderTree(); this.reload(); });
    const edit = el("button", { type: "button", class: "btn btn-sm btn-ghost-secondary tg-team-edit", "aria-label": fill(this.msg.edit, { team: name }), title: fill(this.msg.edit, { team: name }) });
    edit.append(this.root.querySelector("template[data-edit-icon]").content.cloneNode(true));
    edit.addEventListener("click", () => this.openTeam(t));
    const row = el("div", { class: "tg-team-row", draggable: "true", "data-team-row": t.key },
      el("span", { class: "tg-grip", "aria-hidden": "true", text: "⠿" }), show,
      el("span", { class: "tg-muted tg-team-count", text: t.members === 1 ? this.msg.oneMember : fill(this.msg.members, { n: t.members }) }), edit);
    row.addEventListener("dragstart", (e) => {
      e.dataTransfer.setData("text/x-team", t.key);
      e.dataTransfer.effectAllowed = "move";
      this.dragging = t.key;
      this.root.classList.add("tg-dragging");
    });
    row.addEventListener("dragend", () => { this.dragging = null; this.root.classList.remove("tg-dragging"); });
    this.setupDrop(row, t.key);
    const li = el("li", { role: "treeitem", "aria-level": String(depth), "data-team": t.key, "aria-expanded": kids.length ? "true" : "false" }, row);
    if (kids.length) li.append(el("ul", { role: "group" }, ...kids));
    return li;
  }

  setupDrop(target, parent) {
    target.addEventListener("dragover", (e) => {
      if (!this.dragging || this.dragging === parent) return;
      e.preventDefault();
      target.classList.add("tg-drop-on");
    });
    target.addEventListener("dragleave", () => target.classList.remove("tg-drop-on"));
    target.addEventListener("drop", (e) => {
      e.preventDefault();
      target.classList.remove("tg-drop-on");
      const key = e.dataTransfer.getData("text/x-team") || this.dragging;
      if (key && key !== parent) this.move(key, parent);
    });
  }

  async move(key, parent) {
    const banner = this.root.querySelector("[data-tree-error]");
    banner.hidden = true;
    const r = await api("PATCH", `${ADMIN}/teams/${encodeURIComponent(key)}`, { parent });
    if (!r.ok) {
      const reason = (r.data?.errors || []).find((e) => e.code === "cycle") ? this.msg.cycle : problemText(r);
      banner.textContent = `${this.teamLabel(key)}: ${reason}`;
      banner.hidden = false;
      return;
    }
    toast(this.msg.moved, "ok");
    await this.loadTeams();
  }

  setupTeamDialog() {
    const d = this.root.querySelector("#tg-team");
    const form = d.querySelector("form");
    const taken = () => this.teams.map((t) => t.key);
    this.resetTeamKey = proposeKeys(form.elements.key, [form.elements.en, form.elements.zh], "team", taken, () => !this.team);
    form.addEventListener("submit", (e) => { e.preventDefault(); if (!e.isComposing) this.saveTeam(); });
    d.querySelector("[data-team-delete]").addEventListener("click", () => this.deleteTeam());
  }

  async openTeam(team) {
    this.team = team;
    const d = this.root.querySelector("#tg-team");
    const form = d.querySelector("form");
    this.resetTeamKey();
    form.querySelectorAll("[data-error-for]").forEach((s) => { s.textContent = ""; });
    d.querySelector("[data-team-error]").hidden = true;
    const label = typeof team?.label === "string" ? { [this.locale]: team.label } : (team?.label || {});
    form.elements.zh.value = label["zh-CN"] || "";
    form.elements.en.value = label.en || "";
    form.elements.key.value = team?.key || "";
    d.querySelector("[data-team-key-field]").hidden = Boolean(team);
    d.querySelector("[data-team-title]").textContent = team ? this.label(team.label, team.key) : this.root.querySelector("[data-team-new]").textContent.trim();
    d.querySelector("[data-team-delete]").hidden = !team;
    const parent = form.elements.parent;
    parent.replaceChildren(new Option(this.msg.top, ""), ...this.teams.filter((t) => t.key !== team?.key).map((t) => new Option(this.label(t.label, t.key), t.key)));
    parent.value = team?.parent || "";
    const manager = form.elements.manager_id;
    manager.replaceChildren(new Option(this.msg.noManager, ""));
    d.querySelector("[data-team-members-box]").hidden = !team;
    d.showModal();
    const everyone = await api("GET", `${ADMIN}/users?limit=1000`);
    if (everyone.ok) manager.append(...everyone.data.items.filter((u) => u.active || u.id === team?.manager_id).map((u) => new Option(`${u.name} <${u.email}>`, String(u.id))));
    manager.value = team?.manager_id ? String(team.manager_id) : "";
    if (team) {
      const r = await api("GET", `${ADMIN}/users?limit=200&team=${encodeURIComponent(team.key)}`);
      const list = d.querySelector("[data-team-members]");
      const items = r.ok ? r.data.items : [];
      list.replaceChildren(...(items.length ? items.map((u) => el("li", {}, el("span", { text: u.name }), el("span", { class: "tg-muted", text: ` ${u.email}` })))
        : [el("li", { class: "tg-muted", text: this.msg.noMembers })]));
    }
  }

  async saveTeam() {
    const d = this.root.querySelector("#tg-team");
    const form = d.querySelector("form");
    const label = {};
    if (form.elements.zh.value.trim()) label["zh-CN"] = form.elements.zh.value.trim();
    if (form.elements.en.value.trim()) label.en = form.elements.en.value.trim();
    const body = { label: Object.keys(label).length ? label : "", parent: form.elements.parent.value || null,
      manager_id: form.elements.manager_id.value ? Number(form.elements.manager_id.value) : null };
    const r = this.team ? await api("PATCH", `${ADMIN}/teams/${encodeURIComponent(this.team.key)}`, body)
      : await api("POST", `${ADMIN}/teams`, { key: form.elements.key.value.trim(), ...body });
    if (!r.ok) {
      const loose = showErrors(form, r, this.known);
      const banner = d.querySelector("[data-team-error]");
      banner.textContent = loose.length ? fill(this.msg.unknown, { reason: loose.join("; ") }) : "";
      banner.hidden = !loose.length;
      return;
    }
    d.close();
    toast(this.team ? this.msg.teamSaved : this.msg.teamCreated, "ok");
    await this.loadTeams();
    await this.loadUsers();
  }

  async deleteTeam() {
    const name = this.label(this.team.label, this.team.key);
    if (!window.confirm(fill(this.msg.deleteTeam, { team: name }))) return;
    const d = this.root.querySelector("#tg-team");
    const r = await api("DELETE", `${ADMIN}/teams/${encodeURIComponent(this.team.key)}`);
    if (!r.ok) {
      const banner = d.querySelector("[data-team-error]");
      banner.textContent = r.data?.sub_teams ? this.msg.subTeams : problemText(r);
      banner.hidden = false;
      return;
    }
    d.close();
    if (this.filterTeam === this.team.key) this.filterTeam = null;
    toast(this.msg.teamDeleted, "ok");
    await this.loadTeams();
    await this.loadUsers();
  }
}

export function start(root) {
  return new People(root).start();
}
