//! [`ManagerOptions`]: every option of a [`crate::JobManager`], one serde
//! definition for the builder, the bindings (through [`crate::wire`]) and
//! configuration files, with a synchronous [`ManagerOptions::validate`].

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize};

use crate::error::{Error, Result};
use crate::isolation::IsolationMode;
use crate::limits::{Concurrency, ResourceLimits};
use crate::units::check_duration;

mod budget;
mod policy;

pub use budget::{CpuBudget, MemoryBudget, MEMORY_RESERVE_BYTES};
pub use policy::{RecoveryPolicy, RetentionPolicy, RetryBackoff};

/// The options of a job manager. Every field has a default; read them from
/// JSON with [`crate::wire::from_value`], or set them with
/// [`crate::JobManagerBuilder`].
///
/// ```
/// use claude_jobs::{wire::{from_value, Style}, ManagerOptions};
/// let o: ManagerOptions = from_value(
///     serde_json::json!({"max_concurrent": "auto", "kill_grace": 5, "default_limits": {"memory": "1G"}}),
///     Style::Snake,
/// )?;
/// o.validate()?;
/// assert_eq!(o.kill_grace, std::time::Duration::from_secs(5));
/// # Ok::<(), claude_jobs::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ManagerOptions {
    /// The CLI executable (default `claude` on `PATH`).
    pub claude_bin: PathBuf,
    /// Where logs, working dirs and the default store live (default `./claude-jobs-data`).
    pub data_dir: PathBuf,
    /// Jobs at once (default 3; `"auto"`: `floor((available RAM − 2 GiB) / 1.2 GiB)`).
    pub max_concurrent: Concurrency,
    /// Whether cgroups are required, used when possible (default), or off.
    pub isolation: IsolationMode,
    /// Admission by the running jobs' memory caps (default `"auto"`).
    pub memory_budget: MemoryBudget,
    /// Admission by the running jobs' CPU caps (default `"off"`).
    pub cpu_budget: CpuBudget,
    /// Caps for jobs whose spec leaves them unset.
    pub default_limits: ResourceLimits,
    /// Timeout for jobs whose spec sets none.
    #[serde(with = "crate::units::opt_duration")]
    pub default_timeout: Option<Duration>,
    /// Idle timeout (no output) for jobs whose spec sets none.
    #[serde(with = "crate::units::opt_duration")]
    pub default_idle_timeout: Option<Duration>,
    /// Variables set for every job's CLI.
    pub env: BTreeMap<String, String>,
    /// More variables passed through from the manager's environment, besides
    /// [`crate::DEFAULT_PASS_ENV`].
    pub pass_env: Vec<String>,
    /// Longest stdout line parsed (default 32 MiB, at least 1024); longer
    /// lines become warnings.
    pub line_cap: usize,
    /// Largest output file collected from a job (default 64 MiB); a larger
    /// one is cut there, with a warning event.
    pub max_output_bytes: u64,
    /// Time between SIGTERM and killing the job's whole cgroup (default 10 s).
    #[serde(with = "crate::units::duration")]
    pub kill_grace: Duration,
    /// How long a CLI may linger after printing its result (default 5 s).
    #[serde(with = "crate::units::duration")]
    pub result_grace: Duration,
    /// How often a running job's counters are sampled (default 500 ms).
    #[serde(with = "crate::units::duration")]
    pub monitor_interval: Duration,
    /// Stop a job that stays under memory pressure this long (default: never).
    #[serde(with = "crate::units::opt_duration")]
    pub memory_pressure_limit: Option<Duration>,
    /// Give each job its own `CLAUDE_CONFIG_DIR` (default true).
    pub per_job_config_dir: bool,
    /// Events kept in memory per job for replay (default 10 000, at least 16).
    pub event_buffer: usize,
    /// Bytes of events kept in memory per job for replay (default 2 MiB).
    pub event_buffer_bytes: usize,
    /// Extra instruction-template folders (one path or a list).
    #[serde(deserialize_with = "one_or_many")]
    pub templates_dir: Vec<PathBuf>,
    /// Make the manager the child subreaper of its process (default true).
    pub child_subreaper: bool,
    /// The job store: `sqlite:///path/file.db`, `postgres://…` or `memory`
    /// (default: SQLite in the data dir).
    pub store_url: Option<String>,
    /// Where jobs' logs and collected outputs are kept for every manager
    /// sharing the store: `"local"` (the data dir, the default: each machine
    /// serves only what it ran) or `"db"` (the job store, in chunks; logs
    /// uploaded while the job runs), so that any replica serves them.
    pub artifact_store: Option<String>,
    /// What becomes of jobs whose manager died (default `"interrupt"`).
    pub recovery: RecoveryPolicy,
    /// How often the store is polled for work submitted elsewhere (default 2 s).
    #[serde(with = "crate::units::duration")]
    pub poll_interval: Duration,
    /// How long a claim lasts without a heartbeat (default 60 s).
    #[serde(with = "crate::units::duration")]
    pub lease_ttl: Duration,
    /// How often running jobs' leases are renewed (default 10 s).
    #[serde(with = "crate::units::duration")]
    pub heartbeat_interval: Duration,
    /// How often the store is searched for orphaned jobs (default 15 s).
    #[serde(with = "crate::units::duration")]
    pub rescue_interval: Duration,
    /// How often running jobs' events are written to the store (default 500 ms).
    #[serde(with = "crate::units::duration")]
    pub event_flush_interval: Duration,
    /// Backoff before a retried attempt.
    pub retry_backoff: RetryBackoff,
    /// How long finished jobs, logs and outputs are kept.
    pub retention: RetentionPolicy,
    /// This manager's name in the store (default `hostname-pid`).
    pub node_id: Option<String>,
    /// The policy specs are checked against before they are queued:
    /// `"safe"` (the built-in one the services use by default: see
    /// [`crate::Policy::safe`]) or the path of a policy YAML file. Default:
    /// none (every spec the library accepts).
    pub policy: Option<String>,
    /// The key of the HMAC-SHA256 signature of webhook deliveries
    /// (`X-Claude-Jobs-Signature: sha256=…`); deliveries are not signed
    /// without one.
    pub webhook_secret: Option<Secret>,
}

