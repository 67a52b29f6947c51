// DELETE /api/jobs/:id cancels: the job ends `cancelled` and none of its
// processes is left in /proc; cancelling again reports `cancelled: false`.

import test from 'node:test'
import assert from 'node:assert/strict'
import { processesWithMarker, request, startService, waitFinal } from './helpers.js'

const { url, marker } = await startService()

test('cancel a running job: cancelled, no process left; again: false', async () => {
  const { body: job } = await request(`${url}/api/jobs`, { method: 'POST', json: { prompt: 'wait\nfake-scenario: fork-tree' } })
  for (let i = 0; i < 200; i++) {
    const { body } = await request(`${url}/api/jobs/${job.id}`)
    if (body.state === 'running' && processesWithMarker(marker).length >= 3) break
    await new Promise((r) => setTimeout(r, 50))
  }
  assert.ok(processesWithMarker(marker).length >= 3, 'the CLI, its child and the daemon run')
  const r = await request(`${url}/api/jobs/${job.id}`, { method: 'DELETE' })
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
