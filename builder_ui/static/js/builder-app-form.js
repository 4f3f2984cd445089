// The app form (templates/builder/app_form.html), shared by the New app dialog and the settings page: a live
// preview of icon and colour, the key proposed from the name as it is typed (pinyin for Chinese, by the
// server's /build/key) until the builder edits it, the request body, and the engine's refusals under their
// field by JSON path (problem+json `errors`), the rest at the form's foot.

const HEX = /^#[0-9a-fA-F]{6}$/;

export function paint(el, color) {
  el.dataset.appColor = color;
  if (HEX.test(color)) el.style.setProperty("--tg-app-color", color);
}

export function problemText(r) {
  return r.data?.detail || r.data?.title || String(r.status);
}

export class AppForm {
  constructor(form, { proposeKey = false, taken = [] } = {}) {
    this.form = form;
    this.taken = taken;
    this.key = form.elements.key;
    this.keyTouched = !proposeKey || this.key.readOnly;
    this.preview = form.querySelector("[data-app-preview]");
    this.custom = form.elements.color_custom;
    this.timer = null;
    this.asked = 0;
  }

  start() {
    const f = this.form;
    f.addEventListener("change", (e) => {
      if (e.target.name === "icon" || e.target.name === "color" || e.target === this.custom) this.refresh(e.target);
    });
    f.addEventListener("input", (e) => {
      if (e.target === this.custom) this.refresh(e.target);
      if (e.target === this.key) this.keyTouched = true;
      if (e.target.hasAttribute("data-key-source") && !this.keyTouched) this.proposeSoon();
      const field = e.target.closest("[data-path]");
      if (field) this.clear(field);
    });
    // Chinese IME: Enter that confirms a composition must not submit the form.
    f.addEventListener("keydown", (e) => { if (e.key === "Enter" && e.isComposing) e.preventDefault(); });
    this.refresh();
  }

  color() {
    const picked = this.form.querySelector("input[name=color]:checked");
    return !picked || picked.value === "custom" ? this.custom.value : picked.value;
  }

  refresh(changed) {
    if (changed === this.custom) this.form.querySelector("input[name=color][value=custom]").checked = true;
    if (!this.preview) return;
    const icon = this.form.querySelector("input[name=icon]:checked");
    if (icon) this.preview.querySelector("use").setAttribute("href", `/static/vendor/icons/sprite.svg#${icon.value}`);
    paint(this.preview, this.color());
  }

  labelSource() {
    const zh = this.form.elements.label_zh.value.trim();
    return zh || this.form.elements.label_en.value.trim();
  }

  proposeSoon() {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.propose(), 200);
  }

  async propose() {
    const label = this.labelSource();
    const ask = ++this.asked;
    const params = new URLSearchParams({ label, fallback: "app" });
    this.taken.forEach((k) => params.append("taken", k));
    const r = await fetch(`/build/key?${params}`, { headers: { Accept: "application/json" }, credentials: "same-origin" });
    if (!r.ok || ask !== this.asked || this.keyTouched) return;  // a late answer never overwrites typing
    this.key.value = label ? (await r.json()).key : "";
    this.clear(this.key.closest("[data-path]"));
  }

  texts(zh, en) {
    const out = {};
    const a = this.form.elements[zh]?.value.trim();
    const b = this.form.elements[en]?.value.trim();
    if (a) out["zh-CN"] = a;
    if (b) out.en = b;
    return out;
  }

  body() {
    const body = { key: this.key.value.trim(), label: this.texts("label_zh", "label_en"), color: this.color() };
    const icon = this.form.querySelector("input[name=icon]:checked");
    if (icon) body.icon = icon.value;
    if (this.form.elements.description_zh) {
      const d = this.texts("description_zh", "description_en");
      body.description = Object.keys(d).length ? d : null;
    }
    return body;
  }

  clear(field) {
    if (!field) return;
    field.classList.remove("has-error");
    const slot = field.querySelector(".tg-error");
    if (slot) slot.textContent = "";
  }

  clearAll() {
    this.form.querySelectorAll("[data-path]").forEach((f) => this.clear(f));
    const general = this.form.querySelector("[data-form-error]");
    if (general) general.textContent = "";
  }

  fieldFor(path) {
    // The most specific field: "/label/zh-CN" -> its own field, else "/label".
    const parts = (path || "").split("/");
    for (let n = parts.length; n > 1; n--) {
      const p = parts.slice(0, n).join("/");
      const hit = this.form.querySelector(`[data-path="${CSS.escape(p)}"]`);
      if (hit) return hit;
    }
    return null;
  }

  showProblem(r) {
    this.clearAll();
    const loose = [];
    let first = null;
    for (const e of r.data?.errors || []) {
      const field = this.fieldFor(e.path);
      if (!field) { loose.push(e.message); continue; }
      field.classList.add("has-error");
      const slot = field.querySelector(".tg-error");
      slot.textContent = slot.textContent ? `${slot.textContent}; ${e.message}` : e.message;
      first = first || field;
    }
    if (!first || loose.length) {
      const general = this.form.querySelector("[data-form-error]");
      if (general) general.textContent = loose.length ? loose.join("; ") : problemText(r);
    }
    (first?.querySelector("input, textarea, select") || null)?.focus();
  }
}
