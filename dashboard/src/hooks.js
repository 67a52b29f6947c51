import { useCallback, useEffect, useRef, useState } from 'react';
import { apiFetch } from './api.js';
import { sseFrames } from './sse.js';

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
 * A job's events over server-sent events, read with fetch() so that the API
 * key goes in the Authorization header (EventSource cannot send one). Each
 * event's SSE id is its `seq`: when the connection drops, the hook reconnects
 * after a second with `Last-Event-ID: <last seq>`, so the server resumes after
 * the last event received; events are also kept by seq here, so none is ever
 * shown twice. A 401 waits for the key (api.js asks for it), a 404 ends it.
 */
export function useJobEvents(jobId) {
  const [events, setEvents] = useState([]);
  const [status, setStatus] = useState('connecting');
  const [connections, setConnections] = useState(0);
  useEffect(() => {
    let lastSeq = 0;
    let done = false;
    let controller = null;
    let retry = null;
    setEvents([]);
    setStatus('connecting');
    const again = (ms) => {
      if (done) return;
      setStatus('reconnecting');
      retry = setTimeout(open, ms);
    };
    const take = (frame) => {
      let ev;
      try {
        ev = JSON.parse(frame.data);
      } catch {
        return;
      }
      if (typeof ev.seq !== 'number' || ev.seq <= lastSeq) return; // already shown
      lastSeq = ev.seq;
      setEvents((prev) => [...prev, ev]);
      if (ev.type === 'finished') {
        done = true;
        setStatus('ended');
      }
    };
    const open = async () => {
      controller = new AbortController();
      const headers = { Accept: 'text/event-stream' };
      if (lastSeq) headers['Last-Event-ID'] = String(lastSeq);
      let res;
      try {
        res = await apiFetch(`/api/jobs/${encodeURIComponent(jobId)}/events`, { headers, signal: controller.signal, cache: 'no-store' });
      } catch {
        again(2000); // the service is down: keep trying
        return;
      }
      if (done) return;
      if (res.status === 404) {
        setStatus('gone');
        return;
      }
      if (!res.ok || !res.body) {
        again(res.status === 401 ? 0 : 2000); // 401: the next try waits for the key
        return;
      }
      setStatus('live');
      setConnections((n) => n + 1);
      try {
        for await (const frame of sseFrames(res.body)) {
          take(frame);
          if (done) break;
        }
      } catch {
        /* the connection dropped */
      }
      if (done) controller.abort();
      else again(1000);
    };
    open();
    return () => {
      done = true;
      clearTimeout(retry);
      if (controller) controller.abort();
    };
  }, [jobId]);
  return { events, status, connections };
}
