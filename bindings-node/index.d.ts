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

/// <reference types="node" />

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
  | 'POLICY_VIOLATION'
  | 'QUOTA_EXCEEDED'

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
  /** How long to wait before trying again (`QUOTA_EXCEEDED`), in ms, when known (a spent daily budget: until 00:00 UTC; a full queue: a hint, 5 s). */
  readonly retryAfterMs?: number
  /** The tenant whose quota refused the job (`QUOTA_EXCEEDED`). */
  readonly tenant?: string
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

/** `--permission-mode` values. */
export type PermissionMode = 'default' | 'acceptEdits' | 'plan' | 'bypassPermissions' | 'dontAsk' | 'auto'

/** `--effort` values. */
export type Effort = 'low' | 'medium' | 'high' | 'xhigh' | 'max'

/** `--setting-sources` values: which settings files the CLI loads. */
export type SettingSource = 'user' | 'project' | 'local'

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
  /** Largest output file collected from a job, in bytes (default 64 MiB); a larger one is cut, with a warning event. */
  maxOutputBytes?: number
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
  /**
   * Where jobs' logs and collected outputs are kept: `'local'` (the default:
   * the data dir of the machine that ran the job; only its manager serves
   * them) or `'db'` (the job store, SQLite or PostgreSQL: logs uploaded every
   * 2 s while the job runs, outputs when it ends, so every manager sharing
   * the store serves them and a step on another machine reads its `inputs`).
   */
  artifactStore?: 'local' | 'db' | `s3://${string}`
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
  /** `'safe'` (the built-in policy) or the path of a policy YAML file. */
  policy?: string
  /** The key that signs webhook deliveries (`X-Claude-Jobs-Signature`). */
  webhookSecret?: string
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
  /** `--disallowedTools`: a bare name removes the tool; a rule (`'Bash(rm *)'`) denies matching calls (see `JobInfo.permissionDenials`). */
  disallowedTools?: string[]
  /** `--permission-mode`: how a tool call no rule settles is decided (`bypassPermissions` is refused while the job would run as root). */
  permissionMode?: PermissionMode | null
  /** `--system-prompt`: replaces the CLI's system prompt. */
  systemPrompt?: string | null
  /** `--append-system-prompt`: added at the end of the system prompt. */
  appendSystemPrompt?: string | null
  /**
   * MCP servers, the `mcpServers` object (name → `{ command, args, env }` or
   * `{ type: 'sse' | 'http', url, headers }`): written to a file in the job's
   * directory, passed with `--mcp-config` and `--strict-mcp-config`; values of
   * `env` and `headers` are masked in logs and events. Keys are kept as given.
   */
  mcpServers?: Record<string, unknown> | null
  /** `--add-dir`: more directories the CLI may use (each must exist). */
  addDirs?: string[]
  /** `--settings`: a settings object, written to a file in the job's directory. */
  settings?: Record<string, unknown> | null
  /** `--setting-sources`: which settings files the CLI loads (`[]`: none). */
  settingSources?: SettingSource[] | null
  /** `--fallback-model`: used when the model is overloaded. */
  fallbackModel?: string | null
  /** `--effort`. */
  effort?: Effort | null
  /** `--json-schema`: the answer must be an object of this JSON Schema; it lands in `JobInfo.structuredOutput`. */
  jsonSchema?: Record<string, unknown> | null
  /**
   * A job id: continue that job's Claude session (`--resume`), in its working
   * and config dirs, inheriting its agent options unless this spec sets them.
   * An unknown job, one still running or one without a session: `INVALID_SPEC`
   * naming `resume`.
   */
  resume?: string | null
  /** With `resume`: continue in a new session (`--fork-session`) that starts with the earlier one's messages. */
  forkSession?: boolean
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
  /** Who the job is for: quotas and policy per tenant. */
  tenant?: string | null
  /** A second submit with the same key (and tenant) within 24 h returns the first job. */
  idempotencyKey?: string | null
  /** Where the final info is POSTed, signed (allowed by the policy). */
  webhookUrl?: string | null
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
  /** Who the job is for. */
  tenant: string | null
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
  /** With `jsonSchema`: the structured answer (an object of the schema). */
  structuredOutput: Record<string, unknown> | null
  /** Tool calls the CLI denied (from its result). */
  permissionDenials: PermissionDenial[]
  /** For a job that resumes another (`resume`): the session it continues (`sessionId` is the same, or a new one with `forkSession`). */
  resumedSession: string | null
  /** The CLI's working directory (for a resumed job: the earlier job's). */
  workDir: string | null
  /** The CLI's `CLAUDE_CONFIG_DIR`, where it keeps the session's transcript (for a resumed job: the earlier job's). */
  configDir: string | null
}

