// Errors → HTTP responses, in the FastAPI example's shapes: bad fields 422
// `{"detail": [{"loc": ["body", field], "msg", "type"}]}`, unknown ids 404
// `{"detail": msg}`, a stopping service 503, anything else 500.

import { ClaudeJobsError } from 'claude-jobs'
import { JOB_REQUEST_FIELDS, RequestError } from './request.js'

/** Codes that mean "the request is wrong" (→ 422, naming the field). */
const FIELD_CODES = new Set(['INVALID_SPEC', 'TEMPLATE_ERROR', 'CAPACITY_EXCEEDED'])

/**
 * @typedef {{ status: number, body: Record<string, unknown> }} ErrorReply
 */

/**
 * Where a binding error points in the request body: a field of the request
 * (`['body', 'memory']`), an entry of a map (`variables.brand` →
 * `['body', 'variables', 'brand']`), or a template variable (TEMPLATE_ERROR
 * names it bare: `['body', 'variables', 'research']`).
 *
 * @param {ClaudeJobsError} err
 * @returns {string[]}
 */
function bodyLocation(err) {
  const field = err.field
  if (!field) return ['body']
  const [head, ...rest] = field.split('.')
  if (JOB_REQUEST_FIELDS.includes(head)) return ['body', head, ...rest]
  if (err.code === 'TEMPLATE_ERROR') return ['body', 'variables', field]
  return ['body', field]
}

/**
 * The response for an error thrown while handling a request.
 *
 * @param {unknown} err
 * @returns {ErrorReply}
 */
export function errorReply(err) {
  if (err instanceof RequestError) {
    return { status: err.status, body: { detail: [{ loc: err.loc, msg: err.message, type: err.type }] } }
  }
  if (err instanceof ClaudeJobsError) {
    if (FIELD_CODES.has(err.code)) {
      return { status: 422, body: { detail: [{ loc: bodyLocation(err), msg: err.message, type: err.code.toLowerCase() }] } }
    }
    if (err.code === 'JOB_NOT_FOUND') return { status: 404, body: { detail: err.message } }
    const status = err.code === 'SHUTTING_DOWN' ? 503 : 500
    return { status, body: { detail: err.message, code: err.code } }
  }
  const e = /** @type {{ statusCode?: number, code?: string, message?: string }} */ (err ?? {})
  // Fastify's own: unparsable JSON, empty body, unsupported media type, too large.
  if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
    const type = e.code === 'FST_ERR_CTP_INVALID_JSON' || e.code === 'FST_ERR_CTP_EMPTY_JSON_BODY' ? 'json_invalid' : 'invalid_request'
    return { status: e.statusCode, body: { detail: [{ loc: ['body'], msg: e.message ?? 'bad request', type }] } }
  }
  return { status: 500, body: { detail: 'internal server error' } }
}
