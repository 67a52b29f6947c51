// The service's other routes: templates, the caller's tenant, Prometheus
// metrics, health.

/** The content type of the Prometheus text exposition format. */
export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8'

/** `GET /api/tenant` without API keys: no tenant, nothing counted. */
const NO_TENANT = Object.freeze({
  tenant: null,
  quota: { maxRunning: null, maxQueued: null, dailyBudgetUsd: null },
  running: 0,
  queued: 0,
  spentTodayUsd: 0,
  reservedUsd: 0,
  budgetLeftUsd: null,
})

/**
 * Registers the routes on `app`, served by `manager`.
 *
 * @param {import('fastify').FastifyInstance} app
 * @param {import('claude-jobs').JobManager} manager
 */
export function addServiceRoutes(app, manager) {
  /** The instruction templates and their variables. */
  app.get('/api/templates', async () => manager.templates())

  /** The caller's tenant: its quota, running and queued jobs, spend today, budget left. */
  app.get('/api/tenant', async (request) => {
    if (request.tenant === null) return NO_TENANT
    const { name, ...usage } = await manager.tenantUsage(request.tenant)
    return { tenant: name, ...usage }
  })

  /** Prometheus metrics: jobs by state, queue length, durations, cost and tokens by template, … */
  app.get('/metrics', async (_request, reply) => reply.type(METRICS_CONTENT_TYPE).send(await manager.metrics()))

  /** Running jobs, the concurrency limit, the isolation in use, the store and whether it answers. */
  app.get('/health', async () => {
    const s = await manager.status()
    return {
      status: s.storeHealth.healthy ? 'ok' : 'degraded',
      running: s.running,
      maxConcurrent: s.maxConcurrent,
      isolation: s.isolation,
      isolationError: s.isolationError,
      dataDir: s.dataDir,
      store: s.storeUrl,
      storeHealthy: s.storeHealth.healthy,
    }
  })
}
