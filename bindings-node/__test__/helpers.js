'use strict'
// Shared helpers of the addon's tests: where the fake CLI is, fresh data
// dirs, managers that are shut down after each test, and /proc scanning.

const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { after } = require('node:test')
const { JobManager } = require('..')
const { marker, processesWithMarker } = require('./proc')

const ROOT = path.resolve(__dirname, '..', '..')
const TARGET = process.env.CARGO_TARGET_DIR ? path.resolve(ROOT, process.env.CARGO_TARGET_DIR) : path.join(ROOT, 'target')
/** The fake Claude CLI (`cargo build -p fake-claude`). */
const FAKE_CLAUDE = process.env.FAKE_CLAUDE_BIN || path.join(TARGET, 'debug', 'fake-claude')
/** The loopback mock of the Messages API (`cargo build -p mock-anthropic`). */
const MOCK_ANTHROPIC = process.env.MOCK_ANTHROPIC_BIN || path.join(TARGET, 'debug', 'mock-anthropic')

if (!fs.existsSync(FAKE_CLAUDE)) {
  throw new Error(`fake CLI not found at ${FAKE_CLAUDE}: run \`cargo build -p fake-claude\` in ${ROOT}`)
}

const dirs = []
const managers = []
after(async () => {
  await Promise.all(managers.map((m) => m.shutdown({ drainTimeoutMs: 0 }).catch(() => {})))
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true })
})

/** A fresh directory, removed when the test file ends. */
function tempDir(prefix = 'cj-node-test-') {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), prefix))
  dirs.push(d)
  return d
}

/** A manager on the fake CLI with short grace periods, shut down after the file. */
function fakeManager(options = {}) {
  const m = new JobManager({
    claudeBin: FAKE_CLAUDE,
    dataDir: tempDir(),
    maxConcurrent: 3,
    killGraceMs: 1000,
    resultGraceMs: 1000,
    ...options,
  })
  managers.push(m)
  return m
}

/** Polls `fn` until it returns a truthy value or `timeoutMs` passes. */
async function waitFor(fn, { timeoutMs = 10_000, intervalMs = 50, what = 'condition' } = {}) {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const v = await fn()
    if (v) return v
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((r) => setTimeout(r, intervalMs))
  }
}

/**
 * Resolves with the first event of type `match` (or for which `match(ev)` is
 * true); rejects when the job's stream ends without one.
 */
async function waitForEvent(job, match) {
  const ok = typeof match === 'function' ? match : (ev) => ev.type === match
  for await (const ev of job.events()) {
    if (ok(ev)) return ev
  }
  throw new Error(`job ${job.id} ended (${job.state}) without the awaited event`)
}

module.exports = {
  ROOT,
  FAKE_CLAUDE,
  MOCK_ANTHROPIC,
  tempDir,
  fakeManager,
  marker,
  processesWithMarker,
  waitFor,
  waitForEvent,
}
