'use strict'
// A script that leaves without `manager.shutdown()` still ends, and leaves
// no job process behind (checked by scanning /proc for a marker variable).

const test = require('node:test')
const assert = require('node:assert/strict')
const path = require('node:path')
const { spawn } = require('node:child_process')
const { FAKE_CLAUDE, tempDir, marker, processesWithMarker, waitFor } = require('./helpers')

const FIXTURE = path.join(__dirname, 'fixtures', 'abandon.js')

/** Runs the fixture; resolves with its exit code, output and timings. */
function runFixture(mode, scenario, m) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [FIXTURE, mode, scenario], {
      env: {
        ...process.env,
        CJ_FAKE_CLAUDE: FAKE_CLAUDE,
        CJ_DATA_DIR: tempDir(),
        CJ_MARKER_NAME: m.name,
        CJ_MARKER_VALUE: m.value,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let out = ''
    let err = ''
    let readyAt = null
    child.stdout.on('data', (d) => {
      out += d
      if (readyAt === null && out.includes('READY')) readyAt = Date.now()
    })
    child.stderr.on('data', (d) => (err += d))
    const killer = setTimeout(() => child.kill('SIGKILL'), 20_000)
    child.on('error', reject)
    child.on('exit', (code, signal) => {
      clearTimeout(killer)
      resolve({ code, signal, out, err, readyAt, exitedAt: Date.now(), marked: Number(/READY (\d+)/.exec(out)?.[1] ?? 0) })
    })
  })
}

for (const [mode, scenario] of [
  ['natural', 'slow'],
  ['exit', 'slow'],
  ['natural', 'fork-tree'],
]) {
  test(`${mode} end with a running ${scenario} job: the process exits, no job process remains`, async () => {
    const m = marker()
    const r = await runFixture(mode, scenario, m)
    assert.equal(r.signal, null, `killed by the watchdog: ${r.err}`)
    assert.equal(r.code, 0, r.err)
    assert.ok(r.readyAt, `never ready: ${r.out} ${r.err}`)
    assert.ok(r.marked >= (scenario === 'fork-tree' ? 3 : 1), `the job was running with the marker: ${r.out}`)
    assert.ok(r.exitedAt - r.readyAt < 5000, `took ${r.exitedAt - r.readyAt} ms to exit`)
    await waitFor(() => processesWithMarker(m).length === 0, { timeoutMs: 3000, what: 'no marked process' }).catch(() => {})
    assert.deepEqual(processesWithMarker(m), [])
  })
}

test('an idle manager does not keep the process alive', async () => {
  const t0 = Date.now()
  const r = await runFixture('idle', 'ok', marker())
  assert.equal(r.code, 0, r.err)
  assert.ok(Date.now() - t0 < 5000, `took ${Date.now() - t0} ms`)
})
