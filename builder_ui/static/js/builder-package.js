// Installing or upgrading an app package (templates/builder/package_dialog.html): the dry run first
// (?dry_run=true, nothing written) whose plan is shown by file; the Install / Upgrade button then runs the
// same request for real. A package that would go over an app built here, or reinstall the same version,
// is refused by the engine (409) and may be forced once the builder has seen why.
import { csrfToken, toast } from "./api.js";

function fill(template, values) {
  return template.replace(/\{(\w+)\}/g, (_, k) => (values[k] ?? ""));
}

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

export class PackageDialog {
  constructor(dialog, opener) {
    this.dialog = dialog;
    this.opener = opener;
    this.msg = dialog.dataset;
    this.kinds = JSON.parse(dialog.dataset.kinds);
    this.actions = JSON.parse(dialog.dataset.actions);
    this.file = dialog.querySelector("input[type=file]");
    this.status = dialog.querySelector("[data-package-status]");
    this.plan = dialog.querySelector("[data-package-plan]");
    this.force = dialog.querySelector("[data-package-force]");
    this.go = dialog.querySelector("[data-package-go]");
    this.ready = false;
  }

  start() {
    this.opener.addEventListener("click", () => this.open());
    this.opener.disabled = false;
    this.dialog.querySelectorAll("[data-package-close]").forEach((b) => b.addEventListener("click", () => this.dialog.close()));
    this.dialog.addEventListener("close", () => this.opener.focus());
    this.force.querySelector("span").textContent = this.msg.msgForce;
    this.force.querySelector("input").addEventListener("change", () => this.check());
    if (this.file) this.file.addEventListener("change", () => { this.force.hidden = true; this.forceBox().checked = false; this.check(); });
    this.go.addEventListener("click", () => this.run(false));
  }

  forceBox() { return this.force.querySelector("input"); }

  open() {
    this.reset();
    if (this.file) this.file.value = "";
    this.force.hidden = true;
    this.forceBox().checked = false;
    this.dialog.showModal();
    if (!this.file) this.check();  // the catalog's package: its plan at once
  }

  reset() {
    this.plan.replaceChildren();
    this.status.textContent = "";
    this.status.className = "tg-package-status";
    this.go.disabled = true;
    const field = this.file?.closest(".tg-field");
    if (field) { field.classList.remove("has-error"); field.querySelector(".tg-error").textContent = ""; }
  }

  async send(dryRun) {
    const params = new URLSearchParams();
    if (dryRun) params.set("dry_run", "true");
    if (this.forceBox().checked) params.set("force", "true");
    const init = { method: "POST", credentials: "same-origin",
      headers: { Accept: "application/json", "Accept-Language": document.documentElement.lang || "en", "X-CSRF-Token": csrfToken() } };
    if (this.file) {
      const form = new FormData();
      form.append("file", this.file.files[0]);
      init.body = form;
    }
    const response = await fetch(`${this.msg.url}?${params}`, init);
    let data = null;
    try { data = await response.json(); } catch { data = { detail: String(response.status) }; }
    return { ok: response.ok, status: response.status, data };
  }

  async check() {
    this.reset();
    if (this.file && !this.file.files.length) return;
    this.status.textContent = this.msg.msgChecking;
    const r = await this.send(true);
    this.status.textContent = "";
    if (r.ok) { this.showPlan(r.data); this.go.disabled = false; return; }
    this.showRefusal(r);
  }

  async run() {
    this.go.disabled = true;
    const r = await this.send(false);
    if (!r.ok) { this.showRefusal(r); return; }
    toast(this.msg.msgDone);
    this.dialog.close();
    location.assign(`/build/apps/${encodeURIComponent(r.data.app)}/settings`);
  }

  showRefusal(r) {
    this.status.className = "tg-package-status tg-package-bad";
    this.status.textContent = r.data?.detail || String(r.status);
    const forcible = r.status === 409 && (r.data?.reason === "exists_not_installed" || r.data?.installed_version);
    this.force.hidden = !forcible;
    if (r.data?.errors?.length) this.plan.append(this.errorList(r.data.errors));
    if (this.file && r.status !== 409 && !r.data?.errors?.length) {
      const field = this.file.closest(".tg-field");
      field.classList.add("has-error");
      field.querySelector(".tg-error").textContent = r.data?.detail || String(r.status);
    }
  }

