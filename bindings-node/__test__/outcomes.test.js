'use strict'
// Each outcome of a job, as `await job.wait()` reports it, on the fake CLI.

const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const { fakeManager, tempDir, waitForEvent } = require('./helpers')

const manager = fakeManager({ maxConcurrent: 2 })
const run = async (scenario, spec = {}) => {
  const { env, ...rest } = spec
  const job = await manager.submit({ prompt: `scenario ${scenario}`, env: { FAKE_CLAUDE_SCENARIO: scenario, ...env }, ...rest })
  return job.wait()
}

test('ok: succeeded with result, cost, usage, session and stats', async () => {
  const info = await run('ok', { cpus: 0.5, memory: '512M', pids: 256, timeoutMs: 30_000, labels: { team: 'qa' } })
  assert.equal(info.state, 'succeeded')
  assert.equal(info.result, 'echo: scenario ok')
  assert.equal(typeof info.costUsd, 'number')
  assert.ok(info.costUsd > 0)
  assert.match(info.sessionId, /^[0-9a-f-]{36}$/)
  assert.equal(info.exitCode, 0)
  assert.equal(info.signal, null)
  assert.equal(info.error, null)
  assert.equal(info.numTurns, 1)
  assert.equal(info.cliVersion, '0.0.0-fake')
  assert.deepEqual(Object.keys(info.usage).sort(), [
    'cacheCreationInputTokens',
    'cacheReadInputTokens',
    'inputTokens',
    'outputTokens',
  ])
  assert.ok(info.usage.inputTokens > 0)
  assert.deepEqual(info.limits, { cpus: 0.5, memory: 512 * 1024 * 1024, pids: 256 })
  assert.deepEqual(info.labels, { team: 'qa' })
  assert.equal(typeof info.stats.peakMemoryBytes, 'number')
  assert.ok(info.stats.cpuUsageUsec >= 0)
  assert.ok(info.createdAt <= info.startedAt && info.startedAt <= info.finishedAt)
  assert.equal(info.attempt, 1)
  assert.ok(info.pid > 0)
  assert.ok(['cgroup-v1', 'cgroup-v2', 'none'].includes(info.isolation))
  assert.ok(info.logDir.endsWith(info.id))
})

test('error-result: failed, with the API status', async () => {
  const info = await run('error-result')
  assert.equal(info.state, 'failed')
  assert.equal(info.apiErrorStatus, 401)
  assert.match(info.error, /Invalid API key/)
})

test('no-result: failed, the error says so', async () => {
  const info = await run('no-result')
  assert.equal(info.state, 'failed')
  assert.equal(info.exitCode, 1)
  assert.ok(info.error)
})

test('exit-code: failed with the exit code', async () => {
  const info = await run('exit-code', { env: { FAKE_CLAUDE_EXIT_CODE: '3' } })
  assert.equal(info.state, 'failed')
  assert.equal(info.exitCode, 3)
})

test('timeoutMs: timed_out', async () => {
  const info = await run('slow', { timeoutMs: 700, env: { FAKE_CLAUDE_SECONDS: '30' } })
  assert.equal(info.state, 'timed_out')
  assert.ok(info.finishedAt - info.startedAt < 10_000)
})

test('idleTimeoutMs: timed_out when the CLI goes quiet', async () => {
  const info = await run('slow', { idleTimeoutMs: 500, env: { FAKE_CLAUDE_INTERVAL_MS: '5000' } })
  assert.equal(info.state, 'timed_out')
})

test("memory '64M' and a 2 GiB allocation: oom_killed", async (t) => {
  const status = await manager.status()
  if (status.isolation === 'none') {
    // As root on Linux (`make test` sets this) cgroups must work: no skipping.
    assert.notEqual(process.env.CLAUDE_JOBS_REQUIRE_CGROUPS, '1', `no cgroups: ${status.isolationError}`)
    t.skip(`no cgroups here: ${status.isolationError}`)
    return
  }
  const info = await run('alloc', { memory: '64M', timeoutMs: 60_000 })
  assert.equal(info.state, 'oom_killed')
  assert.ok(info.stats.oomKills >= 1, JSON.stringify(info.stats))
  assert.ok(info.stats.peakMemoryBytes <= 64 * 1024 * 1024 + 1024 * 1024, String(info.stats.peakMemoryBytes))
  assert.equal(info.limits.memory, 64 * 1024 * 1024)
})

test('memory as a number of bytes', async () => {
  const info = await run('trivial', { memory: 256 * 1024 * 1024 })
  assert.equal(info.state, 'succeeded')
  assert.equal(info.limits.memory, 256 * 1024 * 1024)
})

test('tool-use in workingDir: the Write really happens there', async () => {
  const dir = tempDir()
  const info = await run('tool-use', { workingDir: dir })
  assert.equal(info.state, 'succeeded')
  assert.equal(info.numTurns, 2)
  assert.equal(fs.readFileSync(path.join(dir, 'out.md'), 'utf8'), 'hello')
})

test('wait() on a finished job resolves at once with the same info', async () => {
  const job = await manager.submit({ prompt: 'hi', env: { FAKE_CLAUDE_SCENARIO: 'trivial' } })
  const first = await job.wait()
  const again = await job.wait()
  assert.deepEqual(again, first)
  assert.deepEqual(job.info(), first)
  assert.equal(job.state, 'succeeded')
  const fetched = await manager.get(job.id)
  assert.deepEqual(fetched.info(), first)
  assert.deepEqual(JSON.parse(JSON.stringify(job)), first)
})

test('list() shows a running job as its handle does (pid, isolation)', async () => {
  const job = await manager.submit({ prompt: 'slow', env: { FAKE_CLAUDE_SCENARIO: 'slow', FAKE_CLAUDE_SECONDS: '30' } })
  await waitForEvent(job, 'assistant_text')
  const listed = (await manager.list()).jobs.find((i) => i.id === job.id)
  assert.equal(listed.state, 'running')
  assert.equal(listed.pid, job.info().pid)
  assert.equal(listed.isolation, job.info().isolation)
  await job.cancel()
  assert.equal((await job.wait()).state, 'cancelled')
})

test('list() holds every job, newest first', async () => {
  const { jobs, nextCursor } = await manager.list()
  assert.ok(jobs.length >= 10)
  assert.equal(nextCursor, null)
  const ids = jobs.map((i) => i.id)
  assert.deepEqual([...ids].sort().reverse(), ids)
})
