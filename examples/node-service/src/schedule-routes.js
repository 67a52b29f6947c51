// Schedules (issue 21): a cron expression and a job request; at each tick
// the manager submits one job, labelled `schedule=<name>`. Bodies are
// camelCase like every body of this service (`catchUp`; FastAPI's
// `catch_up` is taken too), the spec a job request as `POST /api/jobs`
// takes it. With API keys a schedule's jobs are the key's tenant's, and a
// tenant sees and removes only its own schedules.

import { ClaudeJobsError } from 'claude-jobs'
import { FIELD_CODES, location, ScheduleTaken } from './errors.js'
import { jobRequest, RequestError, Spelling, toSnake } from './request.js'
import { hiddenInput } from './routes.js'

/**
 * @typedef {import('fastify').FastifyRequest} Request
 * @typedef {import('fastify').FastifyReply} Reply
 * @typedef {import('claude-jobs').JobManager} JobManager
 * @typedef {import('claude-jobs').Schedule} Schedule
 * @typedef {{ name: string }} NameParams
 */

/** The fields of a schedule body, as the binding spells them. */
const SCHEDULE_FIELDS = Object.freeze(['name', 'cron', 'timezone', 'catchUp', 'spec'])

/**
 * A schedule body read: the binding's arguments and how the body spelled
 * its keys (`used`: field → key) and the spec's (`spelling`).
 *
 * @typedef {{
 *   name: unknown,
 *   cron: unknown,
 *   spec: import('claude-jobs').JobSpec,
 *   options: import('claude-jobs').ScheduleOptions,
 *   used: Map<string, string>,
 *   spelling: Spelling,
 * }} ScheduleRequest
 */

/**
 * Checks a schedule body's shape (`{ cron, timezone?, catchUp?, spec }`,
 * plus `name` when the path has none); the values are checked by the
 * binding and the core, which name the field at fault.
 *
 * @param {unknown} body
 * @param {string | undefined} pathName The `:name` of the path, if any.
 * @returns {ScheduleRequest}
 */
export function scheduleRequest(body, pathName) {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new RequestError(422, ['body'], 'the body must be a JSON object', 'object_expected')
  }
  /** @type {Record<string, unknown>} */
  const fields = {}
  /** @type {Map<string, string>} */
  const used = new Map()
  const known = pathName === undefined ? SCHEDULE_FIELDS : SCHEDULE_FIELDS.filter((f) => f !== 'name')
  for (const [key, value] of Object.entries(body)) {
    const field = known.find((f) => f === key || toSnake(f) === key)
    if (field === undefined) {
      throw new RequestError(422, ['body', key], `unknown field ${key} (known: ${known.join(', ')}; or their snake_case)`, 'extra_forbidden')
    }
    const earlier = used.get(field)
    if (earlier !== undefined) {
      throw new RequestError(422, ['body', key], `${earlier} and ${key} are the same field: give one`, 'duplicate_field')
    }
    used.set(field, key)
    fields[field] = value
  }
  for (const field of pathName === undefined ? ['name', 'cron', 'spec'] : ['cron', 'spec']) {
    if (fields[field] === undefined || fields[field] === null) {
      throw new RequestError(422, ['body', field], `${field}: field required`, 'missing')
    }
  }
  let read
  try {
    read = jobRequest(fields.spec)
  } catch (err) {
    // The spec's own errors point inside it.
    if (err instanceof RequestError) throw new RequestError(err.status, ['body', used.get('spec') ?? 'spec', ...err.loc.slice(1)], err.message, err.type)
    throw err
  }
  /** @type {import('claude-jobs').ScheduleOptions} */
  const options = {}
  if (fields.timezone !== undefined) options.timezone = /** @type {string} */ (fields.timezone)
  if (fields.catchUp !== undefined) options.catchUp = /** @type {import('claude-jobs').CatchUp} */ (fields.catchUp)
  return {
    name: pathName ?? fields.name,
    cron: fields.cron,
    spec: read.spec,
    options,
    used,
    spelling: read.spelling,
  }
}

