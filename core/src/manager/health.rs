//! [`StoreHealth`]: whether the manager's last store calls worked.

use std::sync::Mutex;

use crate::util::now_ms;

/// The state of the manager's connection to its store. While unhealthy the
/// manager keeps its running jobs alive, retries storing their results, and
/// claims nothing new.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct StoreHealth {
    /// False after a failed store call, until one succeeds.
    pub healthy: bool,
    /// The latest failure (kept after recovery, for diagnosis).
    pub last_error: Option<String>,
    /// When `healthy` last changed (Unix ms).
    pub since_ms: u64,
    /// How many times the store went from healthy to failing.
    pub outages: u64,
}

#[derive(Debug)]
pub(super) struct Health(Mutex<StoreHealth>);

impl Health {
    pub(crate) fn new() -> Self {
        Health(Mutex::new(StoreHealth {
            healthy: true,
            last_error: None,
            since_ms: now_ms(),
            outages: 0,
        }))
    }

    pub(crate) fn get(&self) -> StoreHealth {
        self.0.lock().unwrap().clone()
    }

    pub(crate) fn ok(&self, store: &str) {
        let mut g = self.0.lock().unwrap();
        if !g.healthy {
            g.healthy = true;
            g.since_ms = now_ms();
            tracing::warn!(store, "the job store is reachable again");
        }
    }

    pub(crate) fn failed(&self, store: &str, what: &str, err: &crate::Error) {
        let mut g = self.0.lock().unwrap();
        g.last_error = Some(format!("{what}: {err}"));
        if g.healthy {
            g.healthy = false;
            g.since_ms = now_ms();
            g.outages += 1;
            tracing::error!(store, error = %err, "job store failure while {what}; running jobs go on");
        } else {
            tracing::debug!(store, error = %err, "job store still failing ({what})");
        }
    }
}
