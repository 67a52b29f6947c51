//! [`Job`]: the handle returned by `submit` and `get`.

use std::sync::{Arc, Weak};

use async_trait::async_trait;

use super::JobCell;
use crate::error::Result;
use crate::events::EventStream;
use crate::spec::JobSpec;
use crate::state::{JobInfo, JobState};

/// What a handle asks of its manager.
#[async_trait]
pub(crate) trait Control: Send + Sync + std::fmt::Debug {
    /// Cancels the job (see [`Job::cancel`]).
    async fn cancel(&self, cell: &Arc<JobCell>, reason: &str) -> Result<bool>;
}

/// A handle to one job. Cheap to clone; every clone sees the same job.
///
/// ```no_run
/// # async fn demo(manager: claude_jobs::JobManager) -> claude_jobs::Result<()> {
/// use claude_jobs::{JobSpec, JobState};
/// let job = manager.submit(JobSpec::from_prompt("Say hello")).await?;
/// let mut events = job.events(0);
/// while let Some(rec) = events.next().await {
///     println!("{} {:?}", rec.seq, rec.event);
/// }
/// let info = job.wait().await;
/// if info.state == JobState::Succeeded {
///     println!("{} (${:.4})", info.result.unwrap_or_default(), info.cost_usd.unwrap_or(0.0));
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Job {
    pub(crate) cell: Arc<JobCell>,
    pub(crate) control: Weak<dyn Control>,
}

impl Job {
    pub(crate) fn new(cell: Arc<JobCell>, control: Weak<dyn Control>) -> Job {
        Job { cell, control }
    }

    /// The job's id (a UUIDv7 string, sortable by submission time).
    pub fn id(&self) -> &str {
        &self.cell.id
    }

    /// A snapshot of the job now.
    pub fn info(&self) -> JobInfo {
        self.cell.info()
    }

    /// The current state.
    pub fn state(&self) -> JobState {
        self.cell.state()
    }

    /// The spec the job runs with (template rendered, default limits applied).
    pub fn spec(&self) -> &JobSpec {
        &self.cell.spec
    }

    /// Waits until the job reaches a final state and returns its info. Returns
    /// at once for a finished job. Any number of tasks may wait.
    pub async fn wait(&self) -> JobInfo {
        self.cell.done().await;
        self.info()
    }

    /// Cancels the job: a queued job ends `cancelled` at once; a running job
    /// gets SIGTERM, a grace period, then its whole cgroup is killed. Returns
    /// `Ok(false)` when the job had already finished (nothing is changed),
    /// or when its manager is gone.
    pub async fn cancel(&self) -> Result<bool> {
        match self.control.upgrade() {
            Some(m) => m.cancel(&self.cell, "cancelled by request").await,
            None => Ok(false),
        }
    }

    /// The job's events after sequence number `after` (0: from the first):
    /// past events are replayed, then live ones follow until the job ends.
    /// A client that reconnects passes the last `seq` it saw.
    pub fn events(&self, after: u64) -> EventStream {
        EventStream::new(self.cell.events.clone(), after)
    }
}
