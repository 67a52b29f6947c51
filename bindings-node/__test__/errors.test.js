'use strict'
// Errors are ClaudeJobsErrors with a stable `code` (the core's
// ErrorKind::code()), and `field` / `jobId` naming what they are about.

const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const { JobManager, ClaudeJobsError, ERROR_CODES } = require('..')
const { fakeManager, tempDir, FAKE_CLAUDE } = require('./helpers')

const manager = fakeManager()

/** Asserts that `promiseOrFn` rejects/throws a ClaudeJobsError with these properties. */
async function rejectsWith(promiseOrFn, expected) {
  let err
  try {
    await (typeof promiseOrFn === 'function' ? promiseOrFn() : promiseOrFn)
  } catch (e) {
    err = e
  }
  assert.ok(err, `expected a ${expected.code} error`)
  assert.ok(err instanceof ClaudeJobsError, `not a ClaudeJobsError: ${err && err.stack}`)
  assert.ok(err instanceof Error)
  assert.equal(err.name, 'ClaudeJobsError')
  assert.equal(typeof err.message, 'string')
  assert.ok(!err.message.startsWith('claude-jobs-error:'), err.message)
  for (const [k, v] of Object.entries(expected)) assert.equal(err[k], v, `${k} of ${err.stack}`)
  return err
}

test('ERROR_CODES is the ErrorCode union of index.d.ts', () => {
  const dts = fs.readFileSync(path.join(__dirname, '..', 'index.d.ts'), 'utf8')
  const union = dts.match(/export type ErrorCode =([^]*?)\n\n/)[1]
  const declared = [...union.matchAll(/'([A-Z_]+)'/g)].map((m) => m[1])
  assert.deepEqual([...ERROR_CODES], declared)
  assert.ok(Object.isFrozen(ERROR_CODES))
})

test('INVALID_SPEC names the spec field, as spelled in JS', async () => {
  const cases = [
    [{ prompt: '' }, 'prompt'],
    [{ prompt: '   ' }, 'prompt'],
    [{ prompt: 'hi', memory: 'lots' }, 'memory'],
    [{ prompt: 'hi', memory: '1K' }, 'memory'],
    [{ prompt: 'hi', cpus: 4096 }, 'cpus'],
    [{ prompt: 'hi', cpus: -1 }, 'cpus'],
    [{ prompt: 'hi', pids: 0 }, 'pids'],
    [{ prompt: 'hi', timeoutMs: 0 }, 'timeoutMs'],
    [{ prompt: 'hi', idleTimeoutMs: 0 }, 'idleTimeoutMs'],
    [{ prompt: 'hi', maxTurns: 0 }, 'maxTurns'],
    [{ prompt: 'hi', maxBudgetUsd: -1 }, 'maxBudgetUsd'],
    [{ prompt: 'hi', allowedTools: 'Read' }, 'allowedTools'],
    [{ prompt: 'hi', env: { 'A=B': 'x' } }, 'env'],
    [{ prompt: 'hi', workingDir: '/definitely/not/here' }, 'workingDir'],
    [{ prompt: 'hi', dependsOn: ['no-such-job'] }, 'dependsOn'],
    [{ prompt: 'hi', runAs: { uid: 1000 } }, 'runAs'],
    [{ prompt: 'hi', timeout: 5000 }, 'timeout'],
    [{ prompt: 42 }, 'prompt'],
    [{ prompt: 'hi', runAs: { uid: 1000, gid: -1 } }, 'runAs.gid'],
    [{ prompt: 'hi', env: { MY_VAR: 1 } }, 'env.MY_VAR'],
    // Non-finite numbers (napi cannot pass them on: index.js names them).
    [{ prompt: 'hi', cpus: NaN }, 'cpus'],
    [{ prompt: 'hi', cpus: Infinity }, 'cpus'],
    [{ prompt: 'hi', timeoutMs: -Infinity }, 'timeoutMs'],
    // Unknown keys are named, never dropped (a typo must not lose a limit).
    [{ prompt: 'hi', maxTurn: 3 }, 'maxTurn'],
    [{ prompt: 'hi', max_turns: 3 }, 'max_turns'],
    [{ prompt: 'hi', output: { file: 'x.md', folder: 'out', path: 'y' } }, 'output.path'],
  ]
  for (const [spec, field] of cases) {
    await rejectsWith(manager.submit(spec), { code: 'INVALID_SPEC', field })
  }
  await rejectsWith(manager.submit('just a string'), { code: 'INVALID_SPEC', field: 'spec' })
})

test('bad list queries: INVALID_SPEC naming the filter', async () => {
  const cases = [
    [{ limit: 0 }, 'limit'],
    [{ limit: 1.5 }, 'limit'],
    [{ limit: NaN }, 'limit'],
    [{ state: 'bogus' }, 'state'],
    [{ label: 'no-equals' }, 'label'],
    [{ cursor: 'not a cursor!' }, 'cursor'],
    [{ order: 'oldest' }, 'order'],
  ]
  for (const [query, field] of cases) {
    await rejectsWith(manager.list(query), { code: 'INVALID_SPEC', field })
  }
})

test('JOB_NOT_FOUND carries the job id', async () => {
  await rejectsWith(manager.get('no-such-id'), { code: 'JOB_NOT_FOUND', jobId: 'no-such-id' })
  await rejectsWith(manager.cancel('other-id'), { code: 'JOB_NOT_FOUND', jobId: 'other-id' })
})

