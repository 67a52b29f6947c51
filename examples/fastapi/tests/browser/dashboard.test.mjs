// The dashboard end to end, in headless Chromium: start a workflow from the
// form and watch its three jobs succeed with live events, cancel a slow job,
// see API retries live, see the server's 422 beside the field, reload mid-job
// and drop the connection mid-job and see the stream resume without duplicates;
// the API key: a 401 prompts once for it, it is kept in sessionStorage and sent
// on every request (the event stream too), a wrong key prompts again.
// A screenshot of each step goes to test-output/dashboard/.
//
// Run: make test-dashboard (or REAL_CLAUDE_BIN=... node --test dashboard.test.mjs).

import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { KEYS, launchBrowser, outDir, startProxy, startService } from './harness.mjs';

const KEY = KEYS['tenant-a'];
const KEY_STORAGE = 'claude-jobs-api-key';

const SLOW = (seconds, what = 'Count slowly to twenty.') => `${what}\nmock-scenario: slow\nmock-slow-seconds: ${seconds}`;

let service;
let proxy;
let browser;
let page;
let out;

async function shot(name) {
  await page.screenshot({ path: path.join(out, `${name}.png`), fullPage: true });
}

async function api(route, init = {}) {
  const res = await fetch(`${service.url}${route}`, { ...init, headers: { ...init.headers, Authorization: `Bearer ${KEY}` } });
  assert.ok(res.ok, `${route}: ${res.status} ${await res.clone().text()}`);
  return res.json();
}

