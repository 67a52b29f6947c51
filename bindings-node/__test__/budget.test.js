'use strict'
// Memory and CPU budgets (`memoryBudget`, `cpuBudget`): jobs start only when
// the caps of the running jobs plus their own fit; a cap larger than the
// whole budget is refused at submit with CAPACITY_EXCEEDED naming the field.
// Isolation off: admission counts the caps whether or not cgroups enforce them.

const test = require('node:test')
const assert = require('node:assert/strict')
const { JobManager, ClaudeJobsError } = require('..')
const { fakeManager } = require('./helpers')

const MIB = 1024 * 1024

/** The largest number of [startedAt, finishedAt] intervals that overlap (an end before a start at the same ms). */
function peakOverlap(infos) {
  const edges = infos.flatMap((i) => [
    [i.startedAt, 1],
    [i.finishedAt, -1],
  ])
  edges.sort((a, b) => a[0] - b[0] || a[1] - b[1])
  let running = 0
  let peak = 0
  for (const [, d] of edges) peak = Math.max(peak, (running += d))
  return peak
}

test("memoryBudget '300M': five 128M jobs run two at a time under maxConcurrent 5", async () => {
  const manager = fakeManager({ isolation: 'off', maxConcurrent: 5, memoryBudget: '300M' })
  const status = await manager.status()
  assert.equal(status.memoryBudget, 300 * MIB)
  assert.equal(status.cpuBudget, null)
  assert.equal(status.maxConcurrent, 5)
  const jobs = []
  for (let i = 0; i < 5; i++) {
    jobs.push(
      await manager.submit({
        prompt: `job ${i}`,
        memory: '128M',
        env: { FAKE_CLAUDE_SCENARIO: 'slow', FAKE_CLAUDE_SECONDS: '1.5', FAKE_CLAUDE_INTERVAL_MS: '100' },
      }),
    )
  }
  const infos = await Promise.all(jobs.map((j) => j.wait()))
  for (const info of infos) {
    assert.equal(info.state, 'succeeded', `${info.id}: ${info.error}`)
    assert.equal(info.limits.memory, 128 * MIB)
  }
  // 2 × 128M fit in 300M, 3 do not; the first two start together.
  assert.equal(peakOverlap(infos), 2, JSON.stringify(infos.map((i) => [i.startedAt, i.finishedAt])))
})

test('a cap larger than the whole budget is refused at submit: CAPACITY_EXCEEDED', async () => {
  const manager = fakeManager({ isolation: 'off', memoryBudget: '300M', cpuBudget: 0.5 })
  assert.equal((await manager.status()).cpuBudget, 0.5)
  const cases = [
    [{ prompt: 'too big', memory: '512M' }, 'memory'],
    [{ prompt: 'too many cores', cpus: 1 }, 'cpus'],
  ]
  for (const [spec, field] of cases) {
    const err = await manager.submit(spec).then(
      () => assert.fail(`${JSON.stringify(spec)} was accepted`),
      (e) => e,
    )
    assert.ok(err instanceof ClaudeJobsError, err.stack)
    assert.equal(err.code, 'CAPACITY_EXCEEDED')
    assert.equal(err.field, field)
    assert.match(err.message, /budget/)
  }
  assert.deepEqual((await manager.list()).jobs, [])
  // A cap that fits the budget is taken.
  const ok = await manager.submit({ prompt: 'fits', memory: '256M', cpus: 0.5, env: { FAKE_CLAUDE_SCENARIO: 'trivial' } })
  assert.equal((await ok.wait()).state, 'succeeded')
})

test("budgets: 'off', 'auto', numbers; the default memory budget is 'auto'", async () => {
  const off = await fakeManager({ isolation: 'off', memoryBudget: 'off', cpuBudget: 'off' }).status()
  assert.equal(off.memoryBudget, null)
  assert.equal(off.cpuBudget, null)
  const auto = await fakeManager({ isolation: 'off', memoryBudget: 'auto', cpuBudget: 'auto' }).status()
  assert.ok(Number.isInteger(auto.memoryBudget) && auto.memoryBudget > 0, String(auto.memoryBudget))
  assert.ok(auto.cpuBudget >= 1, String(auto.cpuBudget))
  const defaults = await fakeManager({ isolation: 'off' }).status()
  assert.equal(typeof defaults.memoryBudget, 'number')
  assert.equal(defaults.cpuBudget, null)
  const bytes = await fakeManager({ isolation: 'off', memoryBudget: 64 * MIB, cpuBudget: 0.5 }).status()
  assert.equal(bytes.memoryBudget, 64 * MIB)
  assert.equal(bytes.cpuBudget, 0.5)
  // Text, as read from the environment.
  const text = await fakeManager({ isolation: 'off', memoryBudget: '300M', cpuBudget: '1.5' }).status()
  assert.equal(text.memoryBudget, 300 * MIB)
  assert.equal(text.cpuBudget, 1.5)
})

test('bad budgets throw INVALID_SPEC from the constructor, naming the option', () => {
  const cases = [
    [{ memoryBudget: 'lots' }, 'memoryBudget'],
    [{ memoryBudget: '1K' }, 'memoryBudget'],
    [{ memoryBudget: -1 }, 'memoryBudget'],
    [{ memoryBudget: true }, 'memoryBudget'],
    [{ memoryBudget: 1024 }, 'memoryBudget'],
    [{ memoryBudget: '' }, 'memoryBudget'],
    [{ cpuBudget: 0 }, 'cpuBudget'],
    [{ cpuBudget: 'many' }, 'cpuBudget'],
    [{ cpuBudget: [] }, 'cpuBudget'],
    [{ cpuBudget: -1.5 }, 'cpuBudget'],
    [{ cpuBudget: '0' }, 'cpuBudget'],
    [{ cpuBudget: 'NaN' }, 'cpuBudget'],
  ]
  for (const [options, field] of cases) {
    assert.throws(
      () => new JobManager({ isolation: 'off', ...options }),
      (err) => {
        assert.ok(err instanceof ClaudeJobsError, err.stack)
        assert.equal(err.code, 'INVALID_SPEC', JSON.stringify(options))
        assert.equal(err.field, field, JSON.stringify(options))
        assert.match(err.message, new RegExp(field))
        return true
      },
    )
  }
})
