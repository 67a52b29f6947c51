//! The one path that ends a job, whatever ended it: an attempt that ran
//! here, a queued job cancelled or interrupted, a job that ended on another
//! node, an orphan rescued after its node died. In order:
//!
//! 1. the outcome is stored, fenced (a stale attempt's result is dropped);
//! 2. the job's cell (if anything here holds it) records the final info and
//!    a `finished` event, and its event stream closes;
//! 3. its events are written to the store;
//! 4. its waiters wake;
//! 5. its slot is released (an attempt that ran here) and admission woken;
//! 6. a job that did not succeed cancels the queued jobs that wait for it,
//!    each through this same path.

use std::sync::Arc;

use super::Inner;
use crate::events::JobEvent;
use crate::job::JobCell;
use crate::state::{JobInfo, JobState};

/// How a job ended, with what fencing its outcome needs.
#[derive(Debug)]
pub(super) enum Ending {
    /// An attempt that ran here, fenced by its lease.
    Ran {
        info: JobInfo,
        lease: u64,
        persisted: Arc<tokio::sync::Mutex<u64>>,
    },
    /// A queued job ended without running (cancel, shutdown, a dependency
    /// that did not succeed).
    Queued { state: JobState, reason: String },
    /// Ended on another node; its events were copied from the store.
    Copied { info: JobInfo },
    /// An orphan whose node died or stopped renewing its lease.
    Rescued {
        info: JobInfo,
        lease: u64,
        only_if_expired: bool,
    },
}

impl Inner {
    /// Ends `id` (and, when it did not succeed, the queued jobs that depend
    /// on it). True when this call ended `id` (false: a stale attempt, a job
    /// no longer queued, one that ended already).
    pub(super) async fn end(&self, id: &str, how: Ending) -> bool {
        let mut todo = vec![(id.to_string(), how)];
        let mut first = None;
        while let Some((id, how)) = todo.pop() {
            let state = self.end_one(&id, how).await;
            first.get_or_insert(state.is_some());
            match state {
                Some(s) if s != JobState::Succeeded => {
                    let deps = match self.store.store.queued_dependents(&id).await {
                        Ok(d) => d,
                        Err(e) => {
                            self.store.failed("finding dependent jobs", &e);
                            Vec::new()
                        }
                    };
                    let reason = format!("dependency {id} ended {s}");
                    for dep in deps {
                        let how = Ending::Queued {
                            state: JobState::Cancelled,
                            reason: reason.clone(),
                        };
                        todo.push((dep, how));
                    }
                }
                _ => {}
            }
        }
        first.unwrap_or(false)
    }

    async fn end_one(&self, id: &str, how: Ending) -> Option<JobState> {
        let (info, persisted) = self.store_end(id, &how).await?;
        let state = info.state;
        match (&how, self.handles.get(id)) {
            // An orphan's events are its dead node's: `finished` goes after
            // the stored ones, and followers here copy it from the store.
            (Ending::Rescued { .. }, _) | (Ending::Queued { .. }, None) => {
                let finished = JobEvent::Finished {
                    state,
                    error: info.error.clone(),
                };
                self.store.append_after_stored(id, finished).await;
            }
            (_, Some(cell)) => self.close(&cell, info, &how, persisted).await,
            (_, None) => {}
        }
        if matches!(how, Ending::Ran { .. }) {
            self.local.release(id);
            self.admission.wake_after_finish(&self.store, &self.opts);
        }
        self.follow_wake.notify_one();
        Some(state)
    }

    /// Step 1: the outcome in the store, fenced. `None`: nothing to end.
    async fn store_end(&self, id: &str, how: &Ending) -> Option<(JobInfo, Option<Arc<tokio::sync::Mutex<u64>>>)> {
        let store = &self.store.store;
        match how {
            Ending::Ran { info, lease, persisted } => {
                let mut info = info.clone();
                match self.store.retry("storing a result", || store.finish(&info, *lease, false)).await {
                    Ok(true) => {}
                    Ok(false) => {
                        tracing::warn!(job_id = %id, "stale result discarded: the job's lease was lost");
                        self.follow_wake.notify_one();
                        self.local.release(id);
                        return None;
                    }
                    Err(e) => {
                        tracing::error!(job_id = %id, error = %e, "the job's result could not be stored; it is kept in this process only");
                        if e.is_disk_full() {
                            info.state = JobState::Failed;
                            info.error = Some(format!("the disk is full: the job's result could not be stored ({e})"));
                        }
                    }
                }
                Some((info, Some(persisted.clone())))
            }
            Ending::Queued { state, reason } => match store.end_queued(id, *state, reason).await {
                Ok(Some(info)) => Some((info, None)),
                Ok(None) => None,
                Err(e) => {
                    self.store.failed("ending a queued job", &e);
                    None
                }
            },
            Ending::Copied { info } => Some((info.clone(), None)),
            Ending::Rescued { info, lease, only_if_expired } => match store.finish(info, *lease, *only_if_expired).await {
                Ok(true) => Some((info.clone(), None)),
                Ok(false) => None,
                Err(e) => {
                    self.store.failed("rescuing a job", &e);
                    None
                }
            },
        }
    }

    /// Steps 2 to 4 for a job something here holds.
    async fn close(&self, cell: &JobCell, info: JobInfo, how: &Ending, persisted: Option<Arc<tokio::sync::Mutex<u64>>>) {
        if matches!(how, Ending::Queued { .. }) {
            // Events other nodes stored (earlier attempts) come first, so
            // that `finished` is numbered after them.
            if let Ok(evs) = self.store.store.events(&cell.id, cell.events.last_seq()).await {
                evs.into_iter().for_each(|e| cell.events.push_record(e));
            }
        }
        if cell.record_end(info) {
            match (how, persisted) {
                (Ending::Ran { .. }, Some(p)) => self.store.flush(cell, &p, None).await,
                (Ending::Copied { .. }, _) => {}
                _ => self.store.store_all(cell).await,
            }
        }
        cell.wake();
    }
}
