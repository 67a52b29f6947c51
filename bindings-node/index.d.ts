/**
 * claude-jobs: run Claude Code CLI jobs as OS processes, each in its own
 * Linux cgroup with CPU, memory and process caps; a bounded number at once,
 * the rest queued. A camelCase, Promise-based mirror of the Rust core.
 *
 * ```ts
 * import { JobManager } from 'claude-jobs'
 * const manager = new JobManager({ maxConcurrent: 3, isolation: 'auto' })
 * const job = await manager.submit({ prompt: 'Say hello', cpus: 0.5, memory: '512M', timeoutMs: 60_000 })
 * for await (const ev of job.events()) if (ev.type === 'assistant_text') console.log(ev.text)
 * const info = await job.wait()
 * console.log(info.state, info.result, info.costUsd, info.stats.peakMemoryBytes)
 * await manager.shutdown()
 * ```
 */

// ---------------------------------------------------------------- errors

/** The stable error codes (the core's `ErrorKind::code()`). */
export type ErrorCode =
  | 'INVALID_SPEC'
  | 'JOB_NOT_FOUND'
  | 'SPAWN_FAILED'
  | 'ISOLATION_FAILED'
  | 'TEMPLATE_ERROR'
  | 'STORE_ERROR'
  | 'SHUTTING_DOWN'
  | 'CAPACITY_EXCEEDED'
  | 'IO_ERROR'

/** Every `ErrorCode`, in the core's order. */
export declare const ERROR_CODES: readonly ErrorCode[]

/**
 * The one error class of the package: every rejection and throw of this
 * API is a `ClaudeJobsError` (besides plain `TypeError`s for misuse).
 */
export declare class ClaudeJobsError extends Error {
  readonly name: 'ClaudeJobsError'
  /** Stable: branch on this, never on the message. */
  readonly code: ErrorCode
  /**
   * The option or spec field at fault, spelled as in JS (`'memory'`,
   * `'timeoutMs'`, `'defaultLimits.cpus'`), or the template variable for
   * `TEMPLATE_ERROR`. Absent when the error is about no field.
   */
  readonly field?: string
  /** The job the error is about (`JOB_NOT_FOUND`). */
  readonly jobId?: string
  private constructor()
}

// ---------------------------------------------------------------- states

/** Where a job is in its life (snake_case, as in the core). */
export type JobState =
  | 'queued'
  | 'running'
  | 'succeeded'
  | 'failed'
  | 'cancelled'
  | 'timed_out'
  | 'oom_killed'
  | 'interrupted'

/** The states a job never leaves. */
export type FinalJobState = Exclude<JobState, 'queued' | 'running'>

/** Every `JobState`, in the core's order. */
export declare const JOB_STATES: readonly JobState[]
/** The final states. */
export declare const FINAL_STATES: readonly FinalJobState[]

/** Whether jobs must (`required`), may (`auto`) or must not (`off`) run in cgroups. */
export type IsolationMode = 'required' | 'auto' | 'off'
/** How a job (or the manager) actually isolates processes. */
export type IsolationKind = 'cgroup-v1' | 'cgroup-v2' | 'none'

// ---------------------------------------------------------------- inputs

/** A byte size: a number of bytes, or a string such as `'512M'`, `'1.5G'` (powers of 1024). */
export type Size = number | string

/** CPU, memory and process caps. */
export interface ResourceLimitsInput {
  /** CPU cores (fractional: `0.5` is half a core). */
  cpus?: number | null
  /** Memory cap (swap off for the job). Minimum 8 MiB. */
  memory?: Size | null
  /** Maximum number of processes and threads. */
  pids?: number | null
}

