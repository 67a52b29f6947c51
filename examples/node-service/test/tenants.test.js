// Tenants over HTTP: the key's tenant on every job, only its own jobs
// visible (another tenant's answered exactly as an unknown id), no tenant
// from the body, GET /api/tenant, Idempotency-Key per tenant, and a quota's
// 429 with Retry-After.

import test from 'node:test'
import assert from 'node:assert/strict'
import { auth, request, startService, waitFinal, writeKeysFile } from './helpers.js'

const A = auth('tenant-a')
const B = auth('tenant-b')
const { url, manager } = await startService({ keysFile: writeKeysFile(), maxConcurrent: 1 })

/** POST /api/jobs as `headers`' tenant. */
const submit = (/** @type {unknown} */ json, /** @type {Record<string, string>} */ headers) =>
  request(`${url}/api/jobs`, { method: 'POST', json, headers })

test("a tenant sees only its own jobs: another's is answered as an unknown id", async () => {
  const r = await submit({ prompt: "a's job", labels: { k: 'v' } }, A)
  assert.equal(r.status, 201, JSON.stringify(r.body))
  assert.equal(r.body.tenant, 'tenant-a')
  const done = await waitFinal(url, r.body.id, A)
  assert.equal(done.state, 'succeeded')
  const bJob = await submit({ prompt: "b's job", labels: { k: 'v' } }, B)
  await waitFinal(url, bJob.body.id, B)

  const id = r.body.id
  /** @type {[string, string, unknown][]} */
  const routes = [
    ['GET', '/api/jobs/{}', undefined],
    ['GET', '/api/jobs/{}/logs', undefined],
    ['GET', '/api/jobs/{}/outputs', undefined],
    ['GET', '/api/jobs/{}/outputs/stdout.log', undefined],
    ['GET', '/api/jobs/{}/events', undefined],
    ['DELETE', '/api/jobs/{}', undefined],
    ['POST', '/api/jobs/{}/resume', { prompt: 'go on' }],
  ]
  for (const [method, route, json] of routes) {
    const theirs = await request(`${url}${route.replace('{}', id)}`, { method, headers: B, json })
    const unknown = await request(`${url}${route.replace('{}', 'no-such-job')}`, { method, headers: B, json })
    assert.equal(theirs.status, 404, `${method} ${route}: ${JSON.stringify(theirs.body)}`)
    assert.equal(unknown.status, 404)
    assert.deepEqual(theirs.body, JSON.parse(JSON.stringify(unknown.body).replaceAll('no-such-job', id)), `${method} ${route}`)
  }
  const listedB = await request(`${url}/api/jobs?label=k=v`, { headers: B })
  assert.deepEqual(listedB.body.jobs.map((/** @type {{ id: string }} */ j) => j.id), [bJob.body.id])
  const listedA = await request(`${url}/api/jobs`, { headers: A })
  assert.deepEqual(listedA.body.jobs.map((/** @type {{ id: string }} */ j) => j.id), [id])
  // Its own job: logs, events and cancel answer.
  assert.equal((await request(`${url}/api/jobs/${id}/logs`, { headers: A })).status, 200)
  const events = await request(`${url}/api/jobs/${id}/events`, { headers: A })
  assert.equal(events.status, 200)
  assert.match(String(events.body), /"type":"finished"/)
  const cancel = await request(`${url}/api/jobs/${id}`, { method: 'DELETE', headers: A })
  assert.deepEqual(cancel.body, { id, cancelled: false, state: 'succeeded' })
})

test("inputs name only the caller's own jobs: another tenant's is refused as an unknown id", async () => {
  const mine = await submit({ prompt: "a's research" }, A)
  await waitFinal(url, mine.body.id, A)
  const chained = (/** @type {string} */ id) => ({ template: 'brief', variables: { brand: 'Acme' }, inputs: { research: id } })
  const theirs = await submit(chained(mine.body.id), B)
  const unknown = await submit(chained('no-such-job'), B)
  assert.equal(theirs.status, 422, JSON.stringify(theirs.body))
  assert.deepEqual(theirs.body.detail[0].loc, ['body', 'inputs'])
  assert.deepEqual(theirs.body, JSON.parse(JSON.stringify(unknown.body).replaceAll('no-such-job', mine.body.id)))
  // Nor in a schedule's spec (each tick would read it).
  const schedule = await request(`${url}/api/schedules/chain`, { method: 'PUT', headers: B, json: { cron: '0 3 * * *', spec: chained(mine.body.id) } })
  assert.equal(schedule.status, 422, JSON.stringify(schedule.body))
  assert.deepEqual(schedule.body.detail[0].loc, ['body', 'spec', 'inputs'])
  // The owner may.
  const own = await submit(chained(mine.body.id), A)
  assert.equal(own.status, 201, JSON.stringify(own.body))
  await waitFinal(url, own.body.id, A)
})

test('a tenant cannot cancel or follow a running job of another', async () => {
  const slow = await submit({ prompt: 'long\nfake-scenario: slow' }, A)
  assert.equal(slow.status, 201, JSON.stringify(slow.body))
  assert.equal((await request(`${url}/api/jobs/${slow.body.id}`, { method: 'DELETE', headers: B })).status, 404)
  assert.equal((await request(`${url}/api/jobs/${slow.body.id}/events`, { headers: B })).status, 404)
  const still = await request(`${url}/api/jobs/${slow.body.id}`, { headers: A })
  assert.ok(['queued', 'running'].includes(still.body.state), still.body.state)
  const cancel = await request(`${url}/api/jobs/${slow.body.id}`, { method: 'DELETE', headers: A })
  assert.equal(cancel.body.cancelled, true)
  await waitFinal(url, slow.body.id, A)
})

