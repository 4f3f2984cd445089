// Page boot: one module per controller, loaded only where its element is on the page.
const controllers = [
  ["#tg-record", () => import("./record-form.js")],
  ["#tg-list-tools", () => import("./list-tools.js")],
  ["[data-restore]", () => import("./trash.js")],
  ["[data-files]", () => import("./attachments.js")],
  ["[data-share-open]", () => import("./share.js")],
  ["#tg-merge", () => import("./merge.js")],
  ["#tg-import", () => import("./import.js")],
  ["#tg-board", () => import("./board.js")],
  ["#tg-task", () => import("./task.js")],
  ["#tg-inbox", () => import("./inbox.js")],
  ["#tg-approval-panel", () => import("./approval-panel.js")],
  ["#tg-delegations", () => import("./delegations.js")],
  ["#tg-bell", () => import("./bell.js")],
  ["#tg-notifications", () => import("./notifications.js")],
  ["#tg-public-form", () => import("./public-form.js")],
  ["#tg-dashboard", () => import("./dashboard.js")],
  ["[data-echart]", () => import("./charts.js")],
  ["#tg-public-forms", () => import("./builder-public-forms.js")],
  ["#tg-list-defaults", () => import("./builder-list.js")],
  ["#tg-roles, #tg-role-editor", () => import("./builder-roles.js")],
  ["#tg-people", () => import("./builder-people.js")],
  ["[data-app-color]", () => import("./app-color.js")],
  ["#tg-build-home", () => import("./builder-apps.js")],
  ["#tg-app-settings", () => import("./builder-app-settings.js")],
  ["#tg-designer", () => import("./builder-form.js")],
  ["#tg-processes", () => import("./builder-processes.js")],
  ["#tg-process", () => import("./builder-process.js")],
  ["#tg-new-entity", () => import("./builder-entity-new.js")],
  ["#tg-simulate", () => import("./builder-process-simulate.js")],
  ["#tg-rules", () => import("./builder-rules.js")],
  ["#tg-rule", () => import("./builder-rule.js")],
  ["#tg-build-charts", () => import("./builder-charts.js")],
  ["#tg-chart-designer", () => import("./builder-chart.js")],
  ["#tg-dashboard-designer", () => import("./builder-dashboard.js")],
];

function start(root) {
  for (const [selector, load] of controllers) {
    root.querySelectorAll(selector).forEach((el) => {
      if (el.dataset.started) return;
      el.dataset.started = "1";
      // data-ready once the controller has started (a controller may return a promise): tests wait for it.
      load().then((m) => m.start(el)).then(() => { el.dataset.ready = "1"; });
    });
  }
}

document.addEventListener("DOMContentLoaded", () => start(document));
document.addEventListener("htmx:afterSettle", (e) => start(e.target));