/** Options of `new JobManager(options)`. Unknown keys are rejected (`INVALID_SPEC`). */
export interface JobManagerOptions {
  /** The CLI executable (default `claude` on `PATH`). */
  claudeBin?: string
  /** Logs, working dirs and the store (default `./claude-jobs-data`). */
  dataDir?: string
  /** Jobs at once (default 3); `'auto'`: floor((available RAM − 2 GiB) / 1.2 GiB), at least 1. */
  maxConcurrent?: number | 'auto'
  /** Default `'auto'`. */
  isolation?: IsolationMode
  /**
   * Memory admission: a job starts only when the memory caps of the running
   * jobs plus its own fit this budget (bytes, or a size such as `'8G'`; at
   * least 8 MiB). Default `'auto'`: the available memory at start-up minus
   * 2 GiB (at least half of it); `'off'`: only `maxConcurrent` limits. A job
   * whose cap exceeds the whole budget is refused at submit (`CAPACITY_EXCEEDED`,
   * `field: 'memory'`). Managers sharing a SQLite store share the budget.
   */
  memoryBudget?: Size | 'auto' | 'off'
  /**
   * CPU admission, like `memoryBudget` for `cpus` caps: a number of cores,
   * `'auto'` (the host's CPUs) or `'off'` (the default: CPU caps are ceilings
   * that the kernel shares out, so overcommitting only slows jobs down).
   */
  cpuBudget?: number | 'auto' | 'off'
  /** Time between SIGTERM and killing the job's whole cgroup (default 10 000). */
  killGraceMs?: number
  /** How long a CLI may linger after printing its result (default 5 000). */
  resultGraceMs?: number
  /** Longest stdout line parsed, in bytes (default 32 MiB; at least 1024). */
  lineCap?: number
  /** Caps for jobs that set none. */
  defaultLimits?: ResourceLimitsInput
  /** Timeout for jobs that set none. */
  defaultTimeoutMs?: number
  /** Idle timeout (no output) for jobs that set none. */
  defaultIdleTimeoutMs?: number
  /** Variables set for every job's CLI. */
  env?: Record<string, string>
  /** More variables passed through from this process's environment. */
  passEnv?: string[]
  /** Stop a job that stays under memory pressure this long (default: never). */
  memoryPressureLimitMs?: number
  /** How often a running job's counters are sampled (default 500). */
  monitorIntervalMs?: number
  /** How often the store is polled for work submitted elsewhere (default 2 000). */
  pollIntervalMs?: number
  /** Give each job its own `CLAUDE_CONFIG_DIR` (default true). */
  perJobConfigDir?: boolean
  /** Events kept in memory per job for replay (default 10 000). */
  eventBuffer?: number
  /** Bytes of events kept in memory per job for replay (default 2 MiB). */
  eventBufferBytes?: number
  /** Extra instruction-template folders (`*.md`). */
  templatesDir?: string | string[]
  /** Make this process the child subreaper (default true). */
  childSubreaper?: boolean
  /**
   * The job store: `sqlite:///path/file.db` (relative: inside the data dir),
   * `postgres://user:pass@host/db` (several machines share one queue) or
   * `memory`. Default `sqlite://<dataDir>/claude-jobs.db`: jobs survive restarts.
   */
  storeUrl?: string
  /** What becomes of jobs that were running when their manager died (default `'interrupt'`). */
  recovery?: 'interrupt' | 'requeue'
  /** How long a claim on a running job lasts without a heartbeat (default 60 000). */
  leaseTtlMs?: number
  /** How often running jobs' leases are renewed (default 10 000; under `leaseTtlMs`). */
  heartbeatIntervalMs?: number
  /** How often the store is searched for jobs whose node died (default 15 000). */
  rescueIntervalMs?: number
  /** How often running jobs' new events are written to the store (default 500). */
  eventFlushIntervalMs?: number
  /** Backoff before a retried attempt: `baseMs · 2^(attempt−1)` with jitter, at most `maxMs` (default 10 s, 10 min). */
  retryBackoff?: { baseMs: number; maxMs: number }
  /** How long finished jobs, logs, outputs are kept, in days (default 30, 7, forever; 0 keeps forever). */
  retention?: { jobsDays?: number; logsDays?: number; outputsDays?: number | null }
  /** This manager's name in the store (default `hostname-pid`); unique among managers sharing a store. */
  nodeId?: string
}

