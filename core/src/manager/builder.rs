//! [`JobManagerBuilder`]: every option of the manager, with defaults.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use super::{Config, JobManager};
use crate::claude::DEFAULT_PASS_ENV;
use crate::error::{Error, Result};
use crate::isolation::IsolationMode;
use crate::limits::Concurrency;
use crate::store::JobStore;
use crate::ResourceLimits;

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
#[derive(Debug)]
pub struct JobManagerBuilder {
    pub(crate) cfg: Config,
    pub(crate) concurrency: Concurrency,
    pub(crate) store: Option<Arc<dyn JobStore>>,
    pub(crate) subreaper: bool,
    pub(crate) template_dirs: Vec<PathBuf>,
}

impl Default for JobManagerBuilder {
    fn default() -> Self {
        JobManagerBuilder {
            cfg: Config {
                claude_bin: PathBuf::from("claude"),
                data_dir: PathBuf::from("claude-jobs-data"),
                isolation: IsolationMode::Auto,
                default_limits: ResourceLimits::default(),
                default_timeout: None,
                default_idle_timeout: None,
                pass_env: DEFAULT_PASS_ENV.iter().map(|s| s.to_string()).collect(),
                env: BTreeMap::new(),
                line_cap: 32 << 20,
                kill_grace: Duration::from_secs(10),
                result_grace: Duration::from_secs(5),
                monitor_interval: Duration::from_millis(500),
                memory_pressure_limit: None,
                per_job_config_dir: true,
                event_buffer: 10_000,
                poll_interval: Duration::from_secs(2),
            },
            concurrency: Concurrency::Fixed(3),
            store: None,
            subreaper: true,
            template_dirs: Vec::new(),
        }
    }
}

impl JobManagerBuilder {
    /// How many jobs run at once (default 3; [`Concurrency::Auto`] applies the
    /// `floor((available RAM − 2 GiB) / 1.2 GiB)` rule).
    pub fn max_concurrent(mut self, n: impl Into<Concurrency>) -> Self {
        self.concurrency = n.into();
        self
    }
    /// The CLI executable (default `claude` on `PATH`).
    pub fn claude_bin(mut self, path: impl Into<PathBuf>) -> Self {
        self.cfg.claude_bin = path.into();
        self
    }
    /// Where logs, working dirs and the store live (default `./claude-jobs-data`).
    pub fn data_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.cfg.data_dir = dir.into();
        self
    }
    /// Whether cgroups are required, used when possible (default), or off.
    pub fn isolation(mut self, mode: IsolationMode) -> Self {
        self.cfg.isolation = mode;
        self
    }
    /// Caps for jobs whose spec leaves them unset.
    pub fn default_limits(mut self, limits: ResourceLimits) -> Self {
        self.cfg.default_limits = limits;
        self
    }
    /// Timeout for jobs whose spec sets none.
    pub fn default_timeout(mut self, t: Duration) -> Self {
        self.cfg.default_timeout = Some(t);
        self
    }
    /// Idle timeout for jobs whose spec sets none.
    pub fn default_idle_timeout(mut self, t: Duration) -> Self {
        self.cfg.default_idle_timeout = Some(t);
        self
    }
    /// Also pass this variable from the manager's environment to the CLI.
    pub fn pass_env(mut self, name: impl Into<String>) -> Self {
        self.cfg.pass_env.push(name.into());
        self
    }
    /// Set a variable for every job's CLI.
    pub fn env(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.cfg.env.insert(name.into(), value.into());
        self
    }
    /// Longest stdout line parsed (default 32 MiB); longer lines become warnings.
    pub fn line_cap(mut self, bytes: usize) -> Self {
        self.cfg.line_cap = bytes;
        self
    }
    /// Time between SIGTERM and killing the whole cgroup (default 10 s).
    pub fn kill_grace(mut self, d: Duration) -> Self {
        self.cfg.kill_grace = d;
        self
    }
    /// How long a CLI may linger after printing its result (default 5 s).
    pub fn result_grace(mut self, d: Duration) -> Self {
        self.cfg.result_grace = d;
        self
    }
    /// How often a running job's counters are sampled (default 500 ms).
    pub fn monitor_interval(mut self, d: Duration) -> Self {
        self.cfg.monitor_interval = d;
        self
    }
    /// Stop a job that stays under memory pressure this long (default: never;
    /// the job's timeout ends it).
    pub fn memory_pressure_limit(mut self, d: Duration) -> Self {
        self.cfg.memory_pressure_limit = Some(d);
        self
    }
    /// Give each job its own `CLAUDE_CONFIG_DIR` (default true; turn off to
    /// share an OAuth login's config dir).
    pub fn per_job_config_dir(mut self, yes: bool) -> Self {
        self.cfg.per_job_config_dir = yes;
        self
    }
    /// Events kept in memory per job for replay (default 10 000).
    pub fn event_buffer(mut self, n: usize) -> Self {
        self.cfg.event_buffer = n;
        self
    }
    /// How often the store is polled for work submitted elsewhere (default 2 s).
    pub fn poll_interval(mut self, d: Duration) -> Self {
        self.cfg.poll_interval = d;
        self
    }
    /// The job store (default: in memory).
    pub fn store(mut self, store: Arc<dyn JobStore>) -> Self {
        self.store = Some(store);
        self
    }
    /// Load instruction templates (`*.md`) from this folder, besides the
    /// built-in `brand-data`, `brief` and `draft` (a template with the same
    /// name replaces the built-in one). Repeatable.
    pub fn templates_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.template_dirs.push(dir.into());
        self
    }
    /// Make the manager the child subreaper of its process (default true).
    pub fn child_subreaper(mut self, yes: bool) -> Self {
        self.subreaper = yes;
        self
    }

    /// Checks the options, prepares the data dir and cgroups (sweeping groups
    /// left by a manager that died) and starts the admission loop. Must be
    /// called inside a tokio runtime.
    ///
    /// Errors: `InvalidSpec` naming the option; `Isolation` when
    /// `IsolationMode::Required` and cgroups cannot be used here.
    pub async fn build(self) -> Result<JobManager> {
        if let crate::Concurrency::Fixed(0) = self.concurrency {
            return Err(Error::invalid("max_concurrent", "must be at least 1"));
        }
        if self.cfg.line_cap < 1024 {
            return Err(Error::invalid("line_cap", "must be at least 1024 bytes"));
        }
        self.cfg.default_limits.validate(crate::host::cpu_count())?;
        JobManager::start(self).await
    }
}
