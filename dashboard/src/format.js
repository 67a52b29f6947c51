// Formatting for people watching long jobs.

export const FINAL = new Set(['succeeded', 'failed', 'cancelled', 'timed_out', 'oom_killed', 'interrupted']);
export const isActive = (state) => state === 'queued' || state === 'running';

export function bytes(n) {
  if (n === null || n === undefined) return '—';
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i += 1;
  }
  return `${v >= 100 ? v.toFixed(0) : v.toFixed(1)} ${units[i]}`;
}

export function duration(ms) {
  if (ms === null || ms === undefined) return '—';
  const s = ms / 1000;
  if (s < 10) return `${s.toFixed(1)} s`;
  if (s < 60) return `${Math.round(s)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${String(Math.round(s % 60)).padStart(2, '0')} s`;
  const h = Math.floor(m / 60);
  return `${h} h ${String(m % 60).padStart(2, '0')} min`;
}

export function age(ms, now) {
  const s = Math.max(0, (now - ms) / 1000);
  if (s < 5) return 'just now';
  if (s < 60) return `${Math.floor(s)} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86400)} d ago`;
}

/** Run time: finished − started, or so far for a running job. */
export function runTime(job, now) {
  if (!job.started_at) return null;
  return (job.finished_at || now) - job.started_at;
}

export function cost(usd) {
  if (usd === null || usd === undefined) return '—';
  if (usd === 0) return '$0.00';
  if (usd < 0.01) return `$${usd.toFixed(4)}`;
  return `$${usd.toFixed(2)}`;
}

export function clock(ms) {
  return new Date(ms).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false });
}

export function dateTime(ms) {
  if (!ms) return '—';
  return new Date(ms).toLocaleString([], { hour12: false });
}

export const stateLabel = (s) => (s || '').replace('_', ' ');

export function shortId(id) {
  return id ? id.slice(-8) : '';
}

export function basename(path) {
  return String(path).split('/').pop();
}
