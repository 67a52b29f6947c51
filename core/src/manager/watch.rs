//! Keeping the store and the handles in step: running jobs' events are
//! written in batches while they run; jobs that run on other nodes (or wait
//! in the queue for any node) are followed from the store, so their
//! handles' `wait()` and `events()` work here too.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};

use super::ManagerInner;
use crate::job::JobShared;

/// Writes new events of running jobs every `event_flush_interval`.
pub(super) async fn flush_loop(weak: Weak<ManagerInner>) {
    let interval = match weak.upgrade() {
        Some(m) => m.cfg.event_flush_interval,
        None => return,
    };
    loop {
        tokio::time::sleep(interval).await;
        let Some(m) = weak.upgrade() else { return };
        if m.stopped.load(Ordering::SeqCst) {
            return;
        }
        let runs: Vec<_> = m.local.lock().unwrap().values().cloned().collect();
        for r in runs {
            m.flush_events(&r.shared, &r.persisted, Some(r.lease)).await;
        }
    }
}

/// Follows jobs known here but not running here, every `poll_interval` or
/// at once on a notice.
pub(super) async fn follow_loop(weak: Weak<ManagerInner>) {
    let interval = match weak.upgrade() {
        Some(m) if m.store.is_durable() => m.cfg.poll_interval,
        _ => return,
    };
    // Jobs seen final in the store whose `finished` event is not stored yet.
    let mut final_seen: HashMap<String, u32> = HashMap::new();
    loop {
        // Goes on after shutdown: handles of jobs left queued resolve when
        // another manager runs them. Ends when the manager is dropped.
        let Some(m) = weak.upgrade() else { return };
        let wake = m.watch_wake.clone();
        let notified = wake.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        m.follow(&mut final_seen).await;
        drop(m);
        tokio::select! {
            _ = notified => {}
            _ = tokio::time::sleep(interval) => {}
        }
    }
}

impl ManagerInner {
    async fn follow(&self, final_seen: &mut HashMap<String, u32>) {
        let followed: Vec<Arc<JobShared>> = {
            let local = self.local.lock().unwrap();
            self.jobs
                .live()
                .into_iter()
                .filter(|s| !*s.done.borrow() && !local.contains_key(&s.id))
                .collect()
        };
        if followed.is_empty() {
            return;
        }
        // Jobs queued here as in the store are left out by the store.
        let known: Vec<(String, Option<u32>)> = followed
            .iter()
            .map(|s| {
                let cur = s.info.lock().unwrap();
                let queued = cur.state == crate::JobState::Queued;
                (s.id.clone(), queued.then_some(cur.attempt))
            })
            .collect();
        let rows = match self.store.rows_changed(&known).await {
            Ok(r) => r,
            Err(e) => {
                self.health.failed(&self.store_name, "following jobs", &e);
                return;
            }
        };
        let by_id: HashMap<&str, &Arc<JobShared>> =
            followed.iter().map(|s| (s.id.as_str(), s)).collect();
        for row in rows {
            let info = row.record.info;
            let Some(shared) = by_id.get(info.id.as_str()) else {
                continue;
            };
            let ours = row.locked_by.as_deref() == Some(self.node_id.as_str());
            if ours && !info.state.is_final() {
                continue; // being started here right now
            }
            if self.local.lock().unwrap().contains_key(&info.id) {
                continue;
            }
            let unchanged = {
                let cur = shared.info.lock().unwrap();
                info.state == crate::JobState::Queued
                    && cur.state == info.state
                    && cur.attempt == info.attempt
            };
            if unchanged {
                continue; // still waiting in the queue: no new events
            }
            match self.store.events(&info.id, shared.events.last_seq()).await {
                Ok(evs) => {
                    for e in evs {
                        shared.events.push_record(e);
                    }
                }
                Err(e) => {
                    self.health.failed(&self.store_name, "following events", &e);
                    continue;
                }
            }
            if info.state.is_final() {
                let seen = final_seen.entry(info.id.clone()).or_insert(0);
                *seen += 1;
                // Its node writes `finished` just after the state: wait a round for it.
                if shared.events.ends_finished() || *seen >= 2 {
                    final_seen.remove(&info.id);
                    shared.finalize_copied(info);
                    self.changed.notify_waiters();
                }
            } else {
                // Under the local lock: a claim here makes the job local first.
                let local = self.local.lock().unwrap();
                if !local.contains_key(&info.id) && !*shared.done.borrow() {
                    *shared.info.lock().unwrap() = info;
                }
            }
        }
    }
}
