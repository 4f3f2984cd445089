// The merge page: the record to keep, a value per differing field (untouched fields follow the kept record,
// as the engine does for fields a merge does not name), a live preview, then merge and undo through the API.
import { api } from "./api.js";

class MergePage {
  constructor(form) {
    this.form = form;
    this.msg = form.dataset;
    this.body = form.querySelector("[data-merge-body]");
    this.rows = [...form.querySelectorAll("[data-merge-field]")];
    this.touched = new Set();
    this.mergeId = null;
  }

  start() {
    this.form.addEventListener("change", (e) => {
      if (e.target.name === "survivor") this.follow();
      else if (e.target.name?.startsWith("pick-")) this.touched.add(e.target.name);
      this.preview();
    });
    this.form.addEventListener("submit", (e) => { e.preventDefault(); this.merge(); });
    this.form.querySelector("[data-action=undo]").addEventListener("click", () => this.undo());
    this.preview();
    this.form.querySelector("[data-action=merge]").disabled = false;  // rendered disabled until this module runs
  }

  survivor() {
    return Number(this.form.querySelector("input[name=survivor]:checked").value);
  }

  ids() {
    return [...this.form.querySelectorAll("input[name=survivor]")].map((i) => Number(i.value));
  }

  chosen(row) {
    const radio = row.querySelector("input[type=radio]:checked");
    return radio ? Number(radio.value) : this.survivor();
  }

  follow() {  // fields the user has not picked keep the kept record's value
    for (const radio of this.form.querySelectorAll(`input[name^="pick-"][value="${this.survivor()}"]`)) {
      if (!this.touched.has(radio.name)) radio.checked = true;
    }
  }

  preview() {
    for (const row of [this.form.querySelector(".tg-merge-records"), ...this.rows]) {
      const id = row.dataset.mergeField ? this.chosen(row) : this.survivor();
      row.querySelectorAll("[data-record]").forEach((c) => c.classList.toggle("chosen", Number(c.dataset.record) === id));
      const source = row.querySelector(`[data-record="${id}"] [data-merge-value]`);
      row.querySelector("[data-merge-result]").replaceChildren(...[...source.childNodes].map((n) => n.cloneNode(true)));
    }
  }

  request() {
    const survivor = this.survivor();
    const values = {};
    for (const row of this.rows) {
      const id = this.chosen(row);
      if (id !== survivor) values[row.dataset.mergeField] = { from: id };
    }
    return { survivor, others: this.ids().filter((i) => i !== survivor), values };
  }

  clearErrors() {
    const banner = this.form.querySelector("[data-merge-error]");
    banner.hidden = true;
    banner.replaceChildren();
    this.form.querySelectorAll("[data-error-for]").forEach((s) => { s.textContent = ""; });
    this.rows.forEach((r) => r.classList.remove("has-error"));
  }

  showProblem(r) {
    const banner = this.form.querySelector("[data-merge-error]");
    const box = document.createElement("div");
    const head = document.createElement("strong");
    head.textContent = r.data?.detail || r.data?.title || String(r.status);
    const list = document.createElement("ul");
    list.className = "mb-0 mt-1";
    for (const err of r.data?.errors || []) {
      const li = document.createElement("li");
      li.textContent = err.message;
      list.append(li);
      const parts = (err.path || "").split("/").filter(Boolean);
      const key = parts[0] === "values" ? parts[1] : parts[0];
      const slot = key && this.form.querySelector(`[data-error-for="${CSS.escape(key)}"]`);
      if (slot) { slot.textContent = err.message; slot.closest("[data-merge-field]").classList.add("has-error"); }
    }
    box.append(head, list);
    banner.replaceChildren(box);
    banner.hidden = false;
    banner.scrollIntoView({ block: "nearest" });
  }

  async merge() {
    this.clearErrors();
    const button = this.form.querySelector("[data-action=merge]");
    button.disabled = true;
    const r = await api("POST", `${this.msg.api}/merge`, this.request());
    if (!r.ok) { button.disabled = false; return this.showProblem(r); }
    this.mergeId = r.data.merge_id;
    this.body.disabled = true;
    const name = this.form.querySelector(`.tg-merge-records [data-record="${r.data.survivor}"] [data-merge-value]`).textContent;
    const text = this.msg.msgDone.replace("{name}", name).replace("{count}", String(r.data.references.length));
    this.done(text, `${this.msg.page}/${r.data.survivor}`);
  }

  async undo() {
    this.clearErrors();
    const r = await api("POST", `${this.msg.api}/merges/${this.mergeId}/undo`);
    if (!r.ok) return this.showProblem(r);
    this.mergeId = null;
    this.body.disabled = false;
    this.form.querySelector("[data-action=merge]").disabled = false;
    this.done(this.msg.msgUndone, null);
  }

  done(text, survivorUrl) {
    const banner = this.form.querySelector("[data-merge-done]");
    banner.querySelector("[data-merge-done-text]").textContent = text;
    const link = banner.querySelector("[data-merge-survivor]");
    link.hidden = !survivorUrl;
    if (survivorUrl) link.href = survivorUrl;
    const undo = banner.querySelector("[data-action=undo]");
    undo.hidden = !survivorUrl;
    banner.hidden = false;
    (survivorUrl ? undo : banner).focus?.();
    this.form.querySelector(".tg-actionbar").hidden = Boolean(survivorUrl);
  }
}

export function start(form) {
  new MergePage(form).start();
}
