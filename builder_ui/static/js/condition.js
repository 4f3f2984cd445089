// The engine's JSON condition language evaluated in the browser: the same results as the Python back end
// (engine/expr/to_python.py) for every operator a form rule may use, NULLs and relative dates included.
// A property test (tests/e2e/test_form_rules_parity.py) runs both on random conditions and records.
//
//   evaluate(condition, record, env) -> boolean
//
// condition: the JSON tree as the server hands it out (fields of the record itself, no paths).
// record: field key -> value as the JSON API writes it (dates "2026-11-23", date-times ISO 8601 with Z
//   or an offset, numbers, option keys, ids; an expanded relation {id, ...} counts as its id).
// env: {now: ISO date-time (the server's clock), timeZone (or tz): IANA name, default "UTC",
//   today: "YYYY-MM-DD" (optional, else now's date in the time zone), user: id or {id}, userTeam: id,
//   kinds: {field: kind} (optional: field kinds from the entity, e.g. "datetime", "json"; without them
//   kinds are read from the values, which is exact except for JSON fields and text that looks like a
//   date-time)}.
// No eval, no Function: the tree is walked.

const TEXTUAL = new Set(["text", "long_text", "email", "phone", "url", "auto_number"]);
const LISTS = new Set(["multi_select", "attachment"]);
const NUMERIC = new Set(["integer", "decimal", "currency", "percent"]);
const NEGATIONS = { ne: "eq", not_in: "in", not_contains: "contains", is_not_empty: "is_empty" };
const DATETIME_RE = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6}))?)?(Z|[+-]\d{2}:\d{2})?$/;
const DATE_RE = /^\d{4}-\d{2}-\d{2}$/;
const DAY_MS = 86400000;

export function evaluate(condition, record, env = {}) {
  return node(condition, record || {}, context(env));
}

function context(env) {
  const tz = env.timeZone || env.tz || "UTC";
  const now = env.now ? instant(env.now) : Date.now() * 1000;
  const user = env.user !== null && typeof env.user === "object" ? env.user.id : env.user;
  return { tz, now, today: env.today || localParts(now, tz).date, user: user ?? null, team: env.userTeam ?? null, kinds: env.kinds || null };
}

function node(c, r, cx) {
  if (c.all) return c.all.every((x) => node(x, r, cx));
  if (c.any) return c.any.some((x) => node(x, r, cx));
  if (c.not) return !node(c.not, r, cx);
  return compare(c, r, cx);
}

// -- values: what Python compares (micro-second instants, date strings, numbers, ids) ------------------
function kindOf(key, value, cx) {
  if (cx.kinds && cx.kinds[key]) return cx.kinds[key];
  if (typeof value === "string" && DATETIME_RE.test(value)) return "datetime";
  if (typeof value === "string" && DATE_RE.test(value)) return "date";
  if (Array.isArray(value)) return "multi_select";
  return typeof value === "string" ? "text" : "other";
}

function native(value, kind) {
  if (value === undefined || value === null) return null;
  if (value !== null && typeof value === "object" && !Array.isArray(value) && "id" in value) return value.id;
  if (kind === "datetime" && typeof value === "string") return instant(value);
  if (NUMERIC.has(kind) && typeof value === "string") return Number(value);
  return value;
}

function instant(text) {
  // Microseconds since the epoch (exact for any date this product stores).
  const m = DATETIME_RE.exec(text);
  if (!m) return NaN;
  const [, y, mo, d, h, mi, s, frac, zone] = m;
  let ms = Date.UTC(+y, +mo - 1, +d, +h, +mi, +(s || 0));
  if (zone && zone !== "Z") ms -= (zone[0] === "-" ? -1 : 1) * (+zone.slice(1, 3) * 60 + +zone.slice(4, 6)) * 60000;
  return ms * 1000 + +((frac || "").padEnd(6, "0"));
}

function field(c, r, cx) {
  const raw = r[c.field];
  const kind = kindOf(c.field, raw, cx);
  return { kind, x: native(raw, kind) };
}

