// `POST /api/jobs` bodies → the binding's JobSpec.

/** The fields a request may set: a template and its variables, or a prompt; then caps and options. */
export const JOB_REQUEST_FIELDS = Object.freeze([
  'prompt',
  'template',
  'variables',
  'cpus',
  'memory',
  'pids',
  'timeoutMs',
  'idleTimeoutMs',
  'model',
  'allowedTools',
  'maxTurns',
  'maxBudgetUsd',
  'priority',
  'labels',
  'dependsOn',
  'maxAttempts',
])

/** A request the service refuses before the binding sees it (→ 400 or 422). */
export class RequestError extends Error {
  /**
   * @param {number} status
   * @param {(string | number)[]} loc Where: `['body', 'field']`, `['query', 'after']`.
   * @param {string} message
   * @param {string} type
   */
  constructor(status, loc, message, type) {
    super(message)
    this.name = 'RequestError'
    this.status = status
    this.loc = loc
    this.type = type
  }
}

/**
 * Checks the body's shape and keeps only what a request may set. The values
 * are checked by the binding and the core, which name the field at fault;
 * per-job environment, working dir, user and CLI arguments are not settable
 * over HTTP.
 *
 * @param {unknown} body
 * @returns {import('claude-jobs').JobSpec}
 */
export function jobSpecFromBody(body) {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new RequestError(422, ['body'], 'the body must be a JSON object', 'object_expected')
  }
  for (const key of Object.keys(body)) {
    if (!JOB_REQUEST_FIELDS.includes(key)) {
      throw new RequestError(422, ['body', key], `unknown field ${key} (known: ${JOB_REQUEST_FIELDS.join(', ')})`, 'extra_forbidden')
    }
  }
  return /** @type {import('claude-jobs').JobSpec} */ (body)
}

/**
 * A whole number ≥ 0 from a query parameter, or `fallback` when absent.
 *
 * @param {unknown} raw
 * @param {string} name
 * @param {number} fallback
 */
export function queryCount(raw, name, fallback) {
  if (raw === undefined || raw === '') return fallback
  const n = Number(raw)
  if (typeof raw !== 'string' || !/^\d+$/.test(raw) || !Number.isSafeInteger(n)) {
    throw new RequestError(422, ['query', name], `${name} must be a whole number ≥ 0`, 'int_parsing')
  }
  return n
}
