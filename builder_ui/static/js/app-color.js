// An app's own colour on its icon (launcher, builder): presets are CSS rules in app.css; any other "#rrggbb"
// the engine accepted is set here as a custom property (no inline style attribute under the CSP).
export function start(el) {
  const color = el.dataset.appColor || "";
  if (/^#[0-9a-fA-F]{6}$/.test(color)) el.style.setProperty("--tg-app-color", color);
}
