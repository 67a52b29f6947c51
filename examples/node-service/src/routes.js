// The HTTP API: jobs (submit, list, get, logs, events, cancel), templates,
// Prometheus metrics, health.

import { JOB_STATES } from 'claude-jobs'
import { jobLogs, LOG_TAIL_BYTES } from './logs.js'
import { jobSpecFromBody, queryCount, RequestError } from './request.js'
import { streamEvents } from './sse.js'

/** The content type of the Prometheus text exposition format. */
export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8'

/**
 * @typedef {{ id: string }} IdParams
 * @typedef {Record<string, string | undefined>} Query
 */

/**
 * Registers the routes on `app`, served by `manager`.
 *
 * @param {import('fastify').FastifyInstance} app
 * @param {import('claude-jobs').JobManager} manager
 * @param {{ keepAliveMs?: number }} [options]
 */
export function addRoutes(app, manager, options = {}) {
  /** Submit: a template and its variables, or a prompt; → 201 and the job. */
  app.post('/api/jobs', async (request, reply) => {
    const job = await manager.submit(jobSpecFromBody(request.body))
    return reply.code(201).header('location', `/api/jobs/${job.id}`).send(job.info())
  })

  /** Every job, oldest first; `?state=running` filters. */
  app.get('/api/jobs', async (request) => {
    const { state } = /** @type {Query} */ (request.query)
    if (state !== undefined && !JOB_STATES.includes(/** @type {any} */ (state))) {
      throw new RequestError(422, ['query', 'state'], `state must be one of ${JOB_STATES.join(', ')}`, 'enum')
    }
    const infos = await manager.list()
    return state === undefined ? infos : infos.filter((i) => i.state === state)
  })

  /** One job: state, result, cost, usage, session id, peak memory, … */
  app.get('/api/jobs/:id', async (request) => {
    const { id } = /** @type {IdParams} */ (request.params)
    return (await manager.get(id)).info()
  })

  /** The CLI's stdout and stderr logs, as text (the last `tailBytes` of each). */
  app.get('/api/jobs/:id/logs', async (request, reply) => {
    const { id } = /** @type {IdParams} */ (request.params)
    const tailBytes = queryCount(/** @type {Query} */ (request.query).tailBytes, 'tailBytes', LOG_TAIL_BYTES)
    const info = (await manager.get(id)).info()
    return reply.type('text/plain; charset=utf-8').send(await jobLogs(info.logDir, tailBytes))
  })

  /** Server-sent events: replay then live; `Last-Event-ID` or `?after=` resumes. */
  app.get('/api/jobs/:id/events', async (request, reply) => {
    const { id } = /** @type {IdParams} */ (request.params)
    let after = queryCount(/** @type {Query} */ (request.query).after, 'after', 0)
    const lastEventId = request.headers['last-event-id']
    if (typeof lastEventId === 'string' && /^\d+$/.test(lastEventId.trim())) {
      after = Math.max(after, Number(lastEventId.trim()))
    }
    const job = await manager.get(id) // 404 before the stream starts
    reply.hijack()
    await streamEvents(reply.raw, job, after, options)
  })

  /** Cancel: `{ id, cancelled, state }` (`cancelled` is false for a finished job). */
  app.delete('/api/jobs/:id', async (request) => {
    const { id } = /** @type {IdParams} */ (request.params)
    const job = await manager.get(id)
    const cancelled = await job.cancel()
    return { id: job.id, cancelled, state: job.state }
  })

  /** The instruction templates and their variables. */
  app.get('/api/templates', async () => manager.templates())

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
