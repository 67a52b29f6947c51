// DELETE /api/jobs/:id cancels: the job ends `cancelled` and none of its
// processes is left in /proc; cancelling again reports `cancelled: false`.

import test from 'node:test'
import assert from 'node:assert/strict'
import { processesWithMarker, readSse, request, startService, waitFinal } from './helpers.js'

const { url, marker } = await startService()

test('cancel a running job: cancelled, no process left; again: false', async () => {
  const { body: job } = await request(`${url}/api/jobs`, { method: 'POST', json: { prompt: 'wait\nfake-scenario: fork-tree' } })
  // The fake CLI reports its child and daemon (`fake_pids`) once the daemon's
  // short-lived parent has exited: from then on the tree holds still. (Counting
  // before that can see the parent, then miss the daemon: /proc is read one
  // process at a time.)
  /** @type {number[] | null} */
  let pids = null
  /** @type {{ status: number, body: any } | null} */
  let cancel = null
  // Without the report within 15 s the job is cancelled anyway, and the test fails below.
  const deadline = setTimeout(() => request(`${url}/api/jobs/${job.id}`, { method: 'DELETE' }), 15_000)
  await readSse(`${url}/api/jobs/${job.id}/events`, {
    onFrame: async (f) => {
      if (pids !== null || f.data.type !== 'other' || f.data.raw?.subtype !== 'fake_pids') return
      pids = /** @type {number[]} */ (f.data.raw.pids)
      const live = processesWithMarker(marker).map(Number)
      assert.ok(live.length >= 3, `the CLI, its child and the daemon run: ${live}`)
      for (const pid of pids) assert.ok(live.includes(pid), `${pid} (child or daemon) among ${live}`)
      cancel = await request(`${url}/api/jobs/${job.id}`, { method: 'DELETE' })
    },
  }).finally(() => clearTimeout(deadline))
  assert.ok(pids && cancel, 'the CLI reported its tree and the job was cancelled')
  const r = /** @type {{ status: number, body: any }} */ (cancel)
  assert.equal(r.status, 200)
  assert.equal(r.body.cancelled, true)
  assert.equal(r.body.id, job.id)
  const done = await waitFinal(url, job.id)
  assert.equal(done.state, 'cancelled')
  assert.deepEqual(processesWithMarker(marker), [])
  const again = await request(`${url}/api/jobs/${job.id}`, { method: 'DELETE' })
  assert.deepEqual(again.body, { id: job.id, cancelled: false, state: 'cancelled' })
})

test('cancel a queued job: cancelled without ever starting', async () => {
  const slow = { method: 'POST', json: { prompt: 'block\nfake-scenario: slow' } }
  const a = (await request(`${url}/api/jobs`, slow)).body
  const b = (await request(`${url}/api/jobs`, slow)).body
  const queued = (await request(`${url}/api/jobs`, { method: 'POST', json: { prompt: 'later' } })).body
  assert.equal(queued.state, 'queued')
  const r = await request(`${url}/api/jobs/${queued.id}`, { method: 'DELETE' })
  assert.equal(r.body.cancelled, true)
  const done = await waitFinal(url, queued.id)
  assert.equal(done.state, 'cancelled')
  assert.equal(done.startedAt, null)
  for (const j of [a, b]) await request(`${url}/api/jobs/${j.id}`, { method: 'DELETE' })
})