/** A tool call the CLI denied (a `disallowedTools` rule, or a tool neither allowed nor covered by the permission mode). */
export interface PermissionDenial {
  /** The tool (`Bash`, `Write`, `mcp__srv__tool`). */
  toolName: string
  /** The id of the denied `tool_use` block. */
  toolUseId: string | null
  /** The call's input, as the CLI gave it (`{ command: 'rm -rf /' }`). */
  toolInput: unknown
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
/**
 * This attempt continues a Claude session (`--resume`): the session of the
 * job it resumes (`fromJob`; with `fork`, in a new session), or its own
 * earlier attempt's (`fromJob` is the job itself) after a retry or requeue.
 */
export interface ResumingEvent extends EventBase { type: 'resuming'; sessionId: string; fromJob: string; fork: boolean }
/** The CLI denied a tool call (listed in its result's `permission_denials`). */
export interface PermissionDeniedEvent extends EventBase {
  type: 'permission_denied'
  toolName: string
  toolUseId: string | null
  toolInput: unknown
}
/** The job waits in the queue: its tenant's daily budget is used up. */
export interface BudgetWaitEvent extends EventBase { type: 'budget_wait'; tenant: string; budgetUsd: number; leftUsd: number }
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
  | ResumingEvent
  | PermissionDeniedEvent
  | BudgetWaitEvent
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

/** What `manager.status()` reports (the core's `ManagerStatus`). */
export interface ManagerStatus {
  /** Jobs running in this manager now. */
  running: number
  /** Jobs queued in the store (for every manager sharing it). */
  queued: number
  maxConcurrent: number
  isolation: IsolationKind
  /** Why cgroups are not used, when they are not. */
  isolationError: string | null
  /** The job store in use (password masked). */
  storeUrl: string
  storeHealth: StoreHealth
  /** This manager's name in the store. */
  nodeId: string
  /** The memory budget in force, in bytes; `null`: none (`memoryBudget: 'off'`). */
  memoryBudget: number | null
  /** The CPU budget in force, in cores; `null`: none (the default). */
  cpuBudget: number | null
  /** Absolute. */
  dataDir: string
  /** `shutdown()` was called. */
  shuttingDown: boolean
  /** Admissions paused store-wide (the API rate-limited a job) until (Unix ms). */
  pausedUntilMs: number | null
  pausedReason: string | null
}

/** Which jobs `manager.list(query)` returns; every filter is optional. */
export interface ListQuery {
  state?: JobState | null
  /** Only jobs made from this template. */
  template?: string | null
  /** Only jobs with this label, as `'key=value'`. */
  label?: string | null
  /** Jobs per page (default 100, at most 1000). */
  limit?: number | null
  /** Where the page starts: a previous page's `nextCursor`. */
  cursor?: string | null
  /** Only jobs of this tenant. */
  tenant?: string | null
}

/** A tenant's quotas (`manager.setTenant()`), enforced by the store across every manager sharing it; unset: no limit. */
export interface TenantQuota {
  /** Jobs of the tenant running at once. */
  maxRunning?: number | null
  /** Jobs of the tenant queued at once: a submit beyond is refused (`QUOTA_EXCEEDED`). */
  maxQueued?: number | null
  /** Spend per UTC day in USD: finished jobs' cost plus running jobs' budget caps. */
  dailyBudgetUsd?: number | null
}

/** A tenant's quota and its use now (`manager.tenantUsage()`). */
export interface TenantUsage {
  name: string
  quota: { maxRunning: number | null; maxQueued: number | null; dailyBudgetUsd: number | null }
  running: number
  queued: number
  /** Cost of the tenant's jobs that finished today (UTC). */
  spentTodayUsd: number
  /** Budget caps of its running jobs (reserved until they finish). */
  reservedUsd: number
  /** What is left of the daily budget; `null`: no budget. */
  budgetLeftUsd: number | null
}

/** What a schedule does with the ticks it missed while no manager ran: one job at start (`'run_once'`, the default) or none (`'skip'`). */
export type CatchUp = 'run_once' | 'skip'

/** Options of `manager.schedule()`. */
export interface ScheduleOptions {
  /** The time zone of the cron expression: `'UTC'` (the default) or an IANA name (`'Europe/Paris'`). */
  timezone?: string | null
  catchUp?: CatchUp | null
}

/** A schedule in the store (`manager.schedule()`, `manager.schedules()`). */
export interface Schedule {
  name: string
  /** 5 fields (minute resolution) or 6 (seconds first). */
  cron: string
  timezone: string
  catchUp: CatchUp
  /** What each tick submits, as `submit()` takes it (each job also gets the labels `schedule` and `schedule_tick`). */
  spec: JobSpec
  /** The latest tick handled (Unix ms); at first, when the schedule was set or replaced. */
  lastTickMs: number | null
  /** The next tick after `lastTickMs` (Unix ms); `null` when the cron expression can no longer match. */
  nextTickMs: number | null
  createdMs: number
  updatedMs: number
}

/** One collected output of a job (`manager.outputs()`). */
export interface OutputFile {
  /** The file name (what `readOutput()` takes). */
  name: string
  /** Its size in bytes. */
  size: number
  /** The SHA-256 of its bytes, lowercase hex. */
  sha256: string
}

/** Which log of a job `manager.readLog()` reads. */
export type LogStream = 'stdout' | 'stderr'

/** Options of `manager.readLog()`. */
export interface ReadLogOptions {
  /** Only the last this many bytes of the log (default: all of it, up to 256 MiB). */
  tailBytes?: number | null
}

/** One page of `manager.list()`: jobs newest first. */
export interface JobPage {
  jobs: JobInfo[]
  /** Pass it as `cursor` for the next page; `null` on the last page. */
  nextCursor: string | null
}

/** One step of a workflow file. */
export interface WorkflowStepInfo {
  name: string
  template: string
  /** Template variable → the earlier step whose output fills it. */
  inputs: Record<string, string>
}

/** A workflow the manager knows (`manager.workflows()`). */
export interface WorkflowInfo {
  name: string
  description: string
  steps: WorkflowStepInfo[]
  /** Where it was loaded from (`built-in …` for the shipped ones). */
  source: string
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
/** A size such as `'512M'` or `'1.5G'` (powers of 1024) in bytes; throws `INVALID_SPEC`. */
export declare function parseSize(text: string): number
/** A duration such as `'30s'`, `'10m'` or `'1h 30m'` in milliseconds; throws `INVALID_SPEC`. */
export declare function parseDuration(text: string): number

export declare class JobManager {
  constructor(options?: JobManagerOptions)
  /** Creates a manager and waits until it has started. */
  static create(options?: JobManagerOptions): Promise<JobManager>
  /** Resolves once started; rejects with the start error (`ISOLATION_FAILED`, `IO_ERROR`, `TEMPLATE_ERROR`). */
  ready(): Promise<void>
  /** How the manager runs: running and queued jobs, limits, budgets, isolation, store. */
  status(): Promise<ManagerStatus>
  /** The instruction templates the manager knows (built-in and from `templatesDir`). */
  templates(): Promise<TemplateInfo[]>
  /** The workflows the manager knows (built-in `brand`, and from `templatesDir`). */
  workflows(): Promise<WorkflowInfo[]>
  /**
   * Submits every step of workflow `name` as a chain of dependent jobs (each
   * step's template gets the variables it declares and the earlier step's
   * output); a step that fails cancels the later ones. Rejects
   * `TEMPLATE_ERROR` (unknown workflow, missing or unknown variable) and
   * submits nothing then.
   */
  submitWorkflow(name: string, variables?: Record<string, string | number | boolean>): Promise<Workflow>
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
   * than the manager's whole budget, `field` naming it), `POLICY_VIOLATION`
   * (with `field`: the manager's `policy` refuses it), `QUOTA_EXCEEDED` (the
   * tenant's `maxQueued` jobs are queued, or its budget for today is spent;
   * `retryAfterMs` when known), `SHUTTING_DOWN`. With `idempotencyKey`, a
   * repeated submit (same tenant, within 24 h) resolves with the first job.
   */
  submit(spec: JobSpec): Promise<Job>
  /** The job with this id; rejects `JOB_NOT_FOUND` (with `jobId`). */
  get(id: string): Promise<Job>
  /** One page of jobs, newest first, filtered in the store; follow `nextCursor` for the next. */
  list(query?: ListQuery): Promise<JobPage>
  /** Cancels a job by id: `false` when it had already ended; rejects `JOB_NOT_FOUND`. */
  cancel(id: string): Promise<boolean>
  /**
   * Sets a tenant's quota in the store (every manager sharing it applies it;
   * a raised budget lets waiting jobs start). Rejects `INVALID_SPEC` naming
   * `tenant` (a bad name) or `quota.<key>`.
   */
  setTenant(name: string, quota: TenantQuota): Promise<void>
  /** A tenant's quota and what it uses now (zeros and nulls for a tenant never seen). */
  tenantUsage(name: string): Promise<TenantUsage>
  /**
   * Creates or replaces the schedule `name` (in the store: every manager on
   * it fires it). At each tick of `cron` one job of `spec` is submitted,
   * exactly once across the managers, with the label `schedule=<name>`.
   * A new or replaced schedule starts now (no catch-up of earlier ticks).
   * Rejects `INVALID_SPEC` with `field` `name`, `cron`, `timezone`,
   * `catchUp` or the spec field at fault.
   */
  schedule(name: string, cron: string, spec: JobSpec, options?: ScheduleOptions): Promise<Schedule>
  /** Removes the schedule `name`: `false` when there was none. */
  unschedule(name: string): Promise<boolean>
  /** Every schedule in the store, sorted by name. */
  schedules(): Promise<Schedule[]>
  /**
   * The job's collected output files, with size and SHA-256. With
   * `artifactStore: 'db'` any manager on the store lists them, wherever the
   * job ran; with `'local'`, only the manager that ran it. Rejects `JOB_NOT_FOUND`.
   */
  outputs(jobId: string): Promise<OutputFile[]>
  /** The bytes of the job's output `name` (a name from `outputs()`, never a path); `null` when it has none. Rejects `JOB_NOT_FOUND`. */
  readOutput(jobId: string, name: string): Promise<Buffer | null>
  /**
   * The job's stdout or stderr log (its current attempt's), the last
   * `tailBytes` of it when given; empty before the job starts (with
   * `artifactStore: 'db'`, uploaded every 2 s while it runs). Rejects
   * `INVALID_SPEC` naming `stream` or `tailBytes`, `JOB_NOT_FOUND`.
   */
  readLog(jobId: string, stream: LogStream, options?: ReadLogOptions): Promise<Buffer>
  /**
   * Stops taking work, lets running jobs finish for up to `drainTimeoutMs`
   * (default 30 000), then stops the rest (`interrupted`). Queued jobs stay
   * queued in a durable store for the next manager; with `storeUrl: 'memory'`
   * they end `interrupted`. Idempotent.
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
  /** The spec the job runs with (template rendered, default caps applied), as `submit()` takes it. */
  spec(): JobSpec
  /** Resolves with the final info once the job has ended (at once if it has); never rejects for a job outcome. */
  wait(): Promise<JobInfo>
  /** Cancels the job: a queued job ends at once, a running one gets SIGTERM, a grace period, then its cgroup is killed. `false` when it had already ended. */
  cancel(): Promise<boolean>
  /** Past events replayed, then live ones, ending after `finished`. `{ after: seq }` resumes after that event. */
  events(options?: { after?: number }): AsyncGenerator<JobEvent, void, undefined>
  /** The events of `events()` in arrays: each waits for one event, then takes those already there, up to `max` (default 256, at most 10 000; else `INVALID_SPEC` naming `max`). */
  eventBatches(options?: { after?: number; max?: number }): AsyncGenerator<JobEvent[], void, undefined>
  /** `info()`, for `JSON.stringify(job)`. */
  toJSON(): JobInfo
}

/** The jobs of one `manager.submitWorkflow()` run, in step order. */
export declare class Workflow {
  private constructor()
  /** The workflow's name. */
  readonly name: string
  /** `{ step, job }` in the workflow file's order. */
  readonly steps: ReadonlyArray<{ readonly step: string; readonly job: Job }>
  /** The job of step `step`, or `undefined`. */
  job(step: string): Job | undefined
  /** The last step's job (its output is the workflow's result). */
  last(): Job
}
