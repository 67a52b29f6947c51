// Schedules over HTTP: PUT / POST / GET / DELETE /api/schedules, camelCase
// bodies like the other routes (snake_case taken too), invalid input as 422
// naming the field where the request put it, the policy's 403, and with API
// keys: each tenant's own schedules, firing jobs of that tenant.

import test from 'node:test'
import assert from 'node:assert/strict'
import { auth, request, startService, waitFinal, writeKeysFile } from './helpers.js'

const SCHEDULE_KEYS = ['catchUp', 'createdMs', 'cron', 'lastTickMs', 'name', 'nextTickMs', 'spec', 'timezone', 'updatedMs']

const { url } = await startService()

/**
 * @param {string} method
 * @param {string} path
 * @param {unknown} [json]
 * @param {Record<string, string>} [headers]
 * @param {string} [base]
 */
const call = (method, path, json, headers = {}, base = url) => request(`${base}${path}`, { method, json, headers })

/** @param {{ schedules: { name: string }[] }} body */
const names = (body) => body.schedules.map((s) => s.name)

test('PUT, POST, GET, replace, DELETE', async () => {
  const before = Date.now()
  const put = await call('PUT', '/api/schedules/nightly', {
    cron: '0 3 * * *',
    timezone: 'Europe/Paris',
    spec: { prompt: 'report', labels: { team: 'ops' }, timeoutMs: 60_000 },
  })
  assert.equal(put.status, 200, JSON.stringify(put.body))
  assert.deepEqual(Object.keys(put.body).sort(), SCHEDULE_KEYS)
  assert.equal(put.body.name, 'nightly')
  assert.equal(put.body.cron, '0 3 * * *')
  assert.equal(put.body.timezone, 'Europe/Paris')
  assert.equal(put.body.catchUp, 'run_once')
  assert.equal(put.body.spec.prompt, 'report')
  assert.deepEqual(put.body.spec.labels, { team: 'ops' })
  assert.equal(put.body.spec.timeoutMs, 60_000)
  assert.ok(put.body.nextTickMs > before, JSON.stringify(put.body))

  // POST: the name in the body, 201; FastAPI's snake_case and seconds are taken too.
  const post = await call('POST', '/api/schedules', { name: 'a-first', cron: '*/5 * * * *', catch_up: 'skip', spec: { prompt: 'five', timeout: 60 } })
  assert.equal(post.status, 201, JSON.stringify(post.body))
  assert.equal(post.body.name, 'a-first')
  assert.equal(post.body.catchUp, 'skip')
  assert.equal(post.body.timezone, 'UTC')
  assert.equal(post.body.spec.timeoutMs, 60_000)

  const listed = await call('GET', '/api/schedules')
  assert.equal(listed.status, 200)
  assert.deepEqual(Object.keys(listed.body), ['schedules'])
  assert.deepEqual(names(listed.body), ['a-first', 'nightly'])
  for (const s of listed.body.schedules) assert.deepEqual(Object.keys(s).sort(), SCHEDULE_KEYS)

  // The same name replaces it (PUT or POST).
  const replaced = await call('PUT', '/api/schedules/nightly', { cron: '30 4 * * 1-5', catchUp: 'skip', spec: { prompt: 'weekdays' } })
  assert.equal(replaced.status, 200, JSON.stringify(replaced.body))
  assert.equal(replaced.body.timezone, 'UTC')
  const again = await call('POST', '/api/schedules', { name: 'nightly', cron: '30 5 * * *', spec: { prompt: 'later' } })
  assert.equal(again.status, 201)
  const now = (await call('GET', '/api/schedules')).body.schedules
  assert.deepEqual(now.map((/** @type {{ name: string, cron: string }} */ s) => [s.name, s.cron]), [['a-first', '*/5 * * * *'], ['nightly', '30 5 * * *']])

  const del = await call('DELETE', '/api/schedules/nightly')
  assert.equal(del.status, 204)
  assert.equal(del.body, '')
  const gone = await call('DELETE', '/api/schedules/nightly')
  assert.equal(gone.status, 404)
  assert.deepEqual(gone.body, { detail: 'schedule nightly not found' })
  assert.equal((await call('DELETE', '/api/schedules/a-first')).status, 204)
  assert.deepEqual((await call('GET', '/api/schedules')).body, { schedules: [] })
})

