// POST /api/jobs/:id/resume and the agent options over HTTP, on the fake
// CLI, which records its argv (FAKE_CLAUDE_RECORD in every job's env).

import test from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import { auth, request, startService, tempDir, waitFinal, writeKeysFile } from './helpers.js'

const A = auth('tenant-a')
const record = path.join(tempDir(), 'record.json')
const { url } = await startService({ keysFile: writeKeysFile(), jobEnv: { FAKE_CLAUDE_RECORD: record } })

/** POST `route` as tenant-a. */
const post = (/** @type {string} */ route, /** @type {unknown} */ json) => request(`${url}${route}`, { method: 'POST', json, headers: A })

/** The argv the fake CLI recorded last. */
function argv() {
  return /** @type {string[]} */ (JSON.parse(fs.readFileSync(record, 'utf8').split('\n')[0]).argv)
}

/** The value of `--name=value` in `args` (exactly one). */
function flag(/** @type {string[]} */ args, /** @type {string} */ name) {
  const values = args.filter((a) => a.startsWith(`--${name}=`)).map((a) => a.slice(name.length + 3))
  assert.equal(values.length, 1, `--${name} in ${JSON.stringify(args)}`)
  return values[0]
}

test("resume continues the job's session; forkSession forks it; overrides apply", async () => {
  const created = await post('/api/jobs', { prompt: 'first', memory: '256M' })
  assert.equal(created.status, 201, JSON.stringify(created.body))
  const first = await waitFinal(url, created.body.id, A)
  assert.equal(first.state, 'succeeded')
  assert.ok(first.sessionId)
  const r = await post(`/api/jobs/${first.id}/resume`, { prompt: 'second' })
  assert.equal(r.status, 201, JSON.stringify(r.body))
  assert.equal(r.headers.get('location'), `/api/jobs/${r.body.id}`)
  const second = await waitFinal(url, r.body.id, A)
  assert.equal(second.state, 'succeeded', second.error)
  let args = argv()
  assert.equal(flag(args, 'resume'), first.sessionId)
  assert.ok(!args.includes('--fork-session'))
  assert.equal(second.resumedSession, first.sessionId)
  assert.equal(second.sessionId, first.sessionId)
  assert.equal(second.workDir, first.workDir)
  assert.equal(second.configDir, first.configDir)
  assert.equal(second.tenant, 'tenant-a')
  assert.equal(second.limits.memory, 256 * 1024 * 1024, 'caps are inherited')

  const forked = await post(`/api/jobs/${second.id}/resume`, { prompt: 'third', fork_session: true, effort: 'low' })
  assert.equal(forked.status, 201, JSON.stringify(forked.body))
  const third = await waitFinal(url, forked.body.id, A)
  args = argv()
  assert.ok(args.includes('--fork-session'))
  assert.equal(flag(args, 'effort'), 'low')
  assert.notEqual(third.sessionId, first.sessionId)
  assert.equal(third.resumedSession, first.sessionId)

  const camel = await post(`/api/jobs/${first.id}/resume`, { prompt: 'fourth', forkSession: true })
  assert.equal(camel.status, 201, JSON.stringify(camel.body))
  await waitFinal(url, camel.body.id, A)
  assert.ok(argv().includes('--fork-session'))

  const unknown = await post('/api/jobs/no-such-job/resume', { prompt: 'x' })
  assert.equal(unknown.status, 404)
  assert.deepEqual(unknown.body, { detail: 'job no-such-job not found' })
  const theirs = await request(`${url}/api/jobs/${first.id}/resume`, { method: 'POST', json: { prompt: 'x' }, headers: auth('tenant-b') })
  assert.equal(theirs.status, 404)
  assert.deepEqual(theirs.body, { detail: `job ${first.id} not found` })
  const named = await post(`/api/jobs/${first.id}/resume`, { prompt: 'x', resume: 'other' })
  assert.equal(named.status, 422, JSON.stringify(named.body))
  assert.deepEqual(named.body.detail[0].loc, ['body', 'resume'])
})

