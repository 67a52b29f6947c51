import { useCallback, useEffect, useRef, useState } from 'react';

/** The current path, and `navigate(path)` (history.pushState). */
export function useRoute() {
  const [path, setPath] = useState(window.location.pathname);
  useEffect(() => {
    const onPop = () => setPath(window.location.pathname);
    window.addEventListener('popstate', onPop);
    return () => window.removeEventListener('popstate', onPop);
  }, []);
  const navigate = useCallback((to) => {
    if (to !== window.location.pathname) window.history.pushState(null, '', to);
    setPath(to);
    window.scrollTo(0, 0);
  }, []);
  return [path, navigate];
}

/** Calls `fn` now and every `ms` while `active`; returns a function to call it at once. */
export function usePoll(fn, ms, active = true) {
  const saved = useRef(fn);
  saved.current = fn;
  const now = useCallback(() => saved.current(), []);
  useEffect(() => {
    if (!active) return undefined;
    let stopped = false;
    let timer = null;
    const tick = async () => {
      try {
        await saved.current();
      } finally {
        if (!stopped) timer = setTimeout(tick, ms);
      }
    };
    tick();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [ms, active]);
  return now;
}

/** Date.now(), refreshed every `ms` (for ages and running durations). */
export function useNow(ms = 1000) {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(t);
  }, [ms]);
  return now;
}

/**
 * A job's events over server-sent events. Each event's SSE id is its `seq`:
 * when the connection drops, EventSource reconnects by itself and sends
 * Last-Event-ID, so the server resumes after the last event received; events
 * are also kept by seq here, so none is ever shown twice. If the browser gives
 * up (an HTTP error), it reconnects with `?after=` the last seq.
 */
export function useJobEvents(jobId) {
  const [events, setEvents] = useState([]);
  const [status, setStatus] = useState('connecting');
  const [connections, setConnections] = useState(0);
  useEffect(() => {
    let lastSeq = 0;
    let es = null;
    let retry = null;
    let done = false;
    setEvents([]);
    setStatus('connecting');
    const open = () => {
      const url = `/api/jobs/${encodeURIComponent(jobId)}/events${lastSeq ? `?after=${lastSeq}` : ''}`;
      es = new EventSource(url);
      es.onopen = () => {
        setStatus('live');
        setConnections((n) => n + 1);
      };
      es.onmessage = (msg) => {
        let ev;
        try {
          ev = JSON.parse(msg.data);
        } catch {
          return;
        }
        if (typeof ev.seq !== 'number' || ev.seq <= lastSeq) return; // already shown
        lastSeq = ev.seq;
        setEvents((prev) => [...prev, ev]);
        if (ev.type === 'finished') {
          done = true;
          es.close();
          setStatus('ended');
        }
      };
      es.onerror = () => {
        if (done) return;
        if (es.readyState === EventSource.CLOSED) {
          // The browser gave up (an HTTP error): try again unless the job is gone.
          setStatus('reconnecting');
          retry = setTimeout(async () => {
            try {
              const res = await fetch(`/api/jobs/${encodeURIComponent(jobId)}`);
              if (res.status === 404) {
                setStatus('gone');
                return;
              }
            } catch {
              /* the service is down: keep trying */
            }
            if (!done) open();
          }, 2000);
        } else {
          setStatus('reconnecting'); // the browser retries, with Last-Event-ID
        }
      };
    };
    open();
    return () => {
      done = true;
      clearTimeout(retry);
      if (es) es.close();
    };
  }, [jobId]);
  return { events, status, connections };
}
