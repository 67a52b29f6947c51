//! [`Local`]: the one record of the attempts running on this node, with
//! their leases. Its size is the number of slots in use; a run leaves it
//! when its job ends here or goes back to the queue.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::Notify;

use crate::job::{JobCell, Stop};

/// An attempt running here.
#[derive(Debug, Clone)]
pub(super) struct LocalRun {
    pub lease: u64,
    pub cell: Arc<JobCell>,
    /// Sequence number of the last event written to the store.
    pub persisted: Arc<tokio::sync::Mutex<u64>>,
    /// Set by the heartbeat when the store no longer has this lease.
    pub lost: bool,
}

#[derive(Debug, Default)]
pub(super) struct Local {
    runs: Mutex<HashMap<String, LocalRun>>,
    /// Notified whenever a run leaves (shutdown waits on it).
    changed: Notify,
}

impl Local {
    pub fn insert(&self, run: LocalRun) {
        self.runs.lock().unwrap().insert(run.cell.id.clone(), run);
    }

    /// The run leaves (its slot is free); true when it was here.
    pub fn release(&self, id: &str) -> bool {
        let gone = self.runs.lock().unwrap().remove(id).is_some();
        self.changed.notify_waiters();
        gone
    }

    pub fn contains(&self, id: &str) -> bool {
        self.runs.lock().unwrap().contains_key(id)
    }

    pub fn len(&self) -> usize {
        self.runs.lock().unwrap().len()
    }

    pub fn get(&self, id: &str) -> Option<LocalRun> {
        self.runs.lock().unwrap().get(id).cloned()
    }

    pub fn all(&self) -> Vec<LocalRun> {
        self.runs.lock().unwrap().values().cloned().collect()
    }

    /// The leases to renew: every run not known to be lost.
    pub fn held(&self) -> Vec<(String, u64)> {
        let runs = self.runs.lock().unwrap();
        runs.iter()
            .filter(|(_, r)| !r.lost)
            .map(|(id, r)| (id.clone(), r.lease))
            .collect()
    }

    /// Marks the run of `id` at `lease` lost and stops it; false when that
    /// run is no longer here (it finished meanwhile).
    pub fn lose(&self, id: &str, lease: u64) -> bool {
        let mut runs = self.runs.lock().unwrap();
        let Some(run) = runs.get_mut(id) else { return false };
        if run.lease != lease || run.cell.state() != crate::state::JobState::Running {
            return false;
        }
        run.lost = true;
        run.cell.request_stop(Stop::LeaseLost);
        true
    }

    pub fn is_lost(&self, id: &str) -> bool {
        self.runs.lock().unwrap().get(id).is_some_and(|r| r.lost)
    }

    /// Asks every run to stop.
    pub fn stop_all(&self, why: Stop) {
        for r in self.all() {
            r.cell.request_stop(why.clone());
        }
    }

    /// Waits until no attempt runs here.
    pub async fn wait_idle(&self) {
        loop {
            let notified = self.changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.len() == 0 {
                return;
            }
            notified.await;
        }
    }

    /// SIGKILLs every running attempt's processes now (see
    /// `JobManager::kill_running_now`).
    pub fn kill_now(&self) -> usize {
        let runs = self.all();
        for r in &runs {
            r.cell.kill_now();
        }
        runs.len()
    }
}
