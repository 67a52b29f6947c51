//! Leases of the jobs this node runs: one heartbeat statement renews them
//! all; a job missing from the answer has lost its lease and its process is
//! stopped at once. The answer also carries cancel requests, so a cancel
//! from another node arrives even without notifications.

use std::collections::HashSet;
use std::sync::atomic::Ordering;
use std::sync::Weak;

use tokio::sync::broadcast;

use super::ManagerInner;
use crate::job::StopReason;
use crate::store::StoreNotice;

pub(super) async fn heartbeat_loop(weak: Weak<ManagerInner>) {
    let interval = match weak.upgrade() {
        Some(m) => m.cfg.heartbeat_interval,
        None => return,
    };
    loop {
        tokio::time::sleep(interval).await;
        let Some(m) = weak.upgrade() else { return };
        if m.stopped.load(Ordering::SeqCst) {
            return;
        }
        m.heartbeat().await;
    }
}

impl ManagerInner {
    async fn heartbeat(&self) {
        let held: Vec<(String, u64)> = self
            .local
            .lock()
            .unwrap()
            .iter()
            .filter(|(_, r)| !r.lost)
            .map(|(id, r)| (id.clone(), r.lease))
            .collect();
        if held.is_empty() {
            return;
        }
        let answer = match self
            .store
            .heartbeat(&self.node_id, &held, self.cfg.lease_ttl)
            .await
        {
            Ok(a) => {
                self.health.ok(&self.store_name);
                a
            }
            Err(e) => {
                // Jobs keep running: their leases are renewed when the store is back.
                self.health.failed(&self.store_name, "renewing leases", &e);
                return;
            }
        };
        let kept: HashSet<&str> = answer.iter().map(|h| h.id.as_str()).collect();
        let mut local = self.local.lock().unwrap();
        for (id, lease) in &held {
            if kept.contains(id.as_str()) {
                continue;
            }
            // Finished meanwhile (and so gone from the store's running set)?
            let Some(run) = local.get_mut(id) else {
                continue;
            };
            if run.lease != *lease
                || run.shared.info.lock().unwrap().state != crate::JobState::Running
            {
                continue;
            }
            tracing::warn!(job_id = %id, lease, "lease lost: stopping the job's process");
            run.lost = true;
            run.shared.stop.send_replace(Some(StopReason::LeaseLost));
        }
        for h in answer.iter().filter(|h| h.cancel_requested) {
            if let Some(run) = local.get(&h.id) {
                cancel_local(&run.shared);
            }
        }
    }
}

fn cancel_local(shared: &crate::job::JobShared) {
    shared.stop.send_if_modified(|s| {
        if matches!(s, Some(StopReason::Cancel(_))) {
            return false;
        }
        *s = Some(StopReason::Cancel("cancelled by request".into()));
        true
    });
}

/// Acts on notices from other nodes (PostgreSQL LISTEN/NOTIFY).
pub(super) async fn notice_loop(
    weak: Weak<ManagerInner>,
    rx: Option<broadcast::Receiver<StoreNotice>>,
) {
    let Some(mut rx) = rx else { return };
    loop {
        let notice = rx.recv().await;
        let Some(m) = weak.upgrade() else { return };
        if m.stopped.load(Ordering::SeqCst) {
            return;
        }
        match notice {
            Ok(StoreNotice::Enqueued) => m.wake.notify_one(),
            Ok(StoreNotice::Cancel(id)) => {
                if let Some(run) = m.local.lock().unwrap().get(&id) {
                    tracing::info!(job_id = %id, "cancel requested from another node");
                    cancel_local(&run.shared);
                }
            }
            Ok(StoreNotice::Changed(_)) => m.watch_wake.notify_one(),
            Err(broadcast::error::RecvError::Lagged(_)) => {
                m.wake.notify_one();
                m.watch_wake.notify_one();
            }
            Err(broadcast::error::RecvError::Closed) => return,
        }
    }
}
