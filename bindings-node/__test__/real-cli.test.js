'use strict'
// One job with the real Claude Code CLI against the loopback mock of the
// Messages API (testing/mock-anthropic). The CLI comes from $CLAUDE_BIN, or
// `.tools/claude.path` (`make claude-cli`), or scripts/install-claude.sh.
// Skips (saying why) only when the mock binary has not been built.

const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const { spawn, execFileSync } = require('node:child_process')
const { ROOT, MOCK_ANTHROPIC, fakeManager } = require('./helpers')

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