/** What to run: `manager.submit(spec)`. Unknown keys are rejected (`INVALID_SPEC`). */
export interface JobSpec extends ResourceLimitsInput {
  /** The prompt, written to the CLI's stdin. Required unless `template` is set. */
  prompt?: string
  /** An instruction template to render into the prompt. */
  template?: string | null
  /** Template variables. */
  variables?: Record<string, string | number | boolean>
  /** The CLI's working directory (default: a fresh one under the data dir). */
  workingDir?: string | null
  /** Extra environment variables for the CLI. */
  env?: Record<string, string>
  /** `--model`. */
  model?: string | null
  /** `--allowedTools`. */
  allowedTools?: string[]
  /** `--max-turns`. */
  maxTurns?: number | null
  /** `--max-budget-usd`. */
  maxBudgetUsd?: number | null
  /** Extra CLI arguments. */
  extraArgs?: string[]
  /** Wall-clock limit. */
  timeoutMs?: number | null
  /** Stop the job when it prints nothing for this long. */
  idleTimeoutMs?: number | null
  /** Higher runs first; equal priorities in submission order. */
  priority?: number
  /** Free-form labels, kept with the job. */
  labels?: Record<string, string | number | boolean>
  /** Run the job's processes as this user and group. */
  runAs?: { uid: number; gid: number } | null
  /** Ids of jobs that must succeed first. */
  dependsOn?: string[]
  /** Template variables filled from other jobs' outputs: variable → job id (implies `dependsOn`). */
  inputs?: Record<string, string>
  /** The output file to collect (usually set by the template). */
  output?: { file: string; folder: string; name?: string | null } | null
  /**
   * How many times the job may run (default 1: no retry). Attempts that may
   * succeed on another try (no result, API overloaded, node lost) are queued
   * again with backoff while attempts remain.
   */
  maxAttempts?: number
}

// ---------------------------------------------------------------- outputs

/** Token counts reported by the CLI. */
export interface Usage {
  inputTokens: number
  outputTokens: number
  cacheCreationInputTokens: number
  cacheReadInputTokens: number
}

/** Resource use of the job's whole process tree, read from its cgroup. */
export interface ResourceStats {
  peakMemoryBytes: number
  cpuUsageUsec: number
  cpuThrottledUsec: number
  nrThrottled: number
  peakProcesses: number
  memoryCapHits: number
  /** Pages evicted and read back (a sign of thrashing under the memory cap). */
  memoryRefaults: number
  oomKills: number
}

/** The applied caps (memory in bytes); `null` = no cap. */
export interface ResourceLimits {
  cpus: number | null
  memory: number | null
  pids: number | null
}

/** A snapshot of a job: what `wait()`, `info()`, `list()` return. */
export interface JobInfo {
  id: string
  state: JobState
  template: string | null
  labels: Record<string, string>
  priority: number
  /** Unix milliseconds. */
  createdAt: number
  startedAt: number | null
  finishedAt: number | null
  /** Attempt number, from 1 (0 before the first start). */
  attempt: number
  pid: number | null
  isolation: IsolationKind
  exitCode: number | null
  signal: number | null
  /** Why the job did not succeed, in words. */
  error: string | null
  /** The final text of the CLI's result. */
  result: string | null
  costUsd: number | null
  usage: Usage | null
  sessionId: string | null
  numTurns: number | null
  model: string | null
  cliVersion: string | null
  /** API status of a failed result (401, 529, …). */
  apiErrorStatus: number | null
  stats: ResourceStats
  limits: ResourceLimits
  /** `dataDir/jobs/<id>`: stdout.log, stderr.log. */
  logDir: string | null
  /** Files collected from the job's working directory. */
  outputs: string[]
}

/** Why a warning was raised. */
export type WarningKind =
  | 'line_too_long'
  | 'not_json'
  | 'isolation_unavailable'
  | 'memory_pressure'
  | 'events_dropped'
  | 'other'

/** Fields every event has: its sequence number (from 1) and time (Unix ms). */
export interface EventBase {
  seq: number
  atMs: number
}

