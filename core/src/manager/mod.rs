//! [`JobManager`]: the public façade. The parts behind it:
//!
//! - `inner.rs`: the manager's state and its start;
//! - `submit.rs`: checking and queueing a spec (`agent.rs`: `resume` and the
//!   agent options' host checks); `lookup.rs`: `get`, `list`;
//! - `admission.rs`: claiming queued jobs when slots and budgets allow;
//! - `local.rs`: the one record of the attempts running here (the slots);
//! - `attempt.rs`: one claimed attempt, then the outcome or a retry;
//! - `end.rs`: the one path that ends a job, whatever ended it;
//! - `durable.rs`: the store link (health, retries of store calls, events);
//! - `heartbeat.rs`, `follow.rs`, `rescue.rs`, `retention.rs`: background tasks;
//! - `shutdown.rs`, `status.rs`, `workflow.rs`, `metrics.rs`.

use std::sync::Arc;
use std::time::Duration;

use crate::error::Result;
use crate::job::Job;
use crate::options::ManagerOptions;
use crate::spec::JobSpec;
use crate::state::IsolationKind;
use crate::store::{JobPage, ListQuery};
use crate::templates::Template;

mod admission;
mod agent;
mod artifacts;
mod attempt;
mod budget;
mod builder;
mod durable;
mod end;
mod follow;
mod handles;
mod health;
mod heartbeat;
mod inner;
mod local;
mod lookup;
mod metrics;
mod retry;
mod rescue;
mod retention;
mod schedules;
mod shutdown;
mod status;
mod submit;
mod tenants;
mod webhooks;
mod workflow;

pub use artifacts::OutputFile;
pub use builder::JobManagerBuilder;
pub use health::StoreHealth;
pub use status::ManagerStatus;
pub use webhooks::signature as webhook_signature;
pub use workflow::Workflow;

use inner::Inner;

/// Runs Claude CLI jobs: a bounded number at once, each in its own cgroup,
/// the rest queued by priority then submission order.
///
/// Cheap to clone: clones share one manager.
///
/// ```no_run
/// use claude_jobs::{JobManager, JobSpec};
/// # async fn demo() -> claude_jobs::Result<()> {
/// let manager = JobManager::builder().max_concurrent(3).build().await?;
/// let job = manager.submit(JobSpec::builder().prompt("Say hello").memory("1G").build()?).await?;
/// let info = job.wait().await;
/// println!("{} {:?}", info.state, info.result);
/// manager.shutdown(std::time::Duration::from_secs(30)).await;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct JobManager {
    inner: Arc<Inner>,
}

impl JobManager {
    /// Starts a builder with the defaults.
    pub fn builder() -> JobManagerBuilder {
        JobManagerBuilder::default()
    }

    /// Builds a manager from its options (what the bindings do).
    ///
    /// Errors: as [`JobManagerBuilder::build`].
    pub async fn create(options: ManagerOptions) -> Result<JobManager> {
        JobManager::builder().options(options).build().await
    }

    /// Validates and queues a job. Returns at once; use [`Job::wait`].
    ///
    /// Errors: `InvalidSpec` naming the bad field (also for a working dir that
    /// is not a directory, unknown `depends_on` ids, `add_dirs` that are not
    /// directories, `bypassPermissions` for a job that would run as root, and
    /// a `resume` of an unknown job, one still queued or running, one without
    /// a session or one that ran as another user), `Template`,
    /// `CapacityExceeded` when its memory or CPU cap is larger than the
    /// manager's whole budget, `SpawnFailed` when the CLI binary cannot be
    /// found, `ShuttingDown` after [`JobManager::shutdown`].
    pub async fn submit(&self, spec: JobSpec) -> Result<Job> {
        self.inner.submit(spec).await
    }

    /// The job with this id (running, queued or finished).
    ///
    /// Errors: `JobNotFound`.
    pub async fn get(&self, id: &str) -> Result<Job> {
        self.inner.get(id).await
    }

