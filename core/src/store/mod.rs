//! Where jobs live: the [`JobStore`] trait, the queue and the record of every
//! job. The manager asks the store for work (`claim`), so a store shared by
//! several managers also shares their limits.
//!
//! Three stores: [`MemoryStore`] (tests, nothing survives the process),
//! [`SqliteStore`] (the default: one file in the data dir, shared by the
//! managers of one host) and [`PgStore`] (feature `postgres`: managers on
//! several machines). [`open`] picks one from a URL.

use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::events::EventRecord;
use crate::spec::JobSpec;
use crate::state::{JobInfo, JobState};

#[cfg(feature = "sqlite")]
mod batch;
#[cfg(feature = "sqlite")]
pub mod fork_gate;
mod memory;
mod packed;
#[cfg(feature = "postgres")]
mod postgres;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod sql;
#[cfg(feature = "sqlite")]
mod sqlite;
mod url;

pub use memory::{MemoryStore, MEMORY_STORE_EVENT_BYTES};
#[cfg(feature = "postgres")]
pub use postgres::PgStore;
#[cfg(feature = "sqlite")]
pub use sqlite::SqliteStore;
pub use url::{open, redact_url};

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

/// A job row with the queue columns the manager needs beyond the record.
#[derive(Debug, Clone)]
pub struct JobRow {
    pub record: JobRecord,
    /// The fencing counter of the latest claim (0 before the first).
    pub lease: u64,
    /// The node running it (`hostname-pid`), while running.
    pub locked_by: Option<String>,
    /// When the running node's lease ends unless renewed (Unix ms).
    pub lease_expires_at: Option<u64>,
    /// When the run must be over (start + timeout), if it has a timeout.
    pub deadline_at: Option<u64>,
    /// Set when a cancel was asked for while the job ran on some node.
    pub cancel_requested_at: Option<u64>,
    /// Attempts allowed (from the spec).
    pub max_attempts: u32,
}

/// Options of one claim.
#[derive(Debug, Clone)]
pub struct ClaimOptions {
    /// Jobs allowed to run at once across every process sharing the store
    /// (SQLite counts running rows in the claim's transaction; PostgreSQL
    /// applies the limit per node, through `n`).
    pub max_running: Option<usize>,
    /// Lease length: the node must renew it by [`JobStore::heartbeat`].
    pub lease_ttl: Duration,
    /// Memory budget in bytes: a job is claimed only when the memory caps of
    /// the running jobs plus its own fit (SQLite: every running job of the
    /// file, i.e. of the host; PostgreSQL: the claiming node's). Jobs without
    /// a memory cap count as 0.
    pub memory_budget: Option<u64>,
    /// CPU budget in cores, counted like `memory_budget` from `cpus` caps.
    pub cpu_budget: Option<f64>,
}

impl ClaimOptions {
    /// No limit, no budget, this lease length.
    pub fn new(lease_ttl: Duration) -> Self {
        ClaimOptions {
            max_running: None,
            lease_ttl,
            memory_budget: None,
            cpu_budget: None,
        }
    }

    /// How many of `queue` (ready jobs in claim order, as `(memory cap,
    /// cpu cap)`) may start now, given what running jobs hold: the longest
    /// prefix that fits. The first job that does not fit stops the claim, so
    /// a big job is not overtaken for ever by small ones behind it.
    pub fn fitting(&self, running: (u64, f64), queue: &[(u64, f64)]) -> usize {
        let (mut mem, mut cpu) = running;
        for (i, (m, c)) in queue.iter().enumerate() {
            mem = mem.saturating_add(*m);
            cpu += c;
            let mem_ok = self.memory_budget.is_none_or(|b| mem <= b);
            // A little slack so 0.1 + 0.2 fits a budget of 0.3.
            let cpu_ok = self.cpu_budget.is_none_or(|b| cpu <= b + 1e-9);
            if !(mem_ok && cpu_ok) {
                return i;
            }
        }
        queue.len()
    }
}

/// A running job whose lease a heartbeat renewed.
#[derive(Debug, Clone, PartialEq)]
pub struct Held {
    pub id: String,
    /// A cancel was asked for (from any node).
    pub cancel_requested: bool,
}

/// Puts a running job back in the queue (retry, snooze or rescue).
#[derive(Debug, Clone)]
pub struct Requeue {
    /// Not before this time (Unix ms).
    pub run_at_ms: u64,
    /// False gives the attempt back (a rate-limit snooze, a graceful release).
    pub count_attempt: bool,
    /// Why the attempt ended, kept in the job's error list.
    pub error: Option<String>,
    /// Only when the lease has expired (the rescuer's re-check under the row lock).
    pub only_if_expired: bool,
}

