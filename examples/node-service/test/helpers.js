// Shared helpers of the service tests: the app on the fake CLI, listening
// on a free port, and a small server-sent-events reader.

import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { after } from 'node:test'
import { fileURLToPath } from 'node:url'
import { createApp } from '../src/app.js'
import { keyHash } from '../src/keys.js'
import { DEFAULTS } from '../src/settings.js'

export const SERVICE_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
export const ROOT = path.resolve(SERVICE_DIR, '..', '..')
const TARGET = process.env.CARGO_TARGET_DIR ? path.resolve(ROOT, process.env.CARGO_TARGET_DIR) : path.join(ROOT, 'target')
/** The fake Claude CLI (`cargo build -p fake-claude`). */
export const FAKE_CLAUDE = process.env.FAKE_CLAUDE_BIN || path.join(TARGET, 'debug', 'fake-claude')
if (!fs.existsSync(FAKE_CLAUDE)) {
  throw new Error(`fake CLI not found at ${FAKE_CLAUDE}: run \`cargo build -p fake-claude\` in ${ROOT}`)
}

/** The variable every test job gets, to find its processes in /proc. */
export const MARKER = 'CJ_SERVICE_TEST_MARKER'

const cleanups = /** @type {(() => Promise<void>)[]} */ ([])
after(async () => {
  for (const c of cleanups.reverse()) await c()
})

/** A fresh directory, removed when the test file ends. */
export function tempDir() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cj-service-test-'))
  cleanups.push(async () => fs.rmSync(dir, { recursive: true, force: true }))
  return dir
}

/** The API keys of the tests' tenants (the keys file holds their SHA-256). */
export const KEYS = Object.freeze({ 'tenant-a': 'key-of-tenant-a-0123456789', 'tenant-b': 'key-of-tenant-b-9876543210' })

/**
 * A keys file for `KEYS` (with a comment and a blank line) in a fresh directory.
 *
 * @param {Record<string, string>} [keys]
 */
export function writeKeysFile(keys = KEYS) {
  const file = path.join(tempDir(), 'api-keys')
  const lines = Object.entries(keys).map(([tenant, key]) => `${tenant}:${keyHash(key)}`)
  fs.writeFileSync(file, ['# tenant:sha256 of the key', '', ...lines, ''].join('\n'))
  return file
}

/**
 * The `Authorization` header of a tenant of `KEYS`.
 *
 * @param {keyof typeof KEYS} tenant
 * @returns {Record<string, string>}
 */
export function auth(tenant) {
  return { authorization: `Bearer ${KEYS[tenant]}` }
}

/**
 * The service on the fake CLI at http://127.0.0.1:<free port>, closed after
 * the test file. Jobs carry `MARKER=<marker>` in their environment.
 *
 * @param {Partial<import('../src/settings.js').Settings>} [overrides]
 */
export async function startService(overrides = {}) {
  const marker = `svc-${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2)}`
  const settings = {
    ...DEFAULTS,
    claudeBin: FAKE_CLAUDE,
    dataDir: tempDir(),
    maxConcurrent: 2,
    killGraceMs: 1000,
    drainTimeoutMs: 0,
    jobEnv: { [MARKER]: marker },
    ...overrides,
  }
  const { app, manager, routes } = await createApp(settings, { keepAliveMs: 200 })
  await app.listen({ host: '127.0.0.1', port: 0 })
  const address = /** @type {import('node:net').AddressInfo} */ (app.server.address())
  cleanups.push(() => app.close())
  return { url: `http://127.0.0.1:${address.port}`, app, manager, marker, routes }
}

/**
 * JSON request helper: `{ status, body, headers }`.
 *
 * @param {string} url
 * @param {RequestInit & { json?: unknown }} [init]
 */
export async function request(url, init = {}) {
  const { json, ...rest } = init
  const res = await fetch(url, {
    ...rest,
    ...(json === undefined ? {} : { body: JSON.stringify(json), headers: { 'content-type': 'application/json', ...rest.headers } }),
  })
  const text = await res.text()
  const type = res.headers.get('content-type') ?? ''
  return { status: res.status, body: type.includes('json') ? JSON.parse(text) : text, headers: res.headers }
}

/**
 * Polls GET /api/jobs/:id until the job's state is final.
 *
 * @param {string} base
 * @param {string} id
 * @param {Record<string, string>} [headers] e.g. `auth('tenant-a')`
 */
export async function waitFinal(base, id, headers = {}, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const { status, body } = await request(`${base}/api/jobs/${id}`, { headers })
    if (status !== 200) throw new Error(`GET job ${id}: ${status} ${JSON.stringify(body)}`)
    if (body.state !== 'queued' && body.state !== 'running') return body
    if (Date.now() > deadline) throw new Error(`job ${id} still ${body.state}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

/**
 * @typedef {{ id: number | null, data: any, comment: boolean }} SseFrame
 */

/**
 * Parses an SSE body into frames (keep-alive comments marked `comment`).
 *
 * @param {string} text
 * @returns {SseFrame[]}
 */
export function sseFrames(text) {
  return text
    .split('\n\n')
    .filter((block) => block.trim() !== '')
    .map((block) => {
      const lines = block.split('\n')
      if (lines.every((l) => l.startsWith(':'))) return { id: null, data: null, comment: true }
      const fields = Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf(': ')), l.slice(l.indexOf(': ') + 2)]))
      return { id: Number(fields.id), data: JSON.parse(fields.data), comment: false }
    })
}

/**
 * Reads an SSE stream as it arrives; calls `onFrame` for each event frame.
 * Resolves with all frames when the server ends the stream.
 *
 * @param {string} url
 * @param {{ headers?: Record<string, string>, onFrame?: (f: SseFrame) => void | Promise<void> }} [options]
 */
export async function readSse(url, { headers = {}, onFrame } = {}) {
  const res = await fetch(url, { headers })
  if (res.status !== 200 || !res.body) throw new Error(`SSE ${url}: ${res.status} ${await res.text()}`)
  const decoder = new TextDecoder()
  let buffered = ''
  /** @type {SseFrame[]} */
  const frames = []
  for await (const chunk of res.body) {
    buffered += decoder.decode(chunk, { stream: true })
    let cut
    while ((cut = buffered.indexOf('\n\n')) >= 0) {
      const block = buffered.slice(0, cut + 2)
      buffered = buffered.slice(cut + 2)
      for (const frame of sseFrames(block)) {
        frames.push(frame)
        if (!frame.comment && onFrame) await onFrame(frame)
      }
    }
  }
  return { frames, contentType: res.headers.get('content-type') ?? '' }
}

/**
 * Pids of live processes whose environment has `MARKER=<marker>`.
 *
 * @param {string} marker
 */
export function processesWithMarker(marker) {
  const needle = `${MARKER}=${marker}`
  return fs.readdirSync('/proc').filter((entry) => {
    if (!/^\d+$/.test(entry)) return false
    try {
      if (!fs.readFileSync(`/proc/${entry}/environ`, 'latin1').split('\0').includes(needle)) return false
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'latin1')
      return !/^[ZX]$/.test(stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3))
    } catch {
      return false
    }
  })
}
