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
use crate::schedule::Schedule;
use crate::spec::JobSpec;
use crate::state::{JobInfo, JobState};

mod artifacts;
#[cfg(feature = "sqlite")]
mod batch;
#[cfg(feature = "sqlite")]
pub mod fork_gate;
mod list;
mod tenants;
mod memory;
mod packed;
#[cfg(feature = "postgres")]
mod postgres;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod sql;
#[cfg(feature = "sqlite")]
mod sqlite;
mod url;

pub use artifacts::{ArtifactStore, ArtifactsAt};
#[cfg(feature = "s3")]
pub use artifacts::S3Artifacts;
pub use list::{JobPage, ListQuery, StateCounts, DEFAULT_PAGE, MAX_PAGE};
pub use tenants::{Delivery, Inserted, TenantUsage, DAY_MS};
pub use memory::{MemoryStore, MEMORY_STORE_EVENT_BYTES};
#[cfg(feature = "postgres")]
pub use postgres::PgStore;
#[cfg(feature = "sqlite")]
pub use sqlite::SqliteStore;
pub use url::{check_url, open, redact_url};
#[cfg(feature = "sqlite")]
pub use sqlite::backup;

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
    /// What the job may spend (USD) when its tenant has a daily budget: no
    /// more than what was left of it at the claim, reserved while it runs.
    pub budget_cap: Option<f64>,
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

/// What a store is: where its jobs live and who shares them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreKind {
    /// In this process only: nothing survives it (queued jobs end
    /// `interrupted` at shutdown).
    Memory,
    /// A file on this host, shared by the manager processes of the host.
    Host,
    /// A database shared by managers on several machines.
    Network,
}

