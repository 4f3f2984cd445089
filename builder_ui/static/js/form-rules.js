// Form rules in the browser: visible_when / required_when / read_only_when of fields and sections, the
// engine's condition language evaluated by condition.js (the server checks the same rules at save).
let evaluate = null;  // condition.js, loaded with the first form that has rules

function holds(condition, record, env) {
  try { return Boolean(evaluate(condition, record, env)); } catch { return false; }
}

export async function applyRules(form, record, { userId, timeZone }) {
  if (!form.querySelector("[data-rules], [data-visible-when]")) return;
  evaluate = evaluate || (await import("./condition.js")).evaluate;
  const now = new Date();
  const kinds = Object.fromEntries([...form.querySelectorAll("[data-field]")].map((w) => [w.dataset.field, w.dataset.type]));
  const env = { user: { id: userId }, now: now.toISOString(), timeZone, kinds };
  form.querySelectorAll("[data-visible-when]").forEach((section) => {
    const show = holds(JSON.parse(section.dataset.visibleWhen), record, env);
    section.hidden = !show;
    section.toggleAttribute("data-rule-hidden", !show);
  });
  form.querySelectorAll("[data-rules]").forEach((w) => {
    const rules = JSON.parse(w.dataset.rules);
    if (rules.visible_when) {
      const show = holds(rules.visible_when, record, env);
      w.hidden = !show;
      w.toggleAttribute("data-rule-hidden", !show);
    }
    if (rules.required_when) {
      w.querySelector(".tg-required").hidden = !holds(rules.required_when, record, env);
    }
    if (rules.read_only_when) {
      const locked = holds(rules.read_only_when, record, env);
      w.querySelectorAll("input, select, textarea").forEach((el) => { el.disabled = locked; });
    }
  });
}
