'use strict'
// Policy, tenants, quotas and idempotency (issue 18) through the binding:
// POLICY_VIOLATION naming the field as spelled in JS, QUOTA_EXCEEDED with
// the tenant (and retryAfterMs when the core knows it), setTenant /
// tenantUsage, a policy file's tenant quotas, and idempotencyKey.

const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const { JobManager, ClaudeJobsError } = require('..')
const { fakeManager, tempDir, waitFor } = require('./helpers')

/** The ClaudeJobsError that `promise` rejects with. */
async function rejection(promise) {
  try {
    await promise
  } catch (err) {
    assert.ok(err instanceof ClaudeJobsError, String(err && err.stack))
    return err
  }
  assert.fail('expected a rejection')
}

/** A slow fake job that holds a slot until cancelled. */
const HOLD = { prompt: 'hold', env: { FAKE_CLAUDE_SCENARIO: 'slow', FAKE_CLAUDE_SECONDS: '60' } }

test("the safe policy: POLICY_VIOLATION naming the field as spelled in JS", async () => {
  const manager = fakeManager({ policy: 'safe' })
  const cases = [
    [{ allowedTools: ['Bash'] }, 'allowedTools'],
    [{ allowedTools: ['Read', 'Bash(ls *)'] }, 'allowedTools'],
    [{ pids: 1000 }, 'pids'],
    [{ memory: '4G' }, 'memory'],
    [{ timeoutMs: 3_600_000 }, 'timeoutMs'],
    [{ webhookUrl: 'http://127.0.0.1:9/hook' }, 'webhookUrl'],
    [{ extraArgs: ['--verbose'] }, 'extraArgs'],
  ]
  for (const [extra, field] of cases) {
    const err = await rejection(manager.submit({ prompt: 'hi', ...extra }))
    assert.equal(err.code, 'POLICY_VIOLATION', `${JSON.stringify(extra)}: ${err.message}`)
    assert.equal(err.field, field, JSON.stringify(extra))
  }
  // Within the policy: the job runs with the policy's default caps.
  const info = await (await manager.submit({ prompt: 'fine', allowedTools: ['Read'] })).wait()
  assert.equal(info.state, 'succeeded', info.error)
  assert.equal(info.limits.pids, 256)
})

test('a policy file: its tenants override the rules and their quotas reach the store', async () => {
  const file = path.join(tempDir(), 'policy.yaml')
  fs.writeFileSync(file, 'max_pids: 300\ntenants:\n  small: { max_queued: 3, max_pids: 100 }\n')
  const manager = fakeManager({ policy: file })
  const err = await rejection(manager.submit({ prompt: 'hi', tenant: 'small', pids: 200 }))
  assert.equal(err.code, 'POLICY_VIOLATION')
  assert.equal(err.field, 'pids')
  const other = await (await manager.submit({ prompt: 'hi', tenant: 'big', pids: 200 })).wait()
  assert.equal(other.state, 'succeeded', other.error)
  assert.equal(other.tenant, 'big')
  const usage = await manager.tenantUsage('small')
  assert.deepEqual(usage.quota, { maxRunning: null, maxQueued: 3, dailyBudgetUsd: null })
  // A bad policy file is refused at start-up, naming the policy.
  const bad = path.join(tempDir(), 'bad.yaml')
  fs.writeFileSync(bad, 'max_memory: lots\n')
  const startErr = await rejection(JobManager.create({ claudeBin: 'x', dataDir: tempDir(), policy: bad }))
  assert.equal(startErr.code, 'INVALID_SPEC')
  assert.match(startErr.field, /^policy/)
})