test('SPAWN_FAILED when the CLI binary does not exist', async () => {
  const m = fakeManager({ claudeBin: '/nonexistent/claude' })
  await rejectsWith(m.submit({ prompt: 'hi' }), { code: 'SPAWN_FAILED', field: 'claudeBin' })
})

test('TEMPLATE_ERROR names the template or the variable', async () => {
  await rejectsWith(manager.submit({ template: 'no-such-template' }), { code: 'TEMPLATE_ERROR', field: 'template' })
  const err = await rejectsWith(manager.submit({ template: 'brief', variables: {} }), { code: 'TEMPLATE_ERROR' })
  assert.ok(err.field, 'the missing variable is named')
  await rejectsWith(manager.submit({ template: 'brief', variables: { nonsense: 'x' } }), {
    code: 'TEMPLATE_ERROR',
    field: 'nonsense',
  })
})

test('SHUTTING_DOWN after shutdown()', async () => {
  const m = fakeManager()
  await m.shutdown()
  await m.shutdown({ drainTimeoutMs: 0 }) // idempotent
  await rejectsWith(m.submit({ prompt: 'hi' }), { code: 'SHUTTING_DOWN' })
})

test('IO_ERROR when the data dir cannot be made, from ready() and every call', async () => {
  const file = path.join(tempDir(), 'a-file')
  fs.writeFileSync(file, '')
  const m = new JobManager({ claudeBin: FAKE_CLAUDE, dataDir: path.join(file, 'data') })
  await rejectsWith(m.ready(), { code: 'IO_ERROR' })
  await rejectsWith(m.submit({ prompt: 'hi' }), { code: 'IO_ERROR' })
  await rejectsWith(JobManager.create({ claudeBin: FAKE_CLAUDE, dataDir: path.join(file, 'data') }), { code: 'IO_ERROR' })
})

test('bad manager options throw synchronously from the constructor', async () => {
  const cases = [
    [{ maxConcurrent: 0 }, 'maxConcurrent'],
    [{ maxConcurrent: 'lots' }, 'maxConcurrent'],
    [{ maxConcurrent: 1.5 }, 'maxConcurrent'],
    [{ isolation: 'maybe' }, 'isolation'],
    [{ lineCap: 10 }, 'lineCap'],
    [{ killGraceMs: -1 }, 'killGraceMs'],
    [{ defaultLimits: { memory: '1K' } }, 'defaultLimits.memory'],
    [{ defaultLimits: { cpus: 1e6 } }, 'defaultLimits.cpus'],
    [{ defaultLimits: { disk: 1 } }, 'defaultLimits.disk'],
    [{ defaultTimeoutMs: 0 }, 'defaultTimeoutMs'],
    [{ env: { A: {} } }, 'env.A'],
    [{ claudeBinary: 'claude' }, 'claudeBinary'],
    [{ store: 'memory' }, 'store'],
    [{ recovery: 'retry' }, 'recovery'],
    [{ retryBackoff: { baseMs: 0, maxMs: 1 } }, 'retryBackoff.baseMs'],
    [{ retention: { jobsDays: -1 } }, 'retention.jobsDays'],
    [{ killGrace: 5 }, 'killGrace'],
    [{ retryBackoff: { baseMs: 1000, maxMs: 10 } }, 'retryBackoff.maxMs'],
    [{ retention: { outputsDays: -1 } }, 'retention.outputsDays'],
    // Non-finite numbers (napi cannot pass them on: index.js names them).
    [{ maxConcurrent: NaN }, 'maxConcurrent'],
    [{ maxConcurrent: Infinity }, 'maxConcurrent'],
    [{ defaultLimits: { cpus: NaN } }, 'defaultLimits.cpus'],
    [{ defaultLimits: { cpus: Infinity } }, 'defaultLimits.cpus'],
  ]
  for (const [options, field] of cases) {
    const err = await rejectsWith(() => new JobManager(options), { code: 'INVALID_SPEC', field })
    assert.match(err.message, new RegExp(field.replace('.', '\\.')))
  }
})

test('the documented manager options are accepted', async () => {
  const m = fakeManager({
    maxConcurrent: 'auto',
    isolation: 'auto',
    killGraceMs: 500,
    resultGraceMs: 500,
    lineCap: 1 << 20,
    defaultLimits: { cpus: 1, memory: '256M', pids: 128 },
    defaultTimeoutMs: 60_000,
    defaultIdleTimeoutMs: 60_000,
    env: { SOME_VAR: 'x' },
    memoryPressureLimitMs: 30_000,
    recovery: 'requeue',
    leaseTtlMs: 30_000,
    heartbeatIntervalMs: 5_000,
    retryBackoff: { baseMs: 100, maxMs: 1_000 },
    retention: { jobsDays: 1 },
    nodeId: 'n1',
  })
  const status = await m.status()
  assert.ok(status.maxConcurrent >= 1)
  assert.equal(status.nodeId, 'n1')
  const info = await (await m.submit({ prompt: 'hi', env: { FAKE_CLAUDE_SCENARIO: 'trivial' } })).wait()
  assert.equal(info.state, 'succeeded')
  assert.deepEqual(info.limits, { cpus: 1, memory: 256 * 1024 * 1024, pids: 128 })
})

test('a job outcome is never an error: wait() resolves for failures', async () => {
  const job = await manager.submit({ prompt: 'x', env: { FAKE_CLAUDE_SCENARIO: 'exit-code' } })
  const info = await job.wait()
  assert.equal(info.state, 'failed')
})