export interface QueuedEvent extends EventBase { type: 'queued'; priority: number }
export interface StartedEvent extends EventBase { type: 'started'; pid: number; isolation: IsolationKind; attempt: number }
export interface InitEvent extends EventBase {
  type: 'init'
  sessionId: string | null
  model: string | null
  cliVersion: string | null
  tools: string[]
}
export interface AssistantTextEvent extends EventBase { type: 'assistant_text'; text: string }
export interface ToolUseEvent extends EventBase { type: 'tool_use'; id: string | null; name: string; input: unknown }
export interface ToolResultEvent extends EventBase {
  type: 'tool_result'
  toolUseId: string | null
  isError: boolean
  content: string
}
export interface ApiRetryEvent extends EventBase {
  type: 'api_retry'
  attempt: number
  maxRetries: number | null
  delayMs: number | null
  status: number | null
  error: string | null
}
export interface RateLimitEvent extends EventBase {
  type: 'rate_limit'
  status: string
  resetsAt: number | null
  limitType: string | null
}
export interface ResultEvent extends EventBase {
  type: 'result'
  isError: boolean
  subtype: string | null
  costUsd: number | null
  usage: Usage | null
  numTurns: number | null
  sessionId: string | null
  apiErrorStatus: number | null
}
export interface MemoryPressureEvent extends EventBase {
  type: 'memory_pressure'
  memoryBytes: number
  limitBytes: number | null
  capHits: number
  /** Pages evicted and read back since the last sample. */
  refaults: number
  pressureAvg10: number | null
}
export interface StoppingEvent extends EventBase { type: 'stopping'; reason: string }
export interface FinishedEvent extends EventBase { type: 'finished'; state: FinalJobState; error: string | null }
export interface WarningEvent extends EventBase { type: 'warning'; kind: WarningKind; message: string }
/** The attempt ended in a way worth another try: the job is queued again, to start after `delayMs`. */
export interface RetryingEvent extends EventBase {
  type: 'retrying'
  /** The attempt that ended. */
  attempt: number
  delayMs: number
  error: string | null
  /** False for a rate-limit snooze, which uses no attempt. */
  countsAsAttempt: boolean
}
/** A stream-json message of a type the core does not know, as printed. */
export interface OtherEvent extends EventBase { type: 'other'; messageType: string; raw: unknown }

/** One thing that happened to a job; narrow on `type`. */
export type JobEvent =
  | QueuedEvent
  | StartedEvent
  | InitEvent
  | AssistantTextEvent
  | ToolUseEvent
  | ToolResultEvent
  | ApiRetryEvent
  | RateLimitEvent
  | ResultEvent
  | MemoryPressureEvent
  | StoppingEvent
  | FinishedEvent
  | WarningEvent
  | RetryingEvent
  | OtherEvent

/** Every event `type`. */
export type JobEventType = JobEvent['type']

/** Whether the manager's store answers. */
export interface StoreHealth {
  /** False after a failed store call, until one succeeds. */
  healthy: boolean
  /** The latest failure (kept after recovery). */
  lastError: string | null
  /** When `healthy` last changed (Unix ms). */
  sinceMs: number
  /** How many times the store went from healthy to failing. */
  outages: number
}

/** What `manager.status()` reports. */
export interface ManagerStatus {
  isolation: IsolationKind
  /** Why cgroups are not used, when they are not. */
  isolationError: string | null
  maxConcurrent: number
  running: number
  /** The memory budget in force, in bytes; `null`: none (`memoryBudget: 'off'`). */
  memoryBudget: number | null
  /** The CPU budget in force, in cores; `null`: none (the default). */
  cpuBudget: number | null
  /** Absolute. */
  dataDir: string
  /** Names of the instruction templates the manager knows. */
  templates: string[]
  /** The job store in use (password masked). */
  storeUrl: string
  /** This manager's name in the store. */
  nodeId: string
  storeHealth: StoreHealth
}

/** A declared template variable. */
export interface TemplateVariable {
  required: boolean
  description: string
  /** Used when the variable is not given. */
  default: string | null
}

