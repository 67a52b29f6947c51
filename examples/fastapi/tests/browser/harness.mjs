// What the dashboard's browser tests run against: the FastAPI example with the
// dashboard (examples/fastapi/dashboard.py) under uvicorn on a free 127.0.0.1
// port, its jobs run by the real pinned Claude Code CLI against the loopback
// mock API (target/debug/mock-anthropic), a TCP proxy in front of it that can
// drop every connection, and Debian's Chromium driven by playwright-core.

import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const ROOT = path.resolve(HERE, '../../../..');
export const EXAMPLE = path.join(ROOT, 'examples/fastapi');
export const OUT = path.join(ROOT, 'test-output/dashboard');
const TARGET = process.env.CARGO_TARGET_DIR || path.join(ROOT, 'target');

function need(file, how) {
  if (!existsSync(file)) throw new Error(`${file} is missing: ${how}`);
  return file;
}

/** The tenants of the service's keys file and their keys (the file holds only their SHA-256). */
export const KEYS = { 'tenant-a': 'browser-test-key-a-0123456789', 'tenant-b': 'browser-test-key-b-9876543210' };

function writeKeys(file) {
  const sha = (k) => createHash('sha256').update(k).digest('hex');
  writeFileSync(file, `# tenant:sha256 of the key\n${Object.entries(KEYS).map(([t, k]) => `${t}:${sha(k)}`).join('\n')}\n`);
  return file;
}

/**
 * The service (dashboard.py --api mock) on a free port, with the API keys of
 * KEYS (CLAUDE_JOBS_API_KEYS_FILE) and the default (safe) policy; resolves
 * once it prints its address.
 */
export async function startService() {
  const python = need(process.env.DASHBOARD_PYTHON || path.join(ROOT, '.venv/bin/python'), 'make python-wheel builds the venv');
  const claude = need(process.env.REAL_CLAUDE_BIN || '', 'set REAL_CLAUDE_BIN=$(bash scripts/install-claude.sh | tail -n1)');
  const mock = need(path.join(TARGET, 'debug/mock-anthropic'), 'cargo build -p mock-anthropic');
  need(path.join(ROOT, 'dashboard/dist/index.html'), 'make dashboard-build');
  const dataDir = mkdtempSync(path.join(tmpdir(), 'dashboard-test-'));
  const env = {
    ...process.env,
    CLAUDE_BIN: claude,
    CLAUDE_JOBS_DATA_DIR: dataDir,
    MAX_CONCURRENT_JOBS: '3',
    MOCK_ANTHROPIC_BIN: mock,
    RUST_LOG: 'mock_anthropic=warn',
    CLAUDE_JOBS_API_KEYS_FILE: writeKeys(path.join(dataDir, 'api-keys')),
  };
  delete env.ANTHROPIC_API_KEY; // never the real API from the tests
  delete env.CLAUDE_JOBS_POLICY_FILE;
  const proc = spawn(python, ['dashboard.py', '--host', '127.0.0.1', '--port', '0', '--api', 'mock'], {
    cwd: EXAMPLE,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  const onData = (d) => {
    log += d.toString();
    if (log.length > 200_000) log = log.slice(-100_000);
  };
  proc.stderr.on('data', onData);
  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the service did not start in 60 s:\n${log}`)), 60_000);
    proc.stdout.on('data', (d) => {
      onData(d);
      const m = log.match(/claude-jobs dashboard: (http:\/\/127\.0\.0\.1:\d+)\//);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    proc.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the service exited (${code}):\n${log}`));
    });
  });
  proc.removeAllListeners('exit');
  return {
    url,
    log: () => log,
    async stop() {
      if (proc.exitCode === null) {
        const gone = new Promise((r) => proc.once('exit', r));
        proc.kill('SIGTERM');
        const t = setTimeout(() => proc.kill('SIGKILL'), 40_000);
        await gone;
        clearTimeout(t);
      }
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * A TCP proxy to `target` (http://127.0.0.1:PORT) on a free port. `drop()`
 * resets every open connection (a network drop, as the browser sees it);
 * `requests` keeps the head of each HTTP request that went through.
 */
export async function startProxy(target) {
  const { port: targetPort } = new URL(target);
  const open = new Set();
  const requests = [];
  const server = net.createServer((client) => {
    const upstream = net.connect(Number(targetPort), '127.0.0.1');
    open.add(client);
    open.add(upstream);
    client.on('data', (chunk) => {
      const text = chunk.toString('latin1');
      if (/^[A-Z]+ \S+ HTTP\/1\.[01]\r\n/.test(text)) requests.push(text.split('\r\n\r\n')[0]);
      upstream.write(chunk);
    });
    upstream.on('data', (chunk) => client.write(chunk));
    const close = () => {
      client.destroy();
      upstream.destroy();
      open.delete(client);
      open.delete(upstream);
    };
    client.on('close', close);
    upstream.on('close', close);
    client.on('error', close);
    upstream.on('error', close);
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    requests,
    drop() {
      const n = open.size;
      for (const s of open) s.resetAndDestroy ? s.resetAndDestroy() : s.destroy();
      open.clear();
      return n;
    },
    async stop() {
      this.drop();
      await new Promise((r) => server.close(r));
    },
  };
}

/** Debian's Chromium (never a downloaded browser), headless, with a fresh profile. */
export async function launchBrowser() {
  const executablePath = process.env.CHROMIUM_BIN || '/usr/bin/chromium';
  need(executablePath, 'apt-get install -y chromium (make test-dashboard does)');
  const profile = mkdtempSync(path.join(tmpdir(), 'dashboard-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    viewport: { width: 1400, height: 900 },
  });
  return {
    context,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

export function outDir() {
  mkdirSync(OUT, { recursive: true });
  return OUT;
}
