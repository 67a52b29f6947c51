//! [`JobManagerBuilder`]: every option of the manager, with defaults.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use super::budget::Budgets;
use super::JobManager;
use crate::error::Result;
use crate::isolation::IsolationMode;
use crate::limits::{Concurrency, ResourceLimits};
use crate::options::{
    CpuBudget, ManagerOptions, MemoryBudget, RecoveryPolicy, RetentionPolicy, RetryBackoff,
};
use crate::store::JobStore;

/// Options for a [`JobManager`]. Start with [`JobManager::builder`].
///
/// ```no_run
/// # async fn demo() -> claude_jobs::Result<()> {
/// use std::time::Duration;
/// use claude_jobs::{Concurrency, IsolationMode, JobManager, ResourceLimits};
/// let manager = JobManager::builder()
///     .max_concurrent(Concurrency::Auto)
///     .data_dir("/var/lib/claude-jobs")
///     .isolation(IsolationMode::Required)
///     .default_limits(ResourceLimits::default().with_memory(1 << 30).with_cpus(1.0))
///     .default_timeout(Duration::from_secs(15 * 60))
///     .build()
///     .await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Default)]
pub struct JobManagerBuilder {
    pub(crate) opts: ManagerOptions,
    pub(crate) store: Option<Arc<dyn JobStore>>,
    pub(crate) policy: Option<crate::policy::Policy>,
}

