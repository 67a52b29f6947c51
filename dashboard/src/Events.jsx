import { useEffect, useRef, useState } from 'react';
import { bytes, clock, cost, duration, stateLabel } from './format.js';

const LONG = 600;
const LINES = 6;

/** Text, cut to a few lines (more on demand). */
function Long({ text }) {
  const [open, setOpen] = useState(false);
  const s = String(text ?? '');
  const lines = s.split('\n');
  if (s.length <= LONG && lines.length <= LINES) return <span className="ev-text">{s}</span>;
  const short = lines.slice(0, LINES).join('\n').slice(0, LONG);
  return (
    <span className="ev-text">
      {open ? s : `${short}…`}{' '}
      <button type="button" className="link-btn" onClick={() => setOpen(!open)}>
        {open ? 'less' : `more (${s.length.toLocaleString()} chars)`}
      </button>
    </span>
  );
}

function toolSummary(name, input) {
  if (!input || typeof input !== 'object') return '';
  const main = input.file_path || input.command || input.url || input.query || input.pattern || input.description;
  return main ? String(main) : JSON.stringify(input).slice(0, 200);
}

/** What one event says, as [kind class, label, body]. */
function describe(ev) {
  switch (ev.type) {
    case 'queued':
      return ['meta', 'queued', `waiting for a slot (priority ${ev.priority})`];
    case 'started':
      return ['meta', 'started', `pid ${ev.pid} · ${ev.isolation} · attempt ${ev.attempt}`];
    case 'init':
      return ['meta', 'init', `Claude Code ${ev.cli_version || '?'} · ${ev.model || 'model ?'} · ${(ev.tools || []).length} tools`];
    case 'assistant_text':
      return ['text', 'text', <Long text={ev.text} />];
    case 'tool_use': {
      const content = ev.input && typeof ev.input.content === 'string' ? ev.input.content : null;
      return [
        'tool',
        `tool: ${ev.name}`,
        <>
          <span className="mono">{toolSummary(ev.name, ev.input)}</span>
          {content && (
            <details>
              <summary>content ({content.length.toLocaleString()} chars)</summary>
              <pre className="ev-pre">{content}</pre>
            </details>
          )}
        </>,
      ];
    }
    case 'tool_result':
      return [ev.is_error ? 'warn' : 'tool', ev.is_error ? 'tool error' : 'tool result', <Long text={ev.content} />];
    case 'api_retry':
      return [
        'warn',
        'API retry',
        `attempt ${ev.attempt}${ev.max_retries ? ` of ${ev.max_retries}` : ''}${ev.status ? ` · HTTP ${ev.status}` : ''}${
          ev.delay_ms != null ? ` · next in ${duration(ev.delay_ms)}` : ''
        }${ev.error ? ` · ${ev.error}` : ''}`,
      ];
    case 'rate_limit':
      return ['warn', 'rate limit', `${ev.status}${ev.limit_type ? ` (${ev.limit_type})` : ''}${ev.resets_at ? ` · resets ${clock(ev.resets_at * 1000)}` : ''}`];
    case 'memory_pressure':
      return [
        'warn',
        'memory pressure',
        `${bytes(ev.memory_bytes)}${ev.limit_bytes ? ` of ${bytes(ev.limit_bytes)} cap` : ''} · cap hits ${ev.cap_hits} · refaults ${ev.refaults}${
          ev.pressure_avg10 != null ? ` · PSI avg10 ${ev.pressure_avg10.toFixed(1)}%` : ''
        }`,
      ];
    case 'result':
      return [
        ev.is_error ? 'bad' : 'good',
        'result',
        `${ev.is_error ? 'error' : ev.subtype || 'done'} · ${cost(ev.cost_usd)}${ev.num_turns != null ? ` · ${ev.num_turns} turns` : ''}${
          ev.usage ? ` · ${ev.usage.input_tokens.toLocaleString()} in / ${ev.usage.output_tokens.toLocaleString()} out tokens` : ''
        }`,
      ];
    case 'stopping':
      return ['warn', 'stopping', ev.reason];
    case 'finished':
      return [ev.state === 'succeeded' ? 'good' : 'bad', 'finished', `${stateLabel(ev.state)}${ev.error ? `: ${ev.error}` : ''}`];
    case 'warning':
      return ['warn', `warning: ${ev.kind}`, ev.message];
    case 'retrying':
      return ['warn', 'retrying', `attempt ${ev.attempt} ended; again in ${duration(ev.delay_ms)}${ev.error ? ` · ${ev.error}` : ''}`];
    case 'resuming':
      return ['meta', 'resuming', `session ${ev.session_id}${ev.fork ? ' (forked)' : ''} of job ${ev.from_job}`];
    case 'permission_denied':
      return ['warn', `denied: ${ev.tool_name}`, <span className="mono">{toolSummary(ev.tool_name, ev.tool_input)}</span>];
    case 'budget_wait':
      return ['warn', 'budget wait', `tenant ${ev.tenant}: ${cost(ev.left_usd)} left of ${cost(ev.budget_usd)} today; waits for the next UTC day or a raised budget`];
    case 'other':
      return ['meta', ev.message_type || 'other', ''];
    default:
      return ['meta', ev.type, ''];
  }
}

const STATUS = {
  connecting: 'connecting…',
  live: 'live',
  reconnecting: 'reconnecting…',
  ended: 'ended',
  gone: 'job not found',
};

export default function EventFeed({ events, status }) {
  const box = useRef(null);
  const stick = useRef(true);
  useEffect(() => {
    const el = box.current;
    if (el && stick.current) el.scrollTop = el.scrollHeight;
  }, [events.length]);
  const onScroll = () => {
    const el = box.current;
    if (el) stick.current = el.scrollHeight - el.scrollTop - el.clientHeight < 40;
  };
  return (
    <div className="events-wrap">
      <div className="events-head">
        <h3>Live events</h3>
        <span className={`conn conn-${status}`} data-testid="stream-status" data-status={status}>
          <span className="dot" aria-hidden="true" />
          {STATUS[status] || status}
        </span>
        <span className="muted small">{events.length} events</span>
      </div>
      <ol className="events" ref={box} onScroll={onScroll} data-testid="events">
        {events.length === 0 && <li className="muted empty-ev">No events yet.</li>}
        {events.map((ev) => {
          const [kind, label, body] = describe(ev);
          return (
            <li key={ev.seq} className={`ev ev-${kind}`} data-seq={ev.seq} data-type={ev.type}>
              <span className="ev-time mono">{clock(ev.at_ms)}</span>
              <span className="ev-label">{label}</span>
              <span className="ev-body">{body}</span>
            </li>
          );
        })}
      </ol>
    </div>
  );
}