test('invalid input: 422 naming the field where the request put it; the policy 403; nothing stored', async () => {
  const spec = { prompt: 'hi' }
  /** @type {[string, string, unknown, (string | number)[]][]} */
  const cases = [
    ['PUT', '/api/schedules/s', { cron: 'not a cron', spec }, ['body', 'cron']],
    ['PUT', '/api/schedules/s', { cron: '61 * * * *', spec }, ['body', 'cron']],
    ['PUT', '/api/schedules/s', { cron: 5, spec }, ['body', 'cron']],
    ['PUT', '/api/schedules/s', { spec }, ['body', 'cron']],
    ['PUT', '/api/schedules/s', { cron: '* * * * *' }, ['body', 'spec']],
    ['PUT', '/api/schedules/s', { cron: '* * * * *', spec, timezone: 'Mars/Olympus_Mons' }, ['body', 'timezone']],
    ['PUT', '/api/schedules/s', { cron: '* * * * *', spec, catchUp: 'sometimes' }, ['body', 'catchUp']],
    ['PUT', '/api/schedules/s', { cron: '* * * * *', spec, catch_up: 'sometimes' }, ['body', 'catch_up']],
    ['PUT', '/api/schedules/s', { cron: '* * * * *', spec, catch_up: 'skip', catchUp: 'skip' }, ['body', 'catchUp']],
    ['PUT', '/api/schedules/s', { cron: '* * * * *', spec, every: '2s' }, ['body', 'every']],
    ['PUT', '/api/schedules/s', { name: 's', cron: '* * * * *', spec }, ['body', 'name']],
    ['PUT', '/api/schedules/s', { cron: '* * * * *', spec: { prompt: 'hi', memory: 'lots' } }, ['body', 'spec', 'memory']],
    ['PUT', '/api/schedules/s', { cron: '* * * * *', spec: { prompt: 'hi', max_turns: 0 } }, ['body', 'spec', 'max_turns']],
    ['PUT', '/api/schedules/s', { cron: '* * * * *', spec: { prompt: 'hi', maxTurn: 3 } }, ['body', 'spec', 'maxTurn']],
    ['PUT', '/api/schedules/s', { cron: '* * * * *', spec: { prompt: '' } }, ['body', 'spec', 'prompt']],
    ['PUT', '/api/schedules/s', { cron: '* * * * *', spec: { prompt: 'hi', tenant: 'x' } }, ['body', 'spec', 'tenant']],
    ['PUT', '/api/schedules/s', { cron: '* * * * *', spec: { template: 'brief', variables: { brand: 'ACME' } } }, ['body', 'spec', 'variables', 'research']],
    ['PUT', '/api/schedules/s', { cron: '* * * * *', spec: 'hi' }, ['body', 'spec']],
    ['PUT', '/api/schedules/a%20b', { cron: '* * * * *', spec }, ['path', 'name']],
    ['PUT', '/api/schedules/s', ['a list'], ['body']],
    ['POST', '/api/schedules', { cron: '* * * * *', spec }, ['body', 'name']],
    ['POST', '/api/schedules', { name: '.hidden', cron: '* * * * *', spec }, ['body', 'name']],
    ['POST', '/api/schedules', { name: 's', cron: '* * * * *', spec: { prompt: 'hi', timeout: 0 } }, ['body', 'spec', 'timeout']],
  ]
  for (const [method, path, json, loc] of cases) {
    const r = await call(method, path, json)
    assert.equal(r.status, 422, `${method} ${path} ${JSON.stringify(json)} → ${r.status} ${JSON.stringify(r.body)}`)
    assert.deepEqual(r.body.detail[0].loc, loc, `${method} ${path} ${JSON.stringify(json)}: ${JSON.stringify(r.body)}`)
    assert.equal(typeof r.body.detail[0].msg, 'string')
    const named = loc[loc.length - 1]
    if (loc.length > 1 && named !== 'spec' && named !== 'research') assert.ok(r.body.detail[0].msg.includes(String(named)), JSON.stringify(r.body))
  }
  // The service's policy (the safe one by default) is checked when the schedule is set.
  /** @type {[Record<string, unknown>, string][]} */
  const refused = [[{ allowed_tools: ['Bash'] }, 'allowed_tools'], [{ allowedTools: ['Bash'] }, 'allowedTools']]
  for (const [extra, field] of refused) {
    const r = await call('PUT', '/api/schedules/s', { cron: '* * * * *', spec: { prompt: 'x', ...extra } })
    assert.equal(r.status, 403, JSON.stringify(r.body))
    assert.equal(r.body.code, 'POLICY_VIOLATION')
    assert.equal(r.body.field, field)
  }
  assert.deepEqual((await call('GET', '/api/schedules')).body, { schedules: [] })
})

