//! Shutdown: stop claiming, let running jobs finish for a while, stop the
//! rest; with a memory store, end the queued jobs `interrupted`.

use std::sync::atomic::Ordering;
use std::time::Duration;

use super::end::Ending;
use super::Inner;
use crate::job::Stop;
use crate::state::JobState;
use crate::store::ListQuery;

/// How long shutdown waits for a claim already sent to the store.
const ADMISSION_WAIT: Duration = Duration::from_secs(10);

impl Inner {
    pub(super) async fn shutdown(&self, drain_timeout: Duration) {
        self.admission.shutting_down.store(true, Ordering::SeqCst);
        self.admission.wake.notify_waiters();
        // A claim sent before the flag was set ends here: its jobs are
        // started (recorded in `local`, and stopped as they start). A store
        // that does not answer is not waited for long: a job it hands out
        // later is stopped before its process starts.
        if tokio::time::timeout(ADMISSION_WAIT, self.admission.admitting.lock()).await.is_err() {
            tracing::warn!("shutdown: a claim has not come back from the store in {ADMISSION_WAIT:?}; going on");
        }
        let _ = tokio::time::timeout(drain_timeout, self.local.wait_idle()).await;
        self.local.stop_all(Stop::Shutdown);
        self.local.wait_idle().await;
        if !self.store.durable() {
            self.interrupt_queued().await;
        }
        // The database file alone then holds every job (a copy of it is a
        // backup; see `claude-jobs backup` for one taken while running).
        if let Err(e) = self.store.store.checkpoint().await {
            self.store.failed("checkpointing the store", &e);
        }
        self.stopped.store(true, Ordering::SeqCst);
        self.follow_wake.notify_waiters();
        if let Some(iso) = &self.isolation.isolator {
            iso.remove();
        }
    }

    /// Every queued job of a memory store ends `interrupted` (nothing would
    /// ever run it). Page by page, yielding now and then so that timers and
    /// other tasks run meanwhile.
    async fn interrupt_queued(&self) {
        let q = ListQuery {
            state: Some(JobState::Queued),
            limit: Some(crate::store::MAX_PAGE),
            ..Default::default()
        };
        loop {
            let page = match self.store.store.list(&q).await {
                Ok(p) if !p.jobs.is_empty() => p,
                _ => break,
            };
            for (k, info) in page.jobs.into_iter().enumerate() {
                let how = Ending::Queued {
                    state: JobState::Interrupted,
                    reason: "the manager shut down before the job started".into(),
                };
                self.end(&info.id, how).await;
                if k % 256 == 255 {
                    tokio::task::yield_now().await;
                }
            }
        }
    }
}