test('resuming a job that is still running: 422 naming the path id', async () => {
  const slow = await post('/api/jobs', { prompt: 'long\nfake-scenario: slow' })
  assert.equal(slow.status, 201, JSON.stringify(slow.body))
  const r = await post(`/api/jobs/${slow.body.id}/resume`, { prompt: 'too soon' })
  assert.equal(r.status, 422, JSON.stringify(r.body))
  assert.deepEqual(r.body.detail[0].loc, ['path', 'id'])
  assert.match(r.body.detail[0].msg, /resume/)
  await request(`${url}/api/jobs/${slow.body.id}`, { method: 'DELETE', headers: A })
  await waitFinal(url, slow.body.id, A)
})

test('the agent options reach the CLI, in snake_case and in camelCase', async () => {
  const schema = { type: 'object', properties: { n: { type: 'integer' } } }
  const snake = {
    prompt: 'options',
    disallowed_tools: ['Bash(rm *)'],
    permission_mode: 'plan',
    system_prompt: '--be brief',
    append_system_prompt: 'Answer in French.',
    setting_sources: ['project'],
    fallback_model: 'claude-small',
    effort: 'max',
    json_schema: schema,
    max_budget_usd: 0.5,
    allowed_tools: ['Read'],
    timeout: 120,
    max_turns: 3,
  }
  const camel = Object.fromEntries(Object.entries(snake).map(([k, v]) => [k.replace(/_([a-z])/g, (_, c) => c.toUpperCase()), v]))
  delete camel.timeout
  camel.timeoutMs = 120_000
  for (const body of [snake, camel]) {
    const r = await post('/api/jobs', body)
    assert.equal(r.status, 201, JSON.stringify(r.body))
    const done = await waitFinal(url, r.body.id, A)
    assert.equal(done.state, 'succeeded', done.error)
    const args = argv()
    const disallowed = flag(args, 'disallowedTools').split(',')
    assert.ok(disallowed.includes('Bash(rm *)') && disallowed.includes('Bash'), 'the safe policy adds its forbidden tools')
    assert.equal(flag(args, 'permission-mode'), 'plan')
    assert.equal(flag(args, 'system-prompt'), '--be brief')
    assert.equal(flag(args, 'append-system-prompt'), 'Answer in French.')
    assert.equal(flag(args, 'setting-sources'), 'project')
    assert.equal(flag(args, 'fallback-model'), 'claude-small')
    assert.equal(flag(args, 'effort'), 'max')
    assert.deepEqual(JSON.parse(flag(args, 'json-schema')), schema)
    assert.equal(flag(args, 'max-budget-usd'), '0.5')
    assert.equal(flag(args, 'allowedTools'), 'Read')
    assert.equal(flag(args, 'max-turns'), '3')
    for (const key of ['tenant', 'structuredOutput', 'permissionDenials', 'resumedSession', 'workDir', 'configDir']) {
      assert.ok(key in done, key)
    }
    assert.equal(done.structuredOutput, null)
    assert.deepEqual(done.permissionDenials, [])
  }
})

test('timeout and idle_timeout are seconds, timeoutMs and idleTimeoutMs milliseconds', async () => {
  // `slow` writes every 500 ms (only the total timeout stops it); `ignore-sigterm` goes silent.
  /** @type {[string, Record<string, number>][]} */
  const cases = [
    ['slow', { timeout: 1 }],
    ['slow', { timeoutMs: 1000 }],
    ['ignore-sigterm', { idle_timeout: 1 }],
    ['ignore-sigterm', { idleTimeoutMs: 1000 }],
  ]
  for (const [scenario, extra] of cases) {
    const r = await post('/api/jobs', { prompt: `long\nfake-scenario: ${scenario}`, ...extra })
    assert.equal(r.status, 201, JSON.stringify(r.body))
    const done = await waitFinal(url, r.body.id, A)
    assert.equal(done.state, 'timed_out', JSON.stringify(extra))
    const ran = done.finishedAt - done.startedAt
    assert.ok(ran >= 900 && ran < 10_000, `${JSON.stringify(extra)}: ran ${ran} ms`)
  }
})
