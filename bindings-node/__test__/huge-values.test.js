'use strict'
// Issue 19 from Node: values that once dropped every cap or wedged a slot
// (`pids` the kernel refuses, a timeout that overflows the clock) are refused
// at submit naming the field, and the manager keeps serving. (Non-finite
// numbers: errors.test.js.)

const test = require('node:test')
const assert = require('node:assert/strict')
const { ClaudeJobsError } = require('..')
const { fakeManager } = require('./helpers')

test('pids the kernel refuses and overflowing timeouts: INVALID_SPEC naming the field; the manager goes on', async () => {
  const manager = fakeManager({ maxConcurrent: 1 })
  const cases = [
    [{ pids: 2 ** 53 }, 'pids'],
    [{ pids: 5_000_000 }, 'pids'],
    [{ pids: Number.MAX_VALUE }, 'pids'],
    [{ timeoutMs: 1e22 }, 'timeoutMs'],
    [{ idleTimeoutMs: 1e22 }, 'idleTimeoutMs'],
    [{ timeoutMs: 31 * 24 * 3600 * 1000 }, 'timeoutMs'],
    [{ timeoutMs: '1e19s' }, 'timeoutMs'],
  ]
  for (const [extra, field] of cases) {
    let err
    try {
      await manager.submit({ prompt: 'hi', ...extra })
    } catch (e) {
      err = e
    }
    assert.ok(err instanceof ClaudeJobsError, `${JSON.stringify(extra)} was accepted`)
    assert.equal(err.code, 'INVALID_SPEC', `${JSON.stringify(extra)}: ${err.message}`)
    assert.equal(err.field, field, `${JSON.stringify(extra)}: ${err.message}`)
  }
  // The slot is free and capped jobs still run.
  const info = await (await manager.submit({ prompt: 'after', pids: 64, timeoutMs: 60_000 })).wait()
  assert.equal(info.state, 'succeeded', info.error)
  assert.equal(info.limits.pids, 64)
  assert.equal((await manager.status()).running, 0)
})

test('a default cap the kernel refuses is named at construction', () => {
  assert.throws(
    () => fakeManager({ defaultLimits: { pids: 5_000_000 } }),
    (e) => e instanceof ClaudeJobsError && e.code === 'INVALID_SPEC' && e.field === 'defaultLimits.pids',
  )
  assert.throws(
    () => fakeManager({ defaultTimeoutMs: 1e22 }),
    (e) => e instanceof ClaudeJobsError && e.code === 'INVALID_SPEC' && e.field === 'defaultTimeoutMs',
  )
})
