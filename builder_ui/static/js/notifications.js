// The notifications page: mark one or all read through the inbox API; opening one marks it read first.
import { api, toast } from "./api.js";

function markedRead(item) {
  item.classList.remove("tg-unread");
  item.querySelector("[data-mark]")?.remove();
  item.querySelector(".tg-notice-text .visually-hidden")?.remove();
}

function changed(list, readAll) {
  readAll.hidden = !list.querySelector(".tg-unread");
  document.dispatchEvent(new CustomEvent("tg:notifications-changed"));
}

async function markOne(button, list, readAll) {
  button.disabled = true;
  const r = await api("POST", button.dataset.mark);
  if (!r.ok) {
    button.disabled = false;
    toast(r.data?.detail || readAll.dataset.msgFailed, "error");
    return;
  }
  markedRead(button.closest("[data-notice]"));
  changed(list, readAll);
}

async function open(link, event) {
  if (event.ctrlKey || event.metaKey || event.shiftKey || event.button !== 0) return;
  event.preventDefault();
  if (link.closest(".tg-unread")) await api("POST", link.dataset.read);  // a failure must not block the way
  window.location.assign(link.href);
}

async function markAll(list, readAll) {
  readAll.disabled = true;
  const r = await api("POST", "/api/v1/me/notifications/read-all");
  readAll.disabled = false;
  if (!r.ok) {
    toast(r.data?.detail || readAll.dataset.msgFailed, "error");
    return;
  }
  list.querySelectorAll(".tg-unread").forEach(markedRead);
  changed(list, readAll);
  toast(readAll.dataset.msgDone);
}

export function start(list) {
  const readAll = document.getElementById("tg-read-all");
  list.addEventListener("click", (event) => {
    const button = event.target.closest("[data-mark]");
    if (button) markOne(button, list, readAll);
    const link = event.target.closest("a[data-read]");
    if (link) open(link, event);
  });
  readAll.addEventListener("click", () => markAll(list, readAll));
  readAll.disabled = false;
}
