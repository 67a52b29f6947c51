'use strict'
// Artifact stores through the binding: two managers ("machines": two data
// dirs) on one SQLite file with `artifactStore: 'db'`. B serves a job run by
// A: its log while it runs (growing) and at the end byte for byte A's
// stdout.log, its outputs (size, SHA-256, bytes). Bad streams and options
// reject INVALID_SPEC naming them; a bad `artifactStore` names the option;
// with the default `'local'` B has neither logs nor outputs of A's jobs.

const test = require('node:test')
const assert = require('node:assert/strict')
const crypto = require('node:crypto')
const fs = require('node:fs')
const path = require('node:path')
const { ClaudeJobsError, JobManager } = require('..')
const { FAKE_CLAUDE, fakeManager, tempDir, waitFor } = require('./helpers')

/** The ClaudeJobsError that `promise` rejects with. */
async function rejection(promise) {
  try {
    await promise
  } catch (err) {
    assert.ok(err instanceof ClaudeJobsError, String(err && err.stack))
    return err
  }
  assert.fail('expected a rejection')
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms))
const sha256 = (/** @type {Buffer} */ b) => crypto.createHash('sha256').update(b).digest('hex')

/** Two machines' options on one fresh SQLite file: `[dataDirA, dataDirB, options]`. */
function sharedStore(artifactStore) {
  const url = `sqlite://${path.join(tempDir(), 'shared.db')}`
  return [tempDir(), tempDir(), { storeUrl: url, ...(artifactStore ? { artifactStore } : {}) }]
}

/** A job whose result text is collected as `brand/<file>`. */
const withOutput = (prompt, file) => ({ prompt, output: { file, folder: 'brand' } })

test("artifactStore 'db': B serves the logs and outputs of a job run by A", async () => {
  const [dirA, dirB, shared] = sharedStore('db')
  const a = fakeManager({ dataDir: dirA, ...shared })
  // 12 s of progress lines every 50 ms (the log is uploaded every 2 s), and a
  // job with an output; both on A before B exists, so that A runs them.
  const slow = await a.submit({
    prompt: 'wait',
    env: { FAKE_CLAUDE_SCENARIO: 'slow', FAKE_CLAUDE_SECONDS: '12', FAKE_CLAUDE_INTERVAL_MS: '50' },
  })
  const brief = await a.submit(withOutput('Write the brief.', 'brief.md'))
  await waitFor(() => slow.state === 'running', { what: 'the slow job to run' })
  const b = fakeManager({ dataDir: dirB, ...shared })
  await b.ready()

  const live = []
  const deadline = Date.now() + 20_000
  while (Date.now() < deadline) {
    const seen = await b.readLog(slow.id, 'stdout')
    assert.ok(Buffer.isBuffer(seen))
    const running = (await b.get(slow.id)).info().state === 'running'
    if (running && seen.length > 0) live.push(seen.length)
    if (live.length >= 2 && live[live.length - 1] > live[0]) break
    if (!running && (await b.get(slow.id)).info().state !== 'queued') break
    await sleep(300)
  }
  assert.ok(live.length >= 2 && live[live.length - 1] > live[0], `B follows A's log while it runs: sizes ${live}`)

  const info = await slow.wait()
  assert.equal(info.state, 'succeeded', info.error)
  assert.ok(info.logDir.startsWith(fs.realpathSync(dirA)), `A ran it: ${info.logDir}`)
  const local = fs.readFileSync(path.join(info.logDir, 'stdout.log'))
  assert.ok(local.length > 5_000, `a real log: ${local.length} bytes`)
  const served = await b.readLog(slow.id, 'stdout')
  assert.equal(served.length, local.length)
  assert.ok(served.equals(local), 'byte for byte')
  assert.ok((await b.readLog(slow.id, 'stdout', { tailBytes: 100 })).equals(local.subarray(local.length - 100)))
  assert.equal((await b.readLog(slow.id, 'stdout', { tailBytes: 0 })).length, 0)
  assert.ok((await b.readLog(slow.id, 'stderr')).equals(fs.readFileSync(path.join(info.logDir, 'stderr.log'))))

  // The output collected by A: listed by B with its size and checksum, read byte for byte.
  const done = await brief.wait()
  assert.equal(done.state, 'succeeded', done.error)
  assert.ok(done.logDir.startsWith(fs.realpathSync(dirA)), `A ran it: ${done.logDir}`)
  const bytes = fs.readFileSync(done.outputs[0])
  const name = path.basename(done.outputs[0])
  assert.deepEqual(await b.outputs(brief.id), [{ name, size: bytes.length, sha256: sha256(bytes) }])
  const read = await b.readOutput(brief.id, name)
  assert.ok(Buffer.isBuffer(read) && read.equals(bytes), String(read))
  assert.equal(await b.readOutput(brief.id, 'other.md'), null)
  assert.equal(await b.readOutput(brief.id, `../${name}`), null)
  assert.deepEqual(await b.outputs(slow.id), [], 'a job without outputs')

  // Bad input names the argument; an unknown job is JOB_NOT_FOUND.
  for (const [args, field] of [
    [[slow.id, 'both'], 'stream'],
    [[slow.id, 'STDOUT'], 'stream'],
    [[slow.id, undefined], 'stream'],
    [[slow.id, 1], 'stream'],
    [[slow.id, 'stdout', { tailBytes: -1 }], 'tailBytes'],
    [[slow.id, 'stdout', { tailBytes: 1.5 }], 'tailBytes'],
    [[slow.id, 'stdout', { tailBytes: NaN }], 'tailBytes'],
    [[slow.id, 'stdout', { tailByte: 10 }], 'tailByte'],
  ]) {
    const err = await rejection(b.readLog(...args))
    assert.equal(err.code, 'INVALID_SPEC', `${JSON.stringify(args)}: ${err.message}`)
    assert.equal(err.field, field, `${JSON.stringify(args)}: ${err.message}`)
    assert.ok(err.message.includes(field), err.message)
  }
  // One call at a time: a promise that rejects before it is awaited would be an unhandled rejection.
  for (const call of [() => b.readLog('no-such-job', 'stdout'), () => b.outputs('no-such-job'), () => b.readOutput('no-such-job', name)]) {
    const err = await rejection(call())
    assert.equal(err.code, 'JOB_NOT_FOUND')
    assert.equal(err.jobId, 'no-such-job')
  }
})

