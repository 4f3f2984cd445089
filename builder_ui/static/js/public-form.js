// A public form (anonymous): solves the page's proof-of-work challenge in the background, sends the values
// typed by field type to /api/v1/public/forms/{slug}, places refusals at their fields, then says thank you.
import { applyRules } from "./form-rules.js";
import { readField } from "./record-form.js";

const K = new Uint32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98,
  0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
  0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8,
  0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
  0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819,
  0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
  0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
  0xc67178f2,
]);

// SHA-256 of an ASCII string (the challenge and a number): plain JS, since crypto.subtle needs HTTPS.
export function sha256(text) {
  const bytes = new TextEncoder().encode(text);
  const blocks = Math.ceil((bytes.length + 9) / 64);
  const data = new Uint8Array(blocks * 64);
  data.set(bytes);
  data[bytes.length] = 0x80;
  new DataView(data.buffer).setUint32(data.length - 4, bytes.length * 8);
  const h = new Uint32Array([0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]);
  const w = new Uint32Array(64);
  const rot = (x, n) => (x >>> n) | (x << (32 - n));
  for (let b = 0; b < data.length; b += 64) {
    for (let i = 0; i < 16; i++) w[i] = (data[b + 4 * i] << 24) | (data[b + 4 * i + 1] << 16) | (data[b + 4 * i + 2] << 8) | data[b + 4 * i + 3];
    for (let i = 16; i < 64; i++) {
      const s0 = rot(w[i - 15], 7) ^ rot(w[i - 15], 18) ^ (w[i - 15] >>> 3);
      const s1 = rot(w[i - 2], 17) ^ rot(w[i - 2], 19) ^ (w[i - 2] >>> 10);
      w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    let [a, bb, c, d, e, f, g, hh] = h;
    for (let i = 0; i < 64; i++) {
      const t1 = (hh + (rot(e, 6) ^ rot(e, 11) ^ rot(e, 25)) + ((e & f) ^ (~e & g)) + K[i] + w[i]) >>> 0;
      const t2 = ((rot(a, 2) ^ rot(a, 13) ^ rot(a, 22)) + ((a & bb) ^ (a & c) ^ (bb & c))) >>> 0;
      [hh, g, f, e, d, c, bb, a] = [g, f, e, (d + t1) >>> 0, c, bb, a, (t1 + t2) >>> 0];
    }
    [a, bb, c, d, e, f, g, hh].forEach((v, i) => { h[i] = (h[i] + v) >>> 0; });
  }
  return h;
}

function leadingZeroBits(h) {
  let bits = 0;
  for (const word of h) {
    if (word !== 0) return bits + Math.clz32(word);
    bits += 32;
  }
  return bits;
}

// The number whose hash with the challenge starts with `difficulty` zero bits; yields to the page now and then.
async function solve(challenge, difficulty) {
  for (let n = 0; ; n++) {
    if (leadingZeroBits(sha256(`${challenge}:${n}`)) >= difficulty) return String(n);
    if (n % 2000 === 1999) await new Promise((resolve) => setTimeout(resolve, 0));
  }
}

function valuesOf(form, all) {
  const timeZone = document.body.dataset.timeZone || "UTC";
  const values = {};
  form.querySelectorAll(".tg-field[data-field]").forEach((wrapper) => {
    if (!all && wrapper.closest("[data-rule-hidden]")) return;  // hidden by a form rule: not sent
    const value = readField(wrapper, timeZone);
    if (value !== undefined && value !== null && !(Array.isArray(value) && value.length === 0)) values[wrapper.dataset.field] = value;
  });
  return values;
}

export function start(form) {
  const msg = form.dataset;
  // The record form's rules (visible / required / read-only when), evaluated live as the server will judge them.
  const rules = () => applyRules(form, valuesOf(form, true), { userId: null, timeZone: document.body.dataset.timeZone || "UTC" });
  form.addEventListener("input", rules);
  form.addEventListener("change", rules);
  const answer = solve(msg.challenge, Number(msg.difficulty));
  const banner = form.querySelector("[data-form-error]");
  const button = form.querySelector("[data-submit]");
  const label = button.textContent;
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form, banner);
    button.disabled = true;
    button.textContent = msg.msgBusy;
    const body = { values: valuesOf(form, false), form_token: msg.formToken, challenge: msg.challenge, answer: await answer,
      website: form.querySelector(".tg-hp input").value };
    const r = await send(msg.api, body);
    button.disabled = false;
    button.textContent = label;
    if (r.ok) return thank(form, r.data);
    showErrors(form, banner, r, msg);
  });
  return rules();  // ready (data-ready) once the rules have shown or hidden fields
}

async function send(url, body) {
  const language = document.documentElement.lang || "en";
  const response = await fetch(url, { method: "POST", credentials: "omit", body: JSON.stringify(body),
    headers: { Accept: "application/json", "Accept-Language": language, "Content-Type": "application/json" } });
  let data = null;
  try { data = await response.json(); } catch { data = {}; }
  return { ok: response.ok, status: response.status, data };
}

function thank(form, data) {
  const thanks = document.querySelector("[data-thanks]");
  form.hidden = true;
  thanks.hidden = false;
  if (data && data.status_url) {
    const holder = thanks.querySelector("[data-status-link]");
    holder.querySelector("a").href = data.status_url;
    holder.hidden = false;
  }
  thanks.focus();
}

function clearErrors(form, banner) {
  banner.hidden = true;
  form.querySelectorAll(".tg-field.has-error").forEach((f) => f.classList.remove("has-error"));
  form.querySelectorAll("[data-error-for]").forEach((s) => { s.textContent = ""; });
}

function showErrors(form, banner, r, msg) {
  const problem = r.data || {};
  let placed = false;
  for (const e of problem.errors || []) {
    const key = (e.path || "").replace(/^\/values/, "").split("/")[1];
    const slot = key && form.querySelector(`[data-error-for="${CSS.escape(key)}"]`);
    if (!slot) continue;
    slot.textContent = e.message;
    slot.closest(".tg-field").classList.add("has-error");
    placed = true;
  }
  banner.textContent = r.status === 429 ? msg.msgLimited : placed ? msg.msgError : `${msg.msgFailed} ${problem.detail || r.status}`;
  banner.hidden = false;
}
