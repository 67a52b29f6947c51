'use strict'
// The rows of the API table every language has: submitWorkflow(), job.spec(),
// events({ after }), status(), JobManager.create().

const test = require('node:test')
const assert = require('node:assert/strict')
const { JobManager, Job, Workflow, ClaudeJobsError } = require('..')
const { fakeManager, tempDir, FAKE_CLAUDE } = require('./helpers')

test('submitWorkflow: the brand workflow as a chain of jobs', async () => {
  const manager = fakeManager()
  const wf = await manager.submitWorkflow('brand', { brand: 'ACME' })
  assert.ok(wf instanceof Workflow)
  assert.equal(wf.name, 'brand')
  assert.deepEqual(wf.steps.map((s) => s.step), ['research', 'brief', 'draft'])
  const [research, brief, draft] = wf.steps.map((s) => s.job)
  assert.ok(research instanceof Job)
  assert.equal(wf.job('brief'), brief)
  assert.equal(wf.job('nope'), undefined)
  assert.equal(wf.last(), draft)
  const infos = await Promise.all([research, brief, draft].map((j) => j.wait()))
  assert.deepEqual(infos.map((i) => i.state), ['succeeded', 'succeeded', 'succeeded'], infos.map((i) => i.error).join())
  assert.deepEqual(infos.map((i) => i.template), ['brand-data', 'brief', 'draft'])
  assert.deepEqual(infos.map((i) => i.labels.step), ['research', 'brief', 'draft'])
  assert.ok(infos.every((i) => i.labels.workflow === 'brand' && i.outputs.length === 1))
  assert.deepEqual(draft.spec().inputs, { brief: brief.id })
  assert.equal(brief.spec().variables.brand, 'ACME')
})

test('submitWorkflow errors name the workflow or the variable; nothing is submitted', async () => {
  const manager = fakeManager()
  const rejects = (p, code, field) => assert.rejects(p, (e) => e instanceof ClaudeJobsError && e.code === code && e.field === field)
  await rejects(manager.submitWorkflow('no-such-workflow', { brand: 'ACME' }), 'TEMPLATE_ERROR', 'workflow')
  await rejects(manager.submitWorkflow('brand', { brand: 'ACME', colour: 'red' }), 'TEMPLATE_ERROR', 'colour')
  await rejects(manager.submitWorkflow('brand', { brand: ['a'] }), 'INVALID_SPEC', 'variables.brand')
  await assert.rejects(manager.submitWorkflow('brand', {}), (e) => e.code === 'TEMPLATE_ERROR')
  assert.deepEqual((await manager.list()).jobs, [])
})

test('job.spec(): the spec as run, in the input spelling; it submits the same job again', async () => {
  const manager = fakeManager({ defaultLimits: { pids: 64 } })
  const job = await manager.submit({
    prompt: 'round trip',
    cpus: 0.5,
    memory: '256M',
    timeoutMs: 45_500,
    idleTimeoutMs: '2m',
    labels: { k: 'v' },
    env: { MY_VAR: '1', FAKE_CLAUDE_SCENARIO: 'trivial' },
    runAs: { uid: process.getuid(), gid: process.getgid() },
    maxAttempts: 2,
  })
  const spec = job.spec()
  assert.equal(spec.timeoutMs, 45_500)
  assert.equal(spec.idleTimeoutMs, 120_000)
  assert.equal(spec.memory, 256 * 1024 * 1024)
  assert.equal(spec.pids, 64) // the manager's default cap, applied
  assert.deepEqual(spec.env, { MY_VAR: '1', FAKE_CLAUDE_SCENARIO: 'trivial' })
  assert.deepEqual(spec.runAs, { uid: process.getuid(), gid: process.getgid() })
  assert.equal(spec.maxAttempts, 2)
  assert.equal(spec.timeout, undefined)
  const again = await manager.submit(spec)
  assert.notEqual(again.id, job.id)
  assert.deepEqual(again.spec(), spec)
  for (const j of [job, again]) assert.equal((await j.wait()).state, 'succeeded')
})

test('events({ after }) and events()', async () => {
  const manager = fakeManager()
  const job = await manager.submit({ prompt: 'events', env: { FAKE_CLAUDE_SCENARIO: 'ok' } })
  await job.wait()
  const collect = async (it) => {
    const out = []
    for await (const ev of it) out.push(ev)
    return out
  }
  const every = await collect(job.events())
  assert.deepEqual(await collect(job.events({ after: 0 })), every)
  assert.deepEqual((await collect(job.events({ after: 2 }))).map((e) => e.seq), every.slice(2).map((e) => e.seq))
  assert.deepEqual(await collect(job.events({ after: every.length })), [])
})

test('status(): the core ManagerStatus, camelCased', async () => {
  const manager = fakeManager({ maxConcurrent: 2, storeUrl: 'memory' })
  const s = await manager.status()
  assert.equal(s.maxConcurrent, 2)
  assert.equal(s.running, 0)
  assert.equal(s.queued, 0)
  assert.equal(s.storeUrl, 'memory')
  assert.equal(s.shuttingDown, false)
  assert.equal(s.storeHealth.healthy, true)
  assert.ok(['cgroup-v1', 'cgroup-v2', 'none'].includes(s.isolation))
  await manager.shutdown({ drainTimeoutMs: 0 })
  assert.equal((await manager.status()).shuttingDown, true)
})

test('JobManager.create(): started, or the start error', async () => {
  const m = await JobManager.create({ claudeBin: FAKE_CLAUDE, dataDir: tempDir(), storeUrl: 'memory' })
  try {
    const info = await (await m.submit({ prompt: 'made by create' })).wait()
    assert.equal(info.result, 'echo: made by create')
  } finally {
    await m.shutdown()
  }
  assert.throws(() => new JobManager({ maxConcurent: 2 }), (e) => e.code === 'INVALID_SPEC' && e.field === 'maxConcurent')
})