test('maxQueued: QUOTA_EXCEEDED with the tenant; a spent daily budget also says when to retry', async () => {
  const manager = fakeManager({ maxConcurrent: 1 })
  await manager.setTenant('a', { maxQueued: 2 })
  const holder = await manager.submit(HOLD)
  await waitFor(() => holder.state === 'running', { what: 'the slow job to run' })
  const queued = [await manager.submit({ prompt: 'q1', tenant: 'a' }), await manager.submit({ prompt: 'q2', tenant: 'a' })]
  const err = await rejection(manager.submit({ prompt: 'one too many', tenant: 'a' }))
  assert.equal(err.code, 'QUOTA_EXCEEDED')
  assert.equal(err.tenant, 'a')
  assert.match(err.message, /max_queued/)
  // Nobody knows when a queued job will leave the queue: the core's hint (5 s).
  assert.equal(err.retryAfterMs, 5000)
  // Another tenant is not affected.
  const other = await manager.submit({ prompt: 'b', tenant: 'b' })
  const usage = await manager.tenantUsage('a')
  assert.equal(usage.queued, 2)
  assert.equal(usage.running, 0)

  await manager.setTenant('c', { dailyBudgetUsd: 0 })
  const spent = await rejection(manager.submit({ prompt: 'no budget', tenant: 'c' }))
  assert.equal(spent.code, 'QUOTA_EXCEEDED')
  assert.equal(spent.tenant, 'c')
  assert.equal(typeof spent.retryAfterMs, 'number')
  assert.ok(spent.retryAfterMs > 0 && spent.retryAfterMs <= 24 * 3600 * 1000, String(spent.retryAfterMs))

  await holder.cancel()
  for (const job of [...queued, other]) assert.equal((await job.wait()).state, 'succeeded')
  // The queue has room again.
  assert.equal((await (await manager.submit({ prompt: 'q3', tenant: 'a' })).wait()).state, 'succeeded')
})

test('setTenant / tenantUsage round trip; bad quotas are named', async () => {
  const manager = fakeManager()
  assert.deepEqual(await manager.tenantUsage('nobody'), {
    name: 'nobody',
    quota: { maxRunning: null, maxQueued: null, dailyBudgetUsd: null },
    running: 0,
    queued: 0,
    spentTodayUsd: 0,
    reservedUsd: 0,
    budgetLeftUsd: null,
  })
  await manager.setTenant('t1', { maxRunning: 2, maxQueued: 10, dailyBudgetUsd: 5 })
  const info = await (await manager.submit({ prompt: 'spend', tenant: 't1' })).wait()
  assert.equal(info.state, 'succeeded', info.error)
  const usage = await manager.tenantUsage('t1')
  assert.deepEqual(usage.quota, { maxRunning: 2, maxQueued: 10, dailyBudgetUsd: 5 })
  assert.equal(usage.name, 't1')
  assert.ok(usage.spentTodayUsd > 0, 'the finished job cost something')
  assert.ok(Math.abs(usage.spentTodayUsd - info.costUsd) < 1e-9, `${usage.spentTodayUsd} vs ${info.costUsd}`)
  assert.ok(Math.abs(usage.budgetLeftUsd - (5 - usage.spentTodayUsd - usage.reservedUsd)) < 1e-9)
  // Setting again replaces the quota (unset keys: no limit).
  await manager.setTenant('t1', { maxQueued: 1 })
  assert.deepEqual((await manager.tenantUsage('t1')).quota, { maxRunning: null, maxQueued: 1, dailyBudgetUsd: null })
  for (const [name, quota, field] of [
    ['t1', { maxQueud: 1 }, 'quota.maxQueud'],
    ['t1', { maxRunning: -1 }, 'quota.maxRunning'],
    ['t1', { dailyBudgetUsd: -1 }, 'quota.dailyBudgetUsd'],
    ['t1', { dailyBudgetUsd: NaN }, 'quota.dailyBudgetUsd'],
    ['t1', 'lots', 'quota'],
    ['not a name!', {}, 'tenant'],
  ]) {
    const err = await rejection(manager.setTenant(name, quota))
    assert.equal(err.code, 'INVALID_SPEC', JSON.stringify(quota))
    assert.equal(err.field, field, JSON.stringify(quota))
  }
})

test('idempotencyKey: a repeated submit of a tenant resolves with the first job', async () => {
  const manager = fakeManager()
  const first = await manager.submit({ prompt: 'once', tenant: 'a', idempotencyKey: 'k-1' })
  const again = await manager.submit({ prompt: 'once', tenant: 'a', idempotencyKey: 'k-1' })
  assert.equal(again.id, first.id)
  const otherTenant = await manager.submit({ prompt: 'once', tenant: 'b', idempotencyKey: 'k-1' })
  assert.notEqual(otherTenant.id, first.id)
  await first.wait()
  await otherTenant.wait()
  const listed = await manager.list({ tenant: 'a' })
  assert.deepEqual(listed.jobs.map((j) => j.id), [first.id])
})
