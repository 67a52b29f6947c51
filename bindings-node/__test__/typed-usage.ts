// Typed usage of the CommonJS entry, checked by `tsc --noEmit` (never run).
// Every line must type-check; the @ts-expect-error lines must not.
import { ClaudeJobsError, ERROR_CODES, FINAL_STATES, Job, JobManager, JOB_STATES, parseDuration, parseSize, Workflow } from 'claude-jobs'
import type { CatchUp, ErrorCode, JobEvent, JobInfo, JobPage, JobSpec, JobState, ListQuery, LogStream, ManagerStatus, OutputFile, ReadLogOptions, Schedule, ScheduleOptions, WorkflowInfo } from 'claude-jobs'

export async function usage(): Promise<void> {
  const manager = new JobManager({
    claudeBin: '/usr/local/bin/claude',
    dataDir: './data',
    maxConcurrent: 'auto',
    isolation: 'auto',
    killGraceMs: 5_000,
    resultGraceMs: 2_000,
    lineCap: 1 << 20,
    defaultLimits: { cpus: 1, memory: '1G', pids: 256 },
    defaultTimeoutMs: 600_000,
    env: { ANTHROPIC_BASE_URL: 'http://127.0.0.1:9' },
    memoryPressureLimitMs: 60_000,
    memoryBudget: '8G',
    cpuBudget: 'auto',
    maxOutputBytes: 1 << 20,
    retryBackoff: { baseMs: 100, maxMs: 1_000 },
    retention: { outputsDays: 0 },
    storeUrl: 'memory',
  })
  new JobManager({ memoryBudget: 512 * 1024 * 1024, cpuBudget: 1.5 })
  new JobManager({ memoryBudget: 'off', cpuBudget: 'off' })
  const spec: JobSpec = {
    prompt: 'Say hello',
    cpus: 0.5,
    memory: '512M',
    pids: 256,
    timeoutMs: 60_000,
    idleTimeoutMs: 30_000,
    allowedTools: ['Read', 'Write'],
    labels: { team: 'marketing' },
    runAs: { uid: 1000, gid: 1000 },
    priority: 5,
  }
  const job: Job = await manager.submit(spec)
  const id: string = job.id
  const state: JobState = job.state
  for await (const ev of job.events({ after: 0 })) {
    const e: JobEvent = ev
    const seq: number = e.seq
    switch (e.type) {
      case 'assistant_text':
        console.log(seq, e.text.length)
        break
      case 'tool_use':
        console.log(e.name, e.input)
        break
      case 'finished':
        console.log(e.state satisfies Exclude<JobState, 'queued' | 'running'>)
        break
      case 'memory_pressure':
        console.log(e.memoryBytes, e.limitBytes ?? 'no cap')
        break
    }
  }
  for await (const batch of job.eventBatches({ after: 0, max: 64 })) {
    const events: JobEvent[] = batch
    console.log(events.length, events[events.length - 1]?.seq)
  }
  const info: JobInfo = await job.wait()
  const peak: number = info.stats.peakMemoryBytes
  const tokens: number | undefined = info.usage?.outputTokens
  const cost: number = info.costUsd ?? 0
  console.log(id, state, peak, tokens, cost, info.sessionId?.length, info.result?.toUpperCase())
  const cancelled: boolean = await job.cancel()
  const again: Job = await manager.get(info.id)
  const query: ListQuery = { state: 'failed', template: 'brief', label: 'team=marketing', limit: 50 }
  const page: JobPage = await manager.list(query)
  const all: JobInfo[] = page.jobs
  const next: JobPage | null = page.nextCursor === null ? null : await manager.list({ ...query, cursor: page.nextCursor })
  const status: ManagerStatus = await manager.status()
  const memoryBudget: number | null = status.memoryBudget
  const cpuBudget: number | null = status.cpuBudget
  const queued: number = status.queued
  const metrics: string = await manager.metrics()
  console.log(cancelled, again.info().state, all.length, next, status.isolation, memoryBudget, cpuBudget, queued, metrics.length)
  const spec2: JobSpec = job.spec()
  await manager.submit(spec2)
  const workflows: WorkflowInfo[] = await manager.workflows()
  const wf: Workflow = await manager.submitWorkflow('brand', { brand: 'ACME' })
  const brief: Job | undefined = wf.job('brief')
  const steps: string[] = wf.steps.map((s) => s.step)
  console.log(workflows.length, brief?.id, steps, await wf.last().wait(), wf.name)
  const bytes: number = parseSize('512M')
  const ms: number = parseDuration('10m')
  console.log(bytes, ms, FINAL_STATES)
  const scheduleOptions: ScheduleOptions = { timezone: 'Europe/Paris', catchUp: 'skip' }
  const nightly: Schedule = await manager.schedule('nightly', '0 3 * * *', { prompt: 'Report', labels: { team: 'ops' } }, scheduleOptions)
  await manager.schedule('every-2s', '*/2 * * * * *', { prompt: 'Tick' })
  const catchUp: CatchUp = nightly.catchUp
  const nextTick: number | null = nightly.nextTickMs
  const scheduled: Schedule[] = await manager.schedules()
  const removed: boolean = await manager.unschedule('nightly')
  console.log(catchUp, nextTick, nightly.spec.prompt, nightly.lastTickMs, scheduled.map((s) => s.name), removed)
  const shared = new JobManager({ storeUrl: 'sqlite:///tmp/shared.db', artifactStore: 'db' })
  new JobManager({ artifactStore: 'local' })
  new JobManager({ artifactStore: 's3://bucket/jobs' })
  // @ts-expect-error: 'local', 'db' or an s3:// URL
  new JobManager({ artifactStore: 'nfs' })
  const files: OutputFile[] = await shared.outputs(job.id)
  for (const f of files) {
    const content: Buffer | null = await shared.readOutput(job.id, f.name)
    console.log(f.name, f.size, f.sha256.length, content?.length)
  }
  const stream: LogStream = 'stderr'
  const tail: ReadLogOptions = { tailBytes: 4096 }
  const log: Buffer = await shared.readLog(job.id, 'stdout')
  const end: Buffer = await shared.readLog(job.id, stream, tail)
  console.log(log.toString('utf8'), end.length, (await shared.readLog(job.id, 'stdout', {})).length)
  // @ts-expect-error: a log is 'stdout' or 'stderr'
  await shared.readLog(job.id, 'both')
  await manager.shutdown({ drainTimeoutMs: 1_000 })
  await manager.shutdown({ drainTimeoutMs: 1_000 })
  await manager.shutdown(0)
  await manager.shutdown()

  try {
    await manager.submit({ prompt: '' })
  } catch (err) {
    if (err instanceof ClaudeJobsError) {
      const code: ErrorCode = err.code
      const field: string | undefined = err.field
      const jobId: string | undefined = err.jobId
      console.log(code, field, jobId, err.message)
    }
  }
  const codes: readonly ErrorCode[] = ERROR_CODES
  const states: readonly JobState[] = JOB_STATES
  console.log(codes, states, await JobManager.create())

  // @ts-expect-error: states are snake_case strings
  const wrong: JobState = 'timedOut'
  // @ts-expect-error: durations are milliseconds named ...Ms
  await manager.submit({ prompt: 'x', timeout: 5 })
  // @ts-expect-error: a CPU budget is a number of cores, 'auto' or 'off'
  new JobManager({ cpuBudget: 'half' })
  // @ts-expect-error: Job handles come from the manager
  new Job()
  // @ts-expect-error: a list filter is a known state
  await manager.list({ state: 'broken' })
  // @ts-expect-error: catchUp is 'run_once' or 'skip'
  await manager.schedule('x', '* * * * *', { prompt: 'x' }, { catchUp: 'runOnce' })
  // @ts-expect-error: the spec is an object
  await manager.schedule('x', '* * * * *', 'prompt')
  console.log(wrong)
}
