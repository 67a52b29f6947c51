// Request bodies over 1 MiB are 413 before anything parses them, whether the
// client sends Content-Length or a chunked body; exactly 1 MiB is served; a
// request without a key is refused (401) before its body is read.

import test from 'node:test'
import assert from 'node:assert/strict'
import http from 'node:http'
import { auth, request, startService, writeKeysFile } from './helpers.js'

const TOO_LARGE = { detail: 'request body over 1 MiB', code: 'BODY_TOO_LARGE' }
const MIB = 1 << 20
const { url } = await startService()

/** A JSON job request of exactly `size` bytes (the prompt pads it). */
function bigBody(/** @type {number} */ size) {
  const head = '{"prompt": "'
  const tail = '"}'
  return Buffer.from(head + 'x'.repeat(size - head.length - tail.length) + tail)
}

/**
 * POSTs `body` to `base`/api/jobs with node:http, chunked (no Content-Length)
 * or not: `{ status, body, chunked }`.
 *
 * @param {string} base
 * @param {Buffer} body
 * @param {{ chunked?: boolean, headers?: Record<string, string> }} [options]
 * @returns {Promise<{ status: number, body: any, chunked: boolean }>}
 */
function post(base, body, { chunked = false, headers = {} } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request(`${base}/api/jobs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers, ...(chunked ? {} : { 'content-length': body.length }) },
    })
    req.on('response', (res) => {
      let text = ''
      res.on('data', (d) => (text += d))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text), chunked: req.getHeader('content-length') === undefined }))
    })
    // The server may answer and close before the whole body is sent.
    req.on('error', (err) => (/** @type {{ code?: string }} */ (err).code === 'EPIPE' || /** @type {{ code?: string }} */ (err).code === 'ECONNRESET' ? undefined : reject(err)))
    for (let i = 0; i < body.length; i += 64 * 1024) req.write(body.subarray(i, i + 64 * 1024))
    req.end()
  })
}

test('2 MiB with Content-Length: 413 BODY_TOO_LARGE, nothing submitted', async () => {
  const r = await post(url, bigBody(2 * MIB))
  assert.equal(r.status, 413)
  assert.deepEqual(r.body, TOO_LARGE)
  assert.deepEqual((await request(`${url}/api/jobs`)).body.jobs, [])
  assert.equal((await request(`${url}/health`)).status, 200)
})

test('2 MiB chunked: 413 BODY_TOO_LARGE', async () => {
  const r = await post(url, bigBody(2 * MIB), { chunked: true })
  assert.ok(r.chunked, 'sent without Content-Length')
  assert.equal(r.status, 413)
  assert.deepEqual(r.body, TOO_LARGE)
  assert.deepEqual((await request(`${url}/api/jobs`)).body.jobs, [])
})

test('the cap is exactly 1 MiB: 1 MiB + 1 is refused, 1 MiB is served', async () => {
  const over = await post(url, bigBody(MIB + 1), { chunked: true })
  assert.equal(over.status, 413)
  assert.deepEqual(over.body, TOO_LARGE)
  const at = await post(url, bigBody(MIB))
  assert.equal(at.status, 201, JSON.stringify(at.body).slice(0, 300))
  const atChunked = await post(url, bigBody(MIB), { chunked: true })
  assert.equal(atChunked.status, 201, JSON.stringify(atChunked.body).slice(0, 300))
})

test('with API keys: a big body without a key is 401 (unread), with a key 413', async () => {
  const { url: base } = await startService({ keysFile: writeKeysFile() })
  const anonymous = await post(base, bigBody(2 * MIB))
  assert.equal(anonymous.status, 401)
  const keyed = await post(base, bigBody(2 * MIB), { headers: auth('tenant-a') })
  assert.equal(keyed.status, 413)
  assert.deepEqual(keyed.body, TOO_LARGE)
})
