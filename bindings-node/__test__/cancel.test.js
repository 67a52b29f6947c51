'use strict'
// cancel() stops a job's whole process tree: nothing with the job's marker
// variable is left in /proc afterwards.

const test = require('node:test')
const assert = require('node:assert/strict')
const { fakeManager, marker, processesWithMarker, waitForEvent } = require('./helpers')

const manager = fakeManager({ maxConcurrent: 1 })

test('cancel a running job: cancelled, no process left', async () => {
  const m = marker()
  const job = await manager.submit({
    prompt: 'slow',
    env: { FAKE_CLAUDE_SCENARIO: 'slow', FAKE_CLAUDE_SECONDS: '60', [m.name]: m.value },
  })
  await waitForEvent(job, 'assistant_text')
  assert.equal(job.state, 'running')
  assert.ok(processesWithMarker(m).length >= 1, 'the job runs with the marker')
  assert.equal(await job.cancel(), true)
  const info = await job.wait()
  assert.equal(info.state, 'cancelled')
  assert.deepEqual(processesWithMarker(m), [])
})

test('cancel a job whose tools forked and daemonised: the whole tree goes', async () => {
  const m = marker()
  const job = await manager.submit({ prompt: 'tree', env: { FAKE_CLAUDE_SCENARIO: 'fork-tree', [m.name]: m.value } })
  const pidsEvent = await waitForEvent(job, (ev) => ev.type === 'other' && ev.raw?.subtype === 'fake_pids')
  const { pids } = pidsEvent.raw
  assert.ok(processesWithMarker(m).length >= 3, `leader + child + daemon: ${processesWithMarker(m)}`)
  assert.equal(await manager.cancel(job.id), true)
  const info = await job.wait()
  assert.equal(info.state, 'cancelled')
  assert.deepEqual(processesWithMarker(m), [])
  for (const pid of pids) assert.equal(processesWithMarker(m).includes(pid), false)
})

test('cancel a queued job: cancelled at once, never started', async () => {
  const blocker = await manager.submit({ prompt: 'blocker', env: { FAKE_CLAUDE_SCENARIO: 'slow', FAKE_CLAUDE_SECONDS: '60' } })
  const queued = await manager.submit({ prompt: 'queued', env: { FAKE_CLAUDE_SCENARIO: 'ok' } })
  assert.equal(queued.state, 'queued')
  assert.equal(await queued.cancel(), true)
  const info = await queued.wait()
  assert.equal(info.state, 'cancelled')
  assert.equal(info.startedAt, null)
  assert.equal(info.pid, null)
  assert.equal(await blocker.cancel(), true)
  assert.equal((await blocker.wait()).state, 'cancelled')
})

test('cancel a finished job: false, nothing changes', async () => {
  const job = await manager.submit({ prompt: 'done', env: { FAKE_CLAUDE_SCENARIO: 'trivial' } })
  const info = await job.wait()
  assert.equal(await job.cancel(), false)
  assert.equal(await manager.cancel(job.id), false)
  assert.deepEqual(job.info(), info)
})

test('a CLI that ignores SIGTERM is killed after killGraceMs', async () => {
  const m = marker()
  const job = await manager.submit({ prompt: 'stubborn', env: { FAKE_CLAUDE_SCENARIO: 'ignore-sigterm', [m.name]: m.value } })
  await waitForEvent(job, 'init')
  const t0 = Date.now()
  assert.equal(await job.cancel(), true)
  const info = await job.wait()
  assert.equal(info.state, 'cancelled')
  assert.ok(Date.now() - t0 < 8000, `took ${Date.now() - t0} ms`)
  assert.deepEqual(processesWithMarker(m), [])
})
