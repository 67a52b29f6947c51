// A job's events as server-sent events: past ones replayed, then live ones
// until the job ends. Each frame's `id:` is the event's `seq`, so an
// EventSource that reconnects (`Last-Event-ID`) resumes where it stopped.

/** Milliseconds between keep-alive comments while a job is quiet. */
export const KEEPALIVE_MS = 15_000

/**
 * Streams `job`'s events after `after` on the raw response, then ends it.
 * Stops early when the client goes away.
 *
 * @param {import('node:http').ServerResponse} res
 * @param {import('claude-jobs').Job} job
 * @param {number} after
 * @param {{ keepAliveMs?: number }} [options]
 */
export async function streamEvents(res, job, after, { keepAliveMs = KEEPALIVE_MS } = {}) {
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
    'x-accel-buffering': 'no',
    connection: 'keep-alive',
  })
  res.flushHeaders()
  let closed = false
  res.on('close', () => {
    closed = true
  })
  const keepAlive = setInterval(() => {
    if (!closed) res.write(': keep-alive\n\n')
  }, keepAliveMs)
  try {
    // The events already there go out together, as one write.
    for await (const batch of job.eventBatches({ after })) {
      if (closed) break
      const frames = batch.map((event) => `id: ${event.seq}\ndata: ${JSON.stringify(event)}\n\n`).join('')
      if (!res.write(frames)) await drained(res)
    }
  } finally {
    clearInterval(keepAlive)
    if (!closed) res.end()
  }
}

/**
 * Resolves when `res` can take more data (or is gone).
 *
 * @param {import('node:http').ServerResponse} res
 * @returns {Promise<void>}
 */
function drained(res) {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done)
      res.off('close', done)
      resolve()
    }
    res.on('drain', done)
    res.on('close', done)
  })
}
