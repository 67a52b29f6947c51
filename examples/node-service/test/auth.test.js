// API keys: 401 with WWW-Authenticate on every route the app registers
// (enumerated from the app itself, so a new route cannot escape) and on
// unknown paths; /health open; /metrics open only when configured; the keys
// file (malformed lines and unreadable files named; every entry compared).

import test from 'node:test'
import assert from 'node:assert/strict'
import crypto from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import { syncBuiltinESMExports } from 'node:module'
import { keyHash, readKeysFile, tenantForKey } from '../src/keys.js'
import { KEYS, auth, request, startService, tempDir, writeKeysFile } from './helpers.js'

const UNAUTHORIZED = { detail: 'missing or wrong API key', code: 'UNAUTHORIZED' }
const keysFile = writeKeysFile()
const service = await startService({ keysFile })
const { url } = service

/** A concrete path for a route pattern (`:id` → an id). */
const concrete = (/** @type {string} */ route) => route.replace(/:[A-Za-z]+/g, 'some-id')

test('every route but GET /health needs a key: 401, WWW-Authenticate: Bearer', async () => {
  const routes = service.routes.filter((r) => r.method !== 'HEAD')
  const expectedRoutes = ['POST /api/jobs', 'POST /api/jobs/:id/resume', 'GET /api/jobs/:id/events', 'GET /api/tenant', 'GET /metrics',
    'GET /api/schedules', 'PUT /api/schedules/:name', 'POST /api/schedules', 'DELETE /api/schedules/:name']
  for (const expected of expectedRoutes) {
    assert.ok(routes.some((r) => `${r.method} ${r.url}` === expected), `${expected} is not among ${JSON.stringify(routes)}`)
  }
  const all = [...routes, { method: 'GET', url: '/no/such/route' }, { method: 'POST', url: '/health' }]
  for (const { method, url: route } of all) {
    if (method === 'GET' && route === '/health') continue
    /** @type {Record<string, string>[]} */
    const tries = [{}, { authorization: 'Bearer wrong-key' }, { authorization: `Basic ${KEYS['tenant-a']}` }]
    for (const headers of tries) {
      const r = await request(`${url}${concrete(route)}`, { method, headers })
      assert.equal(r.status, 401, `${method} ${route} ${JSON.stringify(headers)}`)
      assert.deepEqual(r.body, UNAUTHORIZED)
      assert.equal(r.headers.get('www-authenticate'), 'Bearer')
    }
  }
  const health = await request(`${url}/health`)
  assert.equal(health.status, 200)
  // With the key: served (an unknown job is a 404, not a 401).
  assert.equal((await request(`${url}/api/jobs/some-id`, { headers: auth('tenant-a') })).status, 404)
  assert.equal((await request(`${url}/metrics`, { headers: auth('tenant-b') })).status, 200)
  const tenant = await request(`${url}/api/tenant`, { headers: { authorization: `bearer ${KEYS['tenant-b']}` } })
  assert.equal(tenant.body.tenant, 'tenant-b', 'the scheme is case-insensitive')
})

test('CLAUDE_JOBS_METRICS_PUBLIC=1: /metrics without a key, the rest still closed', async () => {
  const open = await startService({ keysFile, metricsPublic: true })
  const metrics = await request(`${open.url}/metrics`)
  assert.equal(metrics.status, 200)
  assert.match(String(metrics.body), /claude_jobs_queue_length/)
  assert.equal((await request(`${open.url}/api/jobs`)).status, 401)
  assert.equal((await request(`${open.url}/api/templates`)).status, 401)
})

test('without a keys file nothing needs a key and there is no tenant', async () => {
  const { url: plain } = await startService()
  assert.equal((await request(`${plain}/metrics`)).status, 200)
  const job = await request(`${plain}/api/jobs`, { method: 'POST', json: { prompt: 'no keys' } })
  assert.equal(job.status, 201, JSON.stringify(job.body))
  assert.equal(job.body.tenant, null)
  const tenant = await request(`${plain}/api/tenant`)
  assert.deepEqual(tenant.body, {
    tenant: null,
    quota: { maxRunning: null, maxQueued: null, dailyBudgetUsd: null },
    running: 0,
    queued: 0,
    spentTodayUsd: 0,
    reservedUsd: 0,
    budgetLeftUsd: null,
  })
})

test('a malformed keys file is refused, naming the file and the line', () => {
  const dir = tempDir()
  const good = keyHash('k')
  /** @type {[string, number, RegExp][]} */
  const cases = [
    [`# ok\nteam-a:${good}\nno colon here\n`, 3, /tenant:sha256hex-of-key/],
    [`\nteam a:${good}\n`, 2, /tenant must be/],
    [`${'t'.repeat(65)}:${good}\n`, 1, /tenant must be/],
    [`team-a:${good.slice(1)}\n`, 1, /64 hex/],
    [`team-a:${good.slice(1)}z\n`, 1, /64 hex/],
  ]
  for (const [text, line, why] of cases) {
    const file = path.join(dir, `keys-${line}`)
    fs.writeFileSync(file, text)
    assert.throws(() => readKeysFile(file), (/** @type {Error} */ err) => {
      assert.ok(err.message.includes(`${file} line ${line}:`), err.message)
      assert.match(err.message, why)
      return true
    })
  }
  const missing = path.join(dir, 'missing')
  assert.throws(() => readKeysFile(missing), new RegExp(`cannot read ${missing}`))
  const entries = readKeysFile(keysFile)
  assert.deepEqual(entries.map((e) => e.tenant), ['tenant-a', 'tenant-b'])
  assert.ok(!fs.readFileSync(keysFile, 'utf8').includes(KEYS['tenant-a']), 'keys are not stored in clear')
})

test('a key is compared, in constant time, with every entry', () => {
  const entries = [
    { tenant: 'one', hash: Buffer.from(keyHash('first'), 'hex') },
    { tenant: 'two', hash: Buffer.from(keyHash('second'), 'hex') },
    { tenant: 'three', hash: Buffer.from(keyHash('third'), 'hex') },
  ]
  const original = crypto.timingSafeEqual
  let calls = 0
  crypto.timingSafeEqual = (a, b) => {
    calls += 1
    return original(a, b)
  }
  syncBuiltinESMExports()
  try {
    /** @type {[string, string | null][]} */
    const cases = [['first', 'one'], ['third', 'three'], ['nobody', null]]
    for (const [key, tenant] of cases) {
      calls = 0
      assert.equal(tenantForKey(entries, key), tenant)
      assert.equal(calls, entries.length, `${key}: every entry compared`)
    }
  } finally {
    crypto.timingSafeEqual = original
    syncBuiltinESMExports()
  }
})
