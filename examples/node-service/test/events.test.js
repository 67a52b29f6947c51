// GET /api/jobs/:id/events: server-sent events, past then live; `seq` as the
// SSE id; `?after=` and `Last-Event-ID` resume; the stream ends with the job.

import test from 'node:test'
import assert from 'node:assert/strict'
import { readSse, request, startService, waitFinal } from './helpers.js'

const { url } = await startService()

test('replay of a finished job, then resuming with ?after= and Last-Event-ID', async () => {
  const { body: job } = await request(`${url}/api/jobs`, { method: 'POST', json: { prompt: 'hi' } })
  await waitFinal(url, job.id)
  const { frames, contentType } = await readSse(`${url}/api/jobs/${job.id}/events`)
  assert.match(contentType, /^text\/event-stream/)
  const events = frames.filter((f) => !f.comment)
  assert.deepEqual(
    events.map((f) => f.id),
    events.map((_, i) => i + 1),
  )
  assert.deepEqual(
    events.map((f) => f.data.seq),
    events.map((f) => f.id),
  )
  assert.equal(events[0].data.type, 'queued')
  assert.equal(events.at(-1)?.data.type, 'finished')
  assert.equal(events.at(-1)?.data.state, 'succeeded')
  const afterThree = (await readSse(`${url}/api/jobs/${job.id}/events?after=3`)).frames.filter((f) => !f.comment)
  assert.deepEqual(afterThree, events.slice(3))
  const resumed = (await readSse(`${url}/api/jobs/${job.id}/events`, { headers: { 'Last-Event-ID': '4' } })).frames.filter(
    (f) => !f.comment,
  )
  assert.deepEqual(resumed, events.slice(4))
  assert.equal((await request(`${url}/api/jobs/${job.id}/events?after=x`)).status, 422)
})

test('live: ticks arrive while the job runs; DELETE ends it and the stream closes', async () => {
  const { body: job } = await request(`${url}/api/jobs`, { method: 'POST', json: { prompt: 'wait\nfake-scenario: slow' } })
  let ticks = 0
  /** @type {{ status: number, body: any } | null} */
  let cancel = null
  const started = Date.now()
  const { frames } = await readSse(`${url}/api/jobs/${job.id}/events`, {
    onFrame: async (f) => {
      if (f.data.type === 'assistant_text' && ++ticks === 2) {
        cancel = await request(`${url}/api/jobs/${job.id}`, { method: 'DELETE' })
      }
    },
  })
  assert.ok(Date.now() - started < 20_000, 'the stream ended with the job, long before the 30 s scenario')
  assert.ok(cancel, 'cancelled mid-stream')
  const { status, body } = /** @type {{ status: number, body: any }} */ (cancel)
  assert.equal(status, 200)
  assert.equal(body.id, job.id)
  assert.equal(body.cancelled, true)
  const types = frames.filter((f) => !f.comment).map((f) => f.data.type)
  assert.ok(types.includes('stopping'), types.join(' '))
  assert.equal(types.at(-1), 'finished')
  assert.equal(frames.filter((f) => !f.comment).at(-1)?.data.state, 'cancelled')
  // Keep-alive comments (every 200 ms in the tests) came while the job was quiet.
  assert.ok(frames.some((f) => f.comment), 'keep-alive comments')
})
