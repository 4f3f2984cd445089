// The record's Share dialog: a native <dialog> (showModal traps focus, Escape closes) listing the record's
// shares, adding a person with view or edit access, changing or removing a share; all through the shares API.
import { api } from "./api.js";
import { startPicker } from "./picker.js";

function problemText(r) {
  const errors = (r.data?.errors || []).map((e) => e.message);
  return errors.length ? errors.join("; ") : (r.data?.detail || String(r.status));
}

class ShareDialog {
  constructor(button) {
    this.button = button;
    const template = document.querySelector("[data-share-template]");
    document.body.append(template.content.cloneNode(true));  // outside the record form: a form of its own
    this.dialog = document.getElementById("tg-share");
    this.msg = this.dialog.dataset;
    this.list = this.dialog.querySelector("[data-share-list]");
    this.form = this.dialog.querySelector("[data-share-add]");
    this.error = this.dialog.querySelector("[data-share-error]");
    this.status = this.dialog.querySelector("[data-share-status]");
  }

  note(text) {  // inside the dialog: a toast would sit under the modal's backdrop
    this.status.textContent = text;
  }

  start() {
    startPicker(this.form.querySelector("[data-picker]"), this.msg);
    this.button.addEventListener("click", () => this.open());
    this.button.disabled = false;  // rendered disabled: a click before this module ran would do nothing
    if (location.hash === "#share") this.open();  // a link straight to the dialog
    this.dialog.querySelectorAll("[data-share-close]").forEach((b) => b.addEventListener("click", () => this.dialog.close()));
    this.dialog.addEventListener("close", () => this.button.focus());
    this.form.addEventListener("submit", (e) => { e.preventDefault(); this.add(); });
  }

  async open() {
    this.error.textContent = "";
    this.note("");
    this.dialog.showModal();
    await this.load();
  }

  async load() {
    const r = await api("GET", this.msg.api);
    if (!r.ok) { this.error.textContent = problemText(r); return; }
    this.list.replaceChildren(...r.data.items.map((s) => this.row(s)));
    if (!r.data.items.length) {
      const li = document.createElement("li");
      li.className = "tg-muted";
      li.textContent = this.msg.msgEmpty;
      this.list.append(li);
    }
  }

  row(share) {
    const li = document.createElement("li");
    li.dataset.shareId = String(share.id);
    const who = document.createElement("span");
    who.className = "tg-share-who";
    const name = share.user_email || share.team_key || `#${share.user_id ?? share.team_id}`;
    who.textContent = name;
    if (share.team_id !== null) {
      const tag = document.createElement("span");
      tag.className = "tg-tag";
      tag.textContent = this.msg.msgTeam;
      who.prepend(tag, " ");
    }
    const access = document.createElement("select");
    access.className = "form-select form-select-sm";
    access.setAttribute("aria-label", this.msg.msgAccess.replace("{name}", name));
    for (const [value, label] of [["", this.msg.msgView], ["1", this.msg.msgEdit]]) access.append(new Option(label, value));
    access.value = share.can_edit ? "1" : "";
    access.addEventListener("change", () => this.change(share, access.value === "1"));
    const remove = document.createElement("button");
    remove.type = "button";
    remove.className = "btn btn-sm";
    remove.textContent = this.msg.msgRemove;
    remove.setAttribute("aria-label", `${this.msg.msgRemove} ${name}`);
    remove.addEventListener("click", () => this.remove(share));
    li.append(who, access, remove);
    return li;
  }

  holder(share) {
    return share.user_id !== null ? { user_id: share.user_id } : { team_id: share.team_id };
  }

  async add() {
    this.error.textContent = "";
    const hidden = this.form.querySelector("input[name=user_id]");
    const input = this.form.querySelector("#tg-share-user");
    if (!hidden.value) { this.error.textContent = this.msg.msgPick; input.focus(); return; }
    const canEdit = this.form.querySelector("select[name=can_edit]").value === "1";
    const r = await api("POST", this.msg.api, { user_id: Number(hidden.value), can_edit: canEdit });
    if (!r.ok) { this.error.textContent = problemText(r); return; }
    this.note(this.msg.msgAdded.replace("{name}", input.value));
    hidden.value = "";
    input.value = "";
    await this.load();
    input.focus();
  }

  async change(share, canEdit) {
    this.error.textContent = "";
    const r = await api("POST", this.msg.api, { ...this.holder(share), can_edit: canEdit });
    if (!r.ok) this.error.textContent = problemText(r);
    else this.note(this.msg.msgChanged);
    await this.load();
  }

  async remove(share) {
    this.error.textContent = "";
    const r = await api("DELETE", `${this.msg.api}/${share.id}`);
    if (!r.ok) { this.error.textContent = problemText(r); return; }
    this.note(this.msg.msgRemoved);
    await this.load();
    this.form.querySelector("#tg-share-user").focus();
  }
}

export function start(button) {
  new ShareDialog(button).start();
}
