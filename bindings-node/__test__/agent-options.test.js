'use strict'
// The agent options (issue 16) through the binding, on the fake CLI: each
// reaches the CLI's argv as `--flag=value` (the fake records its argv with
// FAKE_CLAUDE_RECORD), `job.spec()` gives them back as submitted, a resumed
// job continues the session (and a fork gets its own), and bad values are
// named as spelled in JS while the manager goes on serving.

const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const { ClaudeJobsError } = require('..')
const { fakeManager, tempDir } = require('./helpers')

/** The argv the fake CLI recorded in `file`. */
function recordedArgv(file) {
  return JSON.parse(fs.readFileSync(file, 'utf8')).argv
}

/** The events of a finished job. */
async function eventsOf(job) {
  const out = []
  for await (const ev of job.events()) out.push(ev)
  return out
}

test('every agent option reaches the CLI as --flag=value, and job.spec() gives it back', async () => {
  const manager = fakeManager()
  const rec = path.join(tempDir(), 'argv.json')
  const extra = tempDir()
  const schema = { type: 'object', properties: { brand: { type: 'string' } }, required: ['brand'] }
  const spec = {
    prompt: 'options',
    model: '-odd-model',
    allowedTools: ['Read', 'Bash(git log *)'],
    disallowedTools: ['Bash(rm *)', 'WebFetch'],
    permissionMode: 'acceptEdits',
    systemPrompt: '--you are terse',
    appendSystemPrompt: 'Answer in French.',
    mcpServers: { echo: { command: '/bin/true', args: ['-x'], env: { MY_TOKEN: 'tok' } } },
    addDirs: [extra],
    settings: { permissions: { deny: ['WebSearch'] } },
    settingSources: ['project', 'local'],
    fallbackModel: 'claude-small',
    effort: 'high',
    jsonSchema: schema,
    maxTurns: 3,
    maxBudgetUsd: 0.5,
    env: { FAKE_CLAUDE_RECORD: rec },
  }
  const job = await manager.submit(spec)
  const info = await job.wait()
  assert.equal(info.state, 'succeeded', info.error)
  const argv = recordedArgv(rec)
  for (const want of [
    '--model=-odd-model',
    '--allowedTools=Read,Bash(git log *)',
    '--disallowedTools=Bash(rm *),WebFetch',
    '--permission-mode=acceptEdits',
    '--system-prompt=--you are terse',
    '--append-system-prompt=Answer in French.',
    `--mcp-config=${path.join(info.logDir, 'mcp-config.json')}`,
    '--strict-mcp-config',
    `--add-dir=${extra}`,
    `--settings=${path.join(info.logDir, 'settings.json')}`,
    '--setting-sources=project,local',
    '--fallback-model=claude-small',
    '--effort=high',
    '--max-turns=3',
    '--max-budget-usd=0.5',
  ]) {
    assert.ok(argv.includes(want), `${want} missing from ${JSON.stringify(argv)}`)
  }
  // A value a user gives never becomes a flag of its own.
  assert.ok(!argv.includes('--you are terse') && !argv.includes('-odd-model'), JSON.stringify(argv))
  const schemaArg = argv.find((a) => a.startsWith('--json-schema='))
  assert.ok(schemaArg, JSON.stringify(argv))
  assert.deepEqual(JSON.parse(schemaArg.slice('--json-schema='.length)), schema)
  assert.ok(!argv.some((a) => a.startsWith('--resume') || a === '--fork-session'), JSON.stringify(argv))
  // The objects are written as given: their keys are not camelCased or snake_cased.
  const mcp = JSON.parse(fs.readFileSync(path.join(info.logDir, 'mcp-config.json'), 'utf8'))
  assert.deepEqual(mcp.mcpServers.echo, spec.mcpServers.echo)
  const settings = JSON.parse(fs.readFileSync(path.join(info.logDir, 'settings.json'), 'utf8'))
  assert.deepEqual(settings, spec.settings)
  // The spec as run, in the input spelling.
  const back = job.spec()
  for (const key of ['disallowedTools', 'permissionMode', 'systemPrompt', 'appendSystemPrompt', 'mcpServers', 'addDirs',
    'settings', 'settingSources', 'fallbackModel', 'effort', 'jsonSchema']) {
    assert.deepEqual(back[key], spec[key], key)
  }
  assert.equal(back.resume, null)
  assert.equal(back.forkSession, false)
  // The new JobInfo keys.
  assert.equal(info.workDir, path.join(info.logDir, 'work'))
  assert.equal(info.configDir, path.join(info.logDir, 'claude-config'))
  assert.deepEqual(info.permissionDenials, [])
  assert.equal(info.structuredOutput, null)
  assert.equal(info.resumedSession, null)
})

