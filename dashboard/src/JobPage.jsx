import { useCallback, useEffect, useRef, useState } from 'react';
import { getJSON, getText } from './api.js';
import { useJobEvents, useNow, usePoll } from './hooks.js';
import { basename, bytes, cost, dateTime, duration, isActive, runTime } from './format.js';
import { CancelButton, MemoryBar, StateBadge, Subject } from './common.jsx';
import EventFeed from './Events.jsx';

const STEPS = ['research', 'brief', 'draft'];
const LOG_TAIL = 16384;

export default function JobPage({ id, jobs, link, onChange }) {
  const [job, setJob] = useState(null);
  const [missing, setMissing] = useState(null);
  const { events, status } = useJobEvents(id);
  const now = useNow(1000);

  const load = useCallback(async () => {
    try {
      setJob(await getJSON(`/api/dashboard/jobs/${encodeURIComponent(id)}`));
      setMissing(null);
    } catch (e) {
      if (e.status === 404) setMissing(e.message);
    }
  }, [id]);
  useEffect(() => {
    setJob(null);
    setMissing(null);
  }, [id]);
  const active = !job || isActive(job.state);
  const reload = usePoll(load, 1500, active);
  // A state change arrives first as an event: read the job again then.
  const lastType = events.length ? events[events.length - 1].type : null;
  useEffect(() => {
    if (lastType === 'started' || lastType === 'result' || lastType === 'finished') reload();
  }, [lastType, events.length, reload]);

  if (missing) {
    return (
      <div className="card">
        <p>
          <a href="/" onClick={link('/')}>
            ← All jobs
          </a>
        </p>
        <h2>Job not found</h2>
        <p className="muted">{missing}</p>
      </div>
    );
  }
  if (!job) return <p className="muted">Loading job…</p>;

  const workflow = job.labels && job.labels.workflow;
  const siblings = workflow
    ? jobs.filter((j) => j.labels && j.labels.workflow === workflow).sort((a, b) => STEPS.indexOf(a.labels.step) - STEPS.indexOf(b.labels.step))
    : [];
  const usage = job.usage;

  return (
    <div className="job-page" data-job-id={job.id} data-state={job.state}>
      <div className="crumbs">
        <a href="/" onClick={link('/')}>
          ← All jobs
        </a>
      </div>
      <div className="job-head card">
        <div className="job-title">
          <h2>
            {job.template || 'prompt'}
            {job.labels && job.labels.brand ? <span className="muted"> · {job.labels.brand}</span> : null}
          </h2>
          <StateBadge state={job.state} />
          <span className="grow" />
          <CancelButton
            job={job}
            onDone={() => {
              reload();
              onChange();
            }}
          />
        </div>
        <div className="muted mono small" data-testid="job-id">
          {job.id}
        </div>
        <div className="subject-line">
          <Subject job={job} />
        </div>
        {siblings.length > 1 && (
          <nav className="steps" aria-label="Workflow steps" data-testid="workflow-steps">
            {siblings.map((s, i) => (
              <span key={s.id} className="step-wrap">
                {i > 0 && <span className="arrow">→</span>}
                <a
                  href={`/jobs/${s.id}`}
                  onClick={link(`/jobs/${s.id}`)}
                  className={`step${s.id === job.id ? ' current' : ''}`}
                  data-step={s.labels.step}
                  data-state={s.state}
                >
                  <span className="step-name">{s.labels.step}</span>
                  <StateBadge state={s.state} />
                </a>
              </span>
            ))}
          </nav>
        )}
        {job.error && (
          <div className="banner error" data-testid="job-error">
            {job.error}
          </div>
        )}
        <dl className="stats">
          <Stat label="Created" value={dateTime(job.created_at)} />
          <Stat label="Duration" value={duration(runTime(job, now))} />
          <Stat label="Cost" value={cost(job.cost_usd)} />
          <Stat label="Tokens in / out" value={usage ? `${usage.input_tokens.toLocaleString()} / ${usage.output_tokens.toLocaleString()}` : '—'} />
          <Stat label="Peak memory / cap" value={<MemoryBar job={job} />} />
          <Stat label="CPU cap / used" value={`${job.limits.cpus ?? 'no cap'} / ${job.stats.cpu_usage_usec ? duration(job.stats.cpu_usage_usec / 1000) : '—'}`} />
          <Stat label="Processes (peak)" value={job.stats.peak_processes || '—'} />
          <Stat label="Turns" value={job.num_turns ?? '—'} />
          <Stat label="Model" value={job.model || '—'} />
          <Stat label="Isolation" value={job.isolation} />
          <Stat label="Exit" value={job.exit_code != null ? `code ${job.exit_code}` : job.signal != null ? `signal ${job.signal}` : '—'} />
          <Stat label="Memory cap hits / OOM kills" value={`${job.stats.memory_cap_hits} / ${job.stats.oom_kills}`} />
        </dl>
      </div>

      <div className="job-grid">
        <section className="card">
          <EventFeed events={events} status={status} />
        </section>
        <div className="side">
          <section className="card" aria-labelledby="result-title">
            <h3 id="result-title">Result</h3>
            {job.result ? (
              <pre className="result" data-testid="result">
                {job.result}
              </pre>
            ) : (
              <p className="muted">{isActive(job.state) ? 'Not yet.' : 'No result.'}</p>
            )}
            {job.structured_output && (
              <>
                <h3>Structured output</h3>
                <pre className="result" data-testid="structured-output">
                  {JSON.stringify(job.structured_output, null, 2)}
                </pre>
              </>
            )}
          </section>
          <Outputs job={job} />
        </div>
      </div>
      <Logs job={job} />
    </div>
  );
}

