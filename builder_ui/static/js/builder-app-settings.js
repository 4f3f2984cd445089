// An app's settings page (/build/apps/{app}/settings): name and look (PATCH the meta API; a new key moves the
// page), who may use the app (one preset per role, PUT .../access at once), upgrading from the catalog with
// the plan first, and deleting to the recycle bin after typing the app's name.
import { api, toast } from "./api.js";
import { AppForm, problemText } from "./builder-app-form.js";
import { startPackage } from "./builder-package.js";

function fill(template, values) {
  return template.replace(/\{(\w+)\}/g, (_, k) => (values[k] ?? ""));
}

function startGeneral(root) {
  const form = root.querySelector("[data-app-edit]");
  const app = new AppForm(form);
  app.start();
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const body = app.body();
    if (body.key === root.dataset.app) delete body.key;
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    const r = await api("PATCH", root.dataset.api, body);
    button.disabled = false;
    if (!r.ok) { app.showProblem(r); return; }
    app.clearAll();
    toast(root.dataset.msgSaved);
    if (r.data.key !== root.dataset.app) location.assign(`/build/apps/${encodeURIComponent(r.data.key)}/settings`);
    else location.reload();  // the page's title, side navigation and icon show the new name and look
  });
}

function wireChoice(root, select, url, body, name, after) {
  // One access choice (a role's or a team's): saved at once, words updated, the old choice back on a refusal.
  const presets = JSON.parse(root.dataset.presets);
  const row = select.closest("tr");
  let current = select.value;
  select.addEventListener("change", async () => {
    select.disabled = true;
    const r = await api("PUT", url, body(row, select.value));
    select.disabled = false;
    if (!r.ok) { toast(problemText(r), "error"); select.value = current; return; }
    current = r.data.preset;
    row.querySelector("[data-access-words]").textContent = presets[current][1];
    after(row, r.data);
    toast(fill(root.dataset.msgAccessSaved, { role: name(row), choice: presets[current][0] }));
  });
}

function startAccess(root) {
  root.querySelectorAll("[data-access-select]").forEach((select) => wireChoice(
    root, select, `${root.dataset.api}/access`, (row, preset) => ({ role: row.dataset.role, preset }),
    (row) => row.dataset.roleName,
    (row, data) => {
      row.querySelectorAll(".tg-access-note").forEach((n) => { if (data.source === "app" && !n.dataset.keep) n.hidden = true; });
      row.querySelector("option[value=custom]")?.remove();
    },
  ));
}

function startTeams(root) {
  // A team's access: change it in place ("No access" removes the team), or add a team with a choice.
  root.querySelectorAll("[data-team-select]").forEach((select) => wireChoice(
    root, select, `${root.dataset.api}/access/teams`, (row, preset) => ({ team: row.dataset.team, preset }),
    (row) => row.dataset.teamName, () => {},
  ));
  const add = root.querySelector("[data-team-add]");
  if (!add) return;
  add.addEventListener("submit", async (e) => {
    e.preventDefault();
    const button = add.querySelector("button");
    button.disabled = true;
    const r = await api("PUT", `${root.dataset.api}/access/teams`, { team: add.elements.team.value, preset: add.elements.preset.value });
    button.disabled = false;
    if (!r.ok) { toast(problemText(r), "error"); return; }
    location.reload();  // the team moves from the choices into the table
  });
}

function startDelete(root) {
  const opener = root.querySelector("[data-app-delete]");
  const dialog = root.querySelector("#tg-app-delete-dialog");
  const form = dialog.querySelector("[data-delete-form]");
  const input = form.querySelector("input");
  const go = form.querySelector("[data-delete-go]");
  const error = form.querySelector("[data-form-error]");
  opener.addEventListener("click", () => { input.value = ""; go.disabled = true; error.textContent = ""; dialog.showModal(); input.focus(); });
  opener.disabled = false;
  dialog.querySelectorAll("[data-dialog-close]").forEach((b) => b.addEventListener("click", () => dialog.close()));
  input.addEventListener("input", () => { go.disabled = input.value.trim() !== input.dataset.expected.trim(); });
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    if (go.disabled) return;
    go.disabled = true;
    const r = await api("DELETE", `${root.dataset.api}?confirm=${encodeURIComponent(root.dataset.app)}`);
    if (!r.ok) { error.textContent = problemText(r); go.disabled = false; return; }
    toast(root.dataset.msgDeleted);
    location.assign("/build");
  });
}

export function start(root) {
  startGeneral(root);
  startAccess(root);
  startTeams(root);
  startDelete(root);
  startPackage(root);
}
