// Job request bodies → the binding's JobSpec. Every field may be spelled in
// camelCase (the binding's, as this service always took them) or in
// snake_case (the FastAPI example's); `timeout` and `idle_timeout` are
// FastAPI's durations in seconds. Errors name a field as the request spelled it.

/** The fields a job request may set, as the binding spells them. */
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
  'inputs',
  'maxAttempts',
  'disallowedTools',
  'permissionMode',
  'systemPrompt',
  'appendSystemPrompt',
  'mcpServers',
  'addDirs',
  'settings',
  'settingSources',
  'fallbackModel',
  'effort',
  'jsonSchema',
  'resume',
  'forkSession',
  'webhookUrl',
])

/** FastAPI's durations in seconds → the binding's field in milliseconds. */
const SECONDS = Object.freeze({ timeout: 'timeoutMs', idle_timeout: 'idleTimeoutMs' })

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
 * `allowedTools` → `allowed_tools`.
 *
 * @param {string} camel
 */
export function toSnake(camel) {
  return camel.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)
}

/**
 * The binding's name of a request key, or undefined if the key is unknown.
 *
 * @param {string} key
 */
function canonical(key) {
  if (JOB_REQUEST_FIELDS.includes(key)) return key
  if (Object.hasOwn(SECONDS, key)) return SECONDS[/** @type {keyof typeof SECONDS} */ (key)]
  return JOB_REQUEST_FIELDS.find((f) => toSnake(f) === key)
}

/**
 * How a request spelled its fields: names a binding field (`allowedTools`,
 * `timeoutMs.x`) as the request did (`allowed_tools`, `timeout.x`). A field
 * the request did not give is spelled in its style (snake_case when it used
 * any snake_case key).
 */
export class Spelling {
  /** @param {Map<string, string>} used @param {boolean} snake */
  constructor(used = new Map(), snake = false) {
    this.used = used
    this.snake = snake
  }

  /** @param {string} field */
  of(field) {
    const [head, ...rest] = field.split('.')
    const spelled = this.used.get(head) ?? (this.snake && JOB_REQUEST_FIELDS.includes(head) ? toSnake(head) : head)
    return [spelled, ...rest].join('.')
  }

  /**
   * A message about `field` with the field's name as the request spelled it.
   *
   * @param {string} message
   * @param {string} field
   */
  message(message, field) {
    const head = field.split('.')[0]
    const spelled = this.of(head)
    return spelled === head ? message : message.replace(new RegExp(`\\b${head}\\b`, 'g'), spelled)
  }
}

/**
 * Checks a job request's shape and turns it into a JobSpec, with how it was
 * spelled. The values are checked by the binding, the core and the policy,
 * which name the field at fault; per-job environment, working dir, user and
 * CLI arguments are not settable over HTTP, nor the tenant (it is the API key's).
 *
 * @param {unknown} body
 * @param {{ resume?: boolean }} [options] `resume: false`: the route sets it (refused in the body).
 * @returns {{ spec: import('claude-jobs').JobSpec, spelling: Spelling }}
 */
export function jobRequest(body, { resume = true } = {}) {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new RequestError(422, ['body'], 'the body must be a JSON object', 'object_expected')
  }
  /** @type {Record<string, unknown>} */
  const spec = {}
  /** @type {Map<string, string>} */
  const used = new Map()
  let snake = false
  for (const [key, value] of Object.entries(body)) {
    if (key === 'tenant') {
      throw new RequestError(422, ['body', key], 'tenant: a request may not choose it (it is the API key\'s)', 'extra_forbidden')
    }
    const field = canonical(key)
    if (field === undefined || (field === 'resume' && !resume)) {
      const known = resume ? JOB_REQUEST_FIELDS : JOB_REQUEST_FIELDS.filter((f) => f !== 'resume')
      throw new RequestError(422, ['body', key], `unknown field ${key} (known: ${known.join(', ')}; or their snake_case)`, 'extra_forbidden')
    }
    const earlier = used.get(field)
    if (earlier !== undefined) {
      throw new RequestError(422, ['body', key], `${earlier} and ${key} are the same field: give one`, 'duplicate_field')
    }
    used.set(field, key)
    if (key !== field) snake = true
    spec[field] = Object.hasOwn(SECONDS, key) && typeof value === 'number' ? value * 1000 : value
  }
  return { spec: /** @type {import('claude-jobs').JobSpec} */ (spec), spelling: new Spelling(used, snake) }
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
