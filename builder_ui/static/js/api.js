// Calls to the engine's REST API from the page: the session cookie plus the CSRF token, JSON both ways.
export function csrfToken() {
  const body = document.body.getAttribute("hx-headers");
  return body ? JSON.parse(body)["X-CSRF-Token"] : "";
}

export async function api(method, url, body, headers = {}) {
  // Accept-Language: the engine words refusals (locks, rules, conflicts) in the viewer's language.
  const language = document.documentElement.lang || "en";
  const init = {
    method,
    headers: { Accept: "application/json", "Accept-Language": language, "X-CSRF-Token": csrfToken(), ...headers },
    credentials: "same-origin",
  };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(url, init);
  const text = await response.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = { detail: text }; }
  return { status: response.status, ok: response.ok, data, headers: response.headers };
}

export function toast(message, kind = "") {
  const box = document.getElementById("tg-toast");
  if (!box) return;
  const item = document.createElement("div");
  item.className = kind;
  item.textContent = message;
  box.append(item);
  setTimeout(() => item.remove(), 4000);
}
