import { useCallback, useEffect, useState } from 'react';
import { getJSON, localMidnightMs } from './api.js';
import { usePoll, useRoute } from './hooks.js';
import { cost } from './format.js';
import JobList from './JobList.jsx';
import JobPage from './JobPage.jsx';
import StartForm from './StartForm.jsx';
import KeyPrompt, { useKeyWanted } from './KeyPrompt.jsx';
import TenantTotals from './TenantTotals.jsx';

export default function App() {
  const [path, navigate] = useRoute();
  const [data, setData] = useState(null);
  const [offline, setOffline] = useState(null);
  const [tenant, setTenant] = useState(null);
  const { wanted: keyWanted, refused: keyRefused } = useKeyWanted();

  const load = useCallback(async () => {
    try {
      setData(await getJSON(`/api/dashboard/jobs?since_ms=${localMidnightMs()}`));
      setOffline(null);
    } catch (e) {
      // A 401 is the key prompt's business, not an outage.
      if (e.status !== 401) setOffline(e.message || 'the service does not answer');
    }
  }, []);
  const refresh = usePoll(load, 2000);
  const loadTenant = useCallback(async () => {
    try {
      setTenant(await getJSON('/api/tenant'));
    } catch {
      /* shown again on the next poll */
    }
  }, []);
  const refreshTenant = usePoll(loadTenant, 5000);
  // A key was entered: read everything again with it.
  useEffect(() => {
    if (!keyWanted) {
      refresh();
      refreshTenant();
    }
  }, [keyWanted, refresh, refreshTenant]);

  const jobMatch = path.match(/^\/jobs\/([^/]+)\/?$/);
  const totals = data ? data.totals : null;
  const jobs = data ? data.jobs : [];

  const link = (to) => (e) => {
    if (e.metaKey || e.ctrlKey || e.shiftKey || e.button !== 0) return;
    e.preventDefault();
    navigate(to);
  };

  return (
    <div className="app">
      <header className="topbar">
        <a className="brand" href="/" onClick={link('/')}>
          <span className="logo" aria-hidden="true" />
          claude-jobs
        </a>
        <div className="totals" data-testid="totals">
          <Total label="Running" value={totals ? `${totals.running} / ${totals.max_concurrent}` : '—'} testid="total-running" />
          <Total label="Queued" value={totals ? totals.queued : '—'} testid="total-queued" />
          <Total label="Cost today" value={totals ? cost(totals.cost_today_usd) : '—'} testid="total-cost" />
          <Total label="Isolation" value={totals ? totals.isolation : '—'} testid="total-isolation" />
        </div>
        <TenantTotals tenant={tenant} Total={Total} />
      </header>
      {keyWanted && <KeyPrompt refused={keyRefused} />}
      {offline && (
        <div className="banner error" role="alert">
          Cannot reach the service: {offline}. Retrying…
        </div>
      )}
      <main>
        {jobMatch ? (
          <JobPage id={decodeURIComponent(jobMatch[1])} jobs={jobs} link={link} onChange={refresh} />
        ) : (
          <div className="home">
            <section className="card start" aria-labelledby="start-title">
              <h2 id="start-title">Start</h2>
              <StartForm
                onStarted={(firstId) => {
                  refresh();
                  navigate(`/jobs/${firstId}`);
                }}
              />
            </section>
            <section className="card jobs" aria-labelledby="jobs-title">
              <h2 id="jobs-title">
                Jobs {totals ? <span className="muted">({totals.jobs})</span> : null}
              </h2>
              <JobList jobs={jobs} loaded={data !== null} link={link} onChange={refresh} />
            </section>
          </div>
        )}
      </main>
    </div>
  );
}

function Total({ label, value, testid }) {
  return (
    <div className="total">
      <span className="total-label">{label}</span>
      <span className="total-value" data-testid={testid}>
        {value}
      </span>
    </div>
  );
}
