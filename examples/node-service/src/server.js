#!/usr/bin/env node
// `npm start`: the job service on $HOST:$PORT (configuration: settings.js).
// Prints `listening on http://HOST:PORT`; SIGINT/SIGTERM stop it gracefully.

import { writeSync } from 'node:fs'
import { createApp } from './app.js'
import { settingsFromEnv } from './settings.js'

/**
 * Prints why the service cannot start and exits 1.
 *
 * @param {unknown} err
 * @returns {never}
 */
function fail(err) {
  const e = /** @type {{ message?: string, code?: string, field?: string }} */ (err)
  const where = e.field ? ` (${e.field})` : ''
  // Written synchronously: process.exit() may drop buffered pipe output.
  writeSync(2, `claude-jobs service: cannot start: ${e.code ? `${e.code}${where}: ` : ''}${e.message ?? err}\n`)
  process.exit(1)
}

const settings = (() => {
  try {
    return settingsFromEnv()
  } catch (err) {
    return fail(err)
  }
})()
const { app, manager } = await createApp(settings, { logger: process.env.LOG_REQUESTS === '1' }).catch(fail)
await app.listen({ host: settings.host, port: settings.port }).catch(fail)
const address = app.server.address()
const port = typeof address === 'object' && address ? address.port : settings.port
const status = await manager.status()
console.log(`listening on http://${settings.host}:${port}`)
console.log(`claude-jobs: isolation ${status.isolation}, ${status.maxConcurrent} jobs at once, data in ${status.dataDir}`)

let stopping = false
for (const signal of /** @type {const} */ (['SIGINT', 'SIGTERM'])) {
  process.on(signal, () => {
    if (stopping) process.exit(130) // a second signal: stop now
    stopping = true
    console.log(`${signal}: stopping (running jobs get ${settings.drainTimeoutMs} ms to finish)`)
    app.close().then(
      () => process.exit(0),
      (/** @type {unknown} */ err) => {
        console.error(err)
        process.exit(1)
      },
    )
  })
}
