// Quotas over HTTP: 500 parallel submits of two tenants whose policy allows
// 50 queued jobs each, with the one slot held: each answer is 201 or 429
// (with Retry-After), and the paged list counts exactly the 201s, none twice.

import fs from 'node:fs'
import path from 'node:path'
import test from 'node:test'
import assert from 'node:assert/strict'
import { auth, request, startService, tempDir, writeKeysFile } from './helpers.js'

const MAX_QUEUED = 50
const PER_TENANT = 250
const POLICY = `
forbidden_tools: [Bash]
max_memory: 1G
default_limits: { cpus: 0.5, memory: 128M, pids: 64, timeout: 5m }
tenants:
  tenant-a: { max_queued: ${MAX_QUEUED} }
  tenant-b: { max_queued: ${MAX_QUEUED} }
`

/**
 * Every job id of the tenant, through the paged list (pages of 7).
 *
 * @param {string} url
 * @param {Record<string, string>} headers
 */
async function listed(url, headers) {
  /** @type {string[]} */
  const ids = []
  /** @type {string | null} */
  let cursor = null
  do {
    /** @type {string} */
    const query = `limit=7${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`
    /** @type {{ jobs: { id: string }[], nextCursor: string | null }} */
    const page = (await request(`${url}/api/jobs?${query}`, { headers })).body
    ids.push(...page.jobs.map((j) => j.id))
    cursor = page.nextCursor
  } while (cursor)
  return ids
}

/** @param {number} ms */
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

test('500 parallel submits of two tenants: each 201 or 429, none lost or doubled', { timeout: 120_000 }, async () => {
  const policy = path.join(tempDir(), 'policy.yaml')
  fs.writeFileSync(policy, POLICY)
  const { url } = await startService({ keysFile: writeKeysFile(), maxConcurrent: 1, policy })
  const A = auth('tenant-a')
  const blocker = (await request(`${url}/api/jobs`, { method: 'POST', json: { prompt: 'hold the slot\nfake-scenario: slow' }, headers: A })).body
  for (let i = 0; i < 200; i++) {
    if ((await request(`${url}/api/jobs/${blocker.id}`, { headers: A })).body.state === 'running') break
    await sleep(50)
  }
  const answers = await Promise.all(
    Array.from({ length: 2 * PER_TENANT }, async (_, i) => {
      const tenant = i % 2 ? 'tenant-a' : 'tenant-b'
      return { tenant, r: await request(`${url}/api/jobs`, { method: 'POST', json: { prompt: `job ${i}` }, headers: auth(tenant) }) }
    }),
  )
  /** @type {Record<string, string[]>} */
  const accepted = { 'tenant-a': [], 'tenant-b': [] }
  /** @type {Record<string, number>} */
  const refused = { 'tenant-a': 0, 'tenant-b': 0 }
  for (const { tenant, r } of answers) {
    assert.ok([201, 429].includes(r.status), `${r.status} ${JSON.stringify(r.body)}`)
    if (r.status === 201) {
      assert.equal(r.body.tenant, tenant)
      assert.equal(r.body.state, 'queued')
      accepted[tenant].push(r.body.id)
    } else {
      assert.equal(r.body.code, 'QUOTA_EXCEEDED', JSON.stringify(r.body))
      assert.equal(r.body.tenant, tenant)
      assert.match(r.body.detail, /max_queued/)
      assert.ok(Number(r.headers.get('retry-after')) >= 1)
      refused[tenant] += 1
    }
  }
  for (const tenant of /** @type {const} */ (['tenant-a', 'tenant-b'])) {
    const ids = accepted[tenant]
    assert.equal(ids.length, MAX_QUEUED, tenant)
    assert.equal(refused[tenant], PER_TENANT - MAX_QUEUED, tenant)
    assert.equal(new Set(ids).size, ids.length, 'an id answered twice')
    const inList = await listed(url, auth(tenant))
    assert.equal(new Set(inList).size, inList.length, 'a job listed twice')
    const expected = new Set([...ids, ...(tenant === 'tenant-a' ? [blocker.id] : [])])
    assert.deepEqual(new Set(inList), expected, tenant)
    const usage = (await request(`${url}/api/tenant`, { headers: auth(tenant) })).body
    assert.equal(usage.queued, MAX_QUEUED)
    assert.equal(usage.quota.maxQueued, MAX_QUEUED)
  }
  assert.equal((await request(`${url}/api/jobs/${blocker.id}`, { method: 'DELETE', headers: A })).body.cancelled, true)
  // The queue drains: a slot frees and tenant-b may submit again.
  const B = auth('tenant-b')
  for (let i = 0; i < 400; i++) {
    if ((await request(`${url}/api/tenant`, { headers: B })).body.queued < MAX_QUEUED) break
    await sleep(50)
  }
  const again = await request(`${url}/api/jobs`, { method: 'POST', json: { prompt: 'room again' }, headers: B })
  assert.equal(again.status, 201, JSON.stringify(again.body))
})
