import { useNow } from './hooks.js';
import { age, cost, duration, runTime, shortId } from './format.js';
import { CancelButton, MemoryBar, StateBadge, Subject } from './common.jsx';

export default function JobList({ jobs, loaded, link, onChange }) {
  const now = useNow(1000);
  if (!loaded) return <p className="muted">Loading…</p>;
  if (!jobs.length) {
    return <p className="empty">No jobs yet. Start a workflow or a single job with the form.</p>;
  }
  return (
    <div className="table-wrap">
      <table className="job-table" data-testid="job-table">
        <thead>
          <tr>
            <th>State</th>
            <th>Template</th>
            <th>Brand / variables</th>
            <th>Age</th>
            <th className="num">Duration</th>
            <th className="num">Cost</th>
            <th>Peak memory / cap</th>
            <th aria-label="Actions" />
          </tr>
        </thead>
        <tbody>
          {jobs.map((job) => (
            <tr key={job.id} data-job-id={job.id} data-state={job.state} className="job-row">
              <td>
                <StateBadge state={job.state} />
              </td>
              <td>
                <a href={`/jobs/${job.id}`} onClick={link(`/jobs/${job.id}`)} className="job-link">
                  {job.template || 'prompt'}
                </a>
                <div className="muted mono small nowrap">
                  {shortId(job.id)}
                  {job.labels && job.labels.step ? ` · ${job.labels.step}` : ''}
                </div>
              </td>
              <td className="subject-cell">
                <Subject job={job} />
              </td>
              <td className="nowrap" title={new Date(job.created_at).toLocaleString()}>
                {age(job.created_at, now)}
              </td>
              <td className="num nowrap">{duration(runTime(job, now))}</td>
              <td className="num nowrap">{cost(job.cost_usd)}</td>
              <td>
                <MemoryBar job={job} />
              </td>
              <td className="actions">
                <CancelButton job={job} onDone={onChange} small />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