function operand(v, kind, r, cx) {
  if (v !== null && typeof v === "object" && !Array.isArray(v)) {
    if ("var" in v) return { now: cx.now, today: cx.today, user: cx.user, "user.team": cx.team }[v.var] ?? null;
    if ("field" in v) return native(r[v.field], kindOf(v.field, r[v.field], cx));
  }
  return native(v, kind);
}

// -- operators ---------------------------------------------------------------------------------
function compare(c, r, cx) {
  if (NEGATIONS[c.op]) return !compare({ ...c, op: NEGATIONS[c.op] }, r, cx);
  const { kind, x } = field(c, r, cx);
  const op = OPS[c.op] || RELATIVE[c.op];
  if (!op) throw new Error(`unknown operator ${c.op}`);
  return op(x, c.value, { kind, r, cx, c });
}

const ordered = (test) => (x, v, a) => {
  const y = operand(v, a.kind, a.r, a.cx);
  return x !== null && y !== null && test(x, y);
};
const lower = (s) => String(s).toLowerCase();
const same = (a, b) => a === b;
const members = (v, a) => v.map((w) => native(w, a.kind));

const OPS = {
  eq: ordered(same),
  gt: ordered((x, y) => x > y),
  gte: ordered((x, y) => x >= y),
  lt: ordered((x, y) => x < y),
  lte: ordered((x, y) => x <= y),
  in: (x, v, a) => x !== null && members(v, a).some((w) => w === x),
  between: (x, v, a) => {
    const [lo, hi] = members(v, a);
    return x !== null && lo <= x && x <= hi;
  },
  contains: (x, v) => x !== null && lower(x).includes(lower(v)),
  starts_with: (x, v) => x !== null && lower(x).startsWith(lower(v)),
  ends_with: (x, v) => x !== null && lower(x).endsWith(lower(v)),
  is_empty: (x, v, a) => {
    if (x === null) return true;
    const lists = a.cx.kinds ? TEXTUAL.has(a.kind) || LISTS.has(a.kind) : true;
    return lists && (x === "" || (Array.isArray(x) && x.length === 0));
  },
  has_any: (x, v) => x !== null && v.some((k) => x.includes(k)),
  has_all: (x, v) => x !== null && v.every((k) => x.includes(k)),
};

// -- relative dates (engine/expr/dates.py) ---------------------------------------------------------
const RELATIVE = {
  older_than: (x, v, a) => x !== null && within(x, windowOf("older_than", v, a)),
  within_last: (x, v, a) => x !== null && within(x, windowOf("within_last", v, a)),
  within_next: (x, v, a) => x !== null && within(x, windowOf("within_next", v, a)),
  anniversary_today: (x, v, a) => x !== null && anniversaries(a.cx.today).includes(x.slice(5, 10)),
};
for (const when of ["this", "last", "next"]) {
  for (const unit of ["week", "month", "quarter", "year"]) {
    RELATIVE[`${when}_${unit}`] = (x, v, a) => x !== null && within(x, windowOf(`${when}_${unit}`, null, a));
  }
}
RELATIVE.is_today = (x, v, a) => x !== null && within(x, windowOf("is_today", null, a));

function within(x, w) {
  if (w.lo !== null && x < w.lo) return false;
  if (w.hi === null) return true;
  return w.closed ? x <= w.hi : x < w.hi;
}

function windowOf(op, span, a) {
  const cx = a.cx;
  const isDate = a.kind === "date";
  const base = isDate ? cx.today : cx.now;
  if (op === "older_than") return { lo: null, hi: shift(cx, span, -1, isDate), closed: false };
  if (op === "within_last") return { lo: shift(cx, span, -1, isDate), hi: base, closed: true };
  if (op === "within_next") return { lo: base, hi: shift(cx, span, 1, isDate), closed: true };
  const [start, end] = period(op, cx.today);
  if (isDate) return { lo: start, hi: end, closed: false };
  return { lo: localToUtc(start, 0, cx.tz), hi: localToUtc(end, 0, cx.tz), closed: false };
}