test('resume continues the earlier job\'s session in its dirs; forkSession starts a new one', async () => {
  const manager = fakeManager()
  const a = await (await manager.submit({ prompt: 'first', model: 'model-a', effort: 'low' })).wait()
  assert.equal(a.state, 'succeeded', a.error)
  assert.ok(a.sessionId)
  const rec = path.join(tempDir(), 'argv.json')
  const bJob = await manager.submit({ prompt: 'second', resume: a.id, env: { FAKE_CLAUDE_RECORD: rec } })
  const b = await bJob.wait()
  assert.equal(b.state, 'succeeded', b.error)
  const argv = recordedArgv(rec)
  assert.ok(argv.includes(`--resume=${a.sessionId}`), JSON.stringify(argv))
  // A resumed run inherits the earlier job's agent options.
  assert.ok(argv.includes('--model=model-a') && argv.includes('--effort=low'), JSON.stringify(argv))
  assert.equal(b.sessionId, a.sessionId)
  assert.equal(b.resumedSession, a.sessionId)
  assert.equal(b.workDir, a.workDir)
  assert.equal(b.configDir, a.configDir)
  assert.equal(bJob.spec().resume, a.id)
  const resuming = (await eventsOf(bJob)).find((ev) => ev.type === 'resuming')
  assert.deepEqual(
    { sessionId: resuming?.sessionId, fromJob: resuming?.fromJob, fork: resuming?.fork },
    { sessionId: a.sessionId, fromJob: a.id, fork: false },
  )

  const forkRec = path.join(tempDir(), 'argv.json')
  const cJob = await manager.submit({ prompt: 'third', resume: b.id, forkSession: true, env: { FAKE_CLAUDE_RECORD: forkRec } })
  const c = await cJob.wait()
  assert.equal(c.state, 'succeeded', c.error)
  const forkArgv = recordedArgv(forkRec)
  assert.ok(forkArgv.includes(`--resume=${a.sessionId}`) && forkArgv.includes('--fork-session'), JSON.stringify(forkArgv))
  assert.ok(c.sessionId && c.sessionId !== a.sessionId, 'a fork has a session of its own')
  assert.equal(c.resumedSession, a.sessionId)
  const forked = (await eventsOf(cJob)).find((ev) => ev.type === 'resuming')
  assert.equal(forked?.fork, true)
  assert.equal(forked?.fromJob, b.id)
})

test('bad agent options: INVALID_SPEC naming the field as spelled in JS; the manager goes on', async () => {
  const manager = fakeManager({ maxConcurrent: 1 })
  const running = await manager.submit({ prompt: 'hold', env: { FAKE_CLAUDE_SCENARIO: 'slow', FAKE_CLAUDE_SECONDS: '30' } })
  const cases = [
    [{ permissionMode: 'yolo' }, 'permissionMode'],
    [{ jsonSchema: 'an object please' }, 'jsonSchema'],
    [{ jsonSchema: [{ type: 'object' }] }, 'jsonSchema'],
    [{ resume: 'no-such-job' }, 'resume'],
    [{ resume: running.id }, 'resume'],
    [{ forkSession: true }, 'forkSession'],
    [{ effort: 'extreme' }, 'effort'],
    [{ settingSources: ['everywhere'] }, 'settingSources'],
    [{ mcpServers: { echo: 'not an object' } }, 'mcpServers'],
    [{ settings: 'not an object' }, 'settings'],
    [{ addDirs: ['/definitely/not/here'] }, 'addDirs'],
    [{ disallowedTools: [''] }, 'disallowedTools'],
    [{ systemPrompt: 'nul\0byte' }, 'systemPrompt'],
  ]
  for (const [extra, field] of cases) {
    let err
    try {
      await manager.submit({ prompt: 'hi', ...extra })
    } catch (e) {
      err = e
    }
    assert.ok(err instanceof ClaudeJobsError, `${JSON.stringify(extra)} was accepted`)
    assert.equal(err.code, 'INVALID_SPEC', `${JSON.stringify(extra)}: ${err.message}`)
    assert.ok(err.field === field || err.field.startsWith(`${field}.`), `${JSON.stringify(extra)}: field ${err.field}`)
  }
  await running.cancel()
  const after = await (await manager.submit({ prompt: 'still serving' })).wait()
  assert.equal(after.state, 'succeeded', after.error)
  assert.equal(after.result, 'echo: still serving')
})
