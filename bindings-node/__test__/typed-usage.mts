// Typed usage of the ESM entry, checked by `tsc --noEmit` (never run).
import { ClaudeJobsError, JobManager } from 'claude-jobs'
import type { JobInfo } from 'claude-jobs'

const manager = await JobManager.create({ maxConcurrent: 3, memoryBudget: '4G' })
const metrics: string = await manager.metrics()
console.log(metrics.includes('claude_jobs_queue_length'))
const job = await manager.submit({ prompt: 'hi', memory: 512 * 1024 * 1024 })
const info: JobInfo = await job.wait()
if (info.state === 'oom_killed') console.log(info.stats.oomKills)
await manager.get('missing').catch((err: unknown) => {
  if (err instanceof ClaudeJobsError && err.code === 'JOB_NOT_FOUND') console.log(err.jobId)
})
await manager.shutdown()
