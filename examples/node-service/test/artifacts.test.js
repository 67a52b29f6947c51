// Artifact stores over HTTP: two service instances ("machines": two data
// dirs) on one SQLite file with CLAUDE_JOBS_ARTIFACT_STORE=db. B serves a
// job run by A: /logs live while it runs and at the end equal to A's,
// /outputs (name, size, SHA-256) and /outputs/:name (the bytes). A two-step
// chain on alternate machines: step 2 runs on B (A closed, its files gone)
// with `inputs` from step 1 and gets step 1's output. With the default
// `local` store, B has none of A's outputs.

import test from 'node:test'
import assert from 'node:assert/strict'
import crypto from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import { request, startService, tempDir, waitFinal } from './helpers.js'

/** A template whose prompt is its `prev` variable (the fake CLI echoes it), collected as `out`. */
const ECHO_INPUT = `---
name: echo-input
description: The previous step's output.
variables:
  prev:
    required: true
    description: The output.
  out:
    required: false
    default: step.md
    description: The output file's name.
output:
  file: step.md
  folder: steps
  name: "{{ out }}"
---
{{ prev }}
`
const templatesDir = tempDir()
fs.writeFileSync(path.join(templatesDir, 'echo-input.md'), ECHO_INPUT)

/** Settings of one machine on the SQLite file `db` (a fresh data dir each). */
const machine = (/** @type {string} */ db, /** @type {'local' | 'db'} */ artifactStore = 'db') => ({
  dataDir: tempDir(),
  storeUrl: `sqlite://${db}`,
  artifactStore,
  templatesDir,
  // The fake CLI's `slow` scenario (chosen in the prompt): 12 s of lines every 50 ms.
  jobEnv: { FAKE_CLAUDE_SECONDS: '12', FAKE_CLAUDE_INTERVAL_MS: '50' },
})
const sharedDb = () => path.join(tempDir(), 'shared.db')
const sha256 = (/** @type {Buffer} */ b) => crypto.createHash('sha256').update(b).digest('hex')
const sleep = (/** @type {number} */ ms) => new Promise((r) => setTimeout(r, ms))

/** POST /api/jobs on `base`: the new job's id. */
async function submit(/** @type {string} */ base, /** @type {unknown} */ json) {
  const r = await request(`${base}/api/jobs`, { method: 'POST', json })
  assert.equal(r.status, 201, JSON.stringify(r.body))
  return /** @type {string} */ (r.body.id)
}

/** The stdout section of a /logs body. */
function stdoutOf(/** @type {string} */ logs) {
  const m = /^===== stdout\.log =====\n([^]*)\n===== stderr\.log =====\n/.exec(logs)
  assert.ok(m, logs.slice(0, 200))
  return m[1]
}

/** GET an output's bytes: `{ status, type, nosniff, bytes }`. */
async function outputFile(/** @type {string} */ base, /** @type {string} */ id, /** @type {string} */ name) {
  const res = await fetch(`${base}/api/jobs/${id}/outputs/${encodeURIComponent(name)}`)
  return {
    status: res.status,
    type: res.headers.get('content-type'),
    nosniff: res.headers.get('x-content-type-options'),
    bytes: Buffer.from(await res.arrayBuffer()),
  }
}

test("artifact store db: B serves A's job: /logs live and at the end equal to A's, /outputs", async () => {
  const db = sharedDb()
  const a = await startService(machine(db))
  const slow = await submit(a.url, { prompt: 'wait\nfake-scenario: slow' })
  const brief = await submit(a.url, { template: 'echo-input', variables: { prev: 'Write the brief.' } })
  for (;;) {
    const r = await request(`${a.url}/api/jobs/${slow}`)
    if (r.body.state === 'running') break
    assert.equal(r.body.state, 'queued')
    await sleep(50)
  }
  // B starts once A runs the jobs: it only serves them.
  const b = await startService(machine(db))

  const live = []
  const deadline = Date.now() + 20_000
  while (Date.now() < deadline) {
    const logs = await request(`${b.url}/api/jobs/${slow}/logs`)
    assert.equal(logs.status, 200)
    const seen = stdoutOf(String(logs.body)).length
    const { state } = (await request(`${b.url}/api/jobs/${slow}`)).body
    if (state === 'running' && seen > 0) live.push(seen)
    if ((live.length >= 2 && live[live.length - 1] > live[0]) || (state !== 'running' && state !== 'queued')) break
    await sleep(300)
  }
  assert.ok(live.length >= 2 && live[live.length - 1] > live[0], `B's /logs follows A's job while it runs: ${live}`)

  const done = await waitFinal(a.url, slow)
  assert.equal(done.state, 'succeeded', done.error)
  const dirA = fs.realpathSync((await a.manager.status()).dataDir)
  assert.ok(done.logDir.startsWith(dirA), `A ran it: ${done.logDir}`)
  const fromA = await request(`${a.url}/api/jobs/${slow}/logs`)
  const fromB = await request(`${b.url}/api/jobs/${slow}/logs`)
  assert.equal(fromB.status, 200)
  assert.match(fromB.headers.get('content-type') ?? '', /^text\/plain/)
  assert.equal(fromB.body, fromA.body, "B's /logs equals A's")
  const local = fs.readFileSync(path.join(done.logDir, 'stdout.log'), 'utf8')
  assert.ok(local.length > 5_000, `a real log: ${local.length} bytes`)
  assert.equal(stdoutOf(String(fromB.body)), local, "A's stdout.log, whole")
  const tail = await request(`${b.url}/api/jobs/${slow}/logs?tailBytes=100`)
  assert.equal(stdoutOf(String(tail.body)), local.slice(-100))
  assert.equal((await request(`${b.url}/api/jobs/${slow}/logs?tailBytes=x`)).status, 422)

  // The output collected by A: listed and served by B.
  const out = await waitFinal(a.url, brief)
  assert.equal(out.state, 'succeeded', out.error)
  assert.ok(out.logDir.startsWith(dirA), `A ran it: ${out.logDir}`)
  const bytes = fs.readFileSync(out.outputs[0])
  assert.equal(path.basename(out.outputs[0]), 'step.md')
  const listed = await request(`${b.url}/api/jobs/${brief}/outputs`)
  assert.equal(listed.status, 200)
  assert.deepEqual(listed.body, { outputs: [{ name: 'step.md', size: bytes.length, sha256: sha256(bytes) }] })
  const file = await outputFile(b.url, brief, 'step.md')
  assert.equal(file.status, 200)
  assert.equal(file.type, 'text/markdown; charset=utf-8')
  assert.equal(file.nosniff, 'nosniff')
  assert.ok(file.bytes.equals(bytes), file.bytes.toString())
  assert.deepEqual((await request(`${b.url}/api/jobs/${slow}/outputs`)).body, { outputs: [] })
  for (const name of ['other.md', '../step.md']) {
    const missing = await request(`${b.url}/api/jobs/${brief}/outputs/${encodeURIComponent(name)}`)
    assert.equal(missing.status, 404, name)
    assert.equal(missing.body.code, 'OUTPUT_NOT_FOUND')
    assert.match(missing.body.detail, /has no output file named/)
  }
  for (const route of ['/outputs', '/outputs/step.md', '/logs']) {
    const unknown = await request(`${b.url}/api/jobs/no-such-job${route}`)
    assert.equal(unknown.status, 404, route)
    assert.deepEqual(unknown.body, { detail: 'job no-such-job not found' })
  }
})

