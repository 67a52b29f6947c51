// Submitting, reading, listing jobs and their logs over HTTP; templates;
// invalid requests (422 naming the field) and unknown ids (404).

import test from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import { request, startService, tempDir, waitFinal } from './helpers.js'

const { url } = await startService()

test('health: ok, with the concurrency limit and the isolation in use', async () => {
  const { status, body } = await request(`${url}/health`)
  assert.equal(status, 200)
  assert.equal(body.status, 'ok')
  assert.equal(body.maxConcurrent, 2)
  assert.equal(body.running, 0)
  assert.ok(['cgroup-v1', 'cgroup-v2', 'none'].includes(body.isolation))
  assert.match(body.store, /^sqlite:/)
  assert.equal(body.storeHealthy, true)
})

test('submit a prompt with caps, follow it to succeeded, list it, read its logs', async () => {
  const r = await request(`${url}/api/jobs`, {
    method: 'POST',
    json: { prompt: 'Hello service', cpus: 0.5, memory: '256M', pids: 128, timeoutMs: 60_000, labels: { k: 'v' }, priority: 3 },
  })
  assert.equal(r.status, 201, JSON.stringify(r.body))
  // The fake CLI answers in milliseconds: the job may already be done when the reply is built.
  assert.ok(['queued', 'running', 'succeeded'].includes(r.body.state), r.body.state)
  assert.deepEqual(r.body.labels, { k: 'v' })
  assert.equal(r.headers.get('location'), `/api/jobs/${r.body.id}`)
  const done = await waitFinal(url, r.body.id)
  assert.equal(done.state, 'succeeded')
  assert.equal(done.result, 'echo: Hello service')
  assert.deepEqual(done.limits, { cpus: 0.5, memory: 256 * 1024 * 1024, pids: 128 })
  assert.ok(done.usage.inputTokens > 0 && done.sessionId && done.costUsd > 0)
  assert.equal(typeof done.stats.peakMemoryBytes, 'number')
  assert.equal(done.priority, 3)

  const listed = await request(`${url}/api/jobs`)
  assert.ok(Array.isArray(listed.body.jobs))
  assert.ok(listed.body.jobs.some((/** @type {{ id: string }} */ j) => j.id === r.body.id))
  assert.equal(listed.body.nextCursor, null)
  assert.deepEqual((await request(`${url}/api/jobs?state=failed`)).body, { jobs: [], nextCursor: null })
  assert.equal((await request(`${url}/api/jobs?state=bogus`)).status, 422)

  const logs = await request(`${url}/api/jobs/${r.body.id}/logs`)
  assert.equal(logs.status, 200)
  assert.match(logs.headers.get('content-type') ?? '', /^text\/plain/)
  assert.match(logs.body, /===== stdout\.log =====/)
  assert.match(logs.body, /echo: Hello service/)
  assert.match(logs.body, /===== stderr\.log =====/)
  const short = await request(`${url}/api/jobs/${r.body.id}/logs?tailBytes=10`)
  assert.ok(short.body.length < logs.body.length)
})

test('list: pages with a cursor, filters by state, template and label; bad parameters are 422', async () => {
  const { url } = await startService()
  const ids = []
  for (const json of [
    { prompt: 'one', labels: { team: 'a' } },
    { prompt: 'two\nfake-scenario: no-result', labels: { team: 'b' } },
    { template: 'brief', variables: { brand: 'ACME', research: 'R' }, labels: { team: 'a' } },
  ]) {
    const r = await request(`${url}/api/jobs`, { method: 'POST', json })
    assert.equal(r.status, 201, JSON.stringify(r.body))
    ids.push(r.body.id)
    await waitFinal(url, r.body.id)
  }
  /** @type {string[]} */
  const seen = []
  let cursor = null
  do {
    const page = await request(`${url}/api/jobs?limit=2${cursor ? `&cursor=${cursor}` : ''}`)
    assert.ok(page.body.jobs.length <= 2)
    seen.push(...page.body.jobs.map((/** @type {{ id: string }} */ j) => j.id))
    cursor = page.body.nextCursor
  } while (cursor)
  assert.deepEqual(seen, [...ids].reverse())
  /** @param {string} q */
  const listed = async (q) => (await request(`${url}/api/jobs?${q}`)).body.jobs.map((/** @type {{ id: string }} */ j) => j.id)
  assert.deepEqual(await listed('state=failed'), [ids[1]])
  assert.deepEqual(await listed('template=brief'), [ids[2]])
  assert.deepEqual(await listed('label=team%3Da'), [ids[2], ids[0]])
  for (const [q, field] of [['limit=0', 'limit'], ['limit=x', 'limit'], ['state=bogus', 'state'], ['label=x', 'label'], ['cursor=!', 'cursor']]) {
    const r = await request(`${url}/api/jobs?${q}`)
    assert.equal(r.status, 422, `${q}: ${JSON.stringify(r.body)}`)
    assert.deepEqual(r.body.detail[0].loc, ['query', field], q)
  }
})

