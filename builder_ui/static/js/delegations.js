// My settings > Delegations: add one (a user picker, a date range read in the viewer's time zone, an
// optional app or process), change or delete mine, through /api/v1/me/delegations; 422s land at their fields.
import { api, toast } from "./api.js";
import { startPicker } from "./picker.js";
import { wallTimeToUtc } from "./record-form.js";

const URL = "/api/v1/me/delegations";
const timeZone = () => document.body.dataset.timeZone || "UTC";

function nextDay(date) {
  const d = new Date(`${date}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + 1);
  return d.toISOString().slice(0, 10);
}

function body(form) {
  const [app, process] = (form.elements.scope.value || "/").split("/");
  const starts = form.elements.starts_at.value;
  const ends = form.elements.ends_at.value;
  return {
    delegate: form.elements.delegate.value ? Number(form.elements.delegate.value) : null,
    starts_at: starts ? wallTimeToUtc(`${starts}T00:00`, timeZone()) : null,
    ends_at: ends ? wallTimeToUtc(`${nextDay(ends)}T00:00`, timeZone()) : null,  // "until" is inclusive: [start, day after end)
    app: app || null,
    process: process || null,
    note: form.elements.note.value.trim() || null,
  };
}

function showErrors(form, problem, msg) {
  const banner = form.querySelector("[data-form-error]");
  banner.hidden = false;
  banner.textContent = problem?.detail || msg.msgError;
  for (const e of problem?.errors || []) {
    const key = e.path.slice(1).split("/")[0] === "process" ? "app" : e.path.slice(1).split("/")[0];
    const slot = form.querySelector(`[data-error-for="${CSS.escape(key)}"]`);
    if (slot) slot.textContent = e.message;
  }
}

// The viewer's calendar day of an instant (YYYY-MM-DD): the form's dates are days in their time zone.
function localDay(iso, shiftMs = 0) {
  const parts = new Intl.DateTimeFormat("en-CA", { timeZone: timeZone(), year: "numeric", month: "2-digit", day: "2-digit" });
  return parts.format(new Date(Date.parse(iso) + shiftMs));
}

function edit(form, button) {
  const e = form.elements;
  form.dataset.editing = button.dataset.edit;
  e.delegate.value = button.dataset.delegate;
  form.querySelector("#f-delegate").value = button.dataset.delegateName;
  e.starts_at.value = localDay(button.dataset.starts);
  e.ends_at.value = localDay(button.dataset.ends, -1);  // stored as the instant after the last day
  e.scope.value = button.dataset.scope === "/" ? "" : button.dataset.scope;
  e.note.value = button.dataset.note;
  form.querySelector("[data-form-title]").textContent = form.dataset.titleEdit;
  form.querySelector("[data-form-submit]").textContent = form.dataset.labelEdit;
  form.querySelector("[data-cancel-edit]").hidden = false;
  form.scrollIntoView({ block: "start" });
  form.querySelector("#f-delegate").focus();
}

function stopEditing(form) {
  delete form.dataset.editing;
  form.reset();
  form.elements.delegate.value = "";
  form.querySelector("[data-form-title]").textContent = form.dataset.titleAdd;
  form.querySelector("[data-form-submit]").textContent = form.dataset.labelAdd;
  form.querySelector("[data-cancel-edit]").hidden = true;
}

async function save(form, msg) {
  form.querySelectorAll("[data-error-for]").forEach((s) => { s.textContent = ""; });
  form.querySelector("[data-form-error]").hidden = true;
  const sent = body(form);
  const missing = ["delegate", "starts_at", "ends_at"].filter((k) => sent[k] === null);
  missing.forEach((k) => { form.querySelector(`[data-error-for=${k}]`).textContent = msg.msgRequired; });
  if (missing.length) return;
  const id = form.dataset.editing;
  const r = id ? await api("PUT", `${URL}/${encodeURIComponent(id)}`, sent) : await api("POST", URL, sent);
  if (!r.ok) return showErrors(form, r.data, msg);
  toast(msg.msgDone);
  window.location.reload();
}

export function start(root) {
  const msg = root.dataset;
  const form = root.querySelector("[data-delegation-form]");
  root.querySelectorAll(".tg-picker").forEach((p) => startPicker(p, msg));
  form.addEventListener("submit", (event) => { event.preventDefault(); save(form, msg); });
  form.querySelector("[data-cancel-edit]").addEventListener("click", () => stopEditing(form));
  root.addEventListener("click", async (event) => {
    const editing = event.target.closest("[data-edit]");
    if (editing) return edit(form, editing);
    const button = event.target.closest("[data-delete]");
    if (!button || !window.confirm(msg.msgConfirm)) return;
    button.disabled = true;
    const id = button.dataset.delete;
    const r = await api("DELETE", `${URL}/${encodeURIComponent(id)}`);
    if (r.ok) { root.querySelector(`[data-delegation="${CSS.escape(id)}"]`).remove(); toast(msg.msgDone); return; }
    root.querySelector(`[data-error-for="delegation-${CSS.escape(id)}"]`).textContent = r.data?.detail || String(r.status);
    button.disabled = false;
  });
}