/// Something another process did, pushed by stores that can (PostgreSQL LISTEN/NOTIFY).
#[derive(Debug, Clone, PartialEq)]
pub enum StoreNotice {
    /// A job was queued.
    Enqueued,
    /// A cancel was asked for this job.
    Cancel(String),
    /// This job changed state (finished, requeued).
    Changed(String),
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

    /// A new job with its first events (the events first: once the row
    /// exists another node may claim the job and number its events after the
    /// stored ones). One transaction where the store has them.
    async fn insert_with_events(&self, record: &JobRecord, events: &[EventRecord]) -> Result<()> {
        self.append_events(&record.info.id, events).await?;
        self.insert(record).await
    }

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

    /// Like [`JobStore::claim`], with a lease length and a global limit.
    async fn claim_with(&self, node: &str, n: usize, _opts: &ClaimOptions) -> Result<Vec<Claim>> {
        self.claim(node, n).await
    }

    /// Renews the leases of the jobs `node` runs, matching `(id, lease)`. A
    /// job missing from the answer has lost its lease: its process must stop.
    async fn heartbeat(
        &self,
        _node: &str,
        held: &[(String, u64)],
        _ttl: Duration,
    ) -> Result<Vec<Held>> {
        Ok(held
            .iter()
            .map(|(id, _)| Held {
                id: id.clone(),
                cancel_requested: false,
            })
            .collect())
    }

    /// Puts a running job back in the queue, fenced by `lease`. False when
    /// the lease is no longer that run's (or, with `only_if_expired`, it is
    /// still live).
    async fn requeue(&self, id: &str, lease: u64, req: &Requeue) -> Result<bool> {
        let _ = (id, lease, req);
        Err(crate::Error::Store(
            "this store cannot put jobs back in the queue (retries)".into(),
        ))
    }

    /// Records a final state for a job whose owner is gone, fenced by `lease`
    /// and, with `only_if_expired`, by an expired lease.
    async fn finish_rescued(
        &self,
        info: &JobInfo,
        lease: u64,
        only_if_expired: bool,
    ) -> Result<bool> {
        let _ = only_if_expired;
        self.finish(info, lease).await
    }

    /// Asks the node running `id` to cancel it. True when the job is running.
    async fn request_cancel(&self, _id: &str) -> Result<bool> {
        Ok(false)
    }

    /// Rows of these jobs, leaving out those still queued at the attempt
    /// given (`None`: always returned) and missing ids. What a follower of
    /// many queued jobs polls: an unchanged queue costs no row decoding.
    async fn rows_changed(&self, known: &[(String, Option<u32>)]) -> Result<Vec<JobRow>> {
        let ids: Vec<String> = known.iter().map(|(id, _)| id.clone()).collect();
        let attempts: std::collections::HashMap<&str, Option<u32>> =
            known.iter().map(|(id, a)| (id.as_str(), *a)).collect();
        let mut rows = self.rows(&ids).await?;
        rows.retain(|r| {
            let info = &r.record.info;
            let queued_as_known = attempts.get(info.id.as_str()).copied().flatten()
                == Some(info.attempt)
                && info.state == JobState::Queued;
            !queued_as_known
        });
        Ok(rows)
    }

    /// Rows of these jobs (missing ids are left out).
    async fn rows(&self, ids: &[String]) -> Result<Vec<JobRow>> {
        let mut out = Vec::new();
        for id in ids {
            if let Some(record) = self.get(id).await? {
                out.push(JobRow {
                    max_attempts: record.spec.max_attempts,
                    record,
                    lease: 0,
                    locked_by: None,
                    lease_expires_at: None,
                    deadline_at: None,
                    cancel_requested_at: None,
                });
            }
        }
        Ok(out)
    }

    /// Every running row, whichever node runs it (for the rescuer).
    async fn running(&self) -> Result<Vec<JobRow>> {
        Ok(Vec::new())
    }

    /// Finished jobs that ended before `before_ms`, oldest first (for retention).
    async fn finished_before(&self, _before_ms: u64, _limit: usize) -> Result<Vec<JobInfo>> {
        Ok(Vec::new())
    }

    /// Deletes finished jobs and their events. Returns how many rows went.
    async fn delete(&self, _ids: &[String]) -> Result<u64> {
        Ok(0)
    }

    /// Whether other processes or nodes were running jobs from this store
    /// when it last looked (at the last claim). A finishing job then wakes
    /// its manager's next claim after a short random delay, so that the
    /// process that just finished a job does not always win the next one.
    fn shared_with_others(&self) -> bool {
        self.is_durable()
    }

    /// Notices from other processes, where the store can push them.
    fn notices(&self) -> Option<tokio::sync::broadcast::Receiver<StoreNotice>> {
        None
    }

    /// What the store is, for logs (passwords redacted).
    fn describe(&self) -> String {
        "memory".into()
    }
}
