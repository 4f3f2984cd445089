// The app's processes (/build/apps/{app}/processes): a new process (POST with a start and an end: the designer
// draws the rest), delete (asks), and BPMN import: translated without storing when the engine offers it (the
// designer opens the unsaved result with its issues), otherwise imported as a new process.
import { api, csrfToken, toast } from "./api.js";
import { fill, problemText, proposeKeys, showErrors } from "./builder-dom.js";

export const DRAFT_KEY = "tangram.process-draft";

async function postXml(url, text) {
  const response = await fetch(url, {
    method: "POST", credentials: "same-origin", body: text,
    headers: { Accept: "application/json", "Content-Type": "application/xml", "Accept-Language": document.documentElement.lang || "en", "X-CSRF-Token": csrfToken() },
  });
  let data = null;
  try { data = await response.json(); } catch { data = null; }
  return { status: response.status, ok: response.ok, data };
}

function startNew(root) {
  const dialog = root.querySelector("#tg-process-new");
  const form = dialog.querySelector("[data-new-form]");
  const opener = root.querySelector("[data-new]");
  const taken = JSON.parse(root.dataset.taken || "[]");
  const reset = proposeKeys(form.elements.key, [form.elements.label], "process", () => taken);
  opener.addEventListener("click", () => { reset(); form.reset(); dialog.showModal(); form.elements.label.focus(); });
  dialog.querySelectorAll("[data-dialog-close]").forEach((b) => b.addEventListener("click", () => dialog.close()));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const label = form.elements.label.value.trim();
    const general = form.querySelector("[data-form-error]");
    general.textContent = "";
    if (!label) { form.querySelector('[data-error-for="/label"]').textContent = root.dataset.msgName; return; }
    const lang = document.documentElement.lang === "zh-CN" ? "zh-CN" : "en";
    const doc = {
      key: form.elements.key.value.trim(), entity: form.elements.entity.value, label: { [lang]: label },
      nodes: [{ id: "start", type: "start" }, { id: "end", type: "end", outcome: "approved" }],
      edges: [{ from: "start", to: "end" }],
    };
    const button = form.querySelector("[data-create]");
    button.disabled = true;
    const r = await api("POST", root.dataset.api, doc);
    button.disabled = false;
    if (!r.ok) { general.textContent = showErrors(form, r).join("; "); return; }
    location.assign(`/build/apps/${encodeURIComponent(root.dataset.app)}/processes/${encodeURIComponent(r.data.key)}`);
  });
}

function startDelete(root) {
  root.querySelectorAll("[data-delete]").forEach((button) => button.addEventListener("click", async () => {
    if (!window.confirm(fill(root.dataset.msgConfirm, { name: button.dataset.name }))) return;
    const r = await api("DELETE", `${root.dataset.api}/${encodeURIComponent(button.dataset.delete)}`);
    if (!r.ok) { toast(problemText(r), "error"); return; }
    toast(root.dataset.msgDeleted);
    button.closest("tr").remove();
  }));
}

function startImport(root) {
  const input = root.querySelector("[data-import]");
  const banner = root.querySelector("[data-list-error]");
  input.addEventListener("change", async () => {
    const file = input.files[0];
    if (!file) return;
    banner.hidden = true;
    toast(root.dataset.msgImporting);
    const text = await file.text();
    input.value = "";
    const app = root.dataset.app;
    const translated = await postXml(`${root.dataset.api}/translate-bpmn`, text);
    if (translated.ok) {
      sessionStorage.setItem(DRAFT_KEY, JSON.stringify({ app, definition: translated.data.definition, issues: translated.data.issues || [] }));
      location.assign(`/build/apps/${encodeURIComponent(app)}/processes/new?from=import`);
      return;
    }
    const r = translated.status === 404 || translated.status === 405 ? await postXml(`${root.dataset.api}/import-bpmn`, text) : translated;
    if (!r.ok) {
      banner.textContent = problemText(r);
      const list = document.createElement("ul");
      (r.data?.errors || []).forEach((err) => { const li = document.createElement("li"); li.textContent = `${err.path}: ${err.message}`; list.append(li); });
      if (list.children.length) banner.replaceChildren(document.createTextNode(r.data?.detail || ""), list);
      banner.hidden = false;
      return;
    }
    toast(root.dataset.msgImported);
    location.assign(`/build/apps/${encodeURIComponent(app)}/processes/${encodeURIComponent(r.data.key)}`);
  });
}

export function start(root) {
  startNew(root);
  startDelete(root);
  startImport(root);
}
