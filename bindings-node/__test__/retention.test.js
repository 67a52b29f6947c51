'use strict'
// `retention: { outputsDays: 0 }` keeps collected outputs (0 days means keep,
// as unset does). This binding once read 0 as "delete everything older than
// now": every output was gone after the core's first retention pass, a
// minute after the manager started. The test waits for that pass.

const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const { fakeManager } = require('./helpers')

/** The core's first retention pass runs this long after the start (core/src/manager/retention.rs). */
const FIRST_PASS_MS = 60_000

test('outputsDays: 0 keeps outputs past the first retention pass', { timeout: 150_000 }, async () => {
  const started = Date.now()
  const manager = fakeManager({ retention: { outputsDays: 0, jobsDays: 0, logsDays: 0 } })
  const job = await manager.submit({ template: 'brief', variables: { brand: 'ACME', research: 'R' } })
  const info = await job.wait()
  assert.equal(info.state, 'succeeded', info.error ?? '')
  assert.equal(info.outputs.length, 1)
  const [output] = info.outputs
  assert.ok(fs.statSync(output).isFile())
  await new Promise((r) => setTimeout(r, Math.max(0, FIRST_PASS_MS + 5000 - (Date.now() - started))))
  assert.ok(fs.existsSync(output), 'the retention pass deleted an output that outputsDays: 0 keeps')
  assert.deepEqual((await manager.get(job.id)).info().outputs, [output])
})
