'use strict'
// manager.metrics(): the Prometheus text exposition, computed from the store
// (jobs by state, queue length, running jobs, durations by template, …).

const test = require('node:test')
const assert = require('node:assert/strict')
const { fakeManager, waitFor } = require('./helpers')

/** The value of the sample `name` (with its labels, as printed) in `text`, or undefined. */
function sample(text, name) {
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue
    const cut = line.lastIndexOf(' ')
    if (line.slice(0, cut) === name) return Number(line.slice(cut + 1))
  }
  return undefined
}

test('metrics(): Prometheus text with every family, reflecting a finished job', async () => {
  const manager = fakeManager({ maxConcurrent: 2 })
  const before = await manager.metrics()
  assert.equal(typeof before, 'string')
  assert.equal(sample(before, 'claude_jobs_queue_length'), 0)
  assert.equal(sample(before, 'claude_jobs_jobs{state="succeeded"}'), 0)
  assert.equal(sample(before, 'claude_jobs_max_concurrent'), 2)

  const info = await (await manager.submit({ prompt: 'count me', env: { FAKE_CLAUDE_SCENARIO: 'ok' } })).wait()
  assert.equal(info.state, 'succeeded', info.error)
  const text = await manager.metrics()
  for (const family of [
    'claude_jobs_jobs',
    'claude_jobs_queue_length',
    'claude_jobs_running_jobs',
    'claude_jobs_max_concurrent',
    'claude_jobs_job_duration_seconds',
    'claude_jobs_cost_usd',
    'claude_jobs_tokens',
    'claude_jobs_cpu_seconds',
    'claude_jobs_oom_kills',
    'claude_jobs_cgroup_failures',
  ]) {
    assert.match(text, new RegExp(`^# TYPE ${family} `, 'm'), family)
  }
  assert.ok(sample(text, 'claude_jobs_jobs{state="succeeded"}') >= 1, text)
  assert.equal(sample(text, 'claude_jobs_jobs{state="failed"}'), 0)
  assert.equal(sample(text, 'claude_jobs_queue_length'), 0)
  assert.equal(sample(text, 'claude_jobs_job_duration_seconds_count{template="none"}'), 1)
  assert.ok(sample(text, 'claude_jobs_cost_usd_total{template="none"}') > 0, text)
  assert.ok(sample(text, 'claude_jobs_tokens_total{template="none",kind="output"}') > 0, text)
  assert.match(text, /^# EOF$/m)
})

test('metrics(): queued and running jobs are counted while they wait and run', async () => {
  const manager = fakeManager({ maxConcurrent: 1 })
  const blocker = await manager.submit({
    prompt: 'blocker',
    env: { FAKE_CLAUDE_SCENARIO: 'slow', FAKE_CLAUDE_SECONDS: '30', FAKE_CLAUDE_INTERVAL_MS: '200' },
  })
  const queued = await manager.submit({ prompt: 'behind', env: { FAKE_CLAUDE_SCENARIO: 'trivial' } })
  const text = await waitFor(
    async () => {
      const t = await manager.metrics()
      return sample(t, 'claude_jobs_running_jobs') === 1 ? t : null
    },
    { what: 'the blocker running in metrics' },
  )
  assert.equal(sample(text, 'claude_jobs_jobs{state="running"}'), 1, text)
  assert.equal(sample(text, 'claude_jobs_jobs{state="queued"}'), 1, text)
  assert.equal(sample(text, 'claude_jobs_queue_length'), 1, text)
  await blocker.cancel()
  assert.equal((await queued.wait()).state, 'succeeded')
  const after = await manager.metrics()
  assert.equal(sample(after, 'claude_jobs_jobs{state="cancelled"}'), 1, after)
  assert.equal(sample(after, 'claude_jobs_queue_length'), 0, after)
})
