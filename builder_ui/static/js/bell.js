// The top bar's bell: asks htmx to refresh the unread count every 30 s while the tab is visible, at once
// when the user comes back to the tab, and when the notifications page marks some read (no eval: CSP-safe).
const EVERY_MS = 30_000;

export function start(bell) {
  const refresh = () => {
    if (document.visibilityState === "visible" && window.htmx) window.htmx.trigger(bell, "tg:refresh");
  };
  setInterval(refresh, EVERY_MS);
  document.addEventListener("visibilitychange", refresh);
  document.addEventListener("tg:notifications-changed", refresh);
}
