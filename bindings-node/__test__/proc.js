'use strict'
// Finding a job's processes in /proc by a marker variable passed in its env
// (no node:test here: the exit fixtures use it too).

const fs = require('node:fs')

/** A unique `NAME=value` marker to find a job's processes in /proc. */
function marker() {
  return { name: 'CJ_NODE_TEST_MARKER', value: `m${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2)}` }
}

/** Pids of live (non-zombie) processes whose environment holds the marker. */
function processesWithMarker({ name, value }) {
  const needle = `${name}=${value}`
  const found = []
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const env = fs.readFileSync(`/proc/${entry}/environ`, 'latin1')
      if (!env.split('\0').includes(needle)) continue
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'latin1')
      const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3)
      if (state !== 'Z' && state !== 'X') found.push(Number(entry))
    } catch {
      // Gone meanwhile, or not ours to read.
    }
  }
  return found
}

module.exports = { marker, processesWithMarker }
