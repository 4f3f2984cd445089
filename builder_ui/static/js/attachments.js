// The input of an attachment field: each chosen or dropped file is uploaded at once to the files API (with
// progress), listed with its thumbnail, name and size, and can be removed. The record's save sends the
// ids (record-form.js readField); the server's refusals (413, 422) are shown at the field.
import { csrfToken } from "./api.js";

export function sizeText(bytes) {
  return bytes >= 1048576 ? `${(bytes / 1048576).toFixed(1)} MB` : `${Math.max(1, Math.round(bytes / 1024))} KB`;
}

// POST one file as multipart (part name `files`); resolves with {status, data}, reporting progress in %.
function send(url, file, onProgress) {
  return new Promise((resolve) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", url);
    xhr.setRequestHeader("X-CSRF-Token", csrfToken());
    xhr.setRequestHeader("Accept", "application/json");
    xhr.setRequestHeader("Accept-Language", document.documentElement.lang || "en");  // refusals in the viewer's words
    xhr.upload.addEventListener("progress", (e) => { if (e.lengthComputable) onProgress(Math.round((e.loaded / e.total) * 100)); });
    xhr.addEventListener("load", () => {
      let data = null;
      try { data = JSON.parse(xhr.responseText); } catch { data = { detail: xhr.responseText }; }
      resolve({ status: xhr.status, data });
    });
    xhr.addEventListener("error", () => resolve({ status: 0, data: { detail: "network error" } }));
    const body = new FormData();
    body.append("files", file, file.name);
    xhr.send(body);
  });
}

class FilesInput {
  constructor(root) {
    this.root = root;
    this.msg = root.dataset;
    this.list = root.querySelector("[data-file-list]");
    this.template = root.querySelector("[data-file-template]");
    this.input = root.querySelector("input[type=file]");
    this.slot = root.closest("[data-field], [data-cell]").querySelector("[data-error-for], [data-cell-error]");
  }

  start() {
    this.input.addEventListener("change", () => { this.add([...this.input.files]); this.input.value = ""; });
    const drop = this.root.querySelector("[data-drop]");
    drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("is-over"); });
    drop.addEventListener("dragleave", () => drop.classList.remove("is-over"));
    drop.addEventListener("drop", (e) => {
      e.preventDefault();
      drop.classList.remove("is-over");
      this.add([...e.dataTransfer.files]);
    });
    this.list.addEventListener("click", (e) => {
      const button = e.target.closest("[data-action=remove-file]");
      if (!button) return;
      button.closest("li").remove();
      this.input.focus();
      this.changed();
    });
  }

  changed() {
    this.root.dispatchEvent(new Event("change", { bubbles: true }));  // form rules see the new value
  }

  add(files) {
    this.slot.textContent = "";
    for (const file of files) this.upload(file);
  }

  async upload(file) {
    const item = this.template.content.firstElementChild.cloneNode(true);
    const link = item.querySelector(".tg-file-name");
    const bar = item.querySelector("progress");
    link.textContent = file.name;
    link.removeAttribute("href");
    item.querySelector(".tg-file-size").textContent = sizeText(file.size);
    item.querySelector("[data-action=remove-file]").setAttribute("aria-label", this.msg.msgRemove.replace("{name}", file.name));
    item.classList.add("is-uploading");
    bar.hidden = false;
    this.list.append(item);
    const r = await send(this.msg.upload, file, (pct) => { bar.value = pct; });
    if (r.status !== 201) {
      item.remove();
      return this.refused(file, r);
    }
    this.show(item, r.data.items[0]);
    this.changed();
  }

  show(item, descriptor) {
    item.dataset.fileId = descriptor.id;
    item.classList.remove("is-uploading");
    item.querySelector("progress").hidden = true;
    const link = item.querySelector(".tg-file-name");
    link.textContent = descriptor.name;
    link.href = descriptor.url;
    if (descriptor.is_image) {
      const img = item.querySelector("img");
      img.src = descriptor.thumbnail_url;
      img.hidden = false;
      item.querySelector("[data-file-icon]").hidden = true;
    }
  }

  refused(file, r) {
    const errors = r.data?.errors || [];
    let text;
    if (r.status === 413) text = this.msg.msgTooBig.replace("{name}", file.name).replace("{size}", this.msg.maxSizeMb);
    else if (errors.some((e) => e.code === "type_not_allowed")) text = this.msg.msgType.replace("{name}", file.name);
    else text = `${this.msg.msgFailed.replace("{name}", file.name)} ${errors.map((e) => e.message).join("; ") || r.data?.detail || r.status}`;
    this.slot.textContent = this.slot.textContent ? `${this.slot.textContent} ${text}` : text;
    this.slot.closest("[data-field], [data-cell]").classList.add("has-error");
  }
}

export function start(root) {
  new FilesInput(root).start();
}