/// A secret option: never shown by `Debug` or serialized in clear.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

impl Serialize for Secret {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str("***")
    }
}

impl Default for ManagerOptions {
    fn default() -> Self {
        ManagerOptions {
            claude_bin: PathBuf::from("claude"),
            data_dir: PathBuf::from("claude-jobs-data"),
            max_concurrent: Concurrency::Fixed(3),
            isolation: IsolationMode::Auto,
            memory_budget: MemoryBudget::Auto,
            cpu_budget: CpuBudget::Off,
            default_limits: ResourceLimits::default(),
            default_timeout: None,
            default_idle_timeout: None,
            env: BTreeMap::new(),
            pass_env: Vec::new(),
            line_cap: 32 << 20,
            max_output_bytes: 64 << 20,
            kill_grace: Duration::from_secs(10),
            result_grace: Duration::from_secs(5),
            monitor_interval: Duration::from_millis(500),
            memory_pressure_limit: None,
            per_job_config_dir: true,
            event_buffer: 10_000,
            event_buffer_bytes: 2 << 20,
            templates_dir: Vec::new(),
            child_subreaper: true,
            store_url: None,
            artifact_store: None,
            recovery: RecoveryPolicy::Interrupt,
            poll_interval: Duration::from_secs(2),
            lease_ttl: Duration::from_secs(60),
            heartbeat_interval: Duration::from_secs(10),
            rescue_interval: Duration::from_secs(15),
            event_flush_interval: Duration::from_millis(500),
            retry_backoff: RetryBackoff::default(),
            retention: RetentionPolicy::default(),
            node_id: None,
            policy: None,
            webhook_secret: None,
        }
    }
}

impl ManagerOptions {
    /// Checks every option, the default caps against this host too; the
    /// error names the first bad one (`default_limits.cpus`,
    /// `heartbeat_interval`, …).
    pub fn validate(&self) -> Result<()> {
        if self.max_concurrent == Concurrency::Fixed(0) {
            return Err(Error::invalid("max_concurrent", "must be at least 1"));
        }
        if self.line_cap < 1024 {
            return Err(Error::invalid("line_cap", "must be at least 1024 bytes"));
        }
        if self.event_buffer < 16 {
            return Err(Error::invalid("event_buffer", "must be at least 16 events"));
        }
        if self.max_output_bytes == 0 {
            return Err(Error::invalid("max_output_bytes", "must be at least 1 byte"));
        }
        self.default_limits
            .validate(crate::host::cpu_count())
            .map_err(|e| nested("default_limits", e))?;
        self.memory_budget.validate()?;
        self.cpu_budget.validate()?;
        self.check_durations()?;
        self.check_text()
    }