impl JobManagerBuilder {
    /// How many jobs run at once (default 3; [`Concurrency::Auto`] applies the
    /// `floor((available RAM − 2 GiB) / 1.2 GiB)` rule).
    pub fn max_concurrent(mut self, n: impl Into<Concurrency>) -> Self {
        self.opts.max_concurrent = n.into();
        self
    }
    /// Memory budget for admission (default [`MemoryBudget::Auto`]: the
    /// host's available memory minus 2 GiB): a job starts only when the
    /// memory caps of the running jobs plus its own fit; a job whose cap is
    /// larger than the whole budget is refused at submit (`CapacityExceeded`).
    pub fn memory_budget(mut self, budget: MemoryBudget) -> Self {
        self.opts.memory_budget = budget;
        self
    }
    /// CPU budget for admission, counted from the jobs' `cpus` caps (default
    /// [`CpuBudget::Off`]).
    pub fn cpu_budget(mut self, budget: CpuBudget) -> Self {
        self.opts.cpu_budget = budget;
        self
    }
    /// The CLI executable (default `claude` on `PATH`).
    pub fn claude_bin(mut self, path: impl Into<PathBuf>) -> Self {
        self.opts.claude_bin = path.into();
        self
    }
    /// Where logs, working dirs and the store live (default `./claude-jobs-data`).
    pub fn data_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.opts.data_dir = dir.into();
        self
    }
    /// Whether cgroups are required, used when possible (default), or off.
    pub fn isolation(mut self, mode: IsolationMode) -> Self {
        self.opts.isolation = mode;
        self
    }
    /// Caps for jobs whose spec leaves them unset.
    pub fn default_limits(mut self, limits: ResourceLimits) -> Self {
        self.opts.default_limits = limits;
        self
    }
    /// Timeout for jobs whose spec sets none.
    pub fn default_timeout(mut self, t: Duration) -> Self {
        self.opts.default_timeout = Some(t);
        self
    }
    /// Idle timeout for jobs whose spec sets none.
    pub fn default_idle_timeout(mut self, t: Duration) -> Self {
        self.opts.default_idle_timeout = Some(t);
        self
    }
    /// Also pass this variable from the manager's environment to the CLI.
    pub fn pass_env(mut self, name: impl Into<String>) -> Self {
        self.opts.pass_env.push(name.into());
        self
    }
    /// Set a variable for every job's CLI.
    pub fn env(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.opts.env.insert(name.into(), value.into());
        self
    }
    /// Longest stdout line parsed (default 32 MiB); longer lines become warnings.
    pub fn line_cap(mut self, bytes: usize) -> Self {
        self.opts.line_cap = bytes;
        self
    }
    /// Time between SIGTERM and killing the whole cgroup (default 10 s).
    pub fn kill_grace(mut self, d: Duration) -> Self {
        self.opts.kill_grace = d;
        self
    }
    /// How long a CLI may linger after printing its result (default 5 s).
    pub fn result_grace(mut self, d: Duration) -> Self {
        self.opts.result_grace = d;
        self
    }
    /// How often a running job's counters are sampled (default 500 ms).
    pub fn monitor_interval(mut self, d: Duration) -> Self {
        self.opts.monitor_interval = d;
        self
    }
    /// Stop a job that stays under memory pressure this long (default: never;
    /// the job's timeout ends it).
    pub fn memory_pressure_limit(mut self, d: Duration) -> Self {
        self.opts.memory_pressure_limit = Some(d);
        self
    }
    /// Give each job its own `CLAUDE_CONFIG_DIR` (default true; turn off to
    /// share an OAuth login's config dir).
    pub fn per_job_config_dir(mut self, yes: bool) -> Self {
        self.opts.per_job_config_dir = yes;
        self
    }
    /// Events kept in memory per job for replay (default 10 000).
    pub fn event_buffer(mut self, n: usize) -> Self {
        self.opts.event_buffer = n;
        self
    }
    /// Bytes of events kept in memory per job for replay (default 2 MiB,
    /// counted roughly: each event's text and JSON plus its record). Past
    /// this or `event_buffer`, the oldest events are dropped from memory;
    /// those not yet written to the store (every `event_flush_interval`)
    /// are not stored either. The newest event is always kept.
    pub fn event_buffer_bytes(mut self, bytes: usize) -> Self {
        self.opts.event_buffer_bytes = bytes;
        self
    }
    /// How often the store is polled for work submitted elsewhere (default 2 s).
    pub fn poll_interval(mut self, d: Duration) -> Self {
        self.opts.poll_interval = d;
        self
    }
    /// The job store (default: SQLite in `data_dir/claude-jobs.db`).
    pub fn store(mut self, store: Arc<dyn JobStore>) -> Self {
        self.store = Some(store);
        self
    }
    /// The job store as a URL: `sqlite:///path/file.db` (a relative path is
    /// taken inside the data dir), `postgres://user:pass@host/db` (feature
    /// `postgres`; several machines share one queue) or `memory`. Default:
    /// `sqlite://<data_dir>/claude-jobs.db`. Opened (and migrated) by `build`.
    pub fn store_url(mut self, url: impl Into<String>) -> Self {
        self.opts.store_url = Some(url.into());
        self
    }
    /// Where logs and collected outputs are kept: `"local"` (the data dir,
    /// the default) or `"db"` (the job store, so that every manager sharing
    /// it serves them; see [`JobManager::read_log`](crate::JobManager::read_log)).
    pub fn artifact_store(mut self, at: impl Into<String>) -> Self {
        self.opts.artifact_store = Some(at.into());
        self
    }
    /// What becomes of jobs that were running when their manager died
    /// (default [`RecoveryPolicy::Interrupt`]).
    pub fn recovery(mut self, policy: RecoveryPolicy) -> Self {
        self.opts.recovery = policy;
        self
    }
    /// How long a node's claim on a running job lasts without a heartbeat
    /// (default 60 s). Another node rescues a job whose lease expired.
    pub fn lease_ttl(mut self, d: Duration) -> Self {
        self.opts.lease_ttl = d;
        self
    }
    /// How often the leases of running jobs are renewed (default 10 s; keep
    /// it well under the lease TTL).
    pub fn heartbeat_interval(mut self, d: Duration) -> Self {
        self.opts.heartbeat_interval = d;
        self
    }
    /// How often the store is searched for jobs whose node died (default 15 s).
    pub fn rescue_interval(mut self, d: Duration) -> Self {
        self.opts.rescue_interval = d;
        self
    }
    /// How often a running job's new events are written to the store (default 500 ms).
    pub fn event_flush_interval(mut self, d: Duration) -> Self {
        self.opts.event_flush_interval = d;
        self
    }
    /// Backoff before a retried attempt: `base · 2^(attempt−1)` with jitter,
    /// at most `max` (default 10 s, 10 min).
    pub fn retry_backoff(mut self, base: Duration, max: Duration) -> Self {
        self.opts.retry_backoff = RetryBackoff { base, max };
        self
    }
    /// How long finished jobs, logs and outputs are kept (default: jobs 30
    /// days, logs 7 days, outputs forever).
    pub fn retention(mut self, policy: RetentionPolicy) -> Self {
        self.opts.retention = policy;
        self
    }
    /// This manager's name in the store (default `hostname-pid`, then
    /// `hostname-pid-N` for further managers in the same process). Must be
    /// unique among the live managers sharing a store; a manager started
    /// with the id of one that died takes over (recovers) its running jobs.
    pub fn node_id(mut self, id: impl Into<String>) -> Self {
        self.opts.node_id = Some(id.into());
        self
    }
    /// Load instruction templates (`*.md`) from this folder, besides the
    /// built-in `brand-data`, `brief` and `draft` (a template with the same
    /// name replaces the built-in one). Repeatable.
    pub fn templates_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.opts.templates_dir.push(dir.into());
        self
    }
    /// Make the manager the child subreaper of its process (default true).
    pub fn child_subreaper(mut self, yes: bool) -> Self {
        self.opts.child_subreaper = yes;
        self
    }

    /// All options at once (what the bindings read with [`crate::wire`]).
    pub fn options(mut self, opts: ManagerOptions) -> Self {
        self.opts = opts;
        self
    }
    /// The policy specs are checked against (see [`crate::Policy`]); its
    /// tenants' quotas are written to the store at start.
    pub fn policy(mut self, policy: crate::policy::Policy) -> Self {
        self.policy = Some(policy);
        self
    }
    /// The key that signs webhook deliveries.
    pub fn webhook_secret(mut self, secret: impl Into<String>) -> Self {
        self.opts.webhook_secret = Some(crate::options::Secret(secret.into()));
        self
    }
    /// Largest output file collected from a job (default 64 MiB).
    pub fn max_output_bytes(mut self, bytes: u64) -> Self {
        self.opts.max_output_bytes = bytes;
        self
    }

    /// Checks the options, prepares the data dir and cgroups (sweeping groups
    /// left by a manager that died) and starts the admission loop. Must be
    /// called inside a tokio runtime.
    ///
    /// Errors: `InvalidSpec` naming the option; `Isolation` when
    /// `IsolationMode::Required` and cgroups cannot be used here.
    pub async fn build(self) -> Result<JobManager> {
        self.opts.validate()?;
        let budgets = Budgets::resolve(&self.opts)?;
        budgets.check(&self.opts.default_limits).map_err(|e| match e {
            crate::error::Error::CapacityExceeded { field, reason } => {
                crate::error::Error::invalid(format!("default_limits.{field}"), reason)
            }
            other => other,
        })?;
        JobManager::start(self, budgets).await
    }
}
