// One capped job through the claude-jobs binding, using only its documented names.
//
//   node capped-job.mjs [--claude-bin PATH] [--data-dir DIR] [PROMPT]
//
// Prints the job's state, cost and peak memory as JSON; exits 0 when it succeeded.
import { parseArgs } from 'node:util'
import { JobManager } from 'claude-jobs'

const { values, positionals } = parseArgs({
  options: { 'claude-bin': { type: 'string', default: 'claude' }, 'data-dir': { type: 'string', default: 'claude-jobs-data' } },
  allowPositionals: true,
})
const manager = new JobManager({
  claudeBin: values['claude-bin'],
  dataDir: values['data-dir'],
  maxConcurrent: 3,
  isolation: 'auto',
})
try {
  const job = await manager.submit({
    prompt: positionals[0] ?? 'Write one sentence about coffee.',
    cpus: 0.5,
    memory: '512M',
    pids: 256,
    timeoutMs: 600_000,
  })
  const info = await job.wait()
  console.log(JSON.stringify({
    id: job.id,
    state: info.state,
    result: info.result,
    costUsd: info.costUsd,
    sessionId: info.sessionId,
    peakMemoryBytes: info.stats.peakMemoryBytes,
    memoryCap: info.limits.memory,
  }))
  process.exitCode = info.state === 'succeeded' ? 0 : 1
} finally {
  await manager.shutdown()
}