    fn check_durations(&self) -> Result<()> {
        for (name, d) in [
            ("kill_grace", self.kill_grace),
            ("result_grace", self.result_grace),
        ] {
            check_duration(name, d, false)?;
        }
        for (name, d) in [
            ("monitor_interval", Some(self.monitor_interval)),
            ("poll_interval", Some(self.poll_interval)),
            ("rescue_interval", Some(self.rescue_interval)),
            ("event_flush_interval", Some(self.event_flush_interval)),
            ("lease_ttl", Some(self.lease_ttl)),
            ("default_timeout", self.default_timeout),
            ("default_idle_timeout", self.default_idle_timeout),
            ("memory_pressure_limit", self.memory_pressure_limit),
            ("retry_backoff.base", Some(self.retry_backoff.base)),
            ("retry_backoff.max", Some(self.retry_backoff.max)),
        ] {
            if let Some(d) = d {
                check_duration(name, d, true)?;
            }
        }
        if self.lease_ttl < Duration::from_millis(100) {
            return Err(Error::invalid("lease_ttl", "must be at least 100 ms"));
        }
        if self.heartbeat_interval.is_zero() || self.heartbeat_interval >= self.lease_ttl {
            return Err(Error::invalid(
                "heartbeat_interval",
                "must be shorter than the lease TTL",
            ));
        }
        if self.retry_backoff.max < self.retry_backoff.base {
            return Err(Error::invalid("retry_backoff.max", "must not be less than base"));
        }
        Ok(())
    }

    fn check_text(&self) -> Result<()> {
        for (k, v) in &self.env {
            if k.is_empty() || k.contains(['=', '\0']) || v.contains('\0') {
                return Err(Error::invalid("env", format!("bad variable {k:?}")));
            }
        }
        if let Some(n) = self.pass_env.iter().find(|n| n.is_empty() || n.contains(['=', '\0'])) {
            return Err(Error::invalid("pass_env", format!("bad variable name {n:?}")));
        }
        if let Some(id) = &self.node_id {
            if id.trim().is_empty() || id.contains('\0') {
                return Err(Error::invalid("node_id", "must be a non-empty name without NUL"));
            }
        }
        if let Some(url) = &self.store_url {
            crate::store::check_url(url)?;
        }
        if let Some(a) = &self.artifact_store {
            crate::store::ArtifactsAt::parse(a)?;
        }
        for (field, p) in [("claude_bin", &self.claude_bin), ("data_dir", &self.data_dir)] {
            if p.as_os_str().is_empty() || p.to_string_lossy().contains('\0') {
                return Err(Error::invalid(field, "must be a non-empty path without NUL"));
            }
        }
        Ok(())
    }
}

impl ManagerOptions {
    /// What each job's in-memory event log holds.
    pub(crate) fn event_bound(&self) -> crate::events::Bound {
        crate::events::Bound {
            events: self.event_buffer,
            bytes: self.event_buffer_bytes,
        }
    }

    /// The variables passed through from the manager's environment.
    pub(crate) fn passed_env(&self) -> impl Iterator<Item = &str> {
        crate::claude::DEFAULT_PASS_ENV
            .iter()
            .copied()
            .chain(self.pass_env.iter().map(String::as_str))
    }
}

/// `default_limits.cpus` for an error about `cpus` inside `default_limits`.
fn nested(parent: &str, e: Error) -> Error {
    match e {
        Error::InvalidSpec { field, reason } => Error::InvalidSpec {
            field: format!("{parent}.{field}"),
            reason,
        },
        other => other,
    }
}

/// One path or a list of paths.
fn one_or_many<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<Vec<PathBuf>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        One(PathBuf),
        Many(Vec<PathBuf>),
    }
    Ok(match Raw::deserialize(d)? {
        Raw::One(p) => vec![p],
        Raw::Many(v) => v,
    })
}

#[cfg(test)]
mod tests;
