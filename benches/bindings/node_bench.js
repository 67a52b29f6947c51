'use strict'
// Item 5: submit -> wait of trivial jobs, one at a time, through the Node
// binding. Same manager options as the Rust reference: isolation off,
// maxConcurrent 3, the monitor practically off, the memory store when the
// binding takes `storeUrl` (otherwise its default store, reported as
// "default"). Prints one JSON line like the Python script.
//
// Usage: node node_bench.js --pkg DIR --claude-bin PATH --data-dir DIR [--jobs 500] [--warmup 50]

const { parseArgs } = require('node:util')
const { values: a } = parseArgs({
  options: {
    pkg: { type: 'string' },
    'claude-bin': { type: 'string' },
    'data-dir': { type: 'string' },
    jobs: { type: 'string', default: '500' },
    warmup: { type: 'string', default: '50' },
  },
})
const { JobManager } = require(a.pkg)

const PROMPT = 'benchmark job: say ok'
const ENV = { FAKE_CLAUDE_SCENARIO: 'trivial' }

async function one(manager) {
  const job = await manager.submit({ prompt: PROMPT, env: ENV })
  const info = await job.wait()
  return info.state === 'succeeded' ? null : `${info.state}: ${info.error ?? ''}`
}

async function makeManager() {
  const base = {
    claudeBin: a['claude-bin'],
    dataDir: a['data-dir'],
    maxConcurrent: 3,
    isolation: 'off',
    monitorIntervalMs: 3_600_000,
  }
  try {
    const m = await JobManager.create({ ...base, storeUrl: 'memory' })
    return { manager: m, store: 'memory' }
  } catch (e) {
    if (e && e.code === 'INVALID_SPEC') {
      return { manager: await JobManager.create(base), store: 'default' }
    }
    throw e
  }
}

async function main() {
  const { manager, store } = await makeManager()
  const jobs = Number(a.jobs)
  for (let i = 0; i < Number(a.warmup); i++) await one(manager)
  const errors = []
  const c0 = process.cpuUsage()
  const t0 = process.hrtime.bigint()
  for (let i = 0; i < jobs; i++) {
    const err = await one(manager)
    if (err) errors.push(err)
  }
  const wall = Number(process.hrtime.bigint() - t0) / 1e9
  const c = process.cpuUsage(c0)
  await manager.shutdown(5000)
  console.log(JSON.stringify({
    wall_s: wall,
    jobs,
    failed: errors.length,
    error: errors[0] ?? null,
    self_cpu_s: (c.user + c.system) / 1e6,
    store,
  }))
}

main().catch((e) => {
  console.log(JSON.stringify({ wall_s: 0, jobs: 0, failed: 0, error: String(e && e.stack || e) }))
  process.exit(1)
})
