//! One claimed attempt on this node: the job's cell readied (with the
//! events earlier attempts stored), the attempt run, then the outcome ended
//! through `end` or the job queued again (a retry, a rate-limit snooze).

use std::sync::Arc;
use std::time::Duration;

use super::end::Ending;
use super::local::LocalRun;
use super::retry::{self, AfterRun};
use super::Inner;
use crate::events::{EventLog, JobEvent};
use crate::job::{JobCell, Stop};
use crate::run::{self, Attempt};
use crate::state::{JobInfo, JobState};
use crate::store::{Claim, Requeue};
use crate::util::now_ms;

impl Inner {
    /// Starts a claimed job: it holds a slot from now (in `local`), and runs
    /// in a task of its own.
    pub(super) fn start_attempt(self: &Arc<Self>, claim: Claim) {
        let cell = self.ready_cell(&claim);
        let run = LocalRun {
            lease: claim.lease,
            cell: cell.clone(),
            persisted: Arc::new(tokio::sync::Mutex::new(cell.events.last_seq())),
            lost: false,
        };
        self.local.insert(run.clone());
        let me = self.clone();
        let span = tracing::info_span!("job", job_id = %cell.id, attempt = claim.record.info.attempt);
        tokio::spawn(tracing::Instrument::instrument(
            async move {
                let id = run.cell.id.clone();
                let guarded = tokio::spawn({
                    let me = me.clone();
                    async move { me.run_claim(claim, run).await }
                });
                if let Err(e) = guarded.await {
                    me.attempt_panicked(&id, e).await;
                }
                me.local.release(&id);
            },
            span,
        ));
    }

    /// The job's cell for a new attempt, marked running; a stop meant for an
    /// earlier attempt cleared (a cancel stays), and a stop at once when the
    /// manager is shutting down.
    fn ready_cell(&self, claim: &Claim) -> Arc<JobCell> {
        let c = &claim.record.info;
        let cell = self.handles.get(&c.id).unwrap_or_else(|| {
            self.handles.intern(JobCell::new(
                Arc::new(claim.record.spec.clone()),
                c.clone(),
                EventLog::new(self.opts.event_bound()),
            ))
        });
        {
            let mut i = cell.info.lock().unwrap();
            i.state = JobState::Running;
            i.attempt = c.attempt;
            i.started_at = c.started_at;
            i.finished_at = None;
            i.pid = None;
            i.error = None;
        }
        cell.clear_stale_stop();
        if self.admission.is_shutting_down() {
            cell.request_stop(Stop::Shutdown);
        }
        cell
    }

    async fn run_claim(self: &Arc<Self>, claim: Claim, run: LocalRun) {
        let cell = run.cell.clone();
        // Lease 1 is the job's first claim anywhere: the events it has are
        // those submitted here (or none yet, for a cell made at the claim).
        if self.store.durable() {
            if let Ok(evs) = self.store.store.events(&cell.id, cell.events.last_seq()).await {
                for e in evs {
                    cell.events.push_record(e);
                }
            }
            *run.persisted.lock().await = cell.events.last_seq();
        }
        let prompt = self.prompt_with_inputs(&cell.spec).await;
        let info = run::attempt(Attempt {
            opts: self.opts.clone(),
            isolation: self.isolation.clone(),
            cell: cell.clone(),
            info: cell.info(),
            prompt,
            budget_cap: claim.budget_cap,
            on_rate_limit: Some(self.rate_limit_hook()),
            artifacts: self.store.artifacts.clone(),
        })
        .await;
        tracing::info!(job_id = %cell.id, state = %info.state, "attempt ended");
        if self.local.is_lost(&cell.id) {
            tracing::warn!(job_id = %cell.id, "stale result discarded: this node lost the job's lease");
            self.follow_wake.notify_one();
            return;
        }
        let events = cell.events.snapshot();
        match retry::after_run(&info, &events, claim.record.spec.max_attempts, &self.opts.retry_backoff) {
            AfterRun::Retry { delay, count_attempt } => {
                self.retry(&cell, info, &run, delay, count_attempt).await
            }
            AfterRun::Finish => {
                let how = Ending::Ran {
                    info,
                    lease: run.lease,
                    persisted: run.persisted.clone(),
                };
                self.end(&cell.id, how).await;
            }
        }
    }

    /// Puts the job back in the queue, to start after `delay`.
    async fn retry(&self, cell: &JobCell, info: JobInfo, run: &LocalRun, delay: Duration, count_attempt: bool) {
        let id = info.id.clone();
        let req = Requeue {
            run_at_ms: now_ms() + delay.as_millis() as u64,
            count_attempt,
            error: info.error.clone(),
            only_if_expired: false,
        };
        let store = &self.store.store;
        match self.store.retry("queueing a retry", || store.requeue(&id, run.lease, &req)).await {
            Ok(true) => {
                tracing::info!(job_id = %id, attempt = info.attempt, delay_ms = delay.as_millis() as u64, counts = count_attempt, error = ?info.error, "job queued again");
                cell.emit(JobEvent::Retrying {
                    attempt: info.attempt,
                    delay_ms: delay.as_millis() as u64,
                    error: info.error.clone(),
                    counts_as_attempt: count_attempt,
                });
                {
                    let mut cur = cell.info.lock().unwrap();
                    *cur = info;
                    cur.state = JobState::Queued;
                    cur.pid = None;
                    cur.finished_at = None;
                    if !count_attempt {
                        cur.attempt = cur.attempt.saturating_sub(1);
                    }
                }
                self.store.flush(cell, &run.persisted, None).await;
                self.local.release(&id);
                self.admission.wake_in(delay);
            }
            Ok(false) => {
                tracing::warn!(job_id = %id, "stale attempt: the job's lease was lost before its retry was queued");
                self.follow_wake.notify_one();
            }
            Err(e) => {
                tracing::error!(job_id = %id, error = %e, "could not queue a retry");
                let how = Ending::Ran {
                    info,
                    lease: run.lease,
                    persisted: run.persisted.clone(),
                };
                self.end(&id, how).await;
            }
        }
    }

    /// A panic in an attempt's task ends its job `failed` and frees its slot
    /// (the job's processes are killed first).
    async fn attempt_panicked(&self, id: &str, e: tokio::task::JoinError) {
        let why = if e.is_panic() { "a panic in the manager" } else { "the manager's task was cancelled" };
        tracing::error!(job_id = %id, error = %e, "attempt task ended abnormally");
        let Some(run) = self.local.get(id) else { return };
        run.cell.kill_now();
        let mut info = run.cell.info();
        info.state = JobState::Failed;
        info.error = Some(format!("the job's attempt ended abnormally ({why}): {e}"));
        info.finished_at = Some(now_ms());
        let how = Ending::Ran {
            info,
            lease: run.lease,
            persisted: run.persisted.clone(),
        };
        self.end(id, how).await;
    }
}
