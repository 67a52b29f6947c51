// Webhooks through the service: a policy file that allows `webhook_url`,
// CLAUDE_JOBS_WEBHOOK_SECRET set; a loopback receiver gets one signed POST
// per final state and the signature verifies. (The core's tests cover a
// failed delivery retried across a restart.)

import test from 'node:test'
import assert from 'node:assert/strict'
import crypto from 'node:crypto'
import fs from 'node:fs'
import http from 'node:http'
import path from 'node:path'
import { after } from 'node:test'
import { auth, request, startService, tempDir, waitFinal, writeKeysFile } from './helpers.js'

const SECRET = 'webhook-secret-for-tests'
const POLICY = 'forbidden_tools: [Bash]\nmax_memory: 1G\ndefault_limits: { memory: 256M }\nallow: { webhook_url: true }\n'
const A = auth('tenant-a')

/** @type {{ headers: http.IncomingHttpHeaders, body: Buffer }[]} */
const deliveries = []
const receiver = http.createServer((req, res) => {
  /** @type {Buffer[]} */
  const chunks = []
  req.on('data', (c) => chunks.push(c))
  req.on('end', () => {
    deliveries.push({ headers: req.headers, body: Buffer.concat(chunks) })
    res.writeHead(200).end()
  })
})
await new Promise((resolve) => receiver.listen(0, '127.0.0.1', () => resolve(undefined)))
after(() => new Promise((resolve) => receiver.close(() => resolve(undefined))))
const hook = `http://127.0.0.1:${/** @type {import('node:net').AddressInfo} */ (receiver.address()).port}/hook`

/** This job's deliveries, once there is one, and 2 s later (to see a second). */
async function deliveriesFor(/** @type {string} */ id, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs
  const mine = () => deliveries.filter((d) => d.headers['x-claude-jobs-job'] === id)
  while (mine().length === 0) {
    assert.ok(Date.now() < deadline, `no delivery for ${id}`)
    await new Promise((r) => setTimeout(r, 100))
  }
  await new Promise((r) => setTimeout(r, 2000))
  return mine()
}

test('one signed POST per final state (webhook_url and webhookUrl)', async () => {
  const policy = path.join(tempDir(), 'policy.yaml')
  fs.writeFileSync(policy, POLICY)
  const { url } = await startService({ keysFile: writeKeysFile(), policy, webhookSecret: SECRET })
  const submit = (/** @type {unknown} */ json) => request(`${url}/api/jobs`, { method: 'POST', json, headers: A })
  const ok = await submit({ prompt: 'notify me', webhook_url: hook })
  assert.equal(ok.status, 201, JSON.stringify(ok.body))
  const slow = await submit({ prompt: 'x\nfake-scenario: slow', webhookUrl: hook })
  assert.equal(slow.status, 201, JSON.stringify(slow.body))
  assert.equal((await waitFinal(url, ok.body.id, A)).state, 'succeeded')
  await request(`${url}/api/jobs/${slow.body.id}`, { method: 'DELETE', headers: A })
  assert.equal((await waitFinal(url, slow.body.id, A)).state, 'cancelled')
  for (const [id, state] of [[ok.body.id, 'succeeded'], [slow.body.id, 'cancelled']]) {
    const got = await deliveriesFor(id)
    assert.equal(got.length, 1, `${got.length} deliveries for one final state`)
    const [{ headers, body }] = got
    const expected = `sha256=${crypto.createHmac('sha256', SECRET).update(body).digest('hex')}`
    const signature = String(headers['x-claude-jobs-signature'])
    assert.ok(signature.length === expected.length && crypto.timingSafeEqual(Buffer.from(signature), Buffer.from(expected)), signature)
    const wrong = `sha256=${crypto.createHmac('sha256', 'another secret').update(body).digest('hex')}`
    assert.notEqual(signature, wrong)
    const info = JSON.parse(body.toString('utf8'))
    assert.equal(info.id, id)
    assert.equal(info.state, state)
    assert.equal(info.tenant, 'tenant-a')
    assert.match(String(headers['content-type']), /^application\/json/)
  }
})
