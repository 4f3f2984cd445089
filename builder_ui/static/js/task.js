// The task page: edits of the fields the node opens plus one action, sent together to the tasks API;
// a 422's errors land at their fields (values/x) or the comment, approve asks for a second tap.
import { api, toast } from "./api.js";
import { startPicker } from "./picker.js";

const NUMERIC = new Set(["integer", "decimal", "currency", "percent"]);

function values(root) {
  const out = {};
  root.querySelectorAll("#tg-task-fields [data-field][data-editable]").forEach((box) => {
    const input = box.querySelector("[name]");
    if (!input) return;
    const type = box.dataset.type;
    if (type === "boolean") out[box.dataset.field] = input.checked;
    else if (input.value === "") out[box.dataset.field] = null;
    else out[box.dataset.field] = NUMERIC.has(type) ? Number(input.value) : input.value;
  });
  return out;
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

async function act(root, action, msg) {
  root.querySelectorAll("[data-error-for]").forEach((s) => { s.textContent = ""; });
  const comment = root.querySelector("#f-comment")?.value.trim() || null;
  const required = (root.dataset.commentRequired || "").split(",");
  if (required.includes(action) && !comment) {
    root.querySelector("[data-error-for=comment]").textContent = msg.msgRequired;
    root.querySelector("#f-comment").focus();
    return;
  }
  const body = { action, comment };
  const edits = values(root);
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
  root.querySelectorAll(".tg-picker").forEach((p) => startPicker(p, msg));
  const mark = root.querySelector("[data-comment-mark]");
  root.querySelectorAll("[data-act]").forEach((button) => {
    button.addEventListener("click", () => {
      if (button.hasAttribute("data-confirm-first") && !button.dataset.armed) {
        button.dataset.armed = "1";  // the first tap arms, the second approves: no approval by a stray tap
        button.dataset.label = button.textContent;
        button.textContent = msg.msgConfirm;
        return;
      }
      act(root, button.dataset.act, msg);
    });
    button.addEventListener("focus", () => {
      if (mark) mark.hidden = !(root.dataset.commentRequired || "").split(",").includes(button.dataset.act);
    });
  });
}
