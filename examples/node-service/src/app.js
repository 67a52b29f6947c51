// The job service: a Fastify app over one claude-jobs JobManager.

import Fastify from 'fastify'
import { JobManager } from 'claude-jobs'
import { errorReply } from './errors.js'
import { addRoutes } from './routes.js'

/**
 * The app and its manager. The manager is shut down (running jobs get
 * `settings.drainTimeoutMs` to finish) when the app starts closing.
 *
 * @param {import('./settings.js').Settings} settings
 * @param {{ logger?: boolean, keepAliveMs?: number }} [options]
 */
export async function createApp(settings, { logger = false, keepAliveMs } = {}) {
  const manager = await JobManager.create({
    claudeBin: settings.claudeBin,
    dataDir: settings.dataDir,
    maxConcurrent: settings.maxConcurrent,
    isolation: settings.isolation,
    killGraceMs: settings.killGraceMs,
    env: settings.jobEnv,
    ...(settings.templatesDir ? { templatesDir: settings.templatesDir } : {}),
    ...(settings.storeUrl ? { storeUrl: settings.storeUrl } : {}),
    ...(settings.memoryBudget !== undefined ? { memoryBudget: settings.memoryBudget } : {}),
    ...(settings.cpuBudget !== undefined ? { cpuBudget: settings.cpuBudget } : {}),
  })
  const app = Fastify({ logger })
  app.setErrorHandler(async (err, request, reply) => {
    const { status, body } = errorReply(err)
    if (status >= 500) request.log.error(err)
    return reply.code(status).send(body)
  })
  app.setNotFoundHandler(async (request, reply) =>
    reply.code(404).send({ detail: `no route ${request.method} ${request.url}` }),
  )
  addRoutes(app, manager, keepAliveMs === undefined ? {} : { keepAliveMs })
  // Before the server closes: open event streams end when their jobs do.
  app.addHook('preClose', async () => {
    await manager.shutdown({ drainTimeoutMs: settings.drainTimeoutMs })
  })
  return { app, manager }
}
