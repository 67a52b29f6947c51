// Server-sent events read with fetch() (EventSource cannot send the API key
// in a header): the frames of a text/event-stream body, one at a time.

/**
 * Yields `{ id, event, data }` for each frame of `body` (a ReadableStream of
 * bytes), comments (`: keep-alive`) skipped; ends with the stream, throws
 * when the connection breaks.
 */
export async function* sseFrames(body) {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += decoder.decode(value, { stream: true }).replace(/\r\n?/g, '\n');
      let end;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const frame = parseFrame(buffer.slice(0, end));
        buffer = buffer.slice(end + 2);
        if (frame) yield frame;
      }
    }
  } finally {
    reader.cancel().catch(() => {});
  }
}

/** One frame's fields, or null for a frame of comments only. */
export function parseFrame(text) {
  let id = null;
  let event = 'message';
  const data = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'id') id = value;
    else if (field === 'event') event = value;
    else if (field === 'data') data.push(value);
  }
  return data.length || id !== null ? { id, event, data: data.join('\n') } : null;
}