  errorList(errors) {
    // Errors by file: each with its JSON path inside the file and the engine's message.
    const box = el("section", "tg-plan-block tg-plan-errors");
    box.append(el("h3", "", this.msg.msgErrors));
    const byFile = new Map();
    for (const e of errors) {
      const file = e.file || "";
      if (!byFile.has(file)) byFile.set(file, []);
      byFile.get(file).push(e);
    }
    const list = el("ul");
    for (const [file, items] of byFile) {
      const li = el("li");
      li.append(el("code", "", file || "manifest"));
      const inner = el("ul");
      for (const e of items) {
        const row = el("li");
        const at = e.path && e.file ? e.path.slice(e.file.length + 1) : e.path;
        if (at) row.append(el("span", "tg-muted", `${at} `));
        row.append(document.createTextNode(e.message));
        inner.append(row);
      }
      li.append(inner);
      list.append(li);
    }
    box.append(list);
    return box;
  }

  showPlan(report) {
    const template = report.mode === "upgrade" ? this.msg.msgPlanUpgrade : report.mode === "adopt" ? this.msg.msgPlanAdopt : this.msg.msgPlanInstall;
    this.status.className = "tg-package-status tg-package-ok";
    this.status.textContent = fill(template, { app: report.app, version: report.version, from: report.from_version || "" });
    const counts = {};
    for (const s of report.steps) counts[s.action] = (counts[s.action] || 0) + 1;
    const chips = el("p", "tg-plan-counts");
    for (const action of ["add", "replace", "merge", "keep", "unchanged"]) {
      if (counts[action]) chips.append(el("span", `tg-plan-chip tg-plan-${action}`, `${this.actions[action]} ${counts[action]}`));
    }
    if (report.conflicts.length) chips.append(el("span", "tg-plan-chip tg-plan-conflict", `${this.msg.msgConflicts.split(":")[0]} ${report.conflicts.length}`));
    this.plan.append(chips);
    if (report.conflicts.length) this.plan.append(this.notes(this.msg.msgConflicts, report.conflicts, "tg-plan-conflicts"));
    if (report.kept.length) this.plan.append(this.notes(this.msg.msgKept, report.kept, "tg-plan-kept"));
    const table = el("table", "tg-table tg-plan-table");
    const head = el("tr");
    [this.msg.msgWhat, this.msg.msgFile, this.msg.msgChange].forEach((t) => { const th = el("th", "", t); th.scope = "col"; head.append(th); });
    table.append(el("thead")); table.tHead.append(head);
    const body = el("tbody");
    for (const s of report.steps) {
      const tr = el("tr");
      tr.dataset.action = s.action;
      const what = el("td", "tg-first");
      what.append(el("span", "tg-muted", `${this.kinds[s.kind] || s.kind} `), el("code", "", s.key));
      const file = el("td", "", "");
      file.append(el("code", "", s.file));
      tr.append(what, file, el("td", "", ""));
      tr.lastChild.append(el("span", `tg-plan-chip tg-plan-${s.action}`, this.actions[s.action] || s.action));
      body.append(tr);
    }
    table.append(body);
    const wrap = el("div", "tg-table-wrap");
    wrap.append(table);
    const block = el("section", "tg-plan-block");
    block.append(el("h3", "", this.msg.msgSteps), wrap);
    this.plan.append(block);
    const samples = Object.entries(report.sample || {});
    if (samples.length) this.plan.append(el("p", "tg-muted", `${this.msg.msgSample}: ${samples.map(([k, n]) => `${k} ${n}`).join(", ")}`));
  }

  notes(title, items, className) {
    const box = el("section", `tg-plan-block ${className}`);
    box.append(el("h3", "", title));
    const list = el("ul");
    for (const c of items) {
      const li = el("li");
      li.append(el("code", "", c.file || `${c.kind}/${c.key}`), document.createTextNode(` ${c.field ? `${c.field}: ` : ""}${c.message}`));
      list.append(li);
    }
    box.append(list);
    return box;
  }
}

export function startPackage(root) {
  const dialog = root.querySelector("#tg-package");
  const opener = root.querySelector("[data-package-open]");
  if (dialog && opener) new PackageDialog(dialog, opener).start();
}
