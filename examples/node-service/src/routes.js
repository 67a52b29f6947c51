// The job API: submit, list, get, logs, outputs, events, cancel, resume.
// With API keys a tenant sees only its own jobs: another tenant's id is
// answered as an unknown one (also as a job's `inputs`).

import path from 'node:path'
import { ClaudeJobsError } from 'claude-jobs'
import { JobNotVisible } from './errors.js'
import { jobLogs, LOG_TAIL_BYTES } from './logs.js'
import { jobRequest, queryCount, RequestError } from './request.js'
import { streamEvents } from './sse.js'

/**
 * @typedef {{ id: string }} IdParams
 * @typedef {Record<string, string | undefined>} Query
 * @typedef {import('fastify').FastifyRequest} Request
 * @typedef {import('fastify').FastifyReply} Reply
 * @typedef {import('claude-jobs').JobManager} JobManager
 */

/**
 * The job `id` if the caller may see it: 404 (`JOB_NOT_FOUND`, or
 * `JobNotVisible` shaped the same) otherwise.
 *
 * @param {JobManager} manager
 * @param {Request} request
 * @param {string} id
 */
async function visibleJob(manager, request, id) {
  const job = await manager.get(id)
  if (request.tenant !== null && job.info().tenant !== request.tenant) throw new JobNotVisible(id)
  return job
}

/**
 * The first job id among `inputs` (template variable → job id) that the
 * caller may not see (another tenant's, or unknown), or `undefined`. Its
 * output would become the caller's prompt: such an id is refused exactly as
 * the core refuses an unknown one. Without API keys the core checks them.
 *
 * @param {JobManager} manager
 * @param {Request} request
 * @param {unknown} inputs
 * @returns {Promise<string | undefined>}
 */
export async function hiddenInput(manager, request, inputs) {
  if (request.tenant === null || inputs === null || typeof inputs !== 'object' || Array.isArray(inputs)) return undefined
  for (const id of Object.values(inputs)) {
    if (typeof id !== 'string' || id === '') continue // the binding names a bad value
    try {
      await visibleJob(manager, request, id)
    } catch (err) {
      if (err instanceof JobNotVisible || (err instanceof ClaudeJobsError && err.code === 'JOB_NOT_FOUND')) return id
      throw err
    }
  }
  return undefined
}

/** The content type of an output file: markdown for `.md`, else plain text. */
export function outputType(/** @type {string} */ name) {
  const ext = path.extname(name).toLowerCase()
  return ext === '.md' || ext === '.markdown' ? 'text/markdown; charset=utf-8' : 'text/plain; charset=utf-8'
}

/**
 * Submits the job request `body` (plus `extra`) for the caller's tenant,
 * with the `Idempotency-Key` header's key: 201, `Location` and the job (the
 * first one again for a repeated key).
 *
 * @param {JobManager} manager
 * @param {Request} request
 * @param {Reply} reply
 * @param {{ resume?: string }} [extra]
 */
async function submit(manager, request, reply, extra = {}) {
  const { spec, spelling } = jobRequest(request.body, { resume: extra.resume === undefined })
  request.spelling = spelling
  const key = request.headers['idempotency-key']
  if (typeof key === 'string') spec.idempotencyKey = key
  if (request.tenant !== null) spec.tenant = request.tenant
  const hidden = await hiddenInput(manager, request, spec.inputs)
  if (hidden !== undefined) {
    const key = spelling.of('inputs')
    throw new RequestError(422, ['body', key], `invalid ${key}: unknown job ${hidden}`, 'invalid_spec')
  }
  let job
  try {
    job = await manager.submit({ ...spec, ...extra })
  } catch (err) {
    // The job to resume is the path's (a running one cannot be resumed yet).
    if (extra.resume !== undefined && err instanceof ClaudeJobsError && err.code === 'INVALID_SPEC' && err.field === 'resume') {
      throw new RequestError(422, ['path', 'id'], err.message, 'invalid_spec')
    }
    throw err
  }
  return reply.code(201).header('location', `/api/jobs/${job.id}`).send(job.info())
}

/**
 * Registers the job routes on `app`, served by `manager`.
 *
 * @param {import('fastify').FastifyInstance} app
 * @param {JobManager} manager
 * @param {{ keepAliveMs?: number }} [options]
 */
