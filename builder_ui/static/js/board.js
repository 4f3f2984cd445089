// The kanban board: drag a card to another lane (SortableJS, native HTML5 drag) or use its "Move to…" menu.
// A move is a versioned PATCH of the grouping field; a refused one puts the card back and toasts the reason.
import Sortable from "/static/vendor/sortable/sortable.esm.js";
import { api, toast } from "./api.js";

export function start(root) {
  const board = new Board(root);
  if (root.dataset.movable === "true") {
    root.querySelectorAll(".tg-klist").forEach((list) => board.sortable(list));
    root.addEventListener("click", (event) => board.menu(event));
  }
  root.dataset.ready = "1"; // tests wait for it
}

class Board {
  constructor(root) {
    this.root = root;
    this.busy = false;
  }

  sortable(list) {
    Sortable.create(list, {
      group: "tg-board",
      sort: false,
      draggable: ".tg-kcard",
      filter: ".tg-kcard-move",
      preventOnFilter: false,
      emptyInsertThreshold: 40,
      ghostClass: "tg-kcard-ghost",
      onAdd: (evt) => this.moved(evt.item, evt.from, evt.to, evt.oldIndex),
    });
  }

  menu(event) {
    const button = event.target.closest("[data-move-to]");
    if (!button || button.disabled) return;
    const card = button.closest(".tg-kcard");
    const from = card.parentElement;
    const to = this.root.querySelector(`.tg-klist[data-lane="${CSS.escape(button.dataset.moveTo)}"]`);
    button.closest("details").open = false;
    if (!to || to === from) return;
    const index = Array.prototype.indexOf.call(from.children, card);
    to.prepend(card);
    this.moved(card, from, to, index).then(() => card.querySelector("summary")?.focus());
  }

  async moved(card, from, to, oldIndex) {
    card.classList.add("tg-kcard-saving");
    const body = { [this.root.dataset.field]: to.dataset.lane || null };
    const r = await api("PATCH", `${this.root.dataset.url}/${card.dataset.id}`, body, { "If-Match": `"${card.dataset.version}"` });
    card.classList.remove("tg-kcard-saving");
    if (!r.ok) {
      from.insertBefore(card, from.children[oldIndex] || null);
      toast(r.data?.detail || this.root.dataset.msgFailed, "error");
      return;
    }
    card.dataset.version = r.data.version;
    this.count(from, -1);
    this.count(to, +1);
    card.querySelectorAll("[data-move-to]").forEach((b) => {
      const here = b.dataset.moveTo === to.dataset.lane;
      b.disabled = here;
      b.toggleAttribute("aria-current", here);
    });
    const label = to.closest(".tg-lane").querySelector("[data-lane-label]").textContent;
    toast(this.root.dataset.msgMoved.replace("{lane}", label));
  }

  count(list, delta) {
    const badge = list.closest(".tg-lane").querySelector("[data-count]");
    badge.textContent = String(Number(badge.textContent) + delta);
  }
}
