//! One claimed attempt on this node: load the job's past events, run it,
//! then store the outcome fenced by the lease, or queue it again (retry or
//! rate-limit snooze).

use std::future::Future;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use super::policy::{self, AfterRun};
use super::ManagerInner;
use crate::error::Result;
use crate::events::{EventLog, JobEvent};
use crate::job::{JobShared, StopReason};
use crate::runner::{self, RunContext};
use crate::state::{JobInfo, JobState};
use crate::store::{Claim, Requeue};
use crate::util::now_ms;

/// How long a result is retried while the store is unreachable.
const STORE_RETRY_WINDOW: Duration = Duration::from_secs(600);

/// Events are written to the store in batches of about this many bytes, so
/// a flush copies little at a time.
const FLUSH_BATCH_BYTES: usize = 256 << 10;

/// A job this node runs now.
#[derive(Debug, Clone)]
pub(crate) struct LocalRun {
    pub lease: u64,
    pub shared: Arc<JobShared>,
    /// Sequence number of the last event written to the store.
    pub persisted: Arc<tokio::sync::Mutex<u64>>,
    /// Set by the heartbeat when the store no longer has this lease.
    pub lost: bool,
}

impl ManagerInner {
    /// Starts a claimed job (counted as running at once).
    pub(super) fn start(self: &Arc<Self>, claim: Claim) {
        self.running.fetch_add(1, Ordering::SeqCst);
        let me = self.clone();
        let id = claim.record.info.id.clone();
        let span = tracing::info_span!("job", job_id = %id, attempt = claim.record.info.attempt);
        tokio::spawn(tracing::Instrument::instrument(
            async move {
                me.run_claim(claim).await;
                me.running.fetch_sub(1, Ordering::SeqCst);
                me.changed.notify_waiters();
                me.wake_after_finish();
            },
            span,
        ));
    }