export function addJobRoutes(app, manager, options = {}) {
  /** Submit: a template and its variables, or a prompt; → 201 and the job. */
  app.post('/api/jobs', async (request, reply) => submit(manager, request, reply))

  /**
   * Resume: a job request (a prompt or a template, optional `forkSession`
   * and overrides) that continues job `id`'s session → 201 and the new job.
   */
  app.post('/api/jobs/:id/resume', async (request, reply) => {
    const { id } = /** @type {IdParams} */ (request.params)
    await visibleJob(manager, request, id)
    return submit(manager, request, reply, { resume: id })
  })

  /**
   * One page of the caller's jobs, newest first: `{ jobs, nextCursor }`.
   * `?state=&template=&label=key=value&limit=&cursor=` filter and page; the
   * core checks them (422 naming the parameter).
   */
  app.get('/api/jobs', async (request) => {
    const { state, template, label, limit, cursor } = /** @type {Query} */ (request.query)
    const query = {
      state: /** @type {import('claude-jobs').JobState | undefined} */ (state),
      template,
      label,
      limit: limit === undefined ? undefined : queryCount(limit, 'limit', 0),
      cursor,
      tenant: request.tenant ?? undefined,
    }
    try {
      return await manager.list(query)
    } catch (err) {
      if (err instanceof ClaudeJobsError && err.code === 'INVALID_SPEC') {
        throw new RequestError(422, ['query', err.field ?? 'query'], err.message, 'invalid_spec')
      }
      throw err
    }
  })

  /** One job: state, result, cost, usage, session id, peak memory, … */
  app.get('/api/jobs/:id', async (request) => {
    const { id } = /** @type {IdParams} */ (request.params)
    return (await visibleJob(manager, request, id)).info()
  })

  /**
   * The CLI's stdout and stderr logs, as text (the last `tailBytes` of each):
   * with the `db` artifact store whichever machine runs the job, live.
   */
  app.get('/api/jobs/:id/logs', async (request, reply) => {
    const { id } = /** @type {IdParams} */ (request.params)
    const tailBytes = queryCount(/** @type {Query} */ (request.query).tailBytes, 'tailBytes', LOG_TAIL_BYTES)
    await visibleJob(manager, request, id)
    return reply.type('text/plain; charset=utf-8').send(await jobLogs(manager, id, tailBytes))
  })

  /** The job's collected output files: `{ outputs: [{ name, size, sha256 }] }`. */
  app.get('/api/jobs/:id/outputs', async (request) => {
    const { id } = /** @type {IdParams} */ (request.params)
    await visibleJob(manager, request, id)
    return { outputs: await manager.outputs(id) }
  })

  /**
   * One output file's bytes, by name (one of `/outputs`: looked up, never
   * joined to a path); 404 when the job has no output of that name.
   */
  app.get('/api/jobs/:id/outputs/:name', async (request, reply) => {
    const { id, name } = /** @type {{ id: string, name: string }} */ (request.params)
    await visibleJob(manager, request, id)
    const bytes = await manager.readOutput(id, name)
    if (bytes === null) {
      return reply.code(404).send({ detail: `job ${id} has no output file named ${JSON.stringify(name)}`, code: 'OUTPUT_NOT_FOUND' })
    }
    return reply
      .type(outputType(name))
      .headers({ 'x-content-type-options': 'nosniff', 'content-disposition': 'inline' })
      .send(bytes)
  })

  /** Server-sent events: replay then live; `Last-Event-ID` or `?after=` resumes. */
  app.get('/api/jobs/:id/events', async (request, reply) => {
    const { id } = /** @type {IdParams} */ (request.params)
    let after = queryCount(/** @type {Query} */ (request.query).after, 'after', 0)
    const lastEventId = request.headers['last-event-id']
    if (typeof lastEventId === 'string' && /^\d+$/.test(lastEventId.trim())) {
      after = Math.max(after, Number(lastEventId.trim()))
    }
    const job = await visibleJob(manager, request, id) // 404 before the stream starts
    reply.hijack()
    await streamEvents(reply.raw, job, after, options)
  })

  /** Cancel: `{ id, cancelled, state }` (`cancelled` is false for a finished job). */
  app.delete('/api/jobs/:id', async (request) => {
    const { id } = /** @type {IdParams} */ (request.params)
    const job = await visibleJob(manager, request, id)
    const cancelled = await job.cancel()
    return { id: job.id, cancelled, state: job.state }
  })
}
