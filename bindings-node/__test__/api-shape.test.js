'use strict'
// The runtime matches index.d.ts: the exports, the keys of JobInfo and its
// parts, the event types; and the ESM entry gives the same objects.

const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const cjs = require('..')
const { fakeManager } = require('./helpers')

const DTS = fs.readFileSync(path.join(__dirname, '..', 'index.d.ts'), 'utf8')

/** The member names of `interface <name>` in index.d.ts (own members only). */
function interfaceKeys(name) {
  const m = new RegExp(`export interface ${name}(?: extends [\\w, ]+)? \\{([^]*?)\\n\\}`).exec(DTS)
  assert.ok(m, `interface ${name} not found in index.d.ts`)
  return [...m[1].matchAll(/^\s{2}(\w+)\??:/gm)].map((k) => k[1])
}

/** The string literals of `type <name> = 'a' | 'b'`. */
function unionMembers(name) {
  const m = new RegExp(`export type ${name} =([^]*?)\\n\\n`).exec(DTS)
  return [...m[1].matchAll(/'([\w-]+)'/g)].map((k) => k[1])
}

test('exports: exactly what index.d.ts declares at run time', () => {
  const declared = [...DTS.matchAll(/^export declare (?:class|const|function) (\w+)/gm)].map((m) => m[1]).sort()
  assert.deepEqual(Object.keys(cjs).sort(), declared)
  assert.deepEqual([...cjs.JOB_STATES], unionMembers('JobState'))
  assert.deepEqual([...cjs.FINAL_STATES], ['succeeded', 'failed', 'cancelled', 'timed_out', 'oom_killed', 'interrupted'])
})

test('the ESM entry re-exports the same objects', async () => {
  const esm = await import('claude-jobs')
  for (const name of Object.keys(cjs)) assert.equal(esm[name], cjs[name], name)
  const direct = await import('../index.mjs')
  assert.equal(direct.JobManager, cjs.JobManager)
})

test('JobInfo, Usage, ResourceStats, ResourceLimits keys match the declarations', async () => {
  const manager = fakeManager()
  const job = await manager.submit({ prompt: 'hi', memory: '256M', env: { FAKE_CLAUDE_SCENARIO: 'ok' } })
  const info = await job.wait()
  assert.deepEqual(Object.keys(info).sort(), interfaceKeys('JobInfo').sort())
  assert.deepEqual(Object.keys(info.usage).sort(), interfaceKeys('Usage').sort())
  assert.deepEqual(Object.keys(info.stats).sort(), interfaceKeys('ResourceStats').sort())
  assert.deepEqual(Object.keys(info.limits).sort(), interfaceKeys('ResourceLimits').sort())
  assert.ok(cjs.JOB_STATES.includes(info.state))
  const status = await manager.status()
  assert.deepEqual(Object.keys(status).sort(), interfaceKeys('ManagerStatus').sort())
  assert.deepEqual(Object.keys(status.storeHealth).sort(), interfaceKeys('StoreHealth').sort())
  const page = await manager.list()
  assert.deepEqual(Object.keys(page).sort(), interfaceKeys('JobPage').sort())
  // The spec comes back with exactly the keys `submit` takes (JobSpec and its caps).
  const specKeys = [...interfaceKeys('JobSpec'), ...interfaceKeys('ResourceLimitsInput')].sort()
  assert.deepEqual(Object.keys(job.spec()).sort(), specKeys)
  // Each event has exactly the declared keys of its interface.
  const byType = Object.fromEntries(
    [...DTS.matchAll(/export interface (\w+Event) extends EventBase \{ ?\n?\s*type: '(\w+)'/g)].map((m) => [m[2], m[1]]),
  )
  assert.deepEqual(Object.keys(byType).sort(), unionTypes().sort())
  for await (const ev of job.events()) {
    const iface = byType[ev.type]
    assert.ok(iface, `undeclared event type ${ev.type}`)
    const own = interfaceKeysInline(iface)
    assert.deepEqual(Object.keys(ev).sort(), ['atMs', 'seq', ...own].sort(), ev.type)
  }
})

/** Every `type: '…'` of the JobEvent members. */
function unionTypes() {
  return [...DTS.matchAll(/extends EventBase \{ ?\n?\s*type: '(\w+)'/g)].map((m) => m[1])
}

/** Keys of an event interface, written on one line or several. */
function interfaceKeysInline(name) {
  const m = new RegExp(`export interface ${name} extends EventBase \\{([^]*?)\\}\\n`).exec(DTS)
  return [...m[1].matchAll(/(?:^|;|\n)\s*(\w+)\??:/g)].map((k) => k[1])
}

test('templates(): the built-in ones, shaped as TemplateInfo', async () => {
  const templates = await fakeManager().templates()
  const names = templates.map((t) => t.name)
  for (const n of ['brand-data', 'brief', 'draft']) assert.ok(names.includes(n), names.join())
  for (const t of templates) {
    assert.deepEqual(Object.keys(t).sort(), interfaceKeys('TemplateInfo').sort())
    for (const v of Object.values(t.variables)) assert.deepEqual(Object.keys(v).sort(), interfaceKeys('TemplateVariable').sort())
  }
  const brief = templates.find((t) => t.name === 'brief')
  assert.equal(brief.variables.brand.required, true)
  assert.match(brief.source, /^built-in/)
})

test('workflows(): the built-in brand workflow, shaped as WorkflowInfo', async () => {
  const workflows = await fakeManager().workflows()
  const brand = workflows.find((w) => w.name === 'brand')
  assert.ok(brand, JSON.stringify(workflows))
  for (const w of workflows) assert.deepEqual(Object.keys(w).sort(), interfaceKeys('WorkflowInfo').sort())
  assert.deepEqual(brand.steps.map((s) => s.name), ['research', 'brief', 'draft'])
  for (const s of brand.steps) assert.deepEqual(Object.keys(s).sort(), interfaceKeys('WorkflowStepInfo').sort())
})

test('Job and Workflow handles come only from the manager', () => {
  assert.throws(() => new cjs.Job(), TypeError)
  assert.throws(() => new cjs.Workflow(), TypeError)
})

test('parseSize and parseDuration use the core parsers', () => {
  assert.equal(cjs.parseSize('512M'), 512 * 1024 * 1024)
  assert.equal(cjs.parseDuration('1h 30m'), 90 * 60 * 1000)
  assert.throws(() => cjs.parseSize('lots'), (e) => e instanceof cjs.ClaudeJobsError && e.code === 'INVALID_SPEC' && e.field === 'size')
})
