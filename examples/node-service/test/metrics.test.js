// GET /metrics (Prometheus text) after a job has run through the API, and
// admission budgets: a memory cap larger than the whole budget is a 422
// naming the field.

import test from 'node:test'
import assert from 'node:assert/strict'
import { request, startService, waitFinal } from './helpers.js'

// Isolation off: the budget counts the caps whether or not cgroups enforce them.
const { url } = await startService({ isolation: 'off', memoryBudget: '300M', cpuBudget: 0.5 })

/**
 * The value of the sample `name` (labels included, as printed), or undefined.
 *
 * @param {string} text
 * @param {string} name
 */
function sample(text, name) {
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue
    const cut = line.lastIndexOf(' ')
    if (line.slice(0, cut) === name) return Number(line.slice(cut + 1))
  }
  return undefined
}

test('GET /metrics: Prometheus text counting a job run through the API', async () => {
  const r = await request(`${url}/api/jobs`, { method: 'POST', json: { prompt: 'measure me', memory: '128M', cpus: 0.25 } })
  assert.equal(r.status, 201, JSON.stringify(r.body))
  assert.equal((await waitFinal(url, r.body.id)).state, 'succeeded')

  // The job is final in the store a moment before its slot is free: wait for that.
  let m = await request(`${url}/metrics`)
  for (let i = 0; i < 100 && sample(m.body, 'claude_jobs_running_jobs') !== 0; i++) {
    await new Promise((r) => setTimeout(r, 50))
    m = await request(`${url}/metrics`)
  }
  assert.equal(m.status, 200)
  assert.equal(m.headers.get('content-type'), 'text/plain; version=0.0.4; charset=utf-8')
  assert.equal(typeof m.body, 'string')
  assert.match(m.body, /^# TYPE claude_jobs_jobs gauge$/m)
  assert.match(m.body, /^claude_jobs_jobs\{state="queued"\} \d+$/m)
  assert.equal(sample(m.body, 'claude_jobs_jobs{state="succeeded"}'), 1, m.body)
  assert.equal(sample(m.body, 'claude_jobs_queue_length'), 0, m.body)
  assert.equal(sample(m.body, 'claude_jobs_running_jobs'), 0, m.body)
  assert.equal(sample(m.body, 'claude_jobs_max_concurrent'), 2, m.body)
  assert.equal(sample(m.body, 'claude_jobs_job_duration_seconds_count{template="none"}'), 1, m.body)
})

test('caps larger than the whole budget: 422 naming the field', async () => {
  for (const [json, field] of [
    [{ prompt: 'too big', memory: '512M' }, 'memory'],
    [{ prompt: 'too many cores', memory: '128M', cpus: 1 }, 'cpus'],
  ]) {
    const r = await request(`${url}/api/jobs`, { method: 'POST', json })
    assert.equal(r.status, 422, `${JSON.stringify(json)} → ${r.status} ${JSON.stringify(r.body)}`)
    assert.deepEqual(r.body.detail[0].loc, ['body', field])
    assert.equal(r.body.detail[0].type, 'capacity_exceeded')
    assert.match(r.body.detail[0].msg, /budget/)
  }
})
