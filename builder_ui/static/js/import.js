// The import wizard: upload to /imports/suggest (sheet, mapping, unmatched select values), then a dry run and
// the run as jobs, polled for progress. Every check is the engine's; this module only collects choices.
import { api as call, csrfToken, toast } from "./api.js";

const POLL_MS = 600;

function fill(template, values) {
  return template.replace(/\{(\w+)\}/g, (_, k) => (k in values ? String(values[k]) : `{${k}}`));
}

async function send(url, file, options) {
  const form = new FormData();
  form.append("file", file);
  form.append("options", JSON.stringify(options));
  const language = document.documentElement.lang || "en";
  const response = await fetch(url, {
    method: "POST", body: form, credentials: "same-origin",
    headers: { Accept: "application/json", "Accept-Language": language, "X-CSRF-Token": csrfToken() },
  });
  const data = await response.json().catch(() => ({ detail: response.statusText }));
  return { ok: response.ok, status: response.status, data };
}

async function getJson(url) {
  const response = await fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" });
  return response.json();
}

export function start(form) {
  const api = form.dataset.api;
  const msg = (key) => form.dataset[`msg${key}`] || "";
  const $ = (sel) => form.querySelector(sel);
  const step = (name) => form.querySelector(`[data-step="${name}"]`);
  const state = { file: null, header: [], sheet: null, mapping: {}, unmatched: {}, importId: null };

  function error(problem) {
    const box = $("[data-import-error]");
    box.replaceChildren();
    if (!problem) { box.hidden = true; return; }
    const title = document.createElement("strong");
    title.textContent = problem.detail || problem.title || "Error";
    box.append(title);
    for (const e of problem.errors || []) {
      const line = document.createElement("div");
      line.textContent = `${e.path}: ${e.message}`;
      box.append(line);
    }
    box.hidden = false;
    box.scrollIntoView({ block: "nearest" });
  }

  function chosenMapping() {
    const mapping = {};
    form.querySelectorAll("[data-map-rows] select").forEach((s) => { if (s.value) mapping[s.dataset.column] = s.value; });
    return mapping;
  }

  function valueMap() {
    const map = {};
    form.querySelectorAll("[data-value-groups] select").forEach((s) => {
      if (!s.value) return;
      (map[s.dataset.column] ||= {})[s.dataset.raw] = s.value;
    });
    return map;
  }

  function options(extra = {}) {
    const out = { mapping: chosenMapping(), value_map: valueMap(), mode: form.querySelector("[name=mode]:checked").value,
      run_automation: $("[data-automation]").checked, ...extra };
    if (state.sheet) out.sheet = state.sheet;
    if ($("[data-upsert]").value) out.upsert_on = $("[data-upsert]").value;
    return out;
  }

  function showUnmapped() {
    const mapping = chosenMapping();
    const left = state.header.filter((c) => c && !(c in mapping));
    $("[data-unmapped]").textContent = `${msg("Unmapped")} ${left.length ? left.join("、") : msg("None")}`;
  }

  function renderMapping(body) {
    const rows = $("[data-map-rows]");
    rows.replaceChildren();
    const template = document.getElementById("imp-targets");
    body.header.forEach((column, i) => {
      if (!column) return;
      const tr = document.createElement("tr");
      const th = document.createElement("td");
      th.className = "tg-first";
      const label = document.createElement("label");
      label.htmlFor = `imp-col-${i}`;
      label.textContent = column;
      th.append(label);
      const td = document.createElement("td");
      const select = template.content.firstElementChild.cloneNode(true);
      select.id = `imp-col-${i}`;
      select.dataset.column = column;
      select.value = body.mapping[column] || "";
      select.addEventListener("change", showUnmapped);
      td.append(select);
      tr.append(th, td);
      rows.append(tr);
    });
    showUnmapped();
  }

  function renderSheets(body) {
    const box = $("[data-sheet-box]");
    const select = $("[data-sheet]");
    box.hidden = (body.sheets || []).length < 2;
    if (select.options.length !== (body.sheets || []).length) {
      select.replaceChildren(...(body.sheets || []).map((name) => new Option(name, name)));
    }
    select.value = body.sheet || "";
  }

  async function suggest(extra) {
    error(null);
    $("[data-file-name]").textContent = `${state.file.name} · ${msg("Checking")}`;
    const r = await send(`${api}/imports/suggest`, state.file, extra);
    $("[data-file-name]").textContent = state.file.name;
    if (!r.ok) { error(r.data); return null; }
    return r.data;
  }

  async function load(sheet) {
    state.sheet = sheet;
    const body = await suggest(sheet ? { sheet } : {});
    if (!body) return;
    state.sheet = body.sheet;
    state.header = body.header;
    renderSheets(body);
    renderMapping(body);
    step("mapping").hidden = false;
    step("values").hidden = true;
    step("check").hidden = true;
  }

  // "+ Add as a new option" (offered to those who manage the form): the option is added to the field's
  // definition through the metadata API (a new version; its key made from the text), then chosen here.
  async function addOption(select) {
    const fieldKey = chosenMapping()[select.dataset.column];
    const slot = select.parentElement.querySelector(".tg-error") || select.parentElement.appendChild(document.createElement("div"));
    slot.className = "tg-error";
    slot.textContent = "";
    select.disabled = true;
    const def = await call("GET", form.dataset.meta);
    const field = def.ok && def.data.fields.find((f) => f.key === fieldKey);
    let r = def;
    if (field) {
      const taken = new URLSearchParams({ label: select.dataset.raw, fallback: "option" });
      (field.options || []).forEach((o) => taken.append("taken", o.key));
      const { key } = await getJson(`/build/key?${taken}`);
      field.options = [...(field.options || []), { key, label: select.dataset.raw }];
      r = await call("PUT", form.dataset.meta, def.data, { "If-Match": `"${def.data.version}"` });
      if (r.ok) {
        const template = form.querySelector(`template[data-options-for="${CSS.escape(fieldKey)}"]`);
        for (const list of [template.content.firstElementChild, ...form.querySelectorAll("[data-value-groups] select")]) {
          if (list === template.content.firstElementChild || chosenMapping()[list.dataset.column] === fieldKey) {
            list.querySelector("[data-add-option]").before(new Option(select.dataset.raw, key));
          }
        }
        select.value = key;
        toast(msg("OptionAdded"));
      }
    }
    select.disabled = false;
    if (!r.ok) {
      select.value = "";
      slot.textContent = r.data?.errors?.[0]?.message || r.data?.detail || String(r.status);
    }
  }

  function renderValues(unmatched) {
    const groups = $("[data-value-groups]");
    const previous = valueMap();
    groups.replaceChildren();
    const mapping = chosenMapping();
    let n = 0;
    for (const [column, raws] of Object.entries(unmatched)) {
      const template = form.querySelector(`template[data-options-for="${CSS.escape(mapping[column])}"]`);
      if (!template) continue;
      const set = document.createElement("fieldset");
      set.className = "tg-import-values";
      const legend = document.createElement("legend");
      const feeds = form.querySelector(`[data-map-rows] select[data-column="${CSS.escape(column)}"]`);
      legend.textContent = feeds ? `${column} → ${feeds.selectedOptions[0].textContent}` : column;
      set.append(legend);
      for (const raw of raws) {
        const row = document.createElement("div");
        row.className = "tg-import-value";
        const label = document.createElement("label");
        label.htmlFor = `imp-val-${n}`;
        label.textContent = raw;
        const select = template.content.firstElementChild.cloneNode(true);
        select.id = `imp-val-${n++}`;
        select.dataset.column = column;
        select.dataset.raw = raw;
        select.value = previous[column]?.[raw] || "";
        select.addEventListener("change", () => { if (select.selectedOptions[0]?.hasAttribute("data-add-option")) addOption(select); });
        row.append(label, select);
        set.append(row);
      }
      groups.append(set);
    }
    $("[data-values-intro]").textContent = n ? $("[data-values-intro]").textContent : msg("NoValues");
  }

  async function checkValues() {
    const body = await suggest({ ...options(), value_map: {} });
    if (!body) return;
    renderValues(body.unmatched_values);
    step("values").hidden = false;
    step("values").scrollIntoView({ block: "start" });
  }

  function renderErrors(errors) {
    const box = $("[data-error-box]");
    const head = box.querySelector("thead tr");
    const titles = [msg("Row"), msg("Column"), msg("Value"), msg("Message")];
    head.replaceChildren(...titles.map((t) => { const th = document.createElement("th"); th.scope = "col"; th.textContent = t; return th; }));
    const rows = errors.map((e) => {
      const tr = document.createElement("tr");
      const cells = [e.row, e.column || msg("WholeRow"), e.value ?? "", e.message];
      cells.forEach((text, i) => {
        const td = document.createElement("td");
        td.textContent = String(text);
        td.dataset.label = titles[i];
        if (i === 0) td.className = "num";
        tr.append(td);
      });
      return tr;
    });
    box.querySelector("tbody").replaceChildren(...rows);
    box.hidden = errors.length === 0;
  }

  function showProgress(status) {
    const c = status.counts;
    const bar = $("[data-progress]");
    bar.max = Math.max(c.total, 1);
    bar.value = c.processed;
    $("[data-progress-text]").textContent = fill(msg("Progress"), c);
  }

  async function follow(id, dryRun) {
    const status = await getJson(`${api}/imports/${id}`);
    showProgress(status);
    if (status.state === "queued" || status.state === "running") {
      setTimeout(() => follow(id, dryRun), POLL_MS);
      return;
    }
    const c = status.counts;
    const failed = status.state === "failed" && !dryRun;
    $("[data-summary]").textContent = failed ? fill(msg("Failed"), { message: status.message || "" })
      : fill(dryRun ? msg("Dry") : msg("Done"), c);
    renderErrors(status.errors);
    const report = $("[data-report]");
    report.href = `${api}/imports/${id}/errors?format=xlsx`;
    report.hidden = status.error_count === 0;
    $("[data-action=run]").hidden = !dryRun;
    $("[data-open-list]").hidden = dryRun;
    form.dataset.importState = `${dryRun ? "dry-" : ""}${status.state}`;  // tests wait for this
  }

  async function begin(dryRun) {
    error(null);
    form.dataset.importState = "";
    const r = await send(`${api}/imports`, state.file, options({ dry_run: dryRun }));
    if (!r.ok) { error(r.data); return; }
    step("check").hidden = false;
    $("[data-summary]").textContent = "";
    $("[data-error-box]").hidden = true;
    $("[data-report]").hidden = true;
    $("[data-action=run]").hidden = true;
    $("[data-open-list]").hidden = true;
    showProgress(r.data);
    step("check").scrollIntoView({ block: "start" });
    follow(r.data.id, dryRun);
  }

  const input = $("#imp-file");
  input.addEventListener("change", () => { if (input.files[0]) { state.file = input.files[0]; load(null); } });
  const drop = $("[data-drop]");
  drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (e) => {
    e.preventDefault();
    drop.classList.remove("over");
    if (e.dataTransfer.files[0]) { state.file = e.dataTransfer.files[0]; load(null); }
  });
  $("[data-sheet]").addEventListener("change", (e) => load(e.target.value));
  $("[data-action=values]").addEventListener("click", checkValues);
  $("[data-action=dry-run]").addEventListener("click", () => begin(true));
  $("[data-action=run]").addEventListener("click", () => begin(false));
  $("[data-action=back]").addEventListener("click", () => step("mapping").scrollIntoView({ block: "start" }));
}
