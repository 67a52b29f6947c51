// The policy over HTTP: the default (safe) policy's 403 naming the field as
// the request spelled it (camelCase or snake_case), a policy file, a bad
// policy file refusing start-up, the agent options' bad values (422 naming
// the field in its spelling), one field given in both spellings, and values
// that must not wedge a slot.

import test from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import { createApp } from '../src/app.js'
import { DEFAULTS } from '../src/settings.js'
import { FAKE_CLAUDE, auth, request, startService, tempDir, waitFinal, writeKeysFile } from './helpers.js'

const A = auth('tenant-a')
const keysFile = writeKeysFile()
const { url } = await startService({ keysFile })

/** POST /api/jobs as tenant-a to `base`. */
const submit = (/** @type {unknown} */ json, base = url) => request(`${base}/api/jobs`, { method: 'POST', json, headers: A })

/** @type {[Record<string, unknown>, string][]} */
const REFUSED = [
  [{ allowed_tools: ['Bash'] }, 'allowed_tools'],
  [{ allowedTools: ['Bash'] }, 'allowedTools'],
  [{ allowed_tools: ['Read', 'Bash(ls *)'] }, 'allowed_tools'],
  [{ memory: '64G' }, 'memory'],
  [{ cpus: 3 }, 'cpus'],
  [{ timeout: 7200 }, 'timeout'],
  [{ timeoutMs: 7_200_000 }, 'timeoutMs'],
  [{ webhook_url: 'http://127.0.0.1:9/hook' }, 'webhook_url'],
  [{ webhookUrl: 'http://127.0.0.1:9/hook' }, 'webhookUrl'],
  [{ mcp_servers: { sh: { command: '/bin/sh', args: ['-c', 'id'] } } }, 'mcp_servers'],
  [{ mcpServers: { sh: { command: '/bin/sh' } } }, 'mcpServers'],
  [{ add_dirs: ['/'] }, 'add_dirs'],
  [{ settings: { hooks: {} } }, 'settings'],
  [{ permission_mode: 'bypassPermissions' }, 'permission_mode'],
]

test('the safe policy (the default): 403 POLICY_VIOLATION naming the field as spelled', async () => {
  for (const [extra, field] of REFUSED) {
    const r = await submit({ prompt: 'x', ...extra })
    assert.equal(r.status, 403, `${JSON.stringify(extra)} → ${JSON.stringify(r.body)}`)
    assert.equal(r.body.code, 'POLICY_VIOLATION')
    assert.equal(r.body.field, field, JSON.stringify(r.body))
    assert.ok(r.body.detail.includes(field), `${r.body.detail} names ${field}`)
  }
  assert.deepEqual((await request(`${url}/api/jobs`, { headers: A })).body.jobs, [], 'nothing was submitted')
})

test('bad agent options: 422 naming the field as spelled', async () => {
  /** @type {[Record<string, unknown>, string[]][]} */
  const cases = [
    [{ permission_mode: 'yolo' }, ['body', 'permission_mode']],
    [{ permissionMode: 'yolo' }, ['body', 'permissionMode']],
    [{ json_schema: 'an object please' }, ['body', 'json_schema']],
    [{ jsonSchema: ['type'] }, ['body', 'jsonSchema']],
    [{ effort: 'extreme' }, ['body', 'effort']],
    [{ resume: 'no-such-job' }, ['body', 'resume']],
    [{ fork_session: true }, ['body', 'fork_session']],
    [{ forkSession: true }, ['body', 'forkSession']],
    [{ max_budget_usd: -1 }, ['body', 'max_budget_usd']],
    [{ maxBudgetUsd: 'lots' }, ['body', 'maxBudgetUsd']],
    [{ idle_timeout: 0 }, ['body', 'idle_timeout']],
    [{ setting_sources: 'project' }, ['body', 'setting_sources']],
  ]
  for (const [extra, loc] of cases) {
    const r = await submit({ prompt: 'x', ...extra })
    assert.equal(r.status, 422, `${JSON.stringify(extra)} → ${r.status} ${JSON.stringify(r.body)}`)
    assert.deepEqual(r.body.detail[0].loc, loc, JSON.stringify(r.body))
    const field = loc[1]
    assert.ok(r.body.detail[0].msg.includes(field), `${r.body.detail[0].msg} names ${field}`)
  }
})

