'use strict'
// Jobs with the real Claude Code CLI against the loopback mock of the
// Messages API (testing/mock-anthropic): a plain one, a structured-output
// job (`jsonSchema`) and a resumed one (`resume`, `forkSession`). The CLI comes from $CLAUDE_BIN, or
// `.tools/claude.path` (`make claude-cli`), or scripts/install-claude.sh.
// Skips (saying why) only when the mock binary has not been built.

const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const { spawn, execFileSync } = require('node:child_process')
const { ROOT, MOCK_ANTHROPIC, fakeManager, tempDir } = require('./helpers')

/** The real CLI's path, installing the pinned version if needed. */
function realClaude() {
  if (process.env.CLAUDE_BIN) return process.env.CLAUDE_BIN
  const saved = path.join(ROOT, '.tools', 'claude.path')
  if (fs.existsSync(saved)) {
    const p = fs.readFileSync(saved, 'utf8').trim()
    if (p && fs.existsSync(p)) return p
  }
  const out = execFileSync(path.join(ROOT, 'scripts', 'install-claude.sh'), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] })
  return out.trim().split('\n').at(-1)
}

/** Starts the mock; resolves with its base URL and the child process. */
function startMock() {
  return new Promise((resolve, reject) => {
    const child = spawn(MOCK_ANTHROPIC, ['--port', '0', '--scenario', 'text'], { stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    let err = ''
    const timer = setTimeout(() => reject(new Error(`mock did not start: ${out} ${err}`)), 15_000)
    child.stderr.on('data', (d) => (err += d))
    child.stdout.on('data', (d) => {
      out += d
      const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out)
      if (m) {
        clearTimeout(timer)
        resolve({ url: m[1], child })
      }
    })
    child.on('error', (e) => {
      clearTimeout(timer)
      reject(e)
    })
  })
}

const skip = fs.existsSync(MOCK_ANTHROPIC) ? false : `mock-anthropic not built (${MOCK_ANTHROPIC}): run \`cargo build -p mock-anthropic\``
if (skip) console.log(`SKIP real CLI test: ${skip}`)

test('the real CLI against the mock: succeeded, with a session id and a cost', { skip, timeout: 300_000 }, async () => {
  const claudeBin = realClaude()
  const { url, child } = await startMock()
  try {
    const manager = fakeManager({ claudeBin })
    const job = await manager.submit({
      prompt: 'Write one sentence about offline tests.\nmock-scenario: text',
      memory: '1G',
      timeoutMs: 120_000,
      env: {
        ANTHROPIC_BASE_URL: url,
        ANTHROPIC_API_KEY: 'test-key',
        CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
      },
    })
    const types = []
    for await (const ev of job.events()) types.push(ev.type)
    const info = await job.wait()
    assert.equal(info.state, 'succeeded', `${info.error}\nevents: ${types.join(' ')}`)
    assert.match(info.sessionId, /^[0-9a-f-]{36}$/)
    assert.equal(typeof info.costUsd, 'number')
    assert.ok(info.costUsd > 0, String(info.costUsd))
    assert.ok(info.cliVersion, 'the init message named the CLI version')
    assert.ok(info.result && info.result.length > 0)
    assert.ok(types.includes('init') && types.includes('result'), types.join(' '))
    console.log(`real CLI ${info.cliVersion}: ${info.state}, session ${info.sessionId}, $${info.costUsd}, peak ${info.stats.peakMemoryBytes >> 20} MiB`)
  } finally {
    child.kill('SIGTERM')
  }
})

/**
 * A manager on the real CLI whose jobs talk to a fresh mock (HOME of their
 * own: the CLI reads no rc file of this host); `stop()` ends the mock.
 */
async function mockedManager() {
  const claudeBin = realClaude()
  const { url, child } = await startMock()
  const manager = fakeManager({
    claudeBin,
    env: {
      ANTHROPIC_BASE_URL: url,
      ANTHROPIC_API_KEY: 'test-key',
      CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
      HOME: tempDir(),
    },
  })
  return { manager, stop: () => child.kill('SIGTERM') }
}

test('the real CLI: a jsonSchema job ends with the answer in structuredOutput', { skip, timeout: 300_000 }, async () => {
  const { manager, stop } = await mockedManager()
  try {
    const answer = { brand: 'Kettle Co', founded: 1999, kettles: ['Aster', 'Birch'] }
    const jsonSchema = {
      type: 'object',
      properties: { brand: { type: 'string' }, founded: { type: 'integer' }, kettles: { type: 'array', items: { type: 'string' } } },
      required: ['brand', 'founded'],
    }
    const job = await manager.submit({
      prompt: `Profile the brand Kettle Co.\nmock-structured-output: ${JSON.stringify(answer)}`,
      jsonSchema,
      timeoutMs: 120_000,
    })
    const info = await job.wait()
    assert.equal(info.state, 'succeeded', info.error)
    assert.deepEqual(info.structuredOutput, answer)
    assert.deepEqual(job.spec().jsonSchema, jsonSchema)
  } finally {
    stop()
  }
})

test('the real CLI: a resumed job continues the session; a fork gets a new one', { skip, timeout: 300_000 }, async () => {
  const { manager, stop } = await mockedManager()
  try {
    const a = await (await manager.submit({ prompt: 'First question: name a kettle.', timeoutMs: 120_000 })).wait()
    assert.equal(a.state, 'succeeded', a.error)
    assert.match(a.sessionId, /^[0-9a-f-]{36}$/)
    const bJob = await manager.submit({ prompt: 'Second question: and its price?', resume: a.id, timeoutMs: 120_000 })
    const b = await bJob.wait()
    assert.equal(b.state, 'succeeded', b.error)
    assert.equal(b.sessionId, a.sessionId, 'B continues A\'s session')
    assert.equal(b.resumedSession, a.sessionId)
    assert.equal(b.workDir, a.workDir)
    assert.equal(b.configDir, a.configDir)
    // The mock quotes the latest prompt: B's own was answered.
    assert.match(b.result, /Second question/)
    const types = []
    for await (const ev of bJob.events()) if (ev.type === 'resuming') types.push([ev.sessionId, ev.fromJob, ev.fork])
    assert.deepEqual(types, [[a.sessionId, a.id, false]])
    const c = await (await manager.submit({ prompt: 'Third question', resume: b.id, forkSession: true, timeoutMs: 120_000 })).wait()
    assert.equal(c.state, 'succeeded', c.error)
    assert.match(c.sessionId, /^[0-9a-f-]{36}$/)
    assert.notEqual(c.sessionId, a.sessionId, 'a fork has a session of its own')
    assert.equal(c.resumedSession, a.sessionId)
  } finally {
    stop()
  }
})
