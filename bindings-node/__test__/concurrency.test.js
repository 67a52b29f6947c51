'use strict'
// Many jobs and many waiters at once: every wait() resolves, no more than
// maxConcurrent jobs run together, and the JS event loop stays responsive.

const test = require('node:test')
const assert = require('node:assert/strict')
const { fakeManager } = require('./helpers')

/** Largest delay of a 10 ms timer while `work` runs (how long the loop was blocked). */
async function maxTimerLag(work) {
  let worst = 0
  let last = performance.now()
  const timer = setInterval(() => {
    const now = performance.now()
    worst = Math.max(worst, now - last - 10)
    last = now
  }, 10)
  try {
    return { result: await work(), lagMs: worst }
  } finally {
    clearInterval(timer)
  }
}

test('100 jobs, 100 concurrent wait()s: all succeed, at most maxConcurrent at once', async () => {
  const manager = fakeManager({ maxConcurrent: 3 })
  const jobs = await Promise.all(
    Array.from({ length: 100 }, (_, i) =>
      manager.submit({ prompt: `job ${i}`, env: { FAKE_CLAUDE_SCENARIO: 'trivial' }, labels: { i: String(i) } }),
    ),
  )
  assert.equal(new Set(jobs.map((j) => j.id)).size, 100)
  const t0 = Date.now()
  const { result: infos, lagMs } = await maxTimerLag(() => Promise.all(jobs.map((j) => j.wait())))
  console.log(`100 jobs waited on at once: ${Date.now() - t0} ms; event loop lag at most ${lagMs.toFixed(0)} ms`)
  assert.equal(infos.length, 100)
  for (const [i, info] of infos.entries()) {
    assert.equal(info.state, 'succeeded', `${info.id}: ${info.error}`)
    assert.equal(info.labels.i, String(i))
    assert.equal(info.id, jobs[i].id)
  }
  // Overlap of [startedAt, finishedAt] intervals never exceeds 3.
  const edges = infos.flatMap((i) => [
    [i.startedAt, 1],
    [i.finishedAt, -1],
  ])
  edges.sort((a, b) => a[0] - b[0] || a[1] - b[1])
  let running = 0
  let peak = 0
  for (const [, d] of edges) peak = Math.max(peak, (running += d))
  assert.ok(peak <= 3, `peak ${peak}`)
  // Loose on purpose: a loaded 2-core machine delays timers by a few hundred ms.
  assert.ok(lagMs < 1000, `event loop blocked for ${lagMs.toFixed(0)} ms`)
})

test('the event loop runs while a 2 s job is awaited, followed and inspected', async () => {
  const manager = fakeManager()
  const job = await manager.submit({
    prompt: 'slow',
    env: { FAKE_CLAUDE_SCENARIO: 'slow', FAKE_CLAUDE_SECONDS: '2', FAKE_CLAUDE_INTERVAL_MS: '100' },
  })
  let ticks = 0
  const { result, lagMs } = await maxTimerLag(async () => {
    const events = (async () => {
      let n = 0
      for await (const ev of job.events()) {
        n += 1
        if (ev.type === 'assistant_text') ticks += job.info().state === 'running' ? 1 : 0
      }
      return n
    })()
    return Promise.all([job.wait(), events, manager.status(), manager.list()])
  })
  assert.equal(result[0].state, 'succeeded')
  assert.ok(ticks >= 10, `${ticks} ticks seen live`)
  // A blocking wait would stall timers for the job's 2 s.
  assert.ok(lagMs < 1000, `event loop blocked for ${lagMs.toFixed(0)} ms`)
})

test('100 concurrent wait()s on one job resolve with the same info', async () => {
  const manager = fakeManager()
  const job = await manager.submit({
    prompt: 'shared',
    env: { FAKE_CLAUDE_SCENARIO: 'slow', FAKE_CLAUDE_SECONDS: '0.5', FAKE_CLAUDE_INTERVAL_MS: '100' },
  })
  const handles = await Promise.all(Array.from({ length: 10 }, () => manager.get(job.id)))
  const waits = Array.from({ length: 100 }, (_, i) => (i % 11 === 0 ? job : handles[i % 10]).wait())
  const infos = await Promise.all(waits)
  for (const info of infos) assert.deepEqual(info, infos[0])
  assert.equal(infos[0].state, 'succeeded')
})

test('priority: higher runs first among queued jobs', async () => {
  const manager = fakeManager({ maxConcurrent: 1 })
  const blocker = await manager.submit({
    prompt: 'blocker',
    env: { FAKE_CLAUDE_SCENARIO: 'slow', FAKE_CLAUDE_SECONDS: '0.5', FAKE_CLAUDE_INTERVAL_MS: '100' },
  })
  const low = await manager.submit({ prompt: 'low', priority: 0, env: { FAKE_CLAUDE_SCENARIO: 'trivial' } })
  const high = await manager.submit({ prompt: 'high', priority: 10, env: { FAKE_CLAUDE_SCENARIO: 'trivial' } })
  const [, lowInfo, highInfo] = await Promise.all([blocker.wait(), low.wait(), high.wait()])
  assert.equal(highInfo.priority, 10)
  assert.ok(highInfo.startedAt <= lowInfo.startedAt, `high ${highInfo.startedAt} low ${lowInfo.startedAt}`)
})
