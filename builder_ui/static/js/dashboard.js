// Dashboard page: filters reload every tile (each its own request), drill-down opens the records list,
// export downloads a tile's XLSX, full screen for a wall display; a tile that fails shows its error alone.
import { api, toast } from "./api.js";

function chosen(form) {
  const data = new FormData(form);
  const filters = {};
  filters.relative = data.get("relative") || null;
  filters.teams = data.get("team") ? [data.get("team")] : [];
  filters.owners = data.get("owner") ? [Number(data.get("owner"))] : [];
  return filters;
}

function failed(root, body) {
  body.replaceChildren();
  const box = document.createElement("div");
  box.className = "tg-tile-error";
  box.setAttribute("role", "alert");
  box.dataset.tileError = "";
  const strong = document.createElement("strong");
  strong.textContent = root.dataset.msgFailed;
  box.append(strong);
  body.append(box);
}

async function drill(root, form, chart, point) {
  const app = root.dataset.app;
  const res = await api("POST", `/api/v1/apps/${app}/charts/${chart}/drill`, { point, filters: chosen(form) });
  if (!res.ok) { toast((res.data && res.data.detail) || root.dataset.msgDrillFailed, "error"); return; }
  const query = res.data.filter ? `?filter=${encodeURIComponent(JSON.stringify(res.data.filter))}` : "";
  window.location.assign(`/apps/${app}/${res.data.entity}${query}`);
}

export function start(root) {
  const form = root.querySelector("#tg-dash-filters");
  form.addEventListener("change", () => document.body.dispatchEvent(new CustomEvent("tg-filters")));
  form.addEventListener("submit", (e) => e.preventDefault());
  for (const kind of ["htmx:responseError", "htmx:sendError"]) {
    root.addEventListener(kind, (e) => failed(root, e.detail.elt));
  }
  root.addEventListener("tg-drill", (e) => drill(root, form, e.detail.chart, e.detail.point));
  root.addEventListener("click", (e) => {
    const cell = e.target.closest("[data-point]");
    if (cell) drill(root, form, cell.closest("[data-chart]").dataset.chart, JSON.parse(cell.dataset.point));
    const exp = e.target.closest("[data-export]");
    if (exp) {
      const filters = encodeURIComponent(JSON.stringify(chosen(form)));
      window.location.assign(`/api/v1/apps/${root.dataset.app}/charts/${exp.dataset.export}/export?format=xlsx&locale=${root.dataset.locale}&filters=${filters}`);
    }
    if (e.target.closest("[data-fullscreen]")) {
      if (document.fullscreenElement) document.exitFullscreen(); else root.requestFullscreen();
    }
  });
  // Tiles load once the handlers above listen (each tile its own request, in parallel).
  root.querySelectorAll(".tg-tile-body").forEach((body) => body.dispatchEvent(new CustomEvent("tg-load")));
}
