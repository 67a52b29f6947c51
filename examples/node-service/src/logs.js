// The CLI's logs of a job (`<logDir>/stdout.log`, `stderr.log`), as text.

import { open } from 'node:fs/promises'
import path from 'node:path'

/** Default cap on the bytes of each log returned (the end is kept). */
export const LOG_TAIL_BYTES = 1 << 20

/**
 * The last `maxBytes` of a file as text ('' when it does not exist).
 *
 * @param {string} file
 * @param {number} maxBytes
 */
export async function readTail(file, maxBytes) {
  let handle
  try {
    handle = await open(file, 'r')
  } catch (err) {
    if (/** @type {NodeJS.ErrnoException} */ (err).code === 'ENOENT') return ''
    throw err
  }
  try {
    const { size } = await handle.stat()
    const length = Math.min(size, maxBytes)
    const buf = Buffer.alloc(length)
    await handle.read(buf, 0, length, size - length)
    return buf.toString('utf8')
  } finally {
    await handle.close()
  }
}

/**
 * Both logs of a job, each under a `===== name =====` heading.
 *
 * @param {string | null} logDir
 * @param {number} tailBytes
 */
export async function jobLogs(logDir, tailBytes) {
  const parts = []
  for (const name of ['stdout.log', 'stderr.log']) {
    const text = logDir ? await readTail(path.join(logDir, name), tailBytes) : ''
    parts.push(`===== ${name} =====\n${text}`)
  }
  return parts.join('\n')
}