test('a bad artifactStore is refused naming the option', async () => {
  for (const [value, says] of [['s3://b/p', 'S3'], ['nfs', 'not an artifact store']]) {
    assert.throws(
      () => new JobManager({ claudeBin: FAKE_CLAUDE, dataDir: tempDir(), artifactStore: value }),
      (err) => {
        assert.ok(err instanceof ClaudeJobsError, String(err))
        assert.equal(err.code, 'INVALID_SPEC')
        assert.equal(err.field, 'artifactStore', err.message)
        assert.ok(err.message.includes('artifactStore') && err.message.includes(says), err.message)
        return true
      },
    )
  }
  // The store holds the artifacts: a memory store cannot.
  const m = new JobManager({ claudeBin: FAKE_CLAUDE, dataDir: tempDir(), storeUrl: 'memory', artifactStore: 'db' })
  const err = await rejection(m.ready())
  assert.equal(err.field, 'artifactStore', err.message)
})

test("the default 'local': B has neither the log nor the outputs of A's job", async () => {
  const [dirA, dirB, shared] = sharedStore(undefined)
  const a = fakeManager({ dataDir: dirA, ...shared })
  const info = await (await a.submit(withOutput('Research Acme.', 'research.md'))).wait()
  assert.equal(info.state, 'succeeded', info.error)
  const bytes = fs.readFileSync(info.outputs[0])
  const name = path.basename(info.outputs[0])
  // A serves its own, from its data dir.
  assert.deepEqual(await a.outputs(info.id), [{ name, size: bytes.length, sha256: sha256(bytes) }])
  assert.ok((await a.readOutput(info.id, name)).equals(bytes))
  const local = fs.readFileSync(path.join(info.logDir, 'stdout.log'))
  assert.ok(local.length > 0 && (await a.readLog(info.id, 'stdout')).equals(local))
  await a.shutdown({ drainTimeoutMs: 0 })
  fs.rmSync(dirA, { recursive: true, force: true })
  const b = fakeManager({ dataDir: dirB, ...shared })
  assert.equal((await b.get(info.id)).info().state, 'succeeded', 'B sees the job')
  assert.deepEqual(await b.outputs(info.id), [])
  assert.equal(await b.readOutput(info.id, name), null)
  assert.equal((await b.readLog(info.id, 'stdout')).length, 0)
})
