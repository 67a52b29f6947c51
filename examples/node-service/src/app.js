// The job service: a Fastify app over one claude-jobs JobManager.

import Fastify from 'fastify'
import { JobManager } from 'claude-jobs'
import { addAuth } from './auth.js'
import { BODY_LIMIT, errorReply } from './errors.js'
import { readKeysFile } from './keys.js'
import { addJobRoutes } from './routes.js'
import { addScheduleRoutes } from './schedule-routes.js'
import { addServiceRoutes } from './service-routes.js'

/**
 * @typedef {{ method: string, url: string }} RouteInfo
 */

/**
 * The app, its manager and every route it serves (for tests that must reach
 * them all). The keys file is read first (a bad one refuses to start, naming
 * the line). The manager is shut down (running jobs get
 * `settings.drainTimeoutMs` to finish) when the app starts closing.
 *
 * @param {import('./settings.js').Settings} settings
 * @param {{ logger?: boolean, keepAliveMs?: number }} [options]
 */
export async function createApp(settings, { logger = false, keepAliveMs } = {}) {
  const keys = settings.keysFile ? readKeysFile(settings.keysFile) : null
  const manager = await JobManager.create({
    claudeBin: settings.claudeBin,
    dataDir: settings.dataDir,
    maxConcurrent: settings.maxConcurrent,
    isolation: settings.isolation,
    artifactStore: settings.artifactStore,
    killGraceMs: settings.killGraceMs,
    env: settings.jobEnv,
    policy: settings.policy,
    ...(settings.webhookSecret ? { webhookSecret: settings.webhookSecret } : {}),
    ...(settings.templatesDir ? { templatesDir: settings.templatesDir } : {}),
    ...(settings.storeUrl ? { storeUrl: settings.storeUrl } : {}),
    ...(settings.memoryBudget !== undefined ? { memoryBudget: settings.memoryBudget } : {}),
    ...(settings.cpuBudget !== undefined ? { cpuBudget: settings.cpuBudget } : {}),
  })
  // Fastify checks the limit on Content-Length and on the bytes read (chunked bodies).
  const app = Fastify({ logger, bodyLimit: BODY_LIMIT })
  /** @type {RouteInfo[]} */
  const routes = []
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) routes.push({ method, url: route.url })
  })
  app.decorateRequest('spelling', null)
  addAuth(app, { keys, metricsPublic: settings.metricsPublic })
  app.setErrorHandler(async (err, request, reply) => {
    const { status, body, headers } = errorReply(err, request.spelling ?? undefined)
    if (status >= 500) request.log.error(err)
    return reply.code(status).headers(headers ?? {}).send(body)
  })
  app.setNotFoundHandler(async (request, reply) =>
    reply.code(404).send({ detail: `no route ${request.method} ${request.url}` }),
  )
  addJobRoutes(app, manager, keepAliveMs === undefined ? {} : { keepAliveMs })
  addScheduleRoutes(app, manager)
  addServiceRoutes(app, manager)
  // Before the server closes: open event streams end when their jobs do.
  app.addHook('preClose', async () => {
    await manager.shutdown({ drainTimeoutMs: settings.drainTimeoutMs })
  })
  return { app, manager, routes }
}
