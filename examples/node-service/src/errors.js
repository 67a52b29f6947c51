// Errors → HTTP responses, in the shapes the FastAPI example uses: bad fields
// 422 `{"detail": [{"loc": ["body", field], "msg", "type"}]}`, policy 403,
// quota 429 (with Retry-After), unknown ids 404 `{"detail": msg}`, another
// tenant's schedule name 409, a body over 1 MiB 413, a stopping service 503,
// anything else 500.

import { ClaudeJobsError } from 'claude-jobs'
import { JOB_REQUEST_FIELDS, RequestError, Spelling } from './request.js'

/** Codes that mean "the request is wrong" (→ 422, naming the field). */
export const FIELD_CODES = new Set(['INVALID_SPEC', 'TEMPLATE_ERROR', 'CAPACITY_EXCEEDED'])

/** The largest request body, in bytes (Fastify's `bodyLimit`). */
export const BODY_LIMIT = 1 << 20

/** Seconds to wait after a 429 whose error gives no retryAfterMs (the core gives one for a full queue and a spent budget). */
export const DEFAULT_RETRY_AFTER_S = 1

/**
 * @typedef {{ status: number, body: Record<string, unknown>, headers?: Record<string, string> }} ErrorReply
 */

/**
 * The 404 body for job `id`: the same for an unknown id and for another
 * tenant's job.
 *
 * @param {string} id
 */
export function notFoundBody(id) {
  return { detail: `job ${id} not found` }
}

/** A 404 for a job the caller may not see (another tenant's), shaped as an unknown one. */
export class JobNotVisible extends Error {
  /** @param {string} id */
  constructor(id) {
    super(`job ${id} not found`)
    this.jobId = id
  }
}

/** A schedule name in use by another tenant (a name is one schedule in the store) → 409. */
export class ScheduleTaken extends Error {
  /** @param {string} name */
  constructor(name) {
    super(`the schedule name ${name} is taken`)
  }
}

/**
 * Where a binding error points in the request body: a field of the request
 * (`['body', 'memory']`), an entry of a map (`variables.brand` →
 * `['body', 'variables', 'brand']`), a template variable (TEMPLATE_ERROR
 * names it bare: `['body', 'variables', 'research']`), or the
 * `Idempotency-Key` header.
 *
 * @param {ClaudeJobsError} err
 * @param {Spelling} spelling
 * @returns {string[]}
 */
export function location(err, spelling) {
  const field = err.field
  if (!field) return ['body']
  if (field === 'idempotencyKey') return ['header', 'idempotency-key']
  const head = field.split('.')[0]
  if (JOB_REQUEST_FIELDS.includes(head)) return ['body', ...spelling.of(field).split('.')]
  if (err.code === 'TEMPLATE_ERROR') return ['body', 'variables', field]
  return ['body', field]
}

/**
 * The response for a binding error.
 *
 * @param {ClaudeJobsError} err
 * @param {Spelling} spelling
 * @returns {ErrorReply}
 */
function bindingReply(err, spelling) {
  const msg = err.field ? spelling.message(err.message, err.field) : err.message
  if (FIELD_CODES.has(err.code)) {
    return { status: 422, body: { detail: [{ loc: location(err, spelling), msg, type: err.code.toLowerCase() }] } }
  }
  switch (err.code) {
    case 'POLICY_VIOLATION':
      return { status: 403, body: { detail: msg, code: err.code, field: spelling.of(err.field ?? '') } }
    case 'QUOTA_EXCEEDED': {
      const wait = err.retryAfterMs === undefined ? DEFAULT_RETRY_AFTER_S : Math.max(1, Math.ceil(err.retryAfterMs / 1000))
      return { status: 429, body: { detail: err.message, code: err.code, tenant: err.tenant ?? null }, headers: { 'retry-after': String(wait) } }
    }
    case 'JOB_NOT_FOUND':
      return { status: 404, body: notFoundBody(err.jobId ?? '') }
    case 'SHUTTING_DOWN':
      return { status: 503, body: { detail: err.message, code: err.code } }
    default:
      return { status: 500, body: { detail: err.message, code: err.code } }
  }
}

/**
 * The response for an error thrown while handling a request.
 *
 * @param {unknown} err
 * @param {Spelling} [spelling] How the request spelled its fields.
 * @returns {ErrorReply}
 */
export function errorReply(err, spelling = new Spelling()) {
  if (err instanceof RequestError) {
    return { status: err.status, body: { detail: [{ loc: err.loc, msg: err.message, type: err.type }] } }
  }
  if (err instanceof JobNotVisible) return { status: 404, body: notFoundBody(err.jobId) }
  if (err instanceof ScheduleTaken) return { status: 409, body: { detail: err.message, code: 'CONFLICT' } }
  if (err instanceof ClaudeJobsError) return bindingReply(err, spelling)
  const e = /** @type {{ statusCode?: number, code?: string, message?: string }} */ (err ?? {})
  if (e.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
    return { status: 413, body: { detail: 'request body over 1 MiB', code: 'BODY_TOO_LARGE' } }
  }
  // Fastify's own: unparsable JSON, empty body, unsupported media type.
  if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
    const type = e.code === 'FST_ERR_CTP_INVALID_JSON' || e.code === 'FST_ERR_CTP_EMPTY_JSON_BODY' ? 'json_invalid' : 'invalid_request'
    return { status: e.statusCode, body: { detail: [{ loc: ['body'], msg: e.message ?? 'bad request', type }] } }
  }
  return { status: 500, body: { detail: 'internal server error' } }
}
