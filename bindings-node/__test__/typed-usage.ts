// Typed usage of the CommonJS entry, checked by `tsc --noEmit` (never run).
// Every line must type-check; the @ts-expect-error lines must not.
import { ClaudeJobsError, ERROR_CODES, Job, JobManager, JOB_STATES } from 'claude-jobs'
import type { ErrorCode, JobEvent, JobInfo, JobSpec, JobState, ManagerStatus } from 'claude-jobs'

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
  const info: JobInfo = await job.wait()
  const peak: number = info.stats.peakMemoryBytes
  const tokens: number | undefined = info.usage?.outputTokens
  const cost: number = info.costUsd ?? 0
  console.log(id, state, peak, tokens, cost, info.sessionId?.length, info.result?.toUpperCase())
  const cancelled: boolean = await job.cancel()
  const again: Job = await manager.get(info.id)
  const all: JobInfo[] = await manager.list()
  const status: ManagerStatus = await manager.status()
  const memoryBudget: number | null = status.memoryBudget
  const cpuBudget: number | null = status.cpuBudget
  const metrics: string = await manager.metrics()
  console.log(cancelled, again.info().state, all.length, status.isolation, memoryBudget, cpuBudget, metrics.length)
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
  console.log(wrong)
}
