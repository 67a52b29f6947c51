// Authentication: `Authorization: Bearer <key>` on every route (unknown
// paths included) but `GET /health` and, with CLAUDE_JOBS_METRICS_PUBLIC=1,
// `/metrics`. The key's tenant is `request.tenant`; without a keys file
// nothing is checked and `request.tenant` is null.

import { tenantForKey } from './keys.js'

/** The 401 body of every route. */
export const UNAUTHORIZED = Object.freeze({ detail: 'missing or wrong API key', code: 'UNAUTHORIZED' })

/**
 * @typedef {{ keys: import('./keys.js').KeyEntry[] | null, metricsPublic: boolean }} AuthOptions
 */

/**
 * Whether a request may be served without a key.
 *
 * @param {string} method
 * @param {string | undefined} route The matched route's pattern (undefined: no route).
 * @param {boolean} metricsPublic
 */
export function isPublic(method, route, metricsPublic) {
  if (method !== 'GET' && method !== 'HEAD') return false
  return route === '/health' || (metricsPublic && route === '/metrics')
}

/**
 * The presented key of an `Authorization: Bearer <key>` header, or null.
 *
 * @param {string | undefined} header
 */
function bearer(header) {
  const m = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header ?? '')
  return m ? m[1] : null
}

/**
 * Adds `request.tenant` and, with keys, the onRequest hook that refuses a
 * missing or wrong key (401, `WWW-Authenticate: Bearer`).
 *
 * @param {import('fastify').FastifyInstance} app
 * @param {AuthOptions} options
 */
export function addAuth(app, { keys, metricsPublic }) {
  app.decorateRequest('tenant', null)
  if (!keys) return
  app.addHook('onRequest', async (request, reply) => {
    if (isPublic(request.method, request.routeOptions.url, metricsPublic)) return
    const key = bearer(request.headers.authorization)
    const tenant = key === null ? null : tenantForKey(keys, key)
    if (tenant === null) {
      return reply.code(401).header('www-authenticate', 'Bearer').send(UNAUTHORIZED)
    }
    request.tenant = tenant
  })
}