/// Storage and queue for jobs. Every method is required: a store that
/// cannot keep events, leases or retries is not a job store.
///
/// A job row is written only through these calls, each fenced where a
/// lease applies: a result, a requeue or an update of a run whose lease is
/// no longer current (another node took the job over) changes nothing.
#[async_trait]
pub trait JobStore: Send + Sync + std::fmt::Debug + 'static {
    /// What the store is, for logs (passwords redacted).
    fn describe(&self) -> String;

    /// Where the jobs live (see [`StoreKind`]).
    fn kind(&self) -> StoreKind;

    /// Whether other processes or nodes were running jobs from this store
    /// when it last looked (at the last claim). A finishing job then wakes
    /// its manager's next claim after a short random delay, so that the
    /// process that just finished a job does not always win the next one.
    fn shared_with_others(&self) -> bool;

    /// Notices from other processes, where the store can push them
    /// (`None`: the manager polls).
    fn notices(&self) -> Option<tokio::sync::broadcast::Receiver<StoreNotice>>;

    /// Adds a queued job with its first events, in one transaction (once
    /// the row exists another node may claim the job and number its events
    /// after the stored ones). Unless its tenant's `max_queued` is reached
    /// (counted in the same transaction), or a job of the same tenant and
    /// `idempotency_key` was submitted in the last 24 hours (that job's id
    /// comes back).
    async fn insert(&self, record: &JobRecord, events: &[EventRecord]) -> Result<Inserted>;

    /// Takes up to `n` queued jobs (highest priority first, then oldest)
    /// whose dependencies have all succeeded and that fit `opts` and their
    /// tenant's quota (`max_running`; a daily budget with something left:
    /// one such job per tenant and claim, its cap reserved), unless
    /// admissions are paused; marks them running for `node`, and returns
    /// them with a fresh lease.
    async fn claim(&self, node: &str, n: usize, opts: &ClaimOptions) -> Result<Vec<Claim>>;

    /// Renews the leases of the jobs `node` runs, matching `(id, lease)`. A
    /// job missing from the answer has lost its lease: its process must stop.
    async fn heartbeat(&self, node: &str, held: &[(String, u64)], ttl: Duration) -> Result<Vec<Held>>;

    /// Saves the info of a job this node runs (pid, isolation, …).
    async fn update(&self, info: &JobInfo, lease: u64) -> Result<()>;

    /// Records a final state, fenced by `lease` (and, with
    /// `only_if_expired`, by that lease having expired: the rescuer's
    /// re-check), with the job's webhook delivery when its spec has a
    /// `webhook_url`, in the same transaction. False when the result is
    /// stale and was not stored.
    async fn finish(&self, info: &JobInfo, lease: u64, only_if_expired: bool) -> Result<bool>;

    /// Puts a running job back in the queue, fenced by `lease`. False when
    /// the lease is no longer that run's (or, with `only_if_expired`, it is
    /// still live).
    async fn requeue(&self, id: &str, lease: u64, req: &Requeue) -> Result<bool>;

    /// Ends a queued job without running it (`cancelled` or `interrupted`),
    /// with its webhook delivery like `finish`. Returns the final info, or
    /// `None` when the job was not queued.
    async fn end_queued(&self, id: &str, state: JobState, reason: &str) -> Result<Option<JobInfo>>;

    /// Asks the node running `id` to cancel it. True when the job is running.
    async fn request_cancel(&self, id: &str) -> Result<bool>;

    /// One job.
    async fn get(&self, id: &str) -> Result<Option<JobRecord>>;

    /// Rows of these jobs, leaving out missing ids and those still queued at
    /// the attempt given (`None`: always returned): what a follower of many
    /// queued jobs polls, without decoding unchanged rows.
    async fn rows(&self, known: &[(String, Option<u32>)]) -> Result<Vec<JobRow>>;

    /// One page of jobs, newest first, filtered (see [`ListQuery`]).
    async fn list(&self, query: &ListQuery) -> Result<JobPage>;

    /// How many jobs are in each state.
    async fn counts(&self) -> Result<StateCounts>;

    /// Every running row, whichever node runs it (for the rescuer).
    async fn running(&self) -> Result<Vec<JobRow>>;

    /// Ids of queued jobs that depend on `id`.
    async fn queued_dependents(&self, id: &str) -> Result<Vec<String>>;

    /// Keeps events for replay (a record already stored is kept as is).
    async fn append_events(&self, id: &str, events: &[EventRecord]) -> Result<()>;

    /// Stored events of a job after `after_seq`.
    async fn events(&self, id: &str, after_seq: u64) -> Result<Vec<EventRecord>>;

    /// Finished jobs that ended before `before_ms`, oldest first (for retention).
    async fn finished_before(&self, before_ms: u64, limit: usize) -> Result<Vec<JobInfo>>;

    /// Deletes finished jobs and their events. Returns how many rows went.
    async fn delete(&self, ids: &[String]) -> Result<u64>;

    /// Sets a tenant's quota (every manager sharing the store applies it).
    async fn set_tenant(&self, name: &str, quota: &crate::policy::TenantQuota) -> Result<()>;

    /// A tenant's quota and what it uses now.
    async fn tenant_usage(&self, name: &str) -> Result<TenantUsage>;

    /// Pauses admissions store-wide until `until_ms` (a later pause wins).
    async fn pause(&self, until_ms: u64, reason: &str) -> Result<()>;

    /// The pause in force, if any: until when, and why.
    async fn paused_until(&self) -> Result<Option<(u64, String)>>;

    /// Up to `limit` webhook deliveries that are due, leased for `lease`
    /// (another manager does not take them meanwhile).
    async fn due_deliveries(&self, limit: usize, lease: Duration) -> Result<Vec<Delivery>>;

    /// A delivery done (`Ok`), or failed and due again at `next_at_ms`
    /// (`None`: given up), with the error.
    async fn delivery_done(&self, id: i64, result: std::result::Result<(), (Option<u64>, String)>) -> Result<()>;

    /// Adds a schedule, or replaces the one of that name (keeping its
    /// `created_ms`). Returns it as stored.
    async fn put_schedule(&self, schedule: &Schedule) -> Result<Schedule>;

    /// Deletes a schedule. True when it existed.
    async fn delete_schedule(&self, name: &str) -> Result<bool>;

    /// Every schedule, by name.
    async fn schedules(&self) -> Result<Vec<Schedule>>;

    /// Moves a schedule's `last_tick_ms` from `from_ms` to `to_ms`, only if
    /// it is still `from_ms` (another manager, or a replacement, may have
    /// moved it). True when this call moved it.
    async fn advance_schedule(&self, name: &str, from_ms: u64, to_ms: u64) -> Result<bool>;

    /// Makes what was written durable on its own (SQLite: a WAL checkpoint,
    /// so that the database file alone holds every job). The manager calls
    /// it at shutdown.
    async fn checkpoint(&self) -> Result<()>;

    /// The store's [`ArtifactStore`], for the `db` artifact store (`None`:
    /// this store cannot hold artifacts, and a manager asking for `db` with
    /// it fails to start, naming `artifact_store`).
    fn artifacts(self: std::sync::Arc<Self>) -> Option<std::sync::Arc<dyn ArtifactStore>> {
        None
    }
}
