// The service's configuration, read from environment variables.

import { readFileSync } from 'node:fs'
import { isIP } from 'node:net'

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
 * - `CLAUDE_JOBS_ARTIFACT_STORE`: where logs and outputs are kept: `local` (default: the data dir
 *   of the machine that ran the job) or `db` (the job store, so every service sharing it serves them)
 * - `CLAUDE_JOBS_MEMORY_BUDGET`: `auto` (default: available memory − 2 GiB), `off` or a size
 *   (`8G`); a job starts only when the memory caps of the running jobs plus its own fit
 * - `CLAUDE_JOBS_CPU_BUDGET`: `off` (default), `auto` (the host's CPUs) or a number of cores
 * - `HOST` (default `127.0.0.1`), `PORT` (default 8000; 0 picks a free port); without
 *   `CLAUDE_JOBS_API_KEYS_FILE` only a loopback `HOST` is accepted
 * - `CLAUDE_JOBS_API_KEYS_FILE`: `tenant:sha256hex-of-key` lines (see keys.js); unset: no
 *   authentication and no tenants
 * - `CLAUDE_JOBS_POLICY_FILE`: the policy YAML jobs are checked against (default: the core's
 *   built-in `safe` policy)
 * - `CLAUDE_JOBS_METRICS_PUBLIC=1`: `/metrics` without a key
 * - `CLAUDE_JOBS_WEBHOOK_SECRET`: signs webhook deliveries
 *
 * Each of these, and `ANTHROPIC_API_KEY`, may be given as `NAME_FILE`: the path of a file
 * holding the value (container secrets); see `readFileVariables`.
 *
 * @typedef {object} Settings
 * @property {string} claudeBin
 * @property {string} dataDir
 * @property {number | 'auto'} maxConcurrent
 * @property {import('claude-jobs').IsolationMode} isolation
 * @property {string | undefined} templatesDir
 * @property {string | undefined} storeUrl
 * @property {'local' | 'db'} artifactStore Where logs and outputs are kept (another value is refused by the binding, naming it).
 * @property {import('claude-jobs').JobManagerOptions['memoryBudget']} memoryBudget Unset: the binding's default (`auto`).
 * @property {import('claude-jobs').JobManagerOptions['cpuBudget']} cpuBudget Unset: the binding's default (`off`).
 * @property {string} host
 * @property {number} port
 * @property {number} killGraceMs Between SIGTERM and killing a stopped job's whole cgroup.
 * @property {number} drainTimeoutMs How long running jobs may finish when the service stops.
 * @property {Record<string, string>} jobEnv Extra environment for every job's CLI (not settable per request).
 * @property {string | undefined} keysFile The API keys file; unset: no authentication.
 * @property {string} policy `safe` or the path of a policy YAML file.
 * @property {boolean} metricsPublic Serve `/metrics` without a key.
 * @property {string | undefined} webhookSecret Signs webhook deliveries.
 */

/** @type {Settings} */
export const DEFAULTS = Object.freeze({
  claudeBin: 'claude',
  dataDir: 'claude-jobs-data',
  maxConcurrent: 3,
  isolation: 'auto',
  templatesDir: undefined,
  storeUrl: undefined,
  artifactStore: 'local',
  memoryBudget: undefined,
  cpuBudget: undefined,
  host: '127.0.0.1',
  port: 8000,
  killGraceMs: 10_000,
  drainTimeoutMs: 30_000,
  jobEnv: {},
  keysFile: undefined,
  policy: 'safe',
  metricsPublic: false,
  webhookSecret: undefined,
})

/**
 * Settings from `env`. A bad `MAX_CONCURRENT_JOBS`, `CLAUDE_JOBS_ISOLATION`,
 * `CLAUDE_JOBS_ARTIFACT_STORE`, `CLAUDE_JOBS_MEMORY_BUDGET` or `CLAUDE_JOBS_CPU_BUDGET` is passed on as
 * written: the binding refuses it, naming the option.
 *
 * @param {NodeJS.ProcessEnv} [env]
 * @returns {Settings}
 */
export function settingsFromEnv(env = process.env) {
  readFileVariables(env)
  const rawMax = (env.MAX_CONCURRENT_JOBS ?? '').trim()
  const rawPort = (env.PORT ?? '').trim()
  const rawCpuBudget = (env.CLAUDE_JOBS_CPU_BUDGET ?? '').trim()
  const port = rawPort === '' ? DEFAULTS.port : Number(rawPort)
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`PORT must be a port number (0-65535), got ${JSON.stringify(env.PORT)}`)
  }
  /** @type {Settings} */
  const settings = {
    ...DEFAULTS,
    claudeBin: env.CLAUDE_BIN || DEFAULTS.claudeBin,
    dataDir: env.CLAUDE_JOBS_DATA_DIR || DEFAULTS.dataDir,
    maxConcurrent: rawMax === '' ? DEFAULTS.maxConcurrent : /^\d+$/.test(rawMax) ? Number(rawMax) : /** @type {'auto'} */ (rawMax),
    isolation: /** @type {import('claude-jobs').IsolationMode} */ (env.CLAUDE_JOBS_ISOLATION || DEFAULTS.isolation),
    templatesDir: env.CLAUDE_JOBS_TEMPLATES_DIR || undefined,
    storeUrl: env.CLAUDE_JOBS_STORE || undefined,
    artifactStore: /** @type {'local' | 'db'} */ (env.CLAUDE_JOBS_ARTIFACT_STORE?.trim() || DEFAULTS.artifactStore),
    memoryBudget: env.CLAUDE_JOBS_MEMORY_BUDGET?.trim() || undefined,
    cpuBudget:
      rawCpuBudget === ''
        ? undefined
        : /^\d+(\.\d+)?$/.test(rawCpuBudget)
          ? Number(rawCpuBudget)
          : /** @type {'auto' | 'off'} */ (rawCpuBudget),
    host: env.HOST || DEFAULTS.host,
    port,
    keysFile: env.CLAUDE_JOBS_API_KEYS_FILE || undefined,
    policy: env.CLAUDE_JOBS_POLICY_FILE || DEFAULTS.policy,
    metricsPublic: (env.CLAUDE_JOBS_METRICS_PUBLIC ?? '').trim() === '1',
    webhookSecret: env.CLAUDE_JOBS_WEBHOOK_SECRET || undefined,
  }
  checkListenAddress(settings)
  return settings
}

