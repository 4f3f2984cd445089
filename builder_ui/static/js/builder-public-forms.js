// Public forms in the builder: publish a layout, change one, open or close it, copy its link or embed code.
// Everything goes to /api/v1/apps/{app}/public-forms; 422s land at their fields.
import { api, toast } from "./api.js";
import { startPicker } from "./picker.js";

function settingsOf(form) {
  const e = form.elements;
  const zh = e.thank_you_zh.value.trim();
  const en = e.thank_you_en.value.trim();
  const body = {
    form: e.form.value,
    enabled: e.enabled.checked,
    assignment: e.assignment.value,
    origins: e.origins.value.split(/\s+/).filter(Boolean),
    status_fields: [...form.querySelectorAll(`[data-status-for="${CSS.escape(e.form.value)}"] input:checked`)].map((i) => i.value),
  };
  if (e.assignment.value === "owner" && e.owner.value) body.owner = Number(e.owner.value);
  if (e.daily_cap.value) body.daily_cap = Number(e.daily_cap.value);
  if (zh || en) body.thank_you = { ...(zh ? { "zh-CN": zh } : {}), ...(en ? { en } : {}) };
  return body;
}

function showStatusFields(form) {
  form.querySelectorAll("[data-status-for]").forEach((box) => { box.hidden = box.dataset.statusFor !== form.elements.form.value; });
  form.querySelector("[data-field=owner]").hidden = form.elements.assignment.value !== "owner";
}

function showErrors(form, problem, msg) {
  const banner = form.querySelector("[data-form-error]");
  banner.hidden = false;
  banner.textContent = problem?.detail || msg.msgError;
  for (const e of problem?.errors || []) {
    const key = e.path.slice(1).split("/")[0];
    const slot = form.querySelector(`[data-error-for="${CSS.escape(key)}"]`);
    if (slot) slot.textContent = e.message;
  }
}

function fill(form, s) {
  const e = form.elements;
  e.form.value = s.form;
  e.enabled.checked = s.enabled;
  e.assignment.value = s.assignment || "owner";
  e.owner.value = s.owner || "";
  form.querySelector("#pf-owner").value = s.owner_name || "";
  e.daily_cap.value = s.daily_cap || "";
  e.thank_you_zh.value = s.thank_you?.["zh-CN"] || "";
  e.thank_you_en.value = s.thank_you?.en || "";
  e.origins.value = (s.origins || []).join("\n");
  form.querySelectorAll("[data-status-for] input").forEach((i) => { i.checked = (s.status_fields || []).includes(i.value); });
  showStatusFields(form);
}

export function start(root) {
  const msg = root.dataset;
  const form = root.querySelector("[data-public-form-editor]");
  const title = form?.querySelector("[data-form-title]");
  const submit = form?.querySelector("[data-form-submit]");
  const cancel = form?.querySelector("[data-cancel-edit]");
  const editing = { id: null, settings: null };

  const stopEditing = () => {
    editing.id = null;
    form.reset();
    form.elements.owner.value = "";
    title.textContent = form.dataset.titleAdd;
    submit.textContent = form.dataset.labelAdd;
    cancel.hidden = true;
    showStatusFields(form);
  };

  if (form) {
    root.querySelectorAll(".tg-picker").forEach((p) => startPicker(p, msg));
    form.elements.form.addEventListener("change", () => showStatusFields(form));
    form.elements.assignment.addEventListener("change", () => showStatusFields(form));
    cancel.addEventListener("click", stopEditing);
    showStatusFields(form);
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      form.querySelectorAll("[data-error-for]").forEach((s) => { s.textContent = ""; });
      form.querySelector("[data-form-error]").hidden = true;
      const body = settingsOf(form);
      if (body.assignment === "owner" && !body.owner) {
        form.querySelector("[data-error-for=owner]").textContent = msg.msgOwner;
        return;
      }
      submit.disabled = true;
      const r = editing.id ? await api("PUT", `${msg.api}/${editing.id}`, body) : await api("POST", msg.api, body);
      submit.disabled = false;
      if (!r.ok) return showErrors(form, r.data, msg);
      toast(msg.msgDone);
      window.location.reload();
    });
  }

  root.addEventListener("click", async (event) => {
    const copy = event.target.closest("[data-copy-source]");
    if (copy) {
      copy.select();
      navigator.clipboard?.writeText(copy.value).then(() => toast(msg.msgCopied), () => {});
      return;
    }
    const item = event.target.closest("[data-public-form]");
    if (!item) return;
    const settings = JSON.parse(item.dataset.settings);
    if (event.target.closest("[data-edit-public]")) {
      editing.id = settings.id;
      fill(form, settings);
      title.textContent = form.dataset.titleEdit;
      submit.textContent = form.dataset.labelEdit;
      cancel.hidden = false;
      form.scrollIntoView({ block: "start" });
      return;
    }
    const toggle = event.target.closest("[data-toggle-public]");
    if (toggle) {
      toggle.disabled = true;
      const keep = ["form", "assignment", "owner", "title", "thank_you", "origins", "daily_cap", "status_fields", "fixed"];
      const body = Object.fromEntries(keep.filter((k) => settings[k] !== undefined && settings[k] !== null).map((k) => [k, settings[k]]));
      const r = await api("PUT", `${msg.api}/${settings.id}`, { ...body, enabled: !settings.enabled });
      if (r.ok) { window.location.reload(); return; }
      toggle.disabled = false;
      item.querySelector(`[data-error-for="public-${settings.id}"]`).textContent = r.data?.detail || String(r.status);
    }
  });
}
