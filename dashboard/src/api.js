// The service's HTTP API (examples/fastapi): fetch helpers and its 422 shape.

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
  const res = await fetch(url, { headers: { Accept: 'application/json' } });
  if (!res.ok) throw await toError(res);
  return res.json();
}

export async function getText(url) {
  const res = await fetch(url);
  if (!res.ok) throw await toError(res);
  return res.text();
}

export async function send(method, url, body) {
  const res = await fetch(url, {
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
