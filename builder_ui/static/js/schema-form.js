// One renderer from a config JSON Schema to form controls, shared by the designers: the form designer's field
// property panel (each field type's config) and the rule designer's action forms (each action's config). A
// newly registered type gets its form for free; designers skip the properties they draw with richer widgets.
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "text") node.textContent = v;
    else if (k === "on") for (const [ev, fn] of Object.entries(v)) node.addEventListener(ev, fn);
    else if (v !== false && v !== null && v !== undefined) node.setAttribute(k, v === true ? "" : v);
  }
  node.append(...children.filter((c) => c !== null && c !== undefined && c !== false));
  return node;
}

export function resolve(schema, root) {
  // A property's own schema: $ref followed, "X or null" read as X (keeping its default and description).
  let s = schema;
  if (s.$ref) s = root.$defs[s.$ref.split("/").pop()];
  if (s.anyOf) {
    const inner = s.anyOf.filter((x) => x.type !== "null");
    if (inner.length === 1) s = { ...resolve(inner[0], root), default: s.default, description: s.description };
  }
  return s;
}

// Controls for every property of `schema` not in `skip`, showing `value`'s current settings.
// ui: { words (prop_x / enum_x / none / one_value_per_line), id (a property's element id), set(name, v, merge, s),
//       row(label, control, {help}), input(id, value, onInput, attrs), check(id, label, value, onChange),
//       json: draw objects and arrays of objects as JSON (else they are left to the caller) }
export function schemaControls(schema, value, skip, ui) {
  const out = [];
  const toggles = [];
  const w = ui.words;
  for (const [name, raw] of Object.entries(schema.properties || {})) {
    if (skip.has(name)) continue;
    const s = resolve(raw, schema);
    const word = w[`prop_${name}`] || s.title || name;
    const id = ui.id(name);
    const current = value[name] ?? s.default;
    const set = (v, merge = false) => ui.set(name, v, merge, s);
    if (s.const !== undefined) continue;
    if (s.type === "boolean") {
      toggles.push(ui.check(id, word, current, (v) => set(v)));
    } else if (s.enum) {
      const pick = el("select", { class: "form-select form-select-sm", id, "data-prop": name },
        ...(raw.anyOf ? [el("option", { value: "", text: w.none })] : []),
        ...s.enum.map((v) => el("option", { value: v, selected: v === current, text: w[`enum_${v}`] || v })));
      pick.addEventListener("change", () => set(pick.value || null));
      out.push(ui.row(word, pick, { help: s.description }));
    } else if (s.type === "integer" || s.type === "number") {
      const attrs = { type: "number", "data-prop": name, min: s.minimum ?? s.exclusiveMinimum, max: s.maximum, step: s.type === "integer" ? 1 : "any" };
      out.push(ui.row(word, ui.input(id, current, (v) => set(v === "" ? null : Number(v), true), attrs), { help: s.description }));
    } else if (s.type === "string" || (!s.type && !s.items && !s.properties)) {
      const type = { date: "date", "date-time": "datetime-local", uri: "url" }[s.format] || "text";
      out.push(ui.row(word, ui.input(id, current, (v) => set(v || null, true), { type, "data-prop": name, maxlength: s.maxLength }), { help: s.description }));
    } else if (s.type === "array") {
      const item = resolve(s.items || {}, schema);
      if (item.enum) {
        const chosen = new Set(current || []);
        const box = el("div", { class: "tg-dz-chips", id, "data-prop": name });
        for (const v of item.enum) {
          const c = el("input", { type: "checkbox", class: "form-check-input", value: v, checked: chosen.has(v) });
          c.addEventListener("change", () => { if (c.checked) chosen.add(v); else chosen.delete(v); set([...chosen]); });
          box.append(el("label", { class: "tg-chip-input" }, c, w[`enum_${v}`] || v));
        }
        out.push(ui.row(word, box, { help: s.description }));
      } else if (item.type === "string" || (item.anyOf && !ui.json)) {
        const area = el("textarea", { class: "form-control form-control-sm", id, rows: 3, "data-prop": name });
        area.value = (current || []).join("\n");
        area.addEventListener("input", () => set(area.value.split("\n").map((x) => x.trim()).filter(Boolean), true));
        out.push(ui.row(word, area, { help: s.description || w.one_value_per_line }));
      } else if (ui.json) {
        out.push(jsonControl(id, name, word, current, set, ui));
      }
    } else if (ui.json) {
      out.push(jsonControl(id, name, word, current, set, ui));
    }
  }
  if (toggles.length) out.unshift(el("div", { class: "tg-dz-toggles" }, ...toggles));
  return out;
}

function jsonControl(id, name, word, current, set, ui) {
  // The last resort for nested settings (a table of conditions): the JSON itself, kept as it was until edited.
  const area = el("textarea", { class: "form-control form-control-sm font-monospace", id, rows: 4, "data-prop": name, spellcheck: "false" });
  area.value = current === undefined || current === null ? "" : JSON.stringify(current, null, 1);
  area.addEventListener("input", () => {
    try {
      set(area.value.trim() ? JSON.parse(area.value) : null, true);
      area.classList.remove("is-invalid");
    } catch { area.classList.add("is-invalid"); }
  });
  return ui.row(word, area, { help: ui.words.json_hint });
}
