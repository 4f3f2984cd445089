// The builder's Apps page (/build): the New app dialog (POST /api/v1/meta/apps, refusals under their field),
// installing a package with its plan shown first, and restoring apps from the recycle bin.
import { api, toast } from "./api.js";
import { AppForm, problemText } from "./builder-app-form.js";
import { startPackage } from "./builder-package.js";

function startNewApp(root) {
  const opener = root.querySelector("[data-app-new]");
  const dialog = root.querySelector("#tg-app-new-dialog");
  if (!opener || !dialog) return;
  const form = dialog.querySelector("[data-app-form]");
  const app = new AppForm(form, { proposeKey: true, taken: JSON.parse(root.dataset.taken || "[]") });
  app.start();
  opener.addEventListener("click", () => {
    dialog.showModal();
    form.elements.label_zh.focus();
  });
  opener.disabled = false;
  dialog.querySelectorAll("[data-dialog-close]").forEach((b) => b.addEventListener("click", () => dialog.close()));
  dialog.addEventListener("close", () => opener.focus());
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const button = form.querySelector("[data-app-create]");
    button.disabled = true;
    const r = await api("POST", "/api/v1/meta/apps", app.body());
    button.disabled = false;
    if (!r.ok) { app.showProblem(r); return; }
    toast(root.dataset.msgCreated);
    location.assign(`/build/apps/${encodeURIComponent(r.data.key)}/settings`);
  });
}

function startBin(root) {
  root.querySelectorAll("[data-app-restore]").forEach((button) => {
    button.addEventListener("click", async () => {
      button.disabled = true;
      const r = await api("POST", `/api/v1/meta/apps/${encodeURIComponent(button.dataset.appRestore)}/restore`);
      if (!r.ok) { toast(problemText(r), "error"); button.disabled = false; return; }
      toast(root.dataset.msgRestored);
      location.reload();
    });
  });
}

export function start(root) {
  startNewApp(root);
  startPackage(root);
  startBin(root);
}
