// The service's configuration, read from environment variables.

/**
 * How the service builds its JobManager and where it listens.
 *
 * Environment variables (all optional):
 * - `CLAUDE_BIN`: the Claude Code CLI (default: `claude` on `PATH`)
 * - `CLAUDE_JOBS_DATA_DIR`: logs, working dirs, outputs (default `./claude-jobs-data`)
 * - `MAX_CONCURRENT_JOBS`: a number or `auto` (default 3)
 * - `CLAUDE_JOBS_ISOLATION`: `auto` (default), `required` or `off`
 * - `CLAUDE_JOBS_TEMPLATES_DIR`: extra instruction templates (`*.md`)
 * - `CLAUDE_JOBS_STORE`: the job store URL (default `sqlite://<data dir>/claude-jobs.db`;
 *   `postgres://…` to share one queue between machines, `memory`)
 * - `HOST` (default `127.0.0.1`), `PORT` (default 8000; 0 picks a free port)
 *
 * @typedef {object} Settings
 * @property {string} claudeBin
 * @property {string} dataDir
 * @property {number | 'auto'} maxConcurrent
 * @property {import('claude-jobs').IsolationMode} isolation
 * @property {string | undefined} templatesDir
 * @property {string | undefined} storeUrl
 * @property {string} host
 * @property {number} port
 * @property {number} killGraceMs Between SIGTERM and killing a stopped job's whole cgroup.
 * @property {number} drainTimeoutMs How long running jobs may finish when the service stops.
 * @property {Record<string, string>} jobEnv Extra environment for every job's CLI (not settable per request).
 */

/** @type {Settings} */
export const DEFAULTS = Object.freeze({
  claudeBin: 'claude',
  dataDir: 'claude-jobs-data',
  maxConcurrent: 3,
  isolation: 'auto',
  templatesDir: undefined,
  storeUrl: undefined,
  host: '127.0.0.1',
  port: 8000,
  killGraceMs: 10_000,
  drainTimeoutMs: 30_000,
  jobEnv: {},
})

/**
 * Settings from `env`. A bad `MAX_CONCURRENT_JOBS` or `CLAUDE_JOBS_ISOLATION`
 * is passed on as written: the binding refuses it, naming the option.
 *
 * @param {NodeJS.ProcessEnv} [env]
 * @returns {Settings}
 */
export function settingsFromEnv(env = process.env) {
  const rawMax = (env.MAX_CONCURRENT_JOBS ?? '').trim()
  const rawPort = (env.PORT ?? '').trim()
  const port = rawPort === '' ? DEFAULTS.port : Number(rawPort)
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`PORT must be a port number (0-65535), got ${JSON.stringify(env.PORT)}`)
  }
  return {
    ...DEFAULTS,
    claudeBin: env.CLAUDE_BIN || DEFAULTS.claudeBin,
    dataDir: env.CLAUDE_JOBS_DATA_DIR || DEFAULTS.dataDir,
    maxConcurrent: rawMax === '' ? DEFAULTS.maxConcurrent : /^\d+$/.test(rawMax) ? Number(rawMax) : /** @type {'auto'} */ (rawMax),
    isolation: /** @type {import('claude-jobs').IsolationMode} */ (env.CLAUDE_JOBS_ISOLATION || DEFAULTS.isolation),
    templatesDir: env.CLAUDE_JOBS_TEMPLATES_DIR || undefined,
    storeUrl: env.CLAUDE_JOBS_STORE || undefined,
    host: env.HOST || DEFAULTS.host,
    port,
  }
}
