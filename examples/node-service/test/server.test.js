// `npm start` (node src/server.js), configured by environment variables only:
// it listens, runs jobs, and stops cleanly on SIGTERM; bad settings stop it
// at start-up with the setting named.

import test from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import { spawn } from 'node:child_process'
import { isLoopback } from '../src/settings.js'
import { FAKE_CLAUDE, SERVICE_DIR, auth, request, tempDir, waitFinal, writeKeysFile } from './helpers.js'

/**
 * Starts the server with `env` (`node src/server.js`, or `npm start`);
 * resolves once it prints its URL (or exits).
 *
 * @param {Record<string, string>} env
 * @param {{ npm?: boolean }} [options]
 */
function startServer(env, { npm = false } = {}) {
  const [command, args] = npm ? ['npm', ['start', '--silent']] : [process.execPath, [path.join(SERVICE_DIR, 'src', 'server.js')]]
  const child = spawn(command, args, {
    cwd: SERVICE_DIR,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', ...env },
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

/** A refused start: exit code 1 and what it printed on stderr. */
async function refused(/** @type {Record<string, string>} */ env) {
  const server = startServer({ CLAUDE_BIN: FAKE_CLAUDE, CLAUDE_JOBS_DATA_DIR: tempDir(), PORT: '0', ...env })
  const { code, err } = /** @type {{ code: number, err: string }} */ (await server.exited)
  assert.equal(code, 1, `${JSON.stringify(env)}: ${err}`)
  return err
}

test('a non-loopback HOST without CLAUDE_JOBS_API_KEYS_FILE is refused, saying why', async () => {
  assert.match(await refused({ HOST: '0.0.0.0' }), /refusing to listen on 0\.0\.0\.0 without CLAUDE_JOBS_API_KEYS_FILE/)
  assert.match(await refused({ HOST: '192.0.2.1' }), /refusing to listen on 192\.0\.2\.1/)
})

test('a malformed or unreadable keys file refuses start-up, naming the file and line', async () => {
  const keys = path.join(tempDir(), 'keys')
  fs.writeFileSync(keys, '# keys\nteam-a:not-a-sha256\n')
  const err = await refused({ HOST: '0.0.0.0', CLAUDE_JOBS_API_KEYS_FILE: keys })
  assert.ok(err.includes(`${keys} line 2`) && err.includes('64 hex'), err)
  const missing = path.join(tempDir(), 'missing')
  assert.match(await refused({ CLAUDE_JOBS_API_KEYS_FILE: missing }), new RegExp(`cannot read ${missing}`))
  assert.match(await refused({ PORT: 'http' }), /PORT/)
  assert.match(await refused({ CLAUDE_JOBS_POLICY_FILE: missing }), /policy/)
})

test('npm start with a keys file serves 0.0.0.0: keys needed, tenants apart', async () => {
  const server = startServer(
    {
      CLAUDE_BIN: FAKE_CLAUDE,
      CLAUDE_JOBS_DATA_DIR: tempDir(),
      HOST: '0.0.0.0',
      PORT: '0',
      CLAUDE_JOBS_API_KEYS_FILE: writeKeysFile(),
    },
    { npm: true },
  )
  try {
    const listening = await server.listening
    if (!listening) assert.fail(`the server did not start: ${JSON.stringify(await server.exited)}`)
    assert.match(listening, /^http:\/\/0\.0\.0\.0:/)
    const url = listening.replace('0.0.0.0', '127.0.0.1')
    assert.equal((await request(`${url}/health`)).status, 200)
    assert.equal((await request(`${url}/api/jobs`)).status, 401)
    assert.equal((await request(`${url}/api/jobs`, { headers: { authorization: 'Bearer wrong' } })).status, 401)
    const job = await request(`${url}/api/jobs`, { method: 'POST', json: { prompt: 'hello' }, headers: auth('tenant-a') })
    assert.equal(job.status, 201, JSON.stringify(job.body))
    assert.equal(job.body.tenant, 'tenant-a')
    assert.equal((await waitFinal(url, job.body.id, auth('tenant-a'))).state, 'succeeded')
    assert.equal((await request(`${url}/api/jobs/${job.body.id}`, { headers: auth('tenant-b') })).status, 404)
  } finally {
    server.child.kill('SIGTERM')
  }
  const { code, out } = /** @type {{ code: number, out: string }} */ (await server.exited)
  assert.equal(code, 0, out)
})

test('loopback addresses', () => {
  for (const host of ['127.0.0.1', 'localhost', '::1', '127.1.2.3', '[::1]', '::ffff:127.0.0.1', '0:0:0:0:0:0:0:1']) {
    assert.ok(isLoopback(host), host)
  }
  for (const host of ['0.0.0.0', '::', 'example.com', '128.0.0.1', '192.168.1.1', '::2', 'localhost.example.com']) {
    assert.ok(!isLoopback(host), host)
  }
})