function shift(cx, span, sign, isDate) {
  const n = sign * span.amount;
  if (isDate) return shiftDay(cx.today, span.unit, n);
  if (span.unit === "minutes") return cx.now + n * 60e6;
  if (span.unit === "hours") return cx.now + n * 3600e6;
  const local = localParts(cx.now, cx.tz);
  return localToUtc(shiftDay(local.date, span.unit, n), local.micros, cx.tz);
}

// Dates as "YYYY-MM-DD" strings; day arithmetic through UTC midnights.
const dayNumber = (d) => Date.UTC(+d.slice(0, 4), +d.slice(5, 7) - 1, +d.slice(8, 10)) / DAY_MS;
const pad = (n, w = 2) => String(n).padStart(w, "0");
function dateOf(days) {
  const t = new Date(days * DAY_MS);
  return `${pad(t.getUTCFullYear(), 4)}-${pad(t.getUTCMonth() + 1)}-${pad(t.getUTCDate())}`;
}
const addDays = (d, n) => dateOf(dayNumber(d) + n);

function addMonths(d, months) {
  const total = +d.slice(0, 4) * 12 + (+d.slice(5, 7) - 1) + months;
  const year = Math.floor(total / 12);
  const month = total - year * 12 + 1;
  const last = new Date(Date.UTC(year, month, 0)).getUTCDate();
  return `${pad(year, 4)}-${pad(month)}-${pad(Math.min(+d.slice(8, 10), last))}`;
}

function shiftDay(d, unit, n) {
  if (unit === "months") return addMonths(d, n);
  return addDays(d, n * (unit === "weeks" ? 7 : 1));
}

function period(op, today) {
  if (op === "is_today") return [today, addDays(today, 1)];
  const [when, unit] = op.split("_");
  const step = { last: -1, this: 0, next: 1 }[when];
  if (unit === "week") {
    const weekday = (new Date(dayNumber(today) * DAY_MS).getUTCDay() + 6) % 7; // Monday = 0
    const start = addDays(today, -weekday + 7 * step);
    return [start, addDays(start, 7)];
  }
  const months = { month: 1, quarter: 3, year: 12 }[unit];
  const first = `${today.slice(0, 4)}-${pad(Math.floor((+today.slice(5, 7) - 1) / months) * months + 1)}-01`;
  const start = addMonths(first, step * months);
  return [start, addMonths(start, months)];
}

function anniversaries(today) {
  const md = today.slice(5, 10);
  const year = +today.slice(0, 4);
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  return md === "02-28" && !leap ? [md, "02-29"] : [md];
}

// -- time zones: Intl gives the offset at an instant; a local time maps back as Python's fold=0 does ----
const formatters = new Map();
function offsetMs(ms, tz) {
  let f = formatters.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat("en-US", {
      timeZone: tz, hourCycle: "h23", year: "numeric", month: "numeric", day: "numeric",
      hour: "numeric", minute: "numeric", second: "numeric",
    });
    formatters.set(tz, f);
  }
  const p = Object.fromEntries(f.formatToParts(new Date(ms)).map((x) => [x.type, x.value]));
  const wall = Date.UTC(+p.year, +p.month - 1, +p.day, +p.hour, +p.minute, +p.second);
  return wall - Math.floor(ms / 1000) * 1000;
}

function localParts(micros, tz) {
  const ms = Math.floor(micros / 1000);
  const wall = ms + offsetMs(ms, tz);
  const days = Math.floor(wall / DAY_MS);
  return { date: dateOf(days), micros: (wall - days * DAY_MS) * 1000 + (micros - ms * 1000) };
}

function localToUtc(date, micros, tz) {
  const wall = dayNumber(date) * DAY_MS + Math.floor(micros / 1000);
  const before = offsetMs(wall - DAY_MS, tz);
  const after = offsetMs(wall + DAY_MS, tz);
  let ms = wall - before;
  if (before !== after && offsetMs(ms, tz) !== before && offsetMs(wall - after, tz) === after) ms = wall - after;
  return ms * 1000 + (micros % 1000);
}
