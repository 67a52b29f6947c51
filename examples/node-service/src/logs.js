// The CLI's logs of a job (stdout and stderr), as text, read through the
// manager: from the job store with `CLAUDE_JOBS_ARTIFACT_STORE=db` (any
// machine sharing it serves them, live while the job runs), else from this
// machine's data dir (the core opens them without following links).

/** Default cap on the bytes of each log returned (the end is kept). */
export const LOG_TAIL_BYTES = 1 << 20

/**
 * Both logs of job `id`, each under a `===== name =====` heading (the last
 * `tailBytes` of each; empty before the job starts, and when the file in the
 * data dir is not a regular file: a link or FIFO a job planted is never
 * followed). Store errors are thrown.
 *
 * @param {import('claude-jobs').JobManager} manager
 * @param {string} id
 * @param {number} tailBytes
 */
export async function jobLogs(manager, id, tailBytes) {
  const parts = []
  for (const stream of /** @type {const} */ (['stdout', 'stderr'])) {
    const text = (await manager.readLog(id, stream, { tailBytes })).toString('utf8')
    parts.push(`===== ${stream}.log =====\n${text}`)
  }
  return parts.join('\n')
}
