//! Leases of the jobs this node runs: one heartbeat statement renews them
//! all; a job missing from the answer has lost its lease and its process is
//! stopped at once. The answer also carries cancel requests, so a cancel
//! from another node arrives even without notifications. Notices (where the
//! store pushes them) wake admission, cancels and followers at once.

use std::collections::HashSet;
use std::sync::Weak;

use tokio::sync::broadcast;

use super::inner::every;
use super::Inner;
use crate::job::Stop;
use crate::store::StoreNotice;

pub(super) async fn heartbeat_loop(weak: Weak<Inner>) {
    every(weak, |m| Some(m.opts.heartbeat_interval), |m| async move { m.heartbeat().await }).await
}

impl Inner {
    async fn heartbeat(&self) {
        let held = self.local.held();
        if held.is_empty() {
            return;
        }
        let answer = match self.store.store.heartbeat(&self.node_id, &held, self.opts.lease_ttl).await {
            Ok(a) => {
                self.store.ok();
                a
            }
            // Jobs keep running: their leases are renewed when the store is back.
            Err(e) => return self.store.failed("renewing leases", &e),
        };
        let kept: HashSet<&str> = answer.iter().map(|h| h.id.as_str()).collect();
        for (id, lease) in &held {
            if !kept.contains(id.as_str()) && self.local.lose(id, *lease) {
                tracing::warn!(job_id = %id, lease, "lease lost: stopping the job's process");
            }
        }
        for h in answer.iter().filter(|h| h.cancel_requested) {
            if let Some(run) = self.local.get(&h.id) {
                run.cell.request_stop(Stop::Cancel("cancelled by request".into()));
            }
        }
    }
}

/// Acts on notices from other nodes (PostgreSQL LISTEN/NOTIFY).
pub(super) async fn notice_loop(weak: Weak<Inner>, rx: Option<broadcast::Receiver<StoreNotice>>) {
    let Some(mut rx) = rx else { return };
    loop {
        let notice = rx.recv().await;
        let Some(m) = weak.upgrade() else { return };
        if m.is_stopped() {
            return;
        }
        match notice {
            Ok(StoreNotice::Enqueued) => m.admission.wake.notify_one(),
            Ok(StoreNotice::Cancel(id)) => {
                if let Some(run) = m.local.get(&id) {
                    tracing::info!(job_id = %id, "cancel requested from another node");
                    run.cell.request_stop(Stop::Cancel("cancelled by request".into()));
                }
            }
            Ok(StoreNotice::Changed(_)) => m.follow_wake.notify_one(),
            Err(broadcast::error::RecvError::Lagged(_)) => {
                m.admission.wake.notify_one();
                m.follow_wake.notify_one();
            }
            Err(broadcast::error::RecvError::Closed) => return,
        }
    }
}
