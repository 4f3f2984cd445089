// My settings > Delegations: add one (a user picker, a date range read in the viewer's time zone, an
// optional app or process) and delete mine, through /api/v1/me/delegations; 422s land at their fields.
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

async function add(form, msg) {
  form.querySelectorAll("[data-error-for]").forEach((s) => { s.textContent = ""; });
  form.querySelector("[data-form-error]").hidden = true;
  const sent = body(form);
  const missing = ["delegate", "starts_at", "ends_at"].filter((k) => sent[k] === null);
  missing.forEach((k) => { form.querySelector(`[data-error-for=${k}]`).textContent = msg.msgRequired; });
  if (missing.length) return;
  const r = await api("POST", URL, sent);
  if (!r.ok) return showErrors(form, r.data, msg);
  toast(msg.msgDone);
  window.location.reload();
}

export function start(root) {
  const msg = root.dataset;
  const form = root.querySelector("[data-delegation-form]");
  root.querySelectorAll(".tg-picker").forEach((p) => startPicker(p, msg));
  form.addEventListener("submit", (event) => { event.preventDefault(); add(form, msg); });
  root.addEventListener("click", async (event) => {
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