test('with API keys: a tenant sees, replaces and removes only its own schedules, which fire jobs of that tenant', async () => {
  const A = auth('tenant-a')
  const B = auth('tenant-b')
  const svc = await startService({ keysFile: writeKeysFile() })
  const set = Date.now()
  const a = await call('PUT', '/api/schedules/tick', { cron: '*/2 * * * * *', spec: { prompt: 'tick', labels: { by: 'a' } } }, A, svc.url)
  assert.equal(a.status, 200, JSON.stringify(a.body))
  assert.equal(a.body.spec.tenant, 'tenant-a')
  assert.deepEqual((await call('GET', '/api/schedules', undefined, B, svc.url)).body, { schedules: [] })
  assert.deepEqual(names((await call('GET', '/api/schedules', undefined, A, svc.url)).body), ['tick'])
  // Another tenant's name: not theirs to replace (409) nor to remove (404, as an unknown name).
  const taken = await call('PUT', '/api/schedules/tick', { cron: '* * * * *', spec: { prompt: 'mine' } }, B, svc.url)
  assert.equal(taken.status, 409, JSON.stringify(taken.body))
  assert.deepEqual(taken.body, { detail: 'the schedule name tick is taken', code: 'CONFLICT' }, 'as the FastAPI service answers')
  const theirs = await call('DELETE', '/api/schedules/tick', undefined, B, svc.url)
  const unknown = await call('DELETE', '/api/schedules/nope', undefined, B, svc.url)
  assert.equal(theirs.status, 404)
  assert.deepEqual(theirs.body, JSON.parse(JSON.stringify(unknown.body).replaceAll('nope', 'tick')))
  const b = await call('POST', '/api/schedules', { name: 'b-own', cron: '0 0 * * *', spec: { prompt: 'b' } }, B, svc.url)
  assert.equal(b.status, 201)
  assert.deepEqual(names((await call('GET', '/api/schedules', undefined, B, svc.url)).body), ['b-own'])

  // The */2 s schedule fires jobs of tenant-a, labelled schedule=tick: wait for
  // two (a loaded machine may fire a tick late), then remove the schedule.
  const listTicks = async () => (await call('GET', '/api/jobs?label=schedule%3Dtick', undefined, A, svc.url)).body.jobs
  for (let i = 0; i < 150 && (await listTicks()).length < 2; i++) await new Promise((r) => setTimeout(r, 100))
  assert.equal((await call('DELETE', '/api/schedules/tick', undefined, A, svc.url)).status, 204)
  const removed = Date.now()
  const jobs = await listTicks()
  // At most one tick per even second from the PUT to the DELETE.
  const most = Math.floor((removed - set) / 2000) + 1
  assert.ok(jobs.length >= 2 && jobs.length <= most, `${most} at most: ${JSON.stringify(jobs.map((/** @type {{ labels: unknown }} */ j) => j.labels))}`)
  const ticks = jobs.map((/** @type {{ labels: Record<string, string> }} */ j) => j.labels.schedule_tick)
  assert.equal(new Set(ticks).size, ticks.length, `no tick twice: ${ticks}`)
  for (const j of jobs) {
    assert.equal(j.tenant, 'tenant-a')
    assert.equal(j.labels.by, 'a')
    assert.equal((await waitFinal(svc.url, j.id, A)).state, 'succeeded')
  }
  assert.deepEqual((await call('GET', '/api/jobs?label=schedule%3Dtick', undefined, B, svc.url)).body.jobs, [])
  assert.equal((await call('DELETE', '/api/schedules/b-own', undefined, B, svc.url)).status, 204)
})
