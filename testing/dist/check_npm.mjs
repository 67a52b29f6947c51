// The npm package's check: two capped jobs through claude-jobs (see README.md).
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import assert from 'node:assert/strict'
import { JobManager } from 'claude-jobs'

const CAP = 64 * 1024 * 1024
const FAKE = process.env.FAKE_CLAUDE ?? '/usr/local/bin/fake-claude'

/** The memory limit of the job's cgroup, read from /sys/fs/cgroup while it runs. */
async function cgroupCap(jobId) {
  // The job's directory in the hierarchy that has the memory controller (on
  // cgroup v1 the cpu and pids hierarchies have one too).
  const find = (dir, depth) => {
    if (dir.endsWith(`/job-${jobId}`)) {
      const file = ['memory.limit_in_bytes', 'memory.max'].map((n) => join(dir, n)).find((f) => existsSync(f))
      if (file) return file
    }
    if (depth > 6) return undefined
    let entries = []
    try {
      entries = readdirSync(dir, { withFileTypes: true })
    } catch {
      return undefined
    }
    for (const e of entries) {
      if (!e.isDirectory()) continue
      const found = find(join(dir, e.name), depth + 1)
      if (found) return found
    }
    return undefined
  }
  const deadline = Date.now() + 10_000
  while (Date.now() < deadline) {
    const file = find('/sys/fs/cgroup', 0)
    if (file) return Number(readFileSync(file, 'utf8').trim())
    await new Promise((r) => setTimeout(r, 50))
  }
  throw new Error(`no cgroup job-${jobId} under /sys/fs/cgroup`)
}

const manager = new JobManager({ claudeBin: FAKE, dataDir: '/tmp/check-node', isolation: 'required' })
const slow = await manager.submit({
  prompt: 'hello\nfake-scenario: slow',
  memory: '64M',
  env: { FAKE_CLAUDE_SECONDS: '2', FAKE_CLAUDE_INTERVAL_MS: '200' },
})
// Once running, its cgroup holds the caps (written and read back before the CLI starts).
while (slow.state === 'queued') await new Promise((r) => setTimeout(r, 20))
const cap = await cgroupCap(slow.id)
const oom = await manager.submit({ prompt: 'eat memory\nfake-scenario: alloc', memory: '64M' })
const ok = await slow.wait()
const killed = await oom.wait()
await manager.shutdown()
const pkg = JSON.parse(readFileSync(new URL('./node_modules/claude-jobs/package.json', `file://${process.cwd()}/`), 'utf8'))
console.log(
  `node (claude-jobs ${pkg.version}, Node ${process.versions.node}): slow ${ok.state} isolation=${ok.isolation} ` +
    `cap read back=${cap} limits.memory=${ok.limits.memory}; alloc ${killed.state} isolation=${killed.isolation}`,
)
assert.equal(ok.state, 'succeeded')
assert.equal(killed.state, 'oom_killed')
for (const info of [ok, killed]) {
  assert.ok(['cgroup-v1', 'cgroup-v2'].includes(info.isolation), info.isolation)
  assert.equal(info.limits.memory, CAP)
}
assert.equal(cap, CAP)
