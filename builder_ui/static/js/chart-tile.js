// What the chart and dashboard designers share: a chart API answer drawn as the end user's dashboard tile
// (one way to draw a chart), icons from the sprite, the name (zh-CN, en) and key inputs of a definition, and
// saving it (create, or replace If-Match its version; refusals at their controls).
import { api, csrfToken, toast } from "./api.js";
import { icon, proposeKeys, showErrors } from "./builder-dom.js";

export { icon as iconOf };

export async function drawTile(app, box, answer, locale) {
  // An API answer (a chart's result, or its problem) drawn by templates/components/tile.html and charts.js.
  const body = answer.ok ? { result: answer.data } : { error: answer.data || { title: String(answer.status) } };
  const res = await fetch(`/build/apps/${app}/charts/tile`, {
    method: "POST", credentials: "same-origin", body: JSON.stringify(body),
    headers: { "Content-Type": "application/json", "Accept-Language": locale, "X-CSRF-Token": csrfToken() },
  });
  box.replaceChildren(document.createRange().createContextualFragment(await res.text()));
  const canvas = box.querySelector("[data-echart]");
  if (!canvas) return;
  canvas.dataset.started = "1";  // started here, not by app.js
  await (await import("./charts.js")).start(canvas);
  canvas.dataset.ready = "1";
}

export function bindName(root, doc, isNew, fallback, taken) {
  // The label inputs write doc.label (no empty map: the engine refuses one); a new definition's key is proposed
  // from the label (pinyin for Chinese) until the person types their own.
  const key = root.querySelector("[data-key]");
  const labels = [...root.querySelectorAll("[data-label]")];
  key.value = doc.key;
  labels.forEach((input) => { input.value = (doc.label || {})[input.dataset.label] || ""; });
  if (isNew) proposeKeys(key, labels, fallback, taken);
  const syncKey = () => { doc.key = key.value.trim(); };
  key.addEventListener("input", syncKey);
  labels.forEach((input) => input.addEventListener("input", () => {
    const label = { ...(doc.label || {}) };
    if (input.value.trim()) label[input.dataset.label] = input.value.trim(); else delete label[input.dataset.label];
    if (Object.keys(label).length) doc.label = label; else delete doc.label;
    setTimeout(syncKey, 400);  // the proposed key arrives after the label
  }));
  return syncKey;
}

export async function saveDefinition(designer, kind, prefix = "") {
  // POST a new definition or PUT a stored one; a refusal's errors land at [data-error-for] (their paths under
  // `prefix`, as the preview reports them), the rest and conflicts in the banner. True once saved.
  const { root, data, doc, s } = designer;
  const status = root.querySelector("[data-status]");
  const banner = root.querySelector("[data-banner]");
  banner.hidden = true;
  const base = `/api/v1/meta/apps/${data.app}/${kind}`;
  const r = designer.isNew ? await api("POST", base, doc)
    : await api("PUT", `${base}/${doc.key}`, doc, { "If-Match": `"${designer.version}"` });
  const errors = (r.data?.errors || []).map((e) => ({ ...e, path: `${prefix}${e.path}` }));
  const loose = showErrors(root, { ...r, data: { ...r.data, errors: r.ok ? [] : errors } });
  if (!r.ok) {
    banner.textContent = r.status === 409 ? s.conflict : [s.fix, ...loose].join(" ");
    banner.hidden = false;
    status.textContent = "";
    return false;
  }
  designer.version = r.data.version;
  if (designer.isNew) {
    designer.isNew = false;
    root.querySelector("[data-key]").readOnly = true;
    history.replaceState(null, "", `/build/apps/${data.app}/${kind}/${doc.key}`);
  }
  status.textContent = s.saved;
  toast(s.saved);
  root.dataset.saved = String(designer.version);
  return true;
}
