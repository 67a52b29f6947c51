//! [`ManagerStatus`]: what a manager runs with and how it is doing.

use std::path::PathBuf;

use serde::Serialize;

use super::health::StoreHealth;
use super::Inner;
use crate::error::Result;
use crate::state::{IsolationKind, JobState};

/// A snapshot of a manager, from [`crate::JobManager::status`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ManagerStatus {
    /// Jobs running in this manager now.
    pub running: usize,
    /// Jobs queued in the store (for every manager sharing it).
    pub queued: u64,
    /// The concurrency limit in force.
    pub max_concurrent: usize,
    /// How jobs are isolated here.
    pub isolation: IsolationKind,
    /// Why cgroups are not used, when they are not.
    pub isolation_error: Option<String>,
    /// The store, as a URL with any password redacted.
    pub store_url: String,
    /// Whether the store answered the manager's latest calls.
    pub store_health: StoreHealth,
    /// This manager's name in the store.
    pub node_id: String,
    /// The memory budget in bytes (`None`: no budget).
    pub memory_budget: Option<u64>,
    /// The CPU budget in cores (`None`: no budget).
    pub cpu_budget: Option<f64>,
    /// The data directory (absolute).
    pub data_dir: PathBuf,
    /// `shutdown` was called.
    pub shutting_down: bool,
    /// Admissions are paused store-wide (the API rate-limited a job)
    /// until this time (Unix ms), for this reason.
    pub paused_until_ms: Option<u64>,
    pub paused_reason: Option<String>,
}

impl Inner {
    pub(super) async fn status(&self) -> Result<ManagerStatus> {
        let counts = self.store.store.counts().await?;
        let paused = self.store.store.paused_until().await?;
        Ok(ManagerStatus {
            running: self.local.len(),
            queued: counts.get(&JobState::Queued).copied().unwrap_or(0),
            max_concurrent: self.admission.max_concurrent,
            isolation: self.isolation_kind(),
            isolation_error: self.isolation.error.clone(),
            store_url: self.store.name.clone(),
            store_health: self.store.health.get(),
            node_id: self.node_id.clone(),
            memory_budget: self.admission.budgets.memory,
            cpu_budget: self.admission.budgets.cpus,
            data_dir: self.opts.data_dir.clone(),
            shutting_down: self.admission.is_shutting_down(),
            paused_until_ms: paused.as_ref().map(|(u, _)| *u),
            paused_reason: paused.map(|(_, r)| r),
        })
    }
}