test('logs are read without following links', async () => {
  const r = await request(`${url}/api/jobs`, { method: 'POST', json: { prompt: 'hi' } })
  const done = await waitFinal(url, r.body.id)
  const secret = path.join(tempDir(), 'secret.txt')
  fs.writeFileSync(secret, 'TOP-SECRET-CONTENT')
  const stdout = path.join(done.logDir, 'stdout.log')
  assert.match(fs.readFileSync(stdout, 'utf8'), /echo: hi/)
  fs.rmSync(stdout)
  fs.symlinkSync(secret, stdout)
  const logs = await request(`${url}/api/jobs/${r.body.id}/logs`)
  assert.equal(logs.status, 200)
  assert.doesNotMatch(logs.body, /TOP-SECRET-CONTENT/)
  assert.match(logs.body, /===== stdout\.log =====/)
})

test('a template job: template + variables, the output collected', async () => {
  const templates = await request(`${url}/api/templates`)
  const names = templates.body.map((/** @type {{ name: string }} */ t) => t.name)
  for (const n of ['brand-data', 'brief', 'draft']) assert.ok(names.includes(n), names.join())
  const r = await request(`${url}/api/jobs`, {
    method: 'POST',
    json: { template: 'brief', variables: { brand: 'ACME', research: 'Anvils.' } },
  })
  assert.equal(r.status, 201, JSON.stringify(r.body))
  const done = await waitFinal(url, r.body.id)
  assert.equal(done.state, 'succeeded', done.error)
  assert.equal(done.template, 'brief')
  assert.ok(done.outputs.length >= 1)
})

test('invalid requests: 422 naming the field (400 for unparsable JSON)', async () => {
  /** @type {[unknown, (string | number)[]][]} */
  const cases = [
    [{ prompt: 'x', cpus: 'abc' }, ['body', 'cpus']],
    [{ prompt: 'x', memory: 'lots' }, ['body', 'memory']],
    [{ prompt: 'x', cpus: -1 }, ['body', 'cpus']],
    [{ prompt: 'x', timeoutMs: 0 }, ['body', 'timeoutMs']],
    [{ prompt: 'x', allowedTools: [''] }, ['body', 'allowedTools']],
    [{ prompt: 'x', maxTurns: 1.5 }, ['body', 'maxTurns']],
    [{}, ['body', 'prompt']],
    [{ template: 'no-such-template' }, ['body', 'template']],
    [{ template: 'brief', variables: { brand: 'ACME' } }, ['body', 'variables', 'research']],
    [{ template: 'brief', variables: { brand: { nested: 1 } } }, ['body', 'variables', 'brand']],
    [{ prompt: 'x', dependsOn: ['no-such-job'] }, ['body', 'dependsOn']],
    [{ prompt: 'x', env: { A: 'b' } }, ['body', 'env']],
    [{ prompt: 'x', timeoutSeconds: 60 }, ['body', 'timeoutSeconds']],
    [['a list'], ['body']],
  ]
  for (const [json, loc] of cases) {
    const r = await request(`${url}/api/jobs`, { method: 'POST', json })
    assert.equal(r.status, 422, `${JSON.stringify(json)} → ${r.status} ${JSON.stringify(r.body)}`)
    assert.ok(
      r.body.detail.some((/** @type {{ loc: unknown }} */ d) => JSON.stringify(d.loc) === JSON.stringify(loc)),
      `${JSON.stringify(json)}: ${JSON.stringify(r.body.detail)}`,
    )
    assert.equal(typeof r.body.detail[0].msg, 'string')
  }
  const bad = await fetch(`${url}/api/jobs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"prompt":' })
  assert.equal(bad.status, 400)
  const badBody = /** @type {{ detail: { loc: string[] }[] }} */ (await bad.json())
  assert.deepEqual(badBody.detail[0].loc, ['body'])
})

test('unknown ids: 404 naming the id', async () => {
  for (const [method, path] of [
    ['GET', '/api/jobs/nope'],
    ['GET', '/api/jobs/nope/logs'],
    ['GET', '/api/jobs/nope/events'],
    ['DELETE', '/api/jobs/nope'],
  ]) {
    const r = await request(`${url}${path}`, { method })
    assert.equal(r.status, 404, `${method} ${path}`)
    assert.match(r.body.detail, /nope/)
  }
})