test('one field in both spellings: 422 naming the second', async () => {
  /** @type {[Record<string, unknown>, string][]} */
  const cases = [
    [{ allowedTools: ['Read'], allowed_tools: ['Read'] }, 'allowed_tools'],
    [{ timeout: 60, timeoutMs: 60_000 }, 'timeoutMs'],
  ]
  for (const [extra, key] of cases) {
    const r = await submit({ prompt: 'x', ...extra })
    assert.equal(r.status, 422, JSON.stringify(r.body))
    assert.deepEqual(r.body.detail[0].loc, ['body', key])
    assert.equal(r.body.detail[0].type, 'duplicate_field')
  }
})

test('huge values are refused naming the field and the service still serves', async () => {
  /** @type {[Record<string, unknown>, string][]} */
  const cases = [
    [{ pids: 5_000_000 }, 'pids'],
    [{ timeout: 1e19 }, 'timeout'],
    [{ idle_timeout: 1e19 }, 'idle_timeout'],
    [{ timeoutMs: 1e22 }, 'timeoutMs'],
  ]
  for (const [extra, field] of cases) {
    const r = await submit({ prompt: 'x', ...extra })
    assert.ok([403, 422].includes(r.status), JSON.stringify(r.body))
    assert.equal(r.status === 403 ? r.body.field : r.body.detail[0].loc.at(-1), field, JSON.stringify(r.body))
  }
  const ok = await submit({ prompt: 'fine', timeout: 60, idle_timeout: 30 })
  assert.equal(ok.status, 201, JSON.stringify(ok.body))
  assert.equal((await waitFinal(url, ok.body.id, A)).state, 'succeeded')
  // The job is final in the store a moment before its slot is free: wait for that.
  let health = await request(`${url}/health`)
  for (let i = 0; i < 100 && health.body.running !== 0; i++) {
    await new Promise((r) => setTimeout(r, 50))
    health = await request(`${url}/health`)
  }
  assert.equal(health.body.running, 0)
})

test('CLAUDE_JOBS_POLICY_FILE: its rules and its tenants; a bad file refuses to start', async () => {
  const dir = tempDir()
  const policy = path.join(dir, 'policy.yaml')
  fs.writeFileSync(policy, 'forbidden_tools: [Bash]\nmax_memory: 512M\ntenants:\n  tenant-a: { max_memory: 1G }\n')
  const { url: base } = await startService({ keysFile, policy })
  const cpus = await submit({ prompt: 'x', cpus: 4096, memory: '256M' }, base)
  assert.equal(cpus.status, 422, 'no cap on cpus here: the check against the host answers')
  assert.deepEqual(cpus.body.detail[0].loc, ['body', 'cpus'])
  const b = await request(`${base}/api/jobs`, { method: 'POST', json: { prompt: 'x', memory: '768M' }, headers: auth('tenant-b') })
  assert.equal(b.status, 403, JSON.stringify(b.body))
  assert.equal(b.body.field, 'memory')
  const a = await submit({ prompt: 'x', memory: '768M', allowed_tools: ['Grep'] }, base)
  assert.equal(a.status, 201, `tenant-a's override allows 1G: ${JSON.stringify(a.body)}`)
  const done = await waitFinal(base, a.body.id, A)
  assert.equal(done.state, 'succeeded')
  assert.equal(done.limits.memory, 768 * 1024 * 1024)

  const bad = path.join(dir, 'bad.yaml')
  fs.writeFileSync(bad, 'max_memory: [1]\n')
  const settings = { ...DEFAULTS, claudeBin: FAKE_CLAUDE, dataDir: tempDir(), policy: bad }
  await assert.rejects(createApp(settings), (/** @type {{ field?: string }} */ err) => {
    assert.match(String(err.field), /^policy/)
    return true
  })
})
