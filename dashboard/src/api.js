// The service's HTTP API (examples/fastapi): fetch helpers, its 422 shape, and
// the API key. When the service answers 401 the page asks for the key once
// (KeyPrompt.jsx), keeps it in sessionStorage (this tab, until it closes) and
// sends `Authorization: Bearer <key>` with every request from then on; a
// wrong key is dropped and asked for again.

const KEY_STORAGE = 'claude-jobs-api-key';
const keyListeners = new Set();
let keyWanted = false;
// The key that was wanted again was a given one (not a missing one).
let keyRefused = false;

export function apiKey() {
  try {
    return window.sessionStorage.getItem(KEY_STORAGE) || '';
  } catch {
    return '';
  }
}

function notify() {
  for (const fn of keyListeners) fn({ wanted: keyWanted, refused: keyRefused });
}

/** Keeps `key` for this tab and retries what waited for it. */
export function setApiKey(key) {
  window.sessionStorage.setItem(KEY_STORAGE, key);
  keyWanted = false;
  notify();
}

/** The service refused `key` (or there was none): ask for one. */
function wantKey(key) {
  window.sessionStorage.removeItem(KEY_STORAGE);
  if (!keyWanted) {
    keyWanted = true;
    keyRefused = Boolean(key);
    notify();
  }
}

/** Calls `fn({wanted, refused})` when a key is wanted or given; returns the unsubscribe function. */
export function onKeyChange(fn) {
  keyListeners.add(fn);
  return () => keyListeners.delete(fn);
}

export const keyIsWanted = () => keyWanted;

/** Resolves once a key is given (at once when one is kept and none is wanted). */
export function keyGiven() {
  if (!keyWanted) return Promise.resolve();
  return new Promise((resolve) => {
    const off = onKeyChange(({ wanted }) => {
      if (!wanted) {
        off();
        resolve();
      }
    });
  });
}

/**
 * fetch() with the kept key. While a key is asked for, requests wait for it.
 * A 401 asks for the key (unless another key was given meanwhile) and is
 * returned as is.
 */
export async function apiFetch(url, init = {}) {
  await keyGiven();
  const headers = new Headers(init.headers || {});
  const key = apiKey();
  if (key) headers.set('Authorization', `Bearer ${key}`);
  const res = await fetch(url, { ...init, headers });
  if (res.status === 401 && apiKey() === key) wantKey(key);
  return res;
}

export class ApiError extends Error {
  constructor(status, message, fields = {}, general = []) {
    super(message);
    this.status = status;
    // "memory" | "variables.brand" → message (from FastAPI's {"detail": [{"loc", "msg"}]}).
    this.fields = fields;
    // Messages not tied to a field.
    this.general = general;
  }
}

/** `["body", "variables", "brand"]` → `"variables.brand"`; `["body", "limits", "memory"]` → `"memory"`. */
export function fieldKey(loc) {
  const parts = (loc || []).filter((p, i) => !(i === 0 && p === 'body')).map(String);
  if (parts[0] === 'limits') parts.shift();
  return parts.join('.');
}

async function toError(res) {
  let body = null;
  try {
    body = await res.json();
  } catch {
    /* not JSON */
  }
  const detail = body && body.detail;
  if (Array.isArray(detail)) {
    const fields = {};
    const general = [];
    for (const d of detail) {
      const key = fieldKey(d.loc);
      const msg = d.msg || 'invalid';
      if (key) fields[key] = fields[key] ? `${fields[key]}; ${msg}` : msg;
      else general.push(msg);
    }
    return new ApiError(res.status, detail.map((d) => d.msg).join('; '), fields, general);
  }
  const msg = typeof detail === 'string' ? detail : `${res.status} ${res.statusText}`;
  return new ApiError(res.status, msg, {}, [msg]);
}

export async function getJSON(url) {
  const res = await apiFetch(url, { headers: { Accept: 'application/json' } });
  if (!res.ok) throw await toError(res);
  return res.json();
}

export async function getText(url) {
  const res = await apiFetch(url);
  if (!res.ok) throw await toError(res);
  return res.text();
}

export async function send(method, url, body) {
  const res = await apiFetch(url, {
    method,
    headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!res.ok) throw await toError(res);
  return res.json();
}

export const cancelJob = (id) => send('DELETE', `/api/jobs/${encodeURIComponent(id)}`);

export function localMidnightMs() {
  const d = new Date();
  d.setHours(0, 0, 0, 0);
  return d.getTime();
}