async function waitForState(id, states, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const job = await api(`/api/jobs/${id}`);
    if (states.includes(job.state)) return job;
    assert.ok(Date.now() < deadline, `job ${id} is ${job.state}, not ${states} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** The seqs of the events the page shows, in order. */
const shownSeqs = () => page.$$eval('[data-testid=events] li[data-seq]', (els) => els.map((e) => Number(e.dataset.seq)));
const eventRow = (type) => page.locator(`[data-testid=events] li[data-type="${type}"]`);
const jobIdFromUrl = () => new URL(page.url()).pathname.split('/').pop();

function assertNoDuplicates(seqs) {
  assert.equal(new Set(seqs).size, seqs.length, `an event is shown twice: ${seqs}`);
  assert.deepEqual(seqs, Array.from({ length: seqs.length }, (_, i) => i + 1), `events out of order or missing: ${seqs}`);
}

/** Answers the key prompt of a page just opened on `base` (a fresh origin has no key kept). */
async function giveKey(key = KEY) {
  await page.getByTestId('key-prompt').waitFor();
  await page.getByTestId('key-input').fill(key);
  await page.getByTestId('key-submit').click();
  await page.getByTestId('key-prompt').waitFor({ state: 'detached' });
}

const keptKey = () => page.evaluate((k) => window.sessionStorage.getItem(k), KEY_STORAGE);

async function startSingleJob(prompt) {
  await page.goto(`${service.url}/`);
  await page.getByRole('tab', { name: 'Single job' }).click();
  await page.locator('#f-template').selectOption('__prompt__');
  await page.locator('#f-prompt').fill(prompt);
  await page.getByTestId('submit').click();
  await page.waitForURL(/\/jobs\/[^/]+$/);
  return jobIdFromUrl();
}

describe('dashboard in headless Chromium', { timeout: 240_000 }, () => {
  before(async () => {
    out = outDir();
    rmSync(out, { recursive: true, force: true });
    out = outDir();
    service = await startService();
    proxy = await startProxy(service.url);
    browser = await launchBrowser();
    page = await browser.context.newPage();
    page.on('pageerror', (e) => console.error('# page error:', e.message));
    // The service has API keys: the page asks for one first (checked in the last test).
    await page.goto(`${service.url}/`);
    await giveKey();
  });

  after(async () => {
    if (browser) await browser.close();
    if (proxy) await proxy.stop();
    if (service) await service.stop();
  });

  it('serves the page at / with totals and the start form', async () => {
    await page.goto(`${service.url}/`);
    await page.getByRole('heading', { name: 'Start' }).waitFor();
    await page.getByText('No jobs yet').waitFor();
    assert.equal(await page.getByTestId('total-running').textContent(), '0 / 3');
    assert.equal(await page.getByTestId('total-queued').textContent(), '0');
    assert.equal(await page.getByTestId('total-cost').textContent(), '$0.00');
    await shot('01-home');
  });

  it('starts a research → brief → draft workflow from the form; its three jobs succeed with live events', async () => {
    await page.locator('#f-brand').fill('Acme Coffee');
    await page.locator('#f-website').fill('https://acme-coffee.example');
    await page.locator('#f-objective').fill('launch the spring blend');
    await page.locator('#f-memory').fill('900M');
    await page.getByTestId('submit').click();
    await page.waitForURL(/\/jobs\/[^/]+$/);
    const researchId = jobIdFromUrl();
    const steps = page.getByTestId('workflow-steps');
    await steps.waitFor();
    const stepIds = {};
    for (const step of ['research', 'brief', 'draft']) {
      const href = await steps.locator(`a[data-step="${step}"]`).getAttribute('href');
      stepIds[step] = href.split('/').pop();
    }
    assert.equal(stepIds.research, researchId);

    // The draft waits for the brief: open its page (usually while it is
    // still queued; on a fast machine the brief may be done already) and
    // watch its events arrive live, without reloading. That it waited is
    // checked below from the start and end times.
    await steps.locator('a[data-step="draft"]').click();
    await page.waitForURL(new RegExp(`/jobs/${stepIds.draft}$`));
    await eventRow('queued').waitFor();
    await shot('02-workflow-draft-queued');
    await eventRow('started').waitFor({ timeout: 60_000 });
    await eventRow('tool_use').waitFor({ timeout: 60_000 });
    await shot('03-workflow-draft-live');
    await eventRow('finished').waitFor({ timeout: 60_000 });
    await page.locator('.job-page[data-state="succeeded"]').waitFor();
    assert.match(await eventRow('finished').textContent(), /succeeded/);
    assert.match(await eventRow('tool_use').first().textContent(), /Write/);
    assertNoDuplicates(await shownSeqs());
    await page.getByTestId('output-content').filter({ hasText: 'Offline sample text' }).waitFor();
    await steps.locator('a[data-step][data-state="succeeded"]').nth(2).waitFor();
    await shot('04-workflow-succeeded-draft');

    const done = {};
    for (const step of ['research', 'brief', 'draft']) {
      const job = await api(`/api/jobs/${stepIds[step]}`);
      done[step] = job;
      assert.equal(job.state, 'succeeded', `${step}: ${job.error}`);
      assert.equal(job.outputs.length, 1, `${step} outputs`);
      assert.equal(job.limits.memory, 900 * 1024 * 1024, `${step}: the form's memory cap`);
    }
    // Each step started only once the one before it had finished.
    assert.ok(done.brief.started_at >= done.research.finished_at, 'the brief waited for the research');
    assert.ok(done.draft.started_at >= done.brief.finished_at, 'the draft waited for the brief');
    // The research step's page: its events, result and output file.
    await steps.locator('a[data-step="research"]').click();
    await page.waitForURL(new RegExp(`/jobs/${researchId}$`));
    await eventRow('finished').waitFor();
    await page.getByTestId('output-content').filter({ hasText: 'Offline sample text' }).waitFor();
    assert.match(await page.getByTestId('outputs').textContent(), /Acme-Coffee-brand-data\.md/);
    await shot('05-workflow-research-page');

    // The list: three rows, brand and variables, cost, memory against the cap.
    await page.getByRole('link', { name: '← All jobs' }).click();
    await page.locator('tr.job-row[data-state="succeeded"]').nth(2).waitFor();
    const row = page.locator(`tr[data-job-id="${researchId}"]`);
    assert.match(await row.textContent(), /Acme Coffee/);
    assert.match(await row.textContent(), /website: https:\/\/acme-coffee\.example/);
    assert.match(await row.textContent(), /\$0\.\d\d/);
    assert.match(await row.textContent(), /\/ 900 MiB/);
    assert.notEqual(await page.getByTestId('total-cost').textContent(), '$0.00');
    await shot('06-list-after-workflow');
  });

  it('cancels a slow job from its page, and another from the list', async () => {
    const id = await startSingleJob(SLOW(30));
    await eventRow('started').waitFor({ timeout: 30_000 });
    await page.locator('.job-page[data-state="running"]').waitFor({ timeout: 30_000 });
    await shot('07-slow-job-running');
    const t0 = Date.now();
    await page.getByTestId('cancel').click();
    await eventRow('finished').waitFor({ timeout: 30_000 });
    assert.match(await eventRow('finished').textContent(), /cancelled/);
    await page.locator('.job-page[data-state="cancelled"]').waitFor();
    assert.ok(Date.now() - t0 < 20_000, 'cancel should not wait for the job');
    assert.equal((await api(`/api/jobs/${id}`)).state, 'cancelled');
    assert.equal(await page.getByTestId('cancel').count(), 0, 'no cancel button on a finished job');
    await shot('08-slow-job-cancelled');

    const other = await startSingleJob(SLOW(30, 'Another slow one.'));
    await page.getByRole('link', { name: '← All jobs' }).click();
    const row = page.locator(`tr[data-job-id="${other}"]`);
    await row.locator('[data-testid=cancel]').click();
    await page.locator(`tr[data-job-id="${other}"][data-state="cancelled"]`).waitFor({ timeout: 30_000 });
    await waitForState(other, ['cancelled']);
    await shot('09-list-cancelled');
  });

  it('shows API retries among the live events', async () => {
    await startSingleJob('Say hello.\nmock-scenario: overloaded\nmock-overloaded-count: 2');
    await eventRow('api_retry').nth(1).waitFor({ timeout: 40_000 });
    assert.match(await eventRow('api_retry').first().textContent(), /API retry.*attempt 1 of 10.*HTTP 529.*overloaded/);
    assert.equal(await eventRow('api_retry').first().getAttribute('class'), 'ev ev-warn');
    await eventRow('finished').waitFor({ timeout: 40_000 });
    assert.match(await eventRow('finished').textContent(), /succeeded/);
    assertNoDuplicates(await shownSeqs());
    await shot('10-api-retries');
  });

  it("shows the server's 422 beside the field for an invalid memory cap", async () => {
    await page.goto(`${service.url}/`);
    const before = (await api('/api/dashboard/jobs')).totals.jobs;
    await page.locator('#f-brand').fill('Acme Coffee');
    await page.locator('#f-memory').fill('lots');
    await page.getByTestId('submit').click();
    const error = page.locator('[data-error-for="memory"]');
    await error.waitFor();
    assert.match(await error.textContent(), /invalid memory: cannot parse "lots"/);
    assert.equal(await page.locator('#f-memory').getAttribute('aria-invalid'), 'true');
    assert.equal(await page.locator('[data-error-for="brand"]').count(), 0);
    assert.equal(new URL(page.url()).pathname, '/', 'stays on the form');
    await shot('11-invalid-memory-workflow');

    // The single-job form too, with the error from the binding's parser.
    await page.getByRole('tab', { name: 'Single job' }).click();
    await page.locator('#f-template').selectOption('brief');
    await page.locator('#f-variables-brand').fill('Acme');
    await page.locator('#f-variables-research').fill('Anvils.');
    await page.locator('#f-memory').fill('12 parsecs');
    await page.getByTestId('submit').click();
    await error.waitFor();
    assert.match(await error.textContent(), /invalid memory/);
    await shot('12-invalid-memory-job');
    // Fixing it clears the error and starts the job.
    await page.locator('#f-memory').fill('512M');
    await page.locator('#f-variables-research').fill('');
    await page.getByTestId('submit').click();
    await page.locator('[data-error-for="variables.research"]').waitFor();
    assert.equal(await page.locator('[data-error-for="memory"]').count(), 0);
    assert.match(await page.locator('[data-error-for="variables.research"]').textContent(), /research/);
    await shot('13-missing-variable');
    assert.equal((await api('/api/dashboard/jobs')).totals.jobs, before, 'no job was created');
  });

  it('reloading mid-job resumes the stream: every event once, and it goes on', async () => {
    const id = await startSingleJob(SLOW(8, 'Reload me.'));
    await eventRow('init').waitFor({ timeout: 30_000 });
    const beforeReload = await shownSeqs();
    assert.ok(!beforeReload.includes(undefined));
    assert.equal((await api(`/api/jobs/${id}`)).state, 'running', 'still running when reloaded');
    await shot('14-before-reload');
    await page.reload();
    await eventRow('finished').waitFor({ timeout: 40_000 });
    const afterReload = await shownSeqs();
    assertNoDuplicates(afterReload);
    assert.ok(afterReload.length > beforeReload.length, `it went on after the reload: ${beforeReload} → ${afterReload}`);
    assert.ok((await eventRow('assistant_text').count()) === 1);
    assert.match(await eventRow('finished').textContent(), /succeeded/);
    await page.getByTestId('result').waitFor();
    await shot('15-after-reload');
  });

  it('a dropped connection reconnects with Last-Event-ID and resumes without duplicates', async () => {
    // Through the proxy, which can cut every connection.
    await page.goto(`${proxy.url}/`);
    await giveKey(); // another origin: another sessionStorage
    await page.getByRole('tab', { name: 'Single job' }).click();
    await page.locator('#f-template').selectOption('__prompt__');
    await page.locator('#f-prompt').fill(SLOW(12, 'Survive a dropped connection.'));
    await page.getByTestId('submit').click();
    await page.waitForURL(/\/jobs\/[^/]+$/);
    const id = jobIdFromUrl();
    await eventRow('init').waitFor({ timeout: 30_000 });
    await page.locator('[data-testid=stream-status][data-status="live"]').waitFor();
    const last = Math.max(...(await shownSeqs()));
    const dropped = proxy.drop();
    assert.ok(dropped > 0, 'there was a connection to drop');
    await page.locator('[data-testid=stream-status][data-status="reconnecting"]').waitFor({ timeout: 10_000 });
    await shot('16-connection-dropped');
    await eventRow('finished').waitFor({ timeout: 60_000 });
    const seqs = await shownSeqs();
    assertNoDuplicates(seqs);
    assert.ok(seqs.length > last, 'events after the drop are shown');
    const resumed = proxy.requests.filter((r) => r.startsWith(`GET /api/jobs/${id}/events`) && /\r\nlast-event-id: \d+/i.test(r));
    assert.ok(resumed.length > 0, `the browser reconnected with Last-Event-ID:\n${proxy.requests.filter((r) => r.includes('/events')).join('\n---\n')}`);
    const sentId = Number(resumed[0].match(/\r\nlast-event-id: (\d+)/i)[1]);
    assert.equal(sentId, last, 'it resumed after the last event it had');
    await shot('17-resumed-after-drop');
  });

  it('asks once for the API key on a 401, keeps it in sessionStorage, asks again for a wrong one', async () => {
    await page.goto(`${service.url}/`);
    await page.evaluate((k) => window.sessionStorage.removeItem(k), KEY_STORAGE);
    const pending = [];
    const onRequest = (r) => {
      const path = new URL(r.url()).pathname;
      if (path.startsWith('/api/')) pending.push(r.allHeaders().then((h) => ({ path, auth: h.authorization })));
    };
    page.on('request', onRequest);
    await page.reload();
    const prompt = page.getByTestId('key-prompt');
    await prompt.waitFor();
    await page.waitForTimeout(2500); // a poll or two more: still one prompt, the polls wait for the key
    assert.equal(await prompt.count(), 1);
    assert.equal(await page.locator('tr.job-row').count(), 0, 'no job is shown without a key');
    assert.equal(await keptKey(), null);
    await shot('18-key-prompt');
    // A wrong key: refused, not kept, asked again.
    await page.getByTestId('key-input').fill('not-the-key');
    await page.getByTestId('key-submit').click();
    await page.getByTestId('key-refused').waitFor();
    assert.equal(await keptKey(), null, 'a refused key is not kept');
    assert.equal(await prompt.count(), 1);
    await shot('19-key-refused');
    // The right key: the jobs are listed, the tenant shown, the key kept.
    await page.getByTestId('key-input').fill(KEY);
    await page.getByTestId('key-submit').click();
    await prompt.waitFor({ state: 'detached' });
    await page.locator('tr.job-row').first().waitFor();
    const listed = (await api('/api/dashboard/jobs')).jobs.length;
    assert.ok(listed > 0);
    assert.equal(await page.locator('tr.job-row').count(), listed, 'every job of the tenant is listed');
    assert.equal(await keptKey(), KEY);
    assert.equal(await page.getByTestId('tenant-name').textContent(), 'tenant-a');
    assert.match(await page.getByTestId('tenant-spent').textContent(), /^\$\d+\.\d\d/);
    await shot('20-key-accepted');
    // Every request after the key carries it, the event stream's too.
    const id = await startSingleJob('One more.');
    await eventRow('finished').waitFor({ timeout: 60_000 });
    page.off('request', onRequest);
    const seen = await Promise.all(pending);
    const after = seen.slice(seen.findIndex((r) => r.auth === `Bearer ${KEY}`));
    assert.ok(after.some((r) => r.path === `/api/jobs/${id}/events`), 'the event stream was read');
    assert.deepEqual(after.filter((r) => r.auth !== `Bearer ${KEY}`), [], 'a request without the key');
    // Another tenant's key sees none of these jobs.
    await page.evaluate(([k, v]) => window.sessionStorage.setItem(k, v), [KEY_STORAGE, KEYS['tenant-b']]);
    await page.goto(`${service.url}/`);
    await page.getByText('No jobs yet').waitFor();
    assert.equal(await page.getByTestId('tenant-name').textContent(), 'tenant-b');
    await shot('21-other-tenant');
  });
});
