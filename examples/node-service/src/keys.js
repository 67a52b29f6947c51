// API keys: the keys file (`CLAUDE_JOBS_API_KEYS_FILE`) and the lookup of a
// presented key. The file holds one `tenant:sha256hex-of-key` a line, so the
// service never holds a key in clear; a presented key is hashed and compared
// in constant time against every entry.

import { createHash, timingSafeEqual } from 'node:crypto'
import { readFileSync } from 'node:fs'

/** A tenant name, as the core accepts it. */
const TENANT = /^[A-Za-z0-9._-]{1,64}$/
const SHA256_HEX = /^[0-9a-fA-F]{64}$/

/**
 * @typedef {{ tenant: string, hash: Buffer }} KeyEntry
 */

/**
 * The entries of a keys file. Blank lines and `#` comments are skipped; a
 * malformed line or an unreadable file throws, naming the file (and the line).
 *
 * @param {string} file
 * @returns {KeyEntry[]}
 */
export function readKeysFile(file) {
  let text
  try {
    text = readFileSync(file, 'utf8')
  } catch (err) {
    throw new Error(`CLAUDE_JOBS_API_KEYS_FILE: cannot read ${file}: ${/** @type {Error} */ (err).message}`)
  }
  /** @type {KeyEntry[]} */
  const entries = []
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim()
    if (line === '' || line.startsWith('#')) return
    const cut = line.indexOf(':')
    const tenant = cut < 0 ? '' : line.slice(0, cut).trim()
    const hash = cut < 0 ? '' : line.slice(cut + 1).trim()
    const why =
      cut < 0
        ? 'expected tenant:sha256hex-of-key'
        : !TENANT.test(tenant)
          ? 'the tenant must be 1 to 64 of A-Z a-z 0-9 . _ -'
          : !SHA256_HEX.test(hash)
            ? 'the key hash must be 64 hex characters (the SHA-256 of the key)'
            : ''
    if (why) throw new Error(`CLAUDE_JOBS_API_KEYS_FILE: ${file} line ${i + 1}: ${why}`)
    entries.push({ tenant, hash: Buffer.from(hash, 'hex') })
  })
  return entries
}

/**
 * The tenant of a presented key, or null. Every entry is compared (no early
 * exit), each in constant time.
 *
 * @param {KeyEntry[]} entries
 * @param {string} key
 * @returns {string | null}
 */
export function tenantForKey(entries, key) {
  const presented = createHash('sha256').update(key, 'utf8').digest()
  /** @type {string | null} */
  let found = null
  for (const entry of entries) {
    if (timingSafeEqual(presented, entry.hash) && found === null) found = entry.tenant
  }
  return found
}

/**
 * The SHA-256 hex of a key: what a keys file holds for it.
 *
 * @param {string} key
 */
export function keyHash(key) {
  return createHash('sha256').update(key, 'utf8').digest('hex')
}