    /// Wakes the admission loop for the freed slot: at once while jobs wait
    /// for slots. With a store that other processes use too, or when the
    /// last claim found nothing ready (the jobs that depend on this one are
    /// claimed a moment later), after a short random delay: the process that
    /// just finished a job does not always win the next one, and a durable
    /// store is not written at the very moment a job's waiters wake (a
    /// Python service that forks then would copy SQLite's locks mid-write).
    fn wake_after_finish(&self) {
        let drained = self.queue_drained.load(Ordering::SeqCst);
        if !self.store.is_durable() || (!drained && !self.store.shared_with_others()) {
            return self.wake.notify_one();
        }
        let max = (self.cfg.poll_interval / 2).min(Duration::from_millis(250));
        let delay = max.mul_f64(rand::random::<f64>());
        let wake = self.wake.clone();
        tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            wake.notify_one();
        });
    }

    /// The job's shared state for a new attempt, with the events that earlier
    /// attempts (here or on other nodes) stored.
    async fn shared_for_run(
        &self,
        claim: &Claim,
        persisted: &Arc<tokio::sync::Mutex<u64>>,
    ) -> Arc<JobShared> {
        let id = &claim.record.info.id;
        let existing = self.jobs.get(id);
        let durable = self.store.is_durable();
        let shared = match existing {
            Some(s) => {
                // Lease 1 is the job's first claim anywhere: every event it
                // has is the ones submitted here, which `s` holds.
                if durable && claim.lease > 1 {
                    if let Ok(evs) = self.store.events(id, s.events.last_seq()).await {
                        for e in evs {
                            s.events.push_record(e);
                        }
                    }
                }
                s
            }
            None => {
                let evs = self.store.events(id, 0).await.unwrap_or_default();
                self.jobs.intern(JobShared::new(
                    Arc::new(claim.record.spec.clone()),
                    claim.record.info.clone(),
                    EventLog::from_records(evs, self.cfg.event_bound(), false),
                ))
            }
        };
        // Local before its state changes: the follower leaves local jobs alone.
        *persisted.try_lock().expect("new lock") = shared.events.last_seq();
        self.local.lock().unwrap().insert(
            id.clone(),
            LocalRun {
                lease: claim.lease,
                shared: shared.clone(),
                persisted: persisted.clone(),
                lost: false,
            },
        );
        {
            let mut i = shared.info.lock().unwrap();
            let c = &claim.record.info;
            i.state = JobState::Running;
            i.attempt = c.attempt;
            i.started_at = c.started_at;
            i.finished_at = None;
            i.pid = None;
            i.error = None;
        }
        // A stop meant for an earlier attempt does not apply; a cancel does.
        shared.stop.send_if_modified(|s| {
            let stale = matches!(s, Some(StopReason::Shutdown | StopReason::LeaseLost));
            if stale {
                *s = None;
            }
            stale
        });
        // Claimed while the manager shuts down (after its sweep of the
        // running jobs, or its stop cleared just above): stop at once.
        if self.shutting_down.load(Ordering::SeqCst) {
            shared.stop.send_replace(Some(StopReason::Shutdown));
        }
        shared
    }

    async fn run_claim(self: &Arc<Self>, claim: Claim) {
        let id = claim.record.info.id.clone();
        let lease = claim.lease;
        let persisted = Arc::new(tokio::sync::Mutex::new(0));
        let shared = self.shared_for_run(&claim, &persisted).await;
        let prompt = self.prompt_with_inputs(&shared.spec).await;
        let ctx = RunContext {
            cfg: self.cfg.clone(),
            isolator: self.isolator.clone(),
            isolation_error: self.isolation_error.clone(),
            shared: shared.clone(),
            info: shared.info(),
            prompt,
        };
        let info = runner::run(ctx).await;
        tracing::info!(job_id = %id, state = %info.state, "job finished");
        let lost = self
            .local
            .lock()
            .unwrap()
            .get(&id)
            .map(|r| r.lost)
            .unwrap_or(false);
        if lost {
            self.local.lock().unwrap().remove(&id);
            tracing::warn!(job_id = %id, "stale result discarded: this node lost the job's lease");
            self.watch_wake.notify_one();
            return;
        }
        let events = shared.events.snapshot();
        match policy::after_run(
            &info,
            &events,
            claim.record.spec.max_attempts,
            &self.cfg.backoff,
        ) {
            AfterRun::Retry {
                delay,
                count_attempt,
            } => {
                self.retry(&shared, info, lease, delay, count_attempt, &persisted)
                    .await
            }
            AfterRun::Finish => self.store_outcome(&shared, info, lease, &persisted).await,
        }
        self.local.lock().unwrap().remove(&id);
    }

    async fn store_outcome(
        &self,
        shared: &Arc<JobShared>,
        info: JobInfo,
        lease: u64,
        persisted: &tokio::sync::Mutex<u64>,
    ) {
        let id = info.id.clone();
        // The result first: a stale attempt's remaining events are not stored.
        match self
            .store_retry("storing a result", || self.store.finish(&info, lease))
            .await
        {
            Some(true) => {}
            Some(false) => {
                tracing::warn!(job_id = %id, "stale result discarded: the job's lease was lost");
                self.watch_wake.notify_one();
                return;
            }
            None => {
                tracing::error!(job_id = %id, "the job's result could not be stored; it is kept in this process only")
            }
        }
        let state = info.state;
        // Waiters wake once the events are stored too.
        if shared.record_final(info) {
            self.flush_events(shared, persisted, None).await;
            shared.wake_done();
        }
        self.changed.notify_waiters();
        if state != JobState::Succeeded {
            self.cancel_dependents(&id, state).await;
        }
    }

    async fn retry(
        &self,
        shared: &Arc<JobShared>,
        info: JobInfo,
        lease: u64,
        delay: Duration,
        count_attempt: bool,
        persisted: &tokio::sync::Mutex<u64>,
    ) {
        let id = info.id.clone();
        let req = Requeue {
            run_at_ms: now_ms() + delay.as_millis() as u64,
            count_attempt,
            error: info.error.clone(),
            only_if_expired: false,
        };
        match self
            .store_retry("queueing a retry", || self.store.requeue(&id, lease, &req))
            .await
        {
            Some(true) => {
                tracing::info!(job_id = %id, attempt = info.attempt, delay_ms = delay.as_millis() as u64, counts = count_attempt, error = ?info.error, "job queued again");
                shared.emit(JobEvent::Retrying {
                    attempt: info.attempt,
                    delay_ms: delay.as_millis() as u64,
                    error: info.error.clone(),
                    counts_as_attempt: count_attempt,
                });
                {
                    let mut cur = shared.info.lock().unwrap();
                    *cur = info;
                    cur.state = JobState::Queued;
                    cur.pid = None;
                    cur.finished_at = None;
                    if !count_attempt {
                        cur.attempt = cur.attempt.saturating_sub(1);
                    }
                }
                self.flush_events(shared, persisted, None).await;
                let wake = self.wake.clone();
                tokio::spawn(async move {
                    tokio::time::sleep(delay).await;
                    wake.notify_one();
                });
            }
            Some(false) => {
                tracing::warn!(job_id = %id, "stale attempt: the job's lease was lost before its retry was queued");
                self.watch_wake.notify_one();
            }
            None => {
                tracing::error!(job_id = %id, "could not queue a retry: the store is unreachable");
                shared.finalize(info);
            }
        }
    }

    /// Writes the job's events after `persisted` to the store; with a lease,
    /// also its info when a `started` event is among them (pid, isolation).
    pub(super) async fn flush_events(
        &self,
        shared: &JobShared,
        persisted: &tokio::sync::Mutex<u64>,
        lease: Option<u64>,
    ) {
        let mut p = persisted.lock().await;
        let mut started = false;
        loop {
            let evs = shared.events.since(*p, FLUSH_BATCH_BYTES);
            let Some(last) = evs.last().map(|r| r.seq) else {
                break;
            };
            match self.store.append_events(&shared.id, &evs).await {
                Ok(()) => {
                    *p = last;
                    self.health.ok(&self.store_name);
                }
                Err(e) => {
                    self.health.failed(&self.store_name, "storing events", &e);
                    return;
                }
            }
            started |= evs
                .iter()
                .any(|r| matches!(r.event, JobEvent::Started { .. }));
        }
        if let (Some(lease), true) = (lease, started) {
            if let Err(e) = self.store.update(&shared.info(), lease).await {
                self.health
                    .failed(&self.store_name, "storing a job's info", &e);
            }
        }
    }

    /// Runs a store call until it works (backing off), for up to
    /// [`STORE_RETRY_WINDOW`]. `None` when it never did.
    pub(super) async fn store_retry<T, F, Fut>(&self, what: &str, mut f: F) -> Option<T>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        let end = tokio::time::Instant::now() + STORE_RETRY_WINDOW;
        let mut delay = Duration::from_millis(200);
        loop {
            match f().await {
                Ok(v) => {
                    self.health.ok(&self.store_name);
                    return Some(v);
                }
                Err(e) => {
                    self.health.failed(&self.store_name, what, &e);
                    if tokio::time::Instant::now() + delay > end {
                        return None;
                    }
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_secs(5));
                }
            }
        }
    }
}
