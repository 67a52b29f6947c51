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
 * - `CLAUDE_JOBS_MEMORY_BUDGET`: `auto` (default: available memory − 2 GiB), `off` or a size
 *   (`8G`); a job starts only when the memory caps of the running jobs plus its own fit
 * - `CLAUDE_JOBS_CPU_BUDGET`: `off` (default), `auto` (the host's CPUs) or a number of cores
 * - `HOST` (default `127.0.0.1`), `PORT` (default 8000; 0 picks a free port)
 *
 * @typedef {object} Settings
 * @property {string} claudeBin
 * @property {string} dataDir
 * @property {number | 'auto'} maxConcurrent
 * @property {import('claude-jobs').IsolationMode} isolation
 * @property {string | undefined} templatesDir
 * @property {string | undefined} storeUrl
 * @property {import('claude-jobs').JobManagerOptions['memoryBudget']} memoryBudget Unset: the binding's default (`auto`).
 * @property {import('claude-jobs').JobManagerOptions['cpuBudget']} cpuBudget Unset: the binding's default (`off`).
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
  memoryBudget: undefined,
  cpuBudget: undefined,
  host: '127.0.0.1',
  port: 8000,
  killGraceMs: 10_000,
  drainTimeoutMs: 30_000,
  jobEnv: {},
})

/**
 * Settings from `env`. A bad `MAX_CONCURRENT_JOBS`, `CLAUDE_JOBS_ISOLATION`,
 * `CLAUDE_JOBS_MEMORY_BUDGET` or `CLAUDE_JOBS_CPU_BUDGET` is passed on as
 * written: the binding refuses it, naming the option.
 *
 * @param {NodeJS.ProcessEnv} [env]
 * @returns {Settings}
 */
export function settingsFromEnv(env = process.env) {
  const rawMax = (env.MAX_CONCURRENT_JOBS ?? '').trim()
  const rawPort = (env.PORT ?? '').trim()
  const rawCpuBudget = (env.CLAUDE_JOBS_CPU_BUDGET ?? '').trim()
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
    memoryBudget: env.CLAUDE_JOBS_MEMORY_BUDGET?.trim() || undefined,
    cpuBudget:
      rawCpuBudget === ''
        ? undefined
        : /^\d+(\.\d+)?$/.test(rawCpuBudget)
          ? Number(rawCpuBudget)
          : /** @type {'auto' | 'off'} */ (rawCpuBudget),
    host: env.HOST || DEFAULTS.host,
    port,
  }
}