test('a two-step chain on alternate machines: step 2 on B reads step 1 (run by A, now closed) from the store', async () => {
  const db = sharedDb()
  const a = await startService(machine(db))
  const one = await submit(a.url, { template: 'echo-input', variables: { prev: 'Research Acme.' } })
  const first = await waitFinal(a.url, one)
  assert.equal(first.state, 'succeeded', first.error)
  const research = fs.readFileSync(first.outputs[0])
  assert.equal(first.result, 'echo: Research Acme.')
  await a.app.close()
  // A's machine is gone: B never reads its disk.
  fs.rmSync(first.outputs[0])

  const b = await startService(machine(db))
  const two = await submit(b.url, { template: 'echo-input', inputs: { prev: one }, variables: { out: 'step2.txt' } })
  const second = await waitFinal(b.url, two)
  assert.equal(second.state, 'succeeded', second.error)
  const dirB = fs.realpathSync((await b.manager.status()).dataDir)
  assert.ok(second.logDir.startsWith(dirB), `B ran it: ${second.logDir}`)
  assert.ok(second.result.includes(research.toString().trim()), `step 2 got step 1's output: ${second.result} / ${research}`)
  // B serves both steps' outputs.
  const step1 = await outputFile(b.url, one, 'step.md')
  assert.equal(step1.status, 200)
  assert.ok(step1.bytes.equals(research))
  const listed = await request(`${b.url}/api/jobs/${two}/outputs`)
  assert.deepEqual(listed.body.outputs.map((/** @type {{ name: string }} */ o) => o.name), ['step2.txt'])
  const step2 = await outputFile(b.url, two, 'step2.txt')
  assert.equal(step2.status, 200)
  assert.equal(step2.type, 'text/plain; charset=utf-8')
  assert.equal(step2.nosniff, 'nosniff')
  assert.ok(step2.bytes.toString().includes(research.toString().trim()))
})

test("the default local store: B lists none of A's outputs", async () => {
  const db = sharedDb()
  const a = await startService(machine(db, 'local'))
  const id = await submit(a.url, { template: 'echo-input', variables: { prev: 'Research Acme.' } })
  const info = await waitFinal(a.url, id)
  assert.equal(info.state, 'succeeded', info.error)
  const bytes = fs.readFileSync(info.outputs[0])
  // A serves its own job's, from its data dir.
  assert.deepEqual((await request(`${a.url}/api/jobs/${id}/outputs`)).body, {
    outputs: [{ name: 'step.md', size: bytes.length, sha256: sha256(bytes) }],
  })
  assert.match(stdoutOf(String((await request(`${a.url}/api/jobs/${id}/logs`)).body)), /echo: Research Acme\./)
  const dirA = (await a.manager.status()).dataDir
  await a.app.close()
  fs.rmSync(dirA, { recursive: true, force: true })
  const b = await startService(machine(db, 'local'))
  assert.equal((await request(`${b.url}/api/jobs/${id}`)).body.state, 'succeeded', 'B sees the job')
  assert.deepEqual((await request(`${b.url}/api/jobs/${id}/outputs`)).body, { outputs: [] })
  assert.equal((await request(`${b.url}/api/jobs/${id}/outputs/step.md`)).status, 404)
  assert.equal(stdoutOf(String((await request(`${b.url}/api/jobs/${id}/logs`)).body)), '')
})