/**
 * Refuses to serve a non-loopback address without API keys: anyone who can
 * reach the service could run jobs.
 *
 * @param {Pick<Settings, 'host' | 'keysFile'>} settings
 */
export function checkListenAddress({ host, keysFile }) {
  if (keysFile || isLoopback(host)) return
  throw new Error(
    `refusing to listen on ${host} without CLAUDE_JOBS_API_KEYS_FILE: anyone who can reach it could run jobs; ` +
      'set HOST=127.0.0.1 (or another loopback address) or configure API keys',
  )
}

/**
 * Whether `host` is a loopback address: 127.0.0.0/8, ::1 (also IPv4-mapped) or `localhost`.
 *
 * @param {string} host
 */
export function isLoopback(host) {
  const h = host.trim().toLowerCase().replace(/^\[(.*)\]$/, '$1')
  if (h === 'localhost') return true
  const v4 = h.startsWith('::ffff:') && isIP(h.slice(7)) === 4 ? h.slice(7) : h
  if (isIP(v4) === 4) return v4.split('.')[0] === '127'
  if (isIP(h) === 6) return /^(0{0,4}:){2,7}0{0,3}1$/.test(h) || h === '::1'
  return false
}

/** The variables that may be given as `NAME_FILE` (a file holding the value). */
export const FILE_VARIABLES = Object.freeze([
  'ANTHROPIC_API_KEY',
  'ANTHROPIC_AUTH_TOKEN',
  'CLAUDE_BIN',
  'CLAUDE_JOBS_DATA_DIR',
  'MAX_CONCURRENT_JOBS',
  'CLAUDE_JOBS_ISOLATION',
  'CLAUDE_JOBS_TEMPLATES_DIR',
  'CLAUDE_JOBS_STORE',
  'CLAUDE_JOBS_ARTIFACT_STORE',
  'CLAUDE_JOBS_MEMORY_BUDGET',
  'CLAUDE_JOBS_CPU_BUDGET',
  'HOST',
  'PORT',
  'CLAUDE_JOBS_API_KEYS_FILE',
  'CLAUDE_JOBS_POLICY_FILE',
  'CLAUDE_JOBS_METRICS_PUBLIC',
  'CLAUDE_JOBS_WEBHOOK_SECRET',
])

/**
 * Sets `NAME` in `env` from the file named by `NAME_FILE` (Docker and compose secrets,
 * `/run/secrets/…`), for each name of `FILE_VARIABLES`; the trailing newline is dropped.
 * On `process.env`, `ANTHROPIC_API_KEY` then reaches the jobs like a plain variable.
 * Setting both `NAME` and `NAME_FILE` is an error, as is a file that cannot be read.
 *
 * @param {NodeJS.ProcessEnv} env
 */
export function readFileVariables(env) {
  for (const name of FILE_VARIABLES) {
    const path = env[`${name}_FILE`]
    if (!path) continue
    if (env[name]) throw new Error(`both ${name} and ${name}_FILE are set: set one`)
    try {
      env[name] = readFileSync(path, 'utf8').replace(/[\r\n]+$/, '')
    } catch (err) {
      throw new Error(`${name}_FILE: cannot read ${path}: ${/** @type {Error} */ (err).message}`)
    }
  }
}
