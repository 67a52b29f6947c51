//! [`Job`]: the handle returned by `submit` and `get`.

use std::sync::{Arc, Mutex, Weak};

use tokio::sync::watch;

use crate::error::Result;
use crate::events::{EventLog, EventStream, JobEvent};
use crate::manager::ManagerInner;
use crate::spec::JobSpec;
use crate::state::{JobInfo, JobState};

/// Why the manager stops a running job.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum StopReason {
    Cancel(String),
    Shutdown,
    /// This node lost the job's lease (another node may run it now).
    LeaseLost,
}

/// The state of one job shared by its handles, its runner and the manager.
#[derive(Debug)]
pub(crate) struct JobShared {
    pub id: String,
    pub spec: Arc<JobSpec>,
    pub info: Mutex<JobInfo>,
    pub events: Arc<EventLog>,
    pub done: watch::Sender<bool>,
    pub stop: watch::Sender<Option<StopReason>>,
}

impl JobShared {
    pub(crate) fn new(spec: Arc<JobSpec>, info: JobInfo, events: EventLog) -> Arc<Self> {
        let done = info.state.is_final();
        Arc::new(JobShared {
            id: info.id.clone(),
            spec,
            info: Mutex::new(info),
            events: Arc::new(events),
            done: watch::channel(done).0,
            stop: watch::channel(None).0,
        })
    }

    pub(crate) fn info(&self) -> JobInfo {
        self.info.lock().unwrap().clone()
    }

    pub(crate) fn emit(&self, event: JobEvent) {
        self.events.push(event);
    }

    /// Records the final info, emits `finished`, closes the event log and
    /// wakes every waiter. Does nothing if the job already ended.
    pub(crate) fn finalize(&self, info: JobInfo) -> bool {
        let recorded = self.record_final(info);
        if recorded {
            self.wake_done();
        }
        recorded
    }

    /// The first half of [`finalize`](Self::finalize): the final info and
    /// `finished` recorded, the log closed, waiters not woken yet (the
    /// manager stores the events first, so that `wait()` returns a job
    /// whose outcome and events are in the store). False if it already ended.
    pub(crate) fn record_final(&self, info: JobInfo) -> bool {
        let mut cur = self.info.lock().unwrap();
        let ended = *self.done.borrow() || (cur.state.is_final() && self.events.ends_finished());
        if ended {
            return false;
        }
        let finished = JobEvent::Finished {
            state: info.state,
            error: info.error.clone(),
        };
        *cur = info;
        self.events.push(finished);
        self.events.close();
        true
    }

    /// Wakes every `wait()`er (after [`record_final`](Self::record_final)).
    pub(crate) fn wake_done(&self) {
        self.done.send_replace(true);
    }
}

impl JobShared {
    /// Records a final state reached on another node, whose events (with
    /// their `finished`) were already copied from the store.
    pub(crate) fn finalize_copied(&self, info: JobInfo) -> bool {
        if !self.events.ends_finished() {
            return self.finalize(info);
        }
        {
            let mut cur = self.info.lock().unwrap();
            if *self.done.borrow() {
                return false;
            }
            *cur = info;
        }
        self.events.close();
        self.done.send_replace(true);
        true
    }
}

/// A handle to one job. Cheap to clone; every clone sees the same job.
///
/// ```no_run
/// # async fn demo(manager: claude_jobs::JobManager) -> claude_jobs::Result<()> {
/// use claude_jobs::{JobSpec, JobState};
/// let job = manager.submit(JobSpec::from_prompt("Say hello")).await?;
/// let info = job.wait().await;
/// if info.state == JobState::Succeeded {
///     println!("{} (${:.4})", info.result.unwrap_or_default(), info.cost_usd.unwrap_or(0.0));
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Job {
    pub(crate) shared: Arc<JobShared>,
    pub(crate) manager: Weak<ManagerInner>,
}

impl Job {
    /// The job's id (a UUIDv7 string, sortable by submission time).
    pub fn id(&self) -> &str {
        &self.shared.id
    }

    /// A snapshot of the job now.
    pub fn info(&self) -> JobInfo {
        self.shared.info()
    }

    /// The current state.
    pub fn state(&self) -> JobState {
        self.shared.info.lock().unwrap().state
    }

    /// The spec the job runs with (template rendered, default limits applied).
    pub fn spec(&self) -> &JobSpec {
        &self.shared.spec
    }

    /// Waits until the job reaches a final state and returns its info. Returns
    /// at once for a finished job. Any number of tasks may wait.
    pub async fn wait(&self) -> JobInfo {
        let mut rx = self.shared.done.subscribe();
        // The sender lives in `shared`, which we hold: this cannot fail.
        let _ = rx.wait_for(|done| *done).await;
        self.info()
    }

    /// Cancels the job: a queued job ends `cancelled` at once; a running job
    /// gets SIGTERM, a grace period, then its whole cgroup is killed. Returns
    /// `Ok(false)` when the job had already finished (nothing is changed).
    pub async fn cancel(&self) -> Result<bool> {
        match self.manager.upgrade() {
            Some(m) => m.cancel(&self.shared, "cancelled by request").await,
            None => Ok(false),
        }
    }

    /// The job's events from the first one: past events are replayed, then
    /// live ones follow until the job ends.
    pub fn events(&self) -> EventStream {
        EventStream::new(self.shared.events.clone(), 0)
    }

    /// The job's events after sequence number `seq` (to resume a stream).
    pub fn events_after(&self, seq: u64) -> EventStream {
        EventStream::new(self.shared.events.clone(), seq)
    }
}
