// The API key never reaches a client: not in the SSE stream, the job, or the logs route,
// even when the CLI writes it JSON-escaped (\u0073\u006b…) so that only a parser sees it.

import test from 'node:test'
import assert from 'node:assert/strict'
import { request, startService, waitFinal } from './helpers.js'

const KEY = 'sk-ant-test-7f3c9a1e5b2d4c6e8a0f'
const ESCAPED = [...KEY].map((c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`).join('')

test('an escaped key is masked in the SSE stream, the job and the logs', async () => {
  const { url } = await startService({ jobEnv: { ANTHROPIC_API_KEY: KEY } })
  const r = await request(`${url}/api/jobs`, { method: 'POST', json: { prompt: 'say it\nfake-scenario: leak-escaped' } })
  assert.equal(r.status, 201, JSON.stringify(r.body))
  const done = await waitFinal(url, r.body.id)
  assert.equal(done.state, 'succeeded')
  const stream = (await request(`${url}/api/jobs/${r.body.id}/events`)).body
  assert.equal(typeof stream, 'string')
  // The fake CLI did write the key (escaped): its text and result came through, masked.
  assert.match(stream, /the key is \[REDACTED\]/)
  assert.equal(done.result, 'the key is [REDACTED]')
  const job = JSON.stringify((await request(`${url}/api/jobs/${r.body.id}`)).body)
  const logs = (await request(`${url}/api/jobs/${r.body.id}/logs`)).body
  for (const [where, body] of [['events', stream], ['job', job], ['logs', logs]]) {
    assert.ok(!body.includes(KEY), `${where} holds the key`)
    assert.ok(!body.includes(ESCAPED) && !body.includes(ESCAPED.replaceAll('\\', '\\\\')), `${where} holds the escaped key`)
  }
})
