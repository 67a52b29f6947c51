'use strict'
// The job store: SQLite in the data dir by default, so a new manager on the
// same data dir knows the jobs of the last one; `maxAttempts` retries an
// attempt that may succeed on another try.

const test = require('node:test')
const assert = require('node:assert/strict')
const { fakeManager, tempDir, waitForEvent } = require('./helpers')

test('a job outlives its manager: a new manager on the data dir has it, events included', async () => {
  const dataDir = tempDir()
  const first = fakeManager({ dataDir })
  const status = await first.status()
  assert.match(status.storeUrl, /^sqlite:/)
  assert.equal(status.storeHealth.healthy, true)
  const job = await first.submit({ prompt: 'remember me', env: { FAKE_CLAUDE_SCENARIO: 'ok' } })
  const info = await job.wait()
  const events = []
  for await (const ev of job.events()) events.push(ev)
  await first.shutdown()

  const second = fakeManager({ dataDir })
  const again = await second.get(job.id)
  assert.equal(again.state, 'succeeded')
  assert.equal(again.info().result, info.result)
  const replayed = []
  for await (const ev of again.events()) replayed.push(ev)
  assert.deepEqual(
    replayed.map((e) => [e.seq, e.type]),
    events.map((e) => [e.seq, e.type]),
  )
  assert.ok((await second.list()).jobs.some((i) => i.id === job.id))
})

test('two managers on one data dir in one process leave each other\'s jobs alone', async () => {
  const dataDir = tempDir()
  const a = fakeManager({ dataDir })
  const job = await a.submit({ prompt: 'long', env: { FAKE_CLAUDE_SCENARIO: 'slow', FAKE_CLAUDE_SECONDS: '1.5' } })
  await waitForEvent(job, 'assistant_text')
  const b = fakeManager({ dataDir })
  const [sa, sb] = [await a.status(), await b.status()]
  assert.notEqual(sa.nodeId, sb.nodeId)
  const info = await job.wait()
  assert.equal(info.state, 'succeeded', info.error ?? '')
})

test("storeUrl 'memory': nothing is kept", async () => {
  const m = fakeManager({ storeUrl: 'memory' })
  assert.equal((await m.status()).storeUrl, 'memory')
})

test('maxAttempts: a CLI that dies without a result is retried, with a retrying event', async () => {
  const m = fakeManager({ retryBackoff: { baseMs: 50, maxMs: 100 } })
  const job = await m.submit({ prompt: 'flaky', maxAttempts: 2, env: { FAKE_CLAUDE_SCENARIO: 'no-result' } })
  const info = await job.wait()
  assert.equal(info.state, 'failed')
  assert.equal(info.attempt, 2)
  const types = []
  let retrying
  for await (const ev of job.events()) {
    types.push(ev.type)
    if (ev.type === 'retrying') retrying = ev
  }
  assert.equal(types.filter((t) => t === 'started').length, 2, types.join(' '))
  assert.deepEqual(Object.keys(retrying).sort(), ['atMs', 'attempt', 'countsAsAttempt', 'delayMs', 'error', 'seq', 'type'])
  assert.equal(retrying.attempt, 1)
  assert.equal(retrying.countsAsAttempt, true)
  await assert.rejects(m.submit({ prompt: 'x', maxAttempts: 0 }), { code: 'INVALID_SPEC', field: 'maxAttempts' })
})
