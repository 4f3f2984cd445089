// The task page: edits of the fields the node opens plus one action, sent together to the tasks API;
// a 422's errors land at their fields (values/x) or the comment, approve asks for a second tap.
import { api, toast } from "./api.js";
import { startPicker } from "./picker.js";
import { readField } from "./record-form.js";
import { urge } from "./urge.js";

const timeZone = () => document.body.dataset.timeZone || "UTC";

// Each field the node opens, typed as the record form types it (one reader: record-form.js).
function read(root) {
  const out = {};
  root.querySelectorAll("#tg-task-fields [data-field][data-editable]").forEach((box) => {
    const value = readField(box, timeZone());
    if (value !== undefined) out[box.dataset.field] = value;
  });
  return out;
}

// Only what the person changed: untouched fields are not rewritten (nor refused by a lock).
function values(root, before) {
  const now = read(root);
  return Object.fromEntries(Object.entries(now).filter(([k, v]) => JSON.stringify(v) !== JSON.stringify(before[k])));
}

function showErrors(root, problem, msg) {
  const banner = root.querySelector("[data-form-error]");
  banner.hidden = false;
  banner.textContent = problem?.detail || msg.msgError;
  for (const e of problem?.errors || []) {
    const key = e.path.startsWith("/values/") ? e.path.slice(8).split("/")[0] : e.path.slice(1) === "to" ? "user" : e.path.slice(1);
    const slot = root.querySelector(`[data-error-for="${CSS.escape(key)}"]`);
    if (slot) slot.textContent = e.message;
  }
}

async function act(root, action, msg, before) {
  root.querySelectorAll("[data-error-for]").forEach((s) => { s.textContent = ""; });
  const comment = root.querySelector("#f-comment")?.value.trim() || null;
  const required = (root.dataset.commentRequired || "").split(",");
  if (required.includes(action) && !comment) {
    root.querySelector("[data-error-for=comment]").textContent = msg.msgRequired;
    root.querySelector("#f-comment").focus();
    return;
  }
  const body = { action, comment };
  const edits = values(root, before);
  if (Object.keys(edits).length && ["approve", "complete", "resubmit"].includes(action)) body.values = edits;
  if (action === "return") body.to = root.querySelector("#f-return-to").value;
  if (action === "transfer" || action === "add_signer") body.user = root.querySelector("input[name=user]").value || null;
  if (action === "add_signer") body.placement = root.querySelector("#f-placement").value;
  const r = await api("POST", root.dataset.api, body);
  if (!r.ok) return showErrors(root, r.data, msg);
  toast(msg.msgDone);
  window.location.reload();
}

export function start(root) {
  const msg = root.dataset;
  const before = read(root);
  root.querySelectorAll(".tg-picker").forEach((p) => startPicker(p, msg));
  const mark = root.querySelector("[data-comment-mark]");
  const nudge = root.querySelector("[data-urge]");
  nudge?.addEventListener("click", () => urge(nudge, root.querySelector("[data-error-for=urge]"), msg));
  root.querySelectorAll("[data-act]").forEach((button) => {
    button.addEventListener("click", () => {
      if (button.hasAttribute("data-confirm-first") && !button.dataset.armed) {
        button.dataset.armed = "1";  // the first tap arms, the second approves: no approval by a stray tap
        button.dataset.label = button.textContent;
        button.textContent = msg.msgConfirm;
        return;
      }
      act(root, button.dataset.act, msg, before);
    });
    button.addEventListener("focus", () => {
      if (mark) mark.hidden = !(root.dataset.commentRequired || "").split(",").includes(button.dataset.act);
    });
  });
}
