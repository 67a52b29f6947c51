'use strict'
// job.events(): past events replayed, then live ones; `type` tags in
// snake_case, `seq` from 1, `atMs`, camelCased fields; `{ after }` resumes.

const test = require('node:test')
const assert = require('node:assert/strict')
const { fakeManager } = require('./helpers')

const manager = fakeManager()

async function collect(iterable) {
  const out = []
  for await (const ev of iterable) out.push(ev)
  return out
}

test('a live subscriber sees every event, in order, ending with finished', async () => {
  const job = await manager.submit({ prompt: 'tools', env: { FAKE_CLAUDE_SCENARIO: 'tool-use' } })
  const events = await collect(job.events())
  assert.deepEqual(
    events.map((e) => e.type),
    ['queued', 'started', 'init', 'tool_use', 'tool_result', 'assistant_text', 'result', 'finished'],
  )
  events.forEach((e, i) => {
    assert.equal(e.seq, i + 1)
    assert.equal(typeof e.atMs, 'number')
    assert.ok(e.atMs > 1.6e12)
  })
  const [, started, init, toolUse, toolResult, text, result, finished] = events
  assert.ok(started.pid > 0)
  assert.ok(['cgroup-v1', 'cgroup-v2', 'none'].includes(started.isolation))
  assert.equal(started.attempt, 1)
  assert.equal(init.cliVersion, '0.0.0-fake')
  assert.match(init.sessionId, /^[0-9a-f-]{36}$/)
  assert.ok(Array.isArray(init.tools))
  assert.equal(toolUse.name, 'Write')
  // The tool input is the CLI's own JSON: passed through, not camelCased.
  assert.deepEqual(toolUse.input, { content: 'hello', file_path: 'out.md' })
  assert.equal(toolResult.toolUseId, toolUse.id)
  assert.equal(toolResult.isError, false)
  assert.equal(text.text, 'Wrote out.md')
  assert.equal(result.isError, false)
  assert.equal(result.numTurns, 2)
  assert.equal(typeof result.usage.inputTokens, 'number')
  assert.equal(result.sessionId, init.sessionId)
  assert.deepEqual({ state: finished.state, error: finished.error }, { state: 'succeeded', error: null })
})

test('a finished job replays its events; { after } resumes after a seq', async () => {
  const job = await manager.submit({ prompt: 'hi', env: { FAKE_CLAUDE_SCENARIO: 'ok' } })
  await job.wait()
  const all = await collect(job.events())
  assert.equal(all.at(-1).type, 'finished')
  const rest = await collect(job.events({ after: 3 }))
  assert.deepEqual(rest, all.slice(3))
  assert.deepEqual(await collect(job.events({ after: all.at(-1).seq })), [])
})

test('eventBatches: the same events in arrays of at most max; a bad max is INVALID_SPEC', async () => {
  const job = await manager.submit({ prompt: 'tools', env: { FAKE_CLAUDE_SCENARIO: 'tool-use' } })
  await job.wait()
  const everything = await collect(job.events())
  // A finished job: every event is there, so each array is full but the last.
  const arrays = await collect(job.eventBatches({ after: 1, max: 3 }))
  const rest = everything.length - 1
  assert.deepEqual(
    arrays.map((a) => a.length),
    [...Array(Math.floor(rest / 3)).fill(3), ...(rest % 3 ? [rest % 3] : [])],
  )
  assert.deepEqual(arrays.flat(), everything.slice(1))
  const slow = await manager.submit({ prompt: 'slow', env: { FAKE_CLAUDE_SCENARIO: 'slow', FAKE_CLAUDE_SECONDS: '0.5', FAKE_CLAUDE_INTERVAL_MS: '50' } })
  const live = (await collect(slow.eventBatches())).flat()
  assert.deepEqual(live.map((e) => e.seq), live.map((_, i) => i + 1))
  assert.equal(live.at(-1).type, 'finished')
  for (const max of [0, 10_001, 1.5, NaN, '3']) {
    assert.throws(() => job.eventBatches({ max }), (e) => e.code === 'INVALID_SPEC' && e.field === 'max' && e.message.includes(String(max)))
  }
})

test('several subscribers at once see the same stream', async () => {
  const job = await manager.submit({
    prompt: 'ticks',
    env: { FAKE_CLAUDE_SCENARIO: 'slow', FAKE_CLAUDE_SECONDS: '1', FAKE_CLAUDE_INTERVAL_MS: '100' },
  })
  const [a, b, c] = await Promise.all([collect(job.events()), collect(job.events()), collect(job.events({ after: 1 }))])
  assert.deepEqual(a, b)
  assert.deepEqual(c, a.slice(1))
  assert.ok(a.filter((e) => e.type === 'assistant_text').length >= 5)
})

test('api retries and rate limits become typed events', async () => {
  const retry = await manager.submit({ prompt: 'retry', env: { FAKE_CLAUDE_SCENARIO: 'api-retry' } })
  const retries = (await collect(retry.events())).filter((e) => e.type === 'api_retry')
  assert.equal(retries.length, 2)
  assert.deepEqual(
    { attempt: retries[0].attempt, maxRetries: retries[0].maxRetries, delayMs: retries[0].delayMs, status: retries[0].status },
    { attempt: 1, maxRetries: 10, delayMs: 100, status: 529 },
  )
  const limited = await manager.submit({ prompt: 'limit', env: { FAKE_CLAUDE_SCENARIO: 'rate-limit' } })
  const rl = (await collect(limited.events())).find((e) => e.type === 'rate_limit')
  assert.equal(rl.status, 'allowed_warning')
  assert.equal(rl.limitType, 'five_hour')
  assert.equal(typeof rl.resetsAt, 'number')
})

test('garbage output: warnings and other events, the job still succeeds', async () => {
  const job = await manager.submit({ prompt: 'junk', env: { FAKE_CLAUDE_SCENARIO: 'garbage' } })
  const events = await collect(job.events())
  assert.ok(events.some((e) => e.type === 'warning' && e.kind === 'not_json' && typeof e.message === 'string'))
  const other = events.find((e) => e.type === 'other')
  assert.equal(other.messageType, 'future_thing')
  assert.deepEqual(other.raw, { type: 'future_thing', data: 1 })
  assert.equal((await job.wait()).state, 'succeeded')
})

test('breaking out of the loop early is fine', async () => {
  const job = await manager.submit({ prompt: 'hi', env: { FAKE_CLAUDE_SCENARIO: 'ok' } })
  for await (const ev of job.events()) {
    if (ev.type === 'started') break
  }
  assert.equal((await job.wait()).state, 'succeeded')
})

test('eventBufferBytes is an option, checked like the others', async () => {
  assert.throws(
    () => fakeManager({ eventBufferBytes: -1 }),
    (e) => e.code === 'INVALID_SPEC' && e.field === 'eventBufferBytes',
  )
  // A log bounded to almost nothing keeps the newest event: `finished`.
  const m = fakeManager({ eventBufferBytes: 1, storeUrl: 'memory' })
  const job = await m.submit({ prompt: 'hello' })
  const info = await job.wait()
  assert.equal(info.state, 'succeeded')
  const events = await collect(job.events())
  assert.ok(events.length > 0)
  assert.equal(events.at(-1).type, 'finished')
})