/**
 * A binding error about a schedule request, pointed at the field as the
 * request spelled it: 422 for a bad field, else the error itself (the app's
 * error handler answers it).
 *
 * @param {unknown} err
 * @param {ScheduleRequest} req
 * @param {boolean} nameInPath
 * @returns {unknown}
 */
function scheduleError(err, req, nameInPath) {
  if (!(err instanceof ClaudeJobsError) || !FIELD_CODES.has(err.code) || !err.field) return err
  const field = err.field
  const type = err.code.toLowerCase()
  if (field === 'name' && nameInPath) return new RequestError(422, ['path', 'name'], err.message, type)
  if (SCHEDULE_FIELDS.includes(field) && field !== 'spec') {
    const key = req.used.get(field) ?? field
    const msg = key === field ? err.message : err.message.replace(new RegExp(`\\b${field}\\b`, 'g'), key)
    return new RequestError(422, ['body', key], msg, type)
  }
  const msg = req.spelling.message(err.message, field)
  return new RequestError(422, ['body', req.used.get('spec') ?? 'spec', ...location(err, req.spelling).slice(1)], msg, type)
}

/**
 * The caller's view: with API keys only its tenant's schedules.
 *
 * @param {Request} request
 * @param {Schedule} schedule
 */
function visible(request, schedule) {
  return request.tenant === null || schedule.spec.tenant === request.tenant
}

/**
 * Registers the schedule routes on `app`, served by `manager`.
 *
 * @param {import('fastify').FastifyInstance} app
 * @param {JobManager} manager
 */
export function addScheduleRoutes(app, manager) {
  /**
   * Creates or replaces a schedule for the caller's tenant.
   *
   * @param {Request} request
   * @param {string | undefined} pathName
   */
  async function put(request, pathName) {
    const req = scheduleRequest(request.body, pathName)
    request.spelling = req.spelling
    if (request.tenant !== null) {
      req.spec.tenant = request.tenant
      // A name is one schedule in the store: another tenant's is not replaced.
      const theirs = (await manager.schedules()).find((s) => s.name === req.name && !visible(request, s))
      if (theirs) throw new ScheduleTaken(theirs.name)
      // Each tick's job reads its `inputs`' outputs: only the tenant's own jobs.
      const hidden = await hiddenInput(manager, request, req.spec.inputs)
      if (hidden !== undefined) {
        const key = req.spelling.of('inputs')
        throw new RequestError(422, ['body', req.used.get('spec') ?? 'spec', key], `invalid ${key}: unknown job ${hidden}`, 'invalid_spec')
      }
    }
    try {
      return await manager.schedule(/** @type {string} */ (req.name), /** @type {string} */ (req.cron), req.spec, req.options)
    } catch (err) {
      throw scheduleError(err, req, pathName !== undefined)
    }
  }

  /** The caller's schedules, sorted by name: `{ schedules }`. */
  app.get('/api/schedules', async (request) => ({
    schedules: (await manager.schedules()).filter((s) => visible(request, s)),
  }))

  /** Creates or replaces schedule `name` → 200 and the schedule. */
  app.put('/api/schedules/:name', async (request, reply) => {
    const { name } = /** @type {NameParams} */ (request.params)
    return reply.code(200).send(await put(request, name))
  })

  /** The same with `name` in the body → 201 and the schedule. */
  app.post('/api/schedules', async (request, reply) => reply.code(201).send(await put(request, undefined)))

  /** Removes schedule `name` → 204, or 404 when the caller has none of that name. */
  app.delete('/api/schedules/:name', async (request, reply) => {
    const { name } = /** @type {NameParams} */ (request.params)
    if (request.tenant !== null) {
      const mine = (await manager.schedules()).some((s) => s.name === name && visible(request, s))
      if (!mine) return reply.code(404).send(scheduleNotFound(name))
    }
    if (!(await manager.unschedule(name))) return reply.code(404).send(scheduleNotFound(name))
    return reply.code(204).send()
  })
}

/**
 * The 404 body for schedule `name`: the same for an unknown name and another tenant's.
 *
 * @param {string} name
 */
export function scheduleNotFound(name) {
  return { detail: `schedule ${name} not found` }
}