/** An instruction template: a markdown prompt with defaults for its jobs. */
export interface TemplateInfo {
  name: string
  description: string
  /** Where it was loaded from (`built-in …` for the shipped ones, else the file). */
  source: string
  variables: Record<string, TemplateVariable>
  allowedTools: string[]
  model: string | null
  /** Caps applied to the template's jobs (unless the spec sets them). */
  limits: ResourceLimits
  timeoutMs: number | null
  idleTimeoutMs: number | null
  /** The output file the job writes, and where it is collected. */
  output: { file: string; folder: string; name: string | null } | null
}

// ---------------------------------------------------------------- classes

/**
 * Runs Claude CLI jobs: at most `maxConcurrent` at once, each in its own
 * cgroup, the rest queued by priority then submission order.
 *
 * The constructor checks the options (throws `INVALID_SPEC` naming the
 * option) and starts the manager in the background; every method waits for
 * that start. A manager keeps nothing alive: a script ends after its last
 * await even without `shutdown()`, and still-running jobs are killed then.
 */
export declare class JobManager {
  constructor(options?: JobManagerOptions)
  /** Creates a manager and waits until it has started. */
  static create(options?: JobManagerOptions): Promise<JobManager>
  /** Resolves once started; rejects with the start error (`ISOLATION_FAILED`, `IO_ERROR`, `TEMPLATE_ERROR`). */
  ready(): Promise<void>
  /** How the manager runs. */
  status(): Promise<ManagerStatus>
  /** The instruction templates the manager knows (built-in and from `templatesDir`). */
  templates(): Promise<TemplateInfo[]>
  /**
   * The manager's metrics in the Prometheus text exposition format, computed
   * from the store at each call: `claude_jobs_jobs{state=…}`,
   * `claude_jobs_queue_length`, `claude_jobs_running_jobs`,
   * `claude_jobs_max_concurrent`, `claude_jobs_job_duration_seconds`, cost,
   * tokens, peak memory and CPU time by template, OOM kills, cgroup failures.
   * Serve it at `/metrics` as `text/plain; version=0.0.4; charset=utf-8`.
   */
  metrics(): Promise<string>
  /**
   * Validates and queues a job; resolves at once with its handle.
   * Rejects `INVALID_SPEC` (with `field`), `TEMPLATE_ERROR`, `SPAWN_FAILED`
   * (CLI not found), `CAPACITY_EXCEEDED` (a `memory` or `cpus` cap larger
   * than the manager's whole budget, `field` naming it), `SHUTTING_DOWN`.
   */
  submit(spec: JobSpec): Promise<Job>
  /** The job with this id; rejects `JOB_NOT_FOUND` (with `jobId`). */
  get(id: string): Promise<Job>
  /** Snapshots of every job the store knows, oldest first. */
  list(): Promise<JobInfo[]>
  /** Cancels a job by id: `false` when it had already ended; rejects `JOB_NOT_FOUND`. */
  cancel(id: string): Promise<boolean>
  /**
   * Stops taking work, lets running jobs finish for up to `drainTimeoutMs`
   * (default 30 000), then stops the rest (`interrupted`). Idempotent.
   */
  shutdown(options?: number | { drainTimeoutMs?: number }): Promise<void>
}

/** A handle to one job (from `submit` or `get`); handles of one id see the same job. */
export declare class Job {
  private constructor()
  /** The job's id (a UUIDv7 string, sortable by submission time). */
  readonly id: string
  /** The current state. */
  readonly state: JobState
  /** A snapshot of the job now. */
  info(): JobInfo
  /** Resolves with the final info once the job has ended (at once if it has); never rejects for a job outcome. */
  wait(): Promise<JobInfo>
  /** Cancels the job: a queued job ends at once, a running one gets SIGTERM, a grace period, then its cgroup is killed. `false` when it had already ended. */
  cancel(): Promise<boolean>
  /** Past events replayed, then live ones, ending after `finished`. `{ after: seq }` resumes after that event. */
  events(options?: { after?: number }): AsyncGenerator<JobEvent, void, undefined>
  /** `info()`, for `JSON.stringify(job)`. */
  toJSON(): JobInfo
}