/** A link that saves the shown file (fetched with the API key: a plain link could not send it). */
function Download({ name, text }) {
  const [url, setUrl] = useState(null);
  useEffect(() => {
    const u = URL.createObjectURL(new Blob([text], { type: 'text/plain;charset=utf-8' }));
    setUrl(u);
    return () => URL.revokeObjectURL(u);
  }, [text]);
  return url ? (
    <a className="small" href={url} download={name}>
      download
    </a>
  ) : null;
}

function Stat({ label, value }) {
  return (
    <div className="stat">
      <dt>{label}</dt>
      <dd>{value}</dd>
    </div>
  );
}

function Outputs({ job }) {
  const names = (job.outputs || []).map(basename);
  const [open, setOpen] = useState(null);
  const [text, setText] = useState('');
  const [error, setError] = useState(null);
  const shown = open && names.includes(open) ? open : names[0];
  useEffect(() => {
    if (!shown) return;
    let gone = false;
    getText(`/api/jobs/${encodeURIComponent(job.id)}/outputs/${encodeURIComponent(shown)}`)
      .then((t) => !gone && (setText(t), setError(null)))
      .catch((e) => !gone && setError(e.message));
    return () => {
      gone = true;
    };
  }, [job.id, shown]);
  return (
    <section className="card" aria-labelledby="outputs-title" data-testid="outputs">
      <h3 id="outputs-title">Output files</h3>
      {names.length === 0 ? (
        <p className="muted">{isActive(job.state) ? 'Collected when the job succeeds.' : 'None.'}</p>
      ) : (
        <>
          <ul className="files">
            {names.map((n) => (
              <li key={n}>
                <button type="button" className={`file${n === shown ? ' active' : ''}`} onClick={() => setOpen(n)} data-output={n}>
                  {n}
                </button>
                {n === shown && !error && (
                  <Download name={n} text={text} />
                )}
              </li>
            ))}
          </ul>
          {error ? <p className="error-text">{error}</p> : <pre className="output" data-testid="output-content">{text}</pre>}
        </>
      )}
    </section>
  );
}

/** "===== stdout.log =====\n…" sections, with a word for an empty one. */
function logSections(text, active) {
  if (!text) return '…';
  const parts = text.split(/^===== (.+?) =====\n/m);
  const out = [];
  for (let i = 1; i < parts.length; i += 2) {
    const body = parts[i + 1] || '';
    out.push(`===== ${parts[i]} =====\n`);
    out.push(body.trim() ? body.replace(/\n*$/, '\n') : active ? '(nothing written yet)\n' : '(empty)\n');
  }
  return out.length ? out.join('') : text;
}

function Logs({ job }) {
  const [text, setText] = useState('');
  const box = useRef(null);
  useEffect(() => {
    if (box.current) box.current.scrollTop = box.current.scrollHeight; // a tail: show its end
  }, [text]);
  const active = isActive(job.state);
  const load = useCallback(async () => {
    try {
      setText(await getText(`/api/jobs/${encodeURIComponent(job.id)}/logs?tail_bytes=${LOG_TAIL}`));
    } catch {
      /* keep the last one */
    }
  }, [job.id]);
  usePoll(load, 3000, active);
  useEffect(() => {
    if (active) return undefined;
    // Once more when the job has ended, and again a moment later: the logs
    // are written in blocks and the last one lands as the job ends.
    load();
    const t = setTimeout(load, 2000);
    return () => clearTimeout(t);
  }, [active, load]);
  return (
    <section className="card" aria-labelledby="logs-title">
      <div className="events-head">
        <h3 id="logs-title">Log tail</h3>
        <span className="muted small">last {bytes(LOG_TAIL)} of stdout and stderr{active ? ', refreshed every 3 s' : ''}</span>
      </div>
      <pre className="logs" data-testid="logs" ref={box}>
        {logSections(text, active)}
      </pre>
    </section>
  );
}
