// capped-job.mjs runs a capped job and reports its state, cost and peak memory.

import test from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import path from 'node:path'
import { FAKE_CLAUDE, SERVICE_DIR, tempDir } from './helpers.js'

test('capped-job.mjs: a capped job, its state, cost and peak memory', async () => {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    [path.join(SERVICE_DIR, 'capped-job.mjs'), '--claude-bin', FAKE_CLAUDE, '--data-dir', tempDir(), 'Hello script'],
    { timeout: 120_000 },
  )
  const report = JSON.parse(stdout.trim().split('\n').pop() ?? '')
  assert.equal(report.state, 'succeeded')
  assert.equal(report.result, 'echo: Hello script')
  assert.ok(report.costUsd > 0 && report.sessionId)
  assert.equal(report.memoryCap, 512 * 1024 * 1024)
  assert.equal(typeof report.peakMemoryBytes, 'number')
})
