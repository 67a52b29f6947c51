import { useState } from 'react';
import { cancelJob } from './api.js';
import { bytes, isActive, stateLabel } from './format.js';

export function StateBadge({ state }) {
  return (
    <span className={`badge state-${state}`} data-state={state}>
      {state === 'running' && <span className="pulse" aria-hidden="true" />}
      {stateLabel(state)}
    </span>
  );
}

/** Peak memory against the cap, as a bar (measured when the job ends). */
export function MemoryBar({ job }) {
  const peak = job.stats ? job.stats.peak_memory_bytes : 0;
  const cap = job.limits ? job.limits.memory : null;
  const measured = peak > 0;
  const pct = measured && cap ? Math.min(100, (peak / cap) * 100) : 0;
  const level = pct >= 90 ? 'high' : pct >= 70 ? 'mid' : 'low';
  const title = measured
    ? `peak ${bytes(peak)}${cap ? ` of a ${bytes(cap)} cap (${pct.toFixed(0)}%)` : ', no cap'}`
    : `peak measured when the job ends${cap ? `; cap ${bytes(cap)}` : ''}`;
  return (
    <div className="mem" title={title}>
      <div className="mem-text">
        <span>{measured ? bytes(peak) : '—'}</span>
        <span className="muted"> / {cap ? bytes(cap) : 'no cap'}</span>
      </div>
      {cap ? (
        <div className="mem-bar">
          <div className={`mem-fill ${level}`} style={{ width: `${pct}%` }} />
        </div>
      ) : null}
    </div>
  );
}

export function CancelButton({ job, onDone, small }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  if (!isActive(job.state)) return null;
  const click = async (e) => {
    e.preventDefault();
    e.stopPropagation();
    setBusy(true);
    setError(null);
    try {
      await cancelJob(job.id);
      if (onDone) onDone();
    } catch (err) {
      setError(err.message);
    } finally {
      setBusy(false);
    }
  };
  return (
    <span className="cancel-wrap">
      <button
        type="button"
        className={`btn danger${small ? ' small' : ''}`}
        onClick={click}
        disabled={busy}
        data-testid="cancel"
        aria-label={`Cancel job ${job.id}`}
      >
        {busy ? 'Cancelling…' : 'Cancel'}
      </button>
      {error && <span className="error-text">{error}</span>}
    </span>
  );
}

/** Brand (bold) and the other variables, or a prompt's first line. */
export function Subject({ job }) {
  const vars = job.variables || {};
  const brand = vars.brand || (job.labels && job.labels.brand);
  const rest = Object.entries(vars).filter(([k]) => k !== 'brand');
  const inputs = Object.keys(job.inputs || {});
  if (!brand && rest.length === 0 && !inputs.length) {
    return <span className="prompt-preview">{job.prompt_preview || <span className="muted">—</span>}</span>;
  }
  return (
    <span className="subject">
      {brand && <strong>{brand}</strong>}
      {rest.map(([k, v]) => (
        <span key={k} className="var">
          {k}: {v}
        </span>
      ))}
      {inputs.map((k) => (
        <span key={k} className="var input">
          {k} ← previous step
        </span>
      ))}
    </span>
  );
}
