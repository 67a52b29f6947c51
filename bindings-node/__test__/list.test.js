'use strict'
// manager.list(query): pages newest first with a cursor; filters by state,
// template and label in the store; running jobs with their live info.

const test = require('node:test')
const assert = require('node:assert/strict')
const { fakeManager, waitForEvent } = require('./helpers')

/** The ids of every page of `query`, following `nextCursor`. */
async function allPages(manager, query) {
  const pages = []
  let cursor
  for (;;) {
    const page = await manager.list({ ...query, cursor })
    pages.push(page.jobs.map((j) => j.id))
    if (page.nextCursor === null) return pages
    cursor = page.nextCursor
  }
}

test('pages follow the cursor, newest first, each job once', async () => {
  const manager = fakeManager()
  const jobs = []
  for (let i = 0; i < 5; i++) jobs.push(await manager.submit({ prompt: `job ${i}`, env: { FAKE_CLAUDE_SCENARIO: 'trivial' } }))
  await Promise.all(jobs.map((j) => j.wait()))
  const pages = await allPages(manager, { limit: 2 })
  assert.deepEqual(pages.map((p) => p.length), [2, 2, 1])
  assert.deepEqual(pages.flat(), jobs.map((j) => j.id).reverse())
  const first = await manager.list({ limit: 2 })
  assert.equal(first.nextCursor, first.jobs[1].id)
  const whole = await manager.list()
  assert.equal(whole.jobs.length, 5)
  assert.equal(whole.nextCursor, null)
})

test('filters by state, template and label', async () => {
  const manager = fakeManager()
  const ok = await manager.submit({ prompt: 'fine', labels: { team: 'a' }, env: { FAKE_CLAUDE_SCENARIO: 'trivial' } })
  const bad = await manager.submit({ prompt: 'broken', labels: { team: 'b' }, env: { FAKE_CLAUDE_SCENARIO: 'no-result' } })
  const brief = await manager.submit({ template: 'brief', variables: { brand: 'ACME', research: 'R' }, labels: { team: 'a' } })
  await Promise.all([ok, bad, brief].map((j) => j.wait()))
  const ids = async (query) => (await manager.list(query)).jobs.map((j) => j.id)
  assert.deepEqual(await ids({ state: 'failed' }), [bad.id])
  assert.deepEqual(await ids({ state: 'succeeded' }), [brief.id, ok.id])
  assert.deepEqual(await ids({ template: 'brief' }), [brief.id])
  assert.deepEqual(await ids({ label: 'team=a' }), [brief.id, ok.id])
  assert.deepEqual(await ids({ label: 'team=a', template: 'brief' }), [brief.id])
  assert.deepEqual(await ids({ label: 'team=c' }), [])
  assert.deepEqual(await ids({ state: 'running' }), [])
  assert.deepEqual(await allPages(manager, { label: 'team=a', limit: 1 }), [[brief.id], [ok.id]])
  // null and undefined filters are no filters.
  assert.equal((await manager.list({ state: null, template: undefined })).jobs.length, 3)
})

test('a running job is listed with its live info (the core merges it)', async () => {
  const manager = fakeManager()
  const job = await manager.submit({ prompt: 'slow', env: { FAKE_CLAUDE_SCENARIO: 'slow', FAKE_CLAUDE_SECONDS: '30' } })
  await waitForEvent(job, 'assistant_text')
  const [listed] = (await manager.list({ state: 'running' })).jobs
  assert.equal(listed.id, job.id)
  assert.equal(listed.pid, job.info().pid)
  assert.equal(listed.isolation, job.info().isolation)
  await job.cancel()
  assert.equal((await job.wait()).state, 'cancelled')
})