    /// One page of jobs, newest first, filtered by state, template and label
    /// in the store; running jobs of this manager with their live info.
    ///
    /// Errors: `InvalidSpec` naming `limit`, `label` or `cursor`; `Store`.
    ///
    /// ```no_run
    /// # async fn demo(m: claude_jobs::JobManager) -> claude_jobs::Result<()> {
    /// use claude_jobs::{JobState, ListQuery};
    /// let mut q = ListQuery { state: Some(JobState::Failed), ..Default::default() };
    /// loop {
    ///     let page = m.list(&q).await?;
    ///     for job in &page.jobs { println!("{} {:?}", job.id, job.error); }
    ///     match page.next_cursor { Some(c) => q.cursor = Some(c), None => break }
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn list(&self, query: &ListQuery) -> Result<JobPage> {
        self.inner.list(query).await
    }

    /// Cancels a job by id (see [`Job::cancel`]).
    ///
    /// Errors: `JobNotFound`.
    pub async fn cancel(&self, id: &str) -> Result<bool> {
        self.get(id).await?.cancel().await
    }

    /// What the manager runs with and how it is doing (see [`ManagerStatus`]).
    ///
    /// Errors: `Store` when the queue cannot be counted.
    pub async fn status(&self) -> Result<ManagerStatus> {
        self.inner.status().await
    }

    /// The instruction templates this manager knows (built-in and loaded).
    pub async fn templates(&self) -> Vec<Template> {
        self.inner.templates.iter().cloned().collect()
    }

    /// Stops taking work, lets running jobs finish for up to `drain_timeout`,
    /// then stops the rest (they end `interrupted`). Queued jobs stay queued
    /// in a durable store (a later manager runs them; their handles here do
    /// not resolve); in memory they end `interrupted`. A claim already sent
    /// to the store is waited for (up to 10 s) and its jobs end `interrupted`
    /// without starting. Idempotent.
    pub async fn shutdown(&self, drain_timeout: Duration) {
        self.inner.shutdown(drain_timeout).await
    }

    /// SIGKILLs, at once and without awaiting, every process of every job
    /// running in this manager (their process groups and cgroups). For a
    /// process that is exiting without [`shutdown`](Self::shutdown); the
    /// jobs are recovered as orphans by the next manager. Returns how many
    /// jobs were running.
    pub fn kill_running_now(&self) -> usize {
        self.inner.local.kill_now()
    }

    /// Jobs running in this manager now (also in [`status`](Self::status)).
    pub fn running(&self) -> usize {
        self.inner.local.len()
    }

    /// The concurrency limit in force.
    pub fn max_concurrent(&self) -> usize {
        self.inner.admission.max_concurrent
    }

    /// The memory budget in force, in bytes (`None`: no budget).
    pub fn memory_budget(&self) -> Option<u64> {
        self.inner.admission.budgets.memory
    }

    /// The CPU budget in force, in cores (`None`: no budget).
    pub fn cpu_budget(&self) -> Option<f64> {
        self.inner.admission.budgets.cpus
    }

    /// Why cgroups are not used, when they are not.
    pub fn isolation_error(&self) -> Option<&str> {
        self.inner.isolation.error.as_deref()
    }

    /// Whether the store answered the manager's latest calls (see [`StoreHealth`]).
    pub fn store_health(&self) -> StoreHealth {
        self.inner.store.health.get()
    }

    /// One retention pass now (tests; the manager runs one every hour).
    #[cfg(feature = "test-hooks")]
    #[doc(hidden)]
    pub async fn prune_now(&self) {
        self.inner.prune().await
    }

    /// How jobs are isolated here (`cgroup-v1`, `cgroup-v2` or `none`).
    pub fn isolation(&self) -> IsolationKind {
        self.inner.isolation_kind()
    }

    /// The data directory (absolute).
    pub fn data_dir(&self) -> &std::path::Path {
        &self.inner.opts.data_dir
    }

    /// This manager's node id in the store (`hostname-pid` unless set).
    pub fn node_id(&self) -> &str {
        &self.inner.node_id
    }

    /// The store in use, as a URL with any password redacted.
    pub fn store_url(&self) -> &str {
        &self.inner.store.name
    }
}
