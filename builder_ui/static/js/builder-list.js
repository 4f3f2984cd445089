// List settings in the builder: the default table view and the shared kanban board of an entity, saved as
// shared views through /api/v1/apps/{app}/{entity}/views (the engine checks fields and rights).
import { api, toast } from "./api.js";

function chosen(list) {
  return [...list.querySelectorAll("li")].filter((li) => li.querySelector("input").checked).map((li) => li.dataset.key);
}

function orderable(list) {
  // The chosen stay together at the top, in order: a ticked field joins the end of them, an unticked one leaves.
  list.addEventListener("change", (event) => {
    const item = event.target.closest("li");
    const ticked = [...list.querySelectorAll("li")].filter((li) => li !== item && li.querySelector("input").checked);
    if (event.target.checked) {
      if (ticked.length) ticked[ticked.length - 1].after(item); else list.prepend(item);
    } else if (ticked.length) {
      ticked[ticked.length - 1].after(item);
    }
  });
  list.addEventListener("click", (event) => {
    const button = event.target.closest("[data-move]");
    if (!button) return;
    const item = button.closest("li");
    const other = Number(button.dataset.move) < 0 ? item.previousElementSibling : item.nextElementSibling;
    if (!other) return;
    if (Number(button.dataset.move) < 0) other.before(item); else other.after(item);
    button.focus();
  });
  import("/static/vendor/sortable/sortable.esm.js")
    .then(({ default: Sortable }) => Sortable.create(list, { handle: ".tg-bl-grip", animation: 120 }))
    .catch(() => {});  // the arrows still order the list
}

async function put(url, current, body) {
  // The stored view is replaced (If-Match its version); a generated default or a missing board is created.
  if (current && current.id) return api("PUT", `${url}/${current.id}`, body, { "If-Match": `"${current.version}"` });
  return api("POST", url, body);
}

function showErrors(root, problem, msg) {
  const banner = root.querySelector("[data-form-error]");
  banner.hidden = false;
  banner.textContent = problem?.detail || msg.msgError;
  for (const e of problem?.errors || []) {
    const slot = root.querySelector(`[data-error-for="${CSS.escape(e.path.slice(1).split("/")[0])}"]`);
    if (slot) slot.textContent = e.message;
  }
}

export function start(root) {
  const msg = root.dataset;
  const saved = { table: JSON.parse(msg.table), board: JSON.parse(msg.board) };  // as stored: the next save replaces them
  root.querySelectorAll("[data-choose]").forEach(orderable);
  const lanes = root.querySelector("#bl-lanes");
  lanes.addEventListener("change", () => { root.querySelector("[data-board-cards]").hidden = !lanes.value; });
  root.querySelector("[data-save]").addEventListener("click", async (event) => {
    const button = event.currentTarget;
    root.querySelectorAll("[data-error-for]").forEach((s) => { s.textContent = ""; });
    root.querySelector("[data-form-error]").hidden = true;
    const columns = chosen(root.querySelector("[data-choose=columns]"));
    if (!columns.length) { root.querySelector("[data-error-for=columns]").textContent = msg.msgColumns; return; }
    const sort = root.querySelector("#bl-sort").value;
    const { table, board } = saved;
    const view = { name: table.generated ? JSON.parse(msg.nameTable) : table.name, shared_with: "*", is_default: true,
      kind: "table", filter: table.generated ? null : table.filter, columns, page_size: Number(root.querySelector("#bl-size").value),
      sort: sort ? [{ field: sort, desc: root.querySelector("#bl-desc").value === "1" }] : [] };
    button.disabled = true;
    let r = await put(msg.views, table.generated ? null : table, view);
    if (r.ok) saved.table = r.data;
    if (r.ok && lanes.value) {
      const cards = chosen(root.querySelector("[data-choose=card_fields]")).slice(0, 12);
      const kanban = { name: board ? board.name : JSON.parse(msg.nameBoard), shared_with: "*", kind: "kanban",
        group_field: lanes.value, card_fields: cards, columns: cards.length ? cards : columns.slice(0, 1) };
      r = await put(msg.views, board, kanban);
      if (r.ok) saved.board = r.data;
    } else if (r.ok && board && board.id) {
      r = await api("DELETE", `${msg.views}/${board.id}`, undefined, { "If-Match": `"${board.version}"` });
      if (r.ok) saved.board = null;
    }
    button.disabled = false;
    if (!r.ok) return showErrors(root, r.data, msg);
    toast(msg.msgDone);
  });
}
