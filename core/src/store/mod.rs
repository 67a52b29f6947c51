//! Where jobs live: the [`JobStore`] trait, the queue and the record of every
//! job. The manager asks the store for work (`claim`), so a store shared by
//! several managers also shares their limits.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::events::EventRecord;
use crate::spec::JobSpec;
use crate::state::{JobInfo, JobState};

mod memory;
pub use memory::MemoryStore;

/// A job as stored: its spec and its latest info.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobRecord {
    pub info: JobInfo,
    pub spec: JobSpec,
}

/// A claimed job: the record and the lease (fencing counter) of this run.
#[derive(Debug, Clone)]
pub struct Claim {
    pub record: JobRecord,
    pub lease: u64,
}

/// Storage and queue for jobs.
#[async_trait]
pub trait JobStore: Send + Sync + std::fmt::Debug + 'static {
    /// Adds a queued job.
    async fn insert(&self, record: &JobRecord) -> Result<()>;

    /// Takes up to `n` queued jobs (highest priority first, then oldest) whose
    /// dependencies have all succeeded, marks them running for `node`, and
    /// returns them with a fresh lease.
    async fn claim(&self, node: &str, n: usize) -> Result<Vec<Claim>>;

    /// Saves the info of a job this node runs (pid, start time, …).
    async fn update(&self, info: &JobInfo, lease: u64) -> Result<()>;

    /// Records a final state. Returns false when the lease is no longer this
    /// run's (the result is stale and was not stored).
    async fn finish(&self, info: &JobInfo, lease: u64) -> Result<bool>;

    /// Ends a queued job without running it (`cancelled` or `interrupted`).
    /// Returns the final info, or `None` when the job was not queued.
    async fn end_queued(&self, id: &str, state: JobState, reason: &str) -> Result<Option<JobInfo>>;

    /// One job.
    async fn get(&self, id: &str) -> Result<Option<JobRecord>>;

    /// All jobs, oldest first.
    async fn list(&self) -> Result<Vec<JobInfo>>;

    /// Ids of queued jobs that depend on `id`.
    async fn queued_dependents(&self, id: &str) -> Result<Vec<String>>;

    /// Ids of all queued jobs.
    async fn queued(&self) -> Result<Vec<String>>;

    /// Keeps events for replay after a restart (no-op for the memory store).
    async fn append_events(&self, _id: &str, _events: &[EventRecord]) -> Result<()> {
        Ok(())
    }

    /// Stored events of a job after `after_seq`.
    async fn events(&self, _id: &str, _after_seq: u64) -> Result<Vec<EventRecord>> {
        Ok(Vec::new())
    }

    /// True when jobs survive the process (queued jobs are left queued at shutdown).
    fn is_durable(&self) -> bool {
        false
    }
}
