//! The manager's settings, fixed at build time.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use crate::isolation::IsolationMode;
use crate::ResourceLimits;

#[derive(Debug, Clone)]
pub(crate) struct Config {
    pub claude_bin: PathBuf,
    pub data_dir: PathBuf,
    pub isolation: IsolationMode,
    pub default_limits: ResourceLimits,
    pub default_timeout: Option<Duration>,
    pub default_idle_timeout: Option<Duration>,
    pub pass_env: Vec<String>,
    pub env: BTreeMap<String, String>,
    pub line_cap: usize,
    pub kill_grace: Duration,
    pub result_grace: Duration,
    pub monitor_interval: Duration,
    pub memory_pressure_limit: Option<Duration>,
    pub per_job_config_dir: bool,
    pub event_buffer: usize,
    pub event_buffer_bytes: usize,
    pub poll_interval: Duration,
    pub lease_ttl: Duration,
    pub heartbeat_interval: Duration,
    pub rescue_interval: Duration,
    pub event_flush_interval: Duration,
    pub recovery: super::RecoveryPolicy,
    pub retention: super::RetentionPolicy,
    pub backoff: super::policy::Backoff,
    pub node_id: Option<String>,
}

impl Config {
    /// What each job's in-memory event log holds.
    pub fn event_bound(&self) -> crate::events::Bound {
        crate::events::Bound {
            events: self.event_buffer,
            bytes: self.event_buffer_bytes,
        }
    }
}
