'use strict'
// Schedules (issue 21) through the binding: schedule / replace / list /
// unschedule with the keys of `Schedule` in index.d.ts, bad input rejected
// with INVALID_SPEC naming the field as spelled in JS, and a 2-second
// schedule firing on the fake CLI: one job per tick, labelled
// `schedule=<name>`, no tick twice even with two managers on the store.

const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const { ClaudeJobsError } = require('..')
const { fakeManager, tempDir } = require('./helpers')

const DTS = fs.readFileSync(path.join(__dirname, '..', 'index.d.ts'), 'utf8')
const SCHEDULE_KEYS = (() => {
  const m = /export interface Schedule \{([^]*?)\n\}/.exec(DTS)
  assert.ok(m, 'interface Schedule not found in index.d.ts')
  return [...m[1].matchAll(/^\s{2}(\w+)\??:/gm)].map((k) => k[1])
})()

/** The ClaudeJobsError that `promise` rejects with. */
async function rejection(promise) {
  try {
    await promise
  } catch (err) {
    assert.ok(err instanceof ClaudeJobsError, String(err && err.stack))
    return err
  }
  assert.fail('expected a rejection')
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

test('schedule, replace, list, unschedule', async () => {
  const manager = fakeManager()
  const before = Date.now()
  const s = await manager.schedule('nightly', '0 3 * * *', { prompt: 'report', labels: { team: 'ops' }, timeoutMs: 60_000 }, {
    timezone: 'Europe/Paris',
  })
  assert.deepEqual(Object.keys(s).sort(), [...SCHEDULE_KEYS].sort())
  assert.equal(s.name, 'nightly')
  assert.equal(s.cron, '0 3 * * *')
  assert.equal(s.timezone, 'Europe/Paris')
  assert.equal(s.catchUp, 'run_once')
  assert.equal(s.spec.prompt, 'report')
  assert.deepEqual(s.spec.labels, { team: 'ops' })
  assert.equal(s.spec.timeoutMs, 60_000, 'the spec comes back as submit() takes it')
  assert.ok(s.lastTickMs >= before - 1000 && s.lastTickMs <= Date.now(), 'a new schedule starts now')
  assert.ok(s.nextTickMs > before, `nextTickMs ${s.nextTickMs}`)
  assert.ok(s.nextTickMs - before <= 25 * 3600 * 1000, 'a daily schedule ticks within a day')
  assert.ok(s.createdMs >= before - 1000 && s.updatedMs >= s.createdMs, JSON.stringify(s))

  // Defaults: UTC, run_once.
  const a = await manager.schedule('a-first', '*/5 * * * *', { prompt: 'five' })
  assert.equal(a.timezone, 'UTC')
  assert.equal(a.catchUp, 'run_once')
  assert.deepEqual((await manager.schedules()).map((x) => x.name), ['a-first', 'nightly'], 'sorted by name')

  // The same name replaces it.
  await sleep(5)
  const replaced = await manager.schedule('nightly', '30 4 * * 1-5', { prompt: 'weekday report' }, { catchUp: 'skip' })
  assert.equal(replaced.cron, '30 4 * * 1-5')
  assert.equal(replaced.timezone, 'UTC')
  assert.equal(replaced.catchUp, 'skip')
  assert.equal(replaced.spec.prompt, 'weekday report')
  assert.ok(replaced.updatedMs >= s.updatedMs)
  const listed = await manager.schedules()
  assert.equal(listed.length, 2)
  const got = listed.find((x) => x.name === 'nightly')
  assert.deepEqual(Object.keys(got).sort(), [...SCHEDULE_KEYS].sort())
  assert.equal(got.cron, '30 4 * * 1-5')
  assert.equal(got.catchUp, 'skip')
  assert.equal(got.spec.prompt, 'weekday report')

  assert.equal(await manager.unschedule('nightly'), true)
  assert.equal(await manager.unschedule('nightly'), false)
  assert.equal(await manager.unschedule('never-was'), false)
  assert.deepEqual((await manager.schedules()).map((x) => x.name), ['a-first'])
  assert.equal(await manager.unschedule('a-first'), true)
  assert.deepEqual(await manager.schedules(), [])
})

test('schedules live in the store: a second manager on the data dir sees them', async () => {
  const dataDir = tempDir()
  const first = fakeManager({ dataDir })
  await first.schedule('kept', '0 0 * * *', { prompt: 'kept' })
  await first.shutdown({ drainTimeoutMs: 0 })
  const second = fakeManager({ dataDir })
  const [kept] = await second.schedules()
  assert.equal(kept.name, 'kept')
  assert.equal(kept.spec.prompt, 'kept')
  assert.equal(await second.unschedule('kept'), true)
})

test('bad input: INVALID_SPEC naming the field as spelled in JS; nothing is stored', async () => {
  const manager = fakeManager()
  const ok = { prompt: 'hi' }
  const cases = [
    [['s', 'not a cron', ok], 'cron'],
    [['s', '* * *', ok], 'cron'],
    [['s', '61 * * * *', ok], 'cron'],
    [['s', '* * * * * * * *', ok], 'cron'],
    [['s', '', ok], 'cron'],
    [['s', 42, ok], 'cron'],
    [['s', '* * * * *', ok, { timezone: 'Mars/Olympus_Mons' }], 'timezone'],
    [['s', '* * * * *', ok, { timezone: '' }], 'timezone'],
    [['s', '* * * * *', ok, { catchUp: 'sometimes' }], 'catchUp'],
    [['s', '* * * * *', ok, { catchUp: 'runOnce' }], 'catchUp'],
    [['s', '* * * * *', ok, { timeZone: 'UTC' }], 'timeZone'],
    [['s', '* * * * *', ok, 'UTC'], 'options'],
    [['', '* * * * *', ok], 'name'],
    [['a b', '* * * * *', ok], 'name'],
    [['.hidden', '* * * * *', ok], 'name'],
    [[undefined, '* * * * *', ok], 'name'],
    [['s', '* * * * *', { prompt: '' }], 'prompt'],
    [['s', '* * * * *', { prompt: 'hi', maxTurns: 0 }], 'maxTurns'],
    [['s', '* * * * *', { prompt: 'hi', timeoutMs: 0 }], 'timeoutMs'],
    [['s', '* * * * *', { prompt: 'hi', maxTurn: 3 }], 'maxTurn'],
    [['s', '* * * * *', { prompt: 'hi', memory: 'lots' }], 'memory'],
    [['s', '* * * * *', { prompt: 'hi', cpus: NaN }], 'cpus'],
    [['s', '* * * * *', { prompt: 'hi', idempotencyKey: 'mine' }], 'idempotencyKey'],
    [['s', '0 0 31 2 *', ok], 'cron'],
  ]
  for (const [args, field] of cases) {
    const err = await rejection(manager.schedule(...args))
    assert.equal(err.code, 'INVALID_SPEC', `${JSON.stringify(args)}: ${err.message}`)
    assert.equal(err.field, field, `${JSON.stringify(args)}: ${err.message}`)
    assert.ok(err.message.includes(field), err.message)
  }
  assert.deepEqual(await manager.schedules(), [], 'nothing was stored')
  const err = await rejection(manager.unschedule(7))
  assert.equal(err.code, 'INVALID_SPEC')
  assert.equal(err.field, 'name')
  const template = await rejection(manager.schedule('s', '* * * * *', { template: 'no-such-template' }))
  assert.equal(template.code, 'TEMPLATE_ERROR')
  // The manager's policy is checked when the schedule is set, not at each tick.
  const strict = fakeManager({ policy: 'safe' })
  const policy = await rejection(strict.schedule('s', '* * * * *', { prompt: 'hi', allowedTools: ['Bash'] }))
  assert.equal(policy.code, 'POLICY_VIOLATION')
  assert.equal(policy.field, 'allowedTools')
  const timeout = await rejection(strict.schedule('s', '* * * * *', { prompt: 'hi', timeoutMs: 7_200_000 }))
  assert.equal(timeout.code, 'POLICY_VIOLATION')
  assert.equal(timeout.field, 'timeoutMs')
  assert.deepEqual(await strict.schedules(), [])
})

test('a */2 seconds schedule fires once per tick, labelled schedule=<name>, across two managers', async () => {
  // Two managers on one SQLite store: each tick must still submit exactly one job.
  const dataDir = tempDir()
  const a = fakeManager({ dataDir, pollIntervalMs: 200 })
  const b = fakeManager({ dataDir, pollIntervalMs: 200 })
  await b.ready()
  const name = 'every-2s'
  const started = Date.now()
  const s = await a.schedule(name, '*/2 * * * * *', { prompt: 'tick', labels: { team: 'ops' } })
  assert.ok(s.lastTickMs >= started - 1000, 'no tick before the schedule existed')
  assert.ok(s.nextTickMs > started - 1000 && s.nextTickMs <= started + 2000, `first tick at ${s.nextTickMs} (now ${started})`)
  await sleep(7000)
  assert.equal(await a.unschedule(name), true)
  const stopped = Date.now()
  await sleep(500) // a tick being submitted as the schedule went
  const jobs = (await a.list({ label: `schedule=${name}` })).jobs
  // 7 s of a 2 s schedule: 3 or 4 ticks (one may be at the very end).
  assert.ok(jobs.length >= 3 && jobs.length <= 4, `${jobs.length} jobs: ${JSON.stringify(jobs.map((j) => j.labels))}`)
  const ticks = jobs.map((j) => j.labels.schedule_tick)
  assert.equal(new Set(ticks).size, ticks.length, `a tick submitted twice: ${ticks}`)
  const tickMs = ticks.map((t) => Date.parse(t)).sort((x, y) => x - y)
  for (const [i, t] of tickMs.entries()) {
    assert.ok(Number.isFinite(t), `schedule_tick ${ticks[i]} is RFC 3339`)
    assert.equal(t % 2000, 0, `tick ${ticks[i]} is on an even second`)
    assert.ok(t >= started - 2000 && t <= stopped, `tick ${ticks[i]} within the run`)
    if (i > 0) assert.equal(t - tickMs[i - 1], 2000, `consecutive ticks: ${ticks}`)
  }
  for (const j of jobs) {
    assert.equal(j.labels.schedule, name)
    assert.equal(j.labels.team, 'ops', 'the spec\'s own labels are kept')
  }
  for (const j of jobs) {
    const info = await (await b.get(j.id)).wait()
    assert.equal(info.state, 'succeeded', info.error)
    assert.equal(info.result, 'echo: tick')
  }
  // Gone: no more ticks.
  await sleep(2500)
  assert.equal((await b.list({ label: `schedule=${name}` })).jobs.length, jobs.length)
})
