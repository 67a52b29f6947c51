// `npm start` (node src/server.js), configured by environment variables only:
// it listens, runs jobs, and stops cleanly on SIGTERM; bad settings stop it
// at start-up with the setting named.

import test from 'node:test'
import assert from 'node:assert/strict'
import path from 'node:path'
import { spawn } from 'node:child_process'
import { FAKE_CLAUDE, SERVICE_DIR, request, tempDir, waitFinal } from './helpers.js'

/**
 * Starts the server with `env`; resolves once it prints its URL (or exits).
 *
 * @param {Record<string, string>} env
 */
function startServer(env) {
  const child = spawn(process.execPath, [path.join(SERVICE_DIR, 'src', 'server.js')], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let out = ''
  let err = ''
  child.stderr.on('data', (d) => (err += d))
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal, out, err })))
  const listening = new Promise((resolve) => {
    child.stdout.on('data', (d) => {
      out += d
      const m = /listening on (http:\/\/[\d.]+:\d+)/.exec(out)
      if (m) resolve(m[1])
    })
    exited.then(() => resolve(null))
  })
  return { child, listening, exited }
}

test('configured by env: listens, runs a job, stops on SIGTERM', async () => {
  const dataDir = tempDir()
  const server = startServer({
    CLAUDE_BIN: FAKE_CLAUDE,
    CLAUDE_JOBS_DATA_DIR: dataDir,
    MAX_CONCURRENT_JOBS: '2',
    CLAUDE_JOBS_ISOLATION: 'auto',
    HOST: '127.0.0.1',
    PORT: '0',
  })
  try {
    const url = await server.listening
    if (!url) assert.fail(`the server did not start: ${JSON.stringify(await server.exited)}`)
    const health = await request(`${url}/health`)
    assert.equal(health.body.maxConcurrent, 2)
    assert.equal(health.body.dataDir, dataDir)
    const { status, body } = await request(`${url}/api/jobs`, { method: 'POST', json: { prompt: 'from env' } })
    assert.equal(status, 201)
    assert.equal((await waitFinal(url, body.id)).result, 'echo: from env')
  } finally {
    server.child.kill('SIGTERM')
  }
  const { code, out } = /** @type {{ code: number, out: string }} */ (await server.exited)
  assert.equal(code, 0, out)
  assert.match(out, /SIGTERM: stopping/)
})

test('a bad MAX_CONCURRENT_JOBS stops the server at start-up, naming the option', async () => {
  const server = startServer({ CLAUDE_BIN: FAKE_CLAUDE, CLAUDE_JOBS_DATA_DIR: tempDir(), MAX_CONCURRENT_JOBS: 'many', PORT: '0' })
  const { code, err } = /** @type {{ code: number, err: string }} */ (await server.exited)
  assert.equal(code, 1)
  assert.match(err, /INVALID_SPEC \(maxConcurrent\)/)
})

test('CLAUDE_JOBS_ISOLATION must be required, auto or off', async () => {
  const server = startServer({ CLAUDE_BIN: FAKE_CLAUDE, CLAUDE_JOBS_DATA_DIR: tempDir(), CLAUDE_JOBS_ISOLATION: 'maybe', PORT: '0' })
  const { code, err } = /** @type {{ code: number, err: string }} */ (await server.exited)
  assert.equal(code, 1)
  assert.match(err, /\(isolation\)/)
})

test('CLAUDE_JOBS_MEMORY_BUDGET and CLAUDE_JOBS_CPU_BUDGET are checked at start-up, naming the option', async () => {
  /** @type {[Record<string, string>, string][]} */
  const cases = [
    [{ CLAUDE_JOBS_MEMORY_BUDGET: 'lots' }, 'memoryBudget'],
    [{ CLAUDE_JOBS_CPU_BUDGET: '0' }, 'cpuBudget'],
    [{ CLAUDE_JOBS_CPU_BUDGET: 'many' }, 'cpuBudget'],
  ]
  for (const [env, field] of cases) {
    const server = startServer({ CLAUDE_BIN: FAKE_CLAUDE, CLAUDE_JOBS_DATA_DIR: tempDir(), PORT: '0', ...env })
    const { code, err } = /** @type {{ code: number, err: string }} */ (await server.exited)
    assert.equal(code, 1, JSON.stringify(env))
    assert.match(err, new RegExp(`INVALID_SPEC \\(${field}\\)`))
  }
})