test('the body cannot choose a tenant (422 naming it) nor carry unknown fields', async () => {
  const r = await submit({ prompt: 'x', tenant: 'tenant-b' }, A)
  assert.equal(r.status, 422, JSON.stringify(r.body))
  assert.deepEqual(r.body.detail[0].loc, ['body', 'tenant'])
  const typo = await submit({ prompt: 'x', max_turn: 3 }, A)
  assert.equal(typo.status, 422)
  assert.deepEqual(typo.body.detail[0].loc, ['body', 'max_turn'])
  assert.deepEqual((await request(`${url}/api/jobs?state=queued`, { headers: B })).body.jobs, [])
})

test('GET /api/tenant: the quota, the jobs and the spend of the caller', async () => {
  await manager.setTenant('tenant-b', { maxRunning: 2, dailyBudgetUsd: 5 })
  const b = await request(`${url}/api/tenant`, { headers: B })
  assert.equal(b.status, 200)
  const spentB = b.body.spentTodayUsd
  assert.deepEqual(b.body.quota, { maxRunning: 2, maxQueued: null, dailyBudgetUsd: 5 })
  assert.equal(b.body.tenant, 'tenant-b')
  assert.ok(Math.abs(b.body.budgetLeftUsd - (5 - spentB - b.body.reservedUsd)) < 1e-9, JSON.stringify(b.body))
  const before = (await request(`${url}/api/tenant`, { headers: A })).body
  assert.deepEqual(before.quota, { maxRunning: null, maxQueued: null, dailyBudgetUsd: null })
  assert.equal(before.budgetLeftUsd, null)
  const job = await submit({ prompt: 'spend' }, A)
  const done = await waitFinal(url, job.body.id, A)
  const after = (await request(`${url}/api/tenant`, { headers: A })).body
  assert.ok(Math.abs(after.spentTodayUsd - before.spentTodayUsd - done.costUsd) < 1e-9, JSON.stringify({ before, after, cost: done.costUsd }))
  assert.deepEqual(Object.keys(after).sort(), ['budgetLeftUsd', 'queued', 'quota', 'reservedUsd', 'running', 'spentTodayUsd', 'tenant'])
  assert.equal((await request(`${url}/api/tenant`, { headers: B })).body.spentTodayUsd, spentB)
})

test('the same Idempotency-Key gives one job per tenant, 201 both times', async () => {
  const key = { 'idempotency-key': 'order-42' }
  const first = await submit({ prompt: 'once' }, { ...A, ...key })
  const again = await submit({ prompt: 'once' }, { ...A, ...key })
  assert.equal(first.status, 201, JSON.stringify(first.body))
  assert.equal(again.status, 201, JSON.stringify(again.body))
  assert.equal(again.body.id, first.body.id)
  const other = await submit({ prompt: 'once' }, { ...B, ...key })
  assert.equal(other.status, 201)
  assert.notEqual(other.body.id, first.body.id, 'keys are per tenant')
  const bad = await submit({ prompt: 'once' }, { ...A, 'idempotency-key': 'k'.repeat(256) })
  assert.equal(bad.status, 422, JSON.stringify(bad.body))
  assert.deepEqual(bad.body.detail[0].loc, ['header', 'idempotency-key'])
  await waitFinal(url, first.body.id, A)
  await waitFinal(url, other.body.id, B)
})

test('a full queue: 429 QUOTA_EXCEEDED naming the tenant, with Retry-After', async () => {
  await manager.setTenant('tenant-a', { maxQueued: 1 })
  const hold = await submit({ prompt: 'hold\nfake-scenario: slow' }, B) // the one slot
  await new Promise((r) => setTimeout(r, 300))
  const queued = await submit({ prompt: 'queued' }, A)
  assert.equal(queued.status, 201, JSON.stringify(queued.body))
  const refused = await submit({ prompt: 'one too many' }, A)
  assert.equal(refused.status, 429, JSON.stringify(refused.body))
  assert.equal(refused.body.code, 'QUOTA_EXCEEDED')
  assert.equal(refused.body.tenant, 'tenant-a')
  assert.match(refused.body.detail, /max_queued/)
  assert.equal(refused.headers.get('retry-after'), '5', "the core's hint for a full queue, in seconds")
  // Another tenant is not limited by tenant-a's quota.
  const b = await submit({ prompt: 'b queues fine' }, B)
  assert.equal(b.status, 201)
  await request(`${url}/api/jobs/${hold.body.id}`, { method: 'DELETE', headers: B })
  for (const [id, h] of [[queued.body.id, A], [b.body.id, B]]) assert.equal((await waitFinal(url, id, h)).state, 'succeeded')
  await manager.setTenant('tenant-a', {})
})

test('a spent daily budget: 429 with Retry-After in whole seconds until it renews', async () => {
  await manager.setTenant('tenant-b', { dailyBudgetUsd: 0.000001 })
  const job = await submit({ prompt: 'spend it all' }, B)
  if (job.status === 201) await waitFinal(url, job.body.id, B)
  const refused = await submit({ prompt: 'no budget left' }, B)
  assert.equal(refused.status, 429, JSON.stringify(refused.body))
  assert.equal(refused.body.tenant, 'tenant-b')
  const after = Number(refused.headers.get('retry-after'))
  const untilMidnight = Math.ceil((new Date().setUTCHours(24, 0, 0, 0) - Date.now()) / 1000)
  assert.ok(Number.isInteger(after) && after >= 1 && after <= untilMidnight + 1, `Retry-After ${after}, ${untilMidnight} s to 00:00 UTC`)
  await manager.setTenant('tenant-b', {})
})
