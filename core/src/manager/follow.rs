//! Keeping the store and the cells in step: running jobs' events are
//! written in batches while they run; jobs held here but running on other
//! nodes (or waiting in the queue for any node) are followed from the
//! store, so that their handles' `wait()` and `events()` work here too.

use std::collections::HashMap;
use std::sync::{Arc, Weak};

use super::end::Ending;
use super::inner::every;
use super::Inner;
use crate::job::JobCell;
use crate::state::JobState;
use crate::store::JobRow;

/// Writes new events of running jobs every `event_flush_interval`.
pub(super) async fn flush_loop(weak: Weak<Inner>) {
    every(weak, |m| Some(m.opts.event_flush_interval), |m| async move {
        for r in m.local.all() {
            m.store.flush(&r.cell, &r.persisted, Some(r.lease)).await;
        }
    })
    .await
}

/// Follows jobs known here but not running here, every `poll_interval` or
/// at once on a notice.
pub(super) async fn follow_loop(weak: Weak<Inner>) {
    let interval = match weak.upgrade() {
        Some(m) if m.store.durable() => m.opts.poll_interval,
        _ => return,
    };
    // Jobs seen final in the store whose `finished` event is not stored yet.
    let mut final_seen: HashMap<String, u32> = HashMap::new();
    let mut timer = true;
    loop {
        // Goes on after shutdown: handles of jobs left queued resolve when
        // another manager runs them. Ends when the manager is dropped.
        let Some(m) = weak.upgrade() else { return };
        let wake = m.follow_wake.clone();
        let notified = wake.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        m.follow(&mut final_seen, timer).await;
        drop(m);
        timer = tokio::select! {
            _ = notified => false,
            _ = tokio::time::sleep(interval) => true,
        };
    }
}

impl Inner {
    /// One pass over the jobs this process holds handles to but does not
    /// run. A wake (a job ended here, a store notice) looks at the queued
    /// ones only when other processes run jobs from the store too: alone on
    /// it, nobody else starts them, and looking at thousands of queued
    /// handles after every job's end made each end cost O(queued) (a
    /// batch of N jobs O(N²)). The timer's pass looks at all of them (a
    /// job cancelled by a process that runs none).
    async fn follow(&self, final_seen: &mut HashMap<String, u32>, timer: bool) {
        let queued_too = timer || self.store.store.shared_with_others();
        let followed: Vec<Arc<JobCell>> = self
            .handles
            .live()
            .into_iter()
            .filter(|c| !c.is_done() && !self.local.contains(&c.id))
            .filter(|c| queued_too || c.info.lock().unwrap().state != JobState::Queued)
            .collect();
        if followed.is_empty() {
            return;
        }
        // Jobs queued here as in the store are left out by the store.
        let known: Vec<(String, Option<u32>)> = followed
            .iter()
            .map(|c| {
                let cur = c.info.lock().unwrap();
                (c.id.clone(), (cur.state == JobState::Queued).then_some(cur.attempt))
            })
            .collect();
        let rows = match self.store.store.rows(&known).await {
            Ok(r) => r,
            Err(e) => return self.store.failed("following jobs", &e),
        };
        let by_id: HashMap<&str, &Arc<JobCell>> = followed.iter().map(|c| (c.id.as_str(), c)).collect();
        for row in rows {
            if let Some(cell) = by_id.get(row.record.info.id.as_str()) {
                self.follow_one(cell, row, final_seen).await;
            }
        }
    }

    async fn follow_one(&self, cell: &JobCell, row: JobRow, final_seen: &mut HashMap<String, u32>) {
        let info = row.record.info;
        let ours = row.locked_by.as_deref() == Some(self.node_id.as_str());
        if (ours && !info.state.is_final()) || self.local.contains(&info.id) {
            return; // being started here right now
        }
        let unchanged = {
            let cur = cell.info.lock().unwrap();
            info.state == JobState::Queued && cur.state == info.state && cur.attempt == info.attempt
        };
        if unchanged {
            return; // still waiting in the queue: no new events
        }
        match self.store.store.events(&info.id, cell.events.last_seq()).await {
            Ok(evs) => evs.into_iter().for_each(|e| cell.events.push_record(e)),
            Err(e) => return self.store.failed("following events", &e),
        }
        if !info.state.is_final() {
            if !self.local.contains(&info.id) && !cell.is_done() {
                *cell.info.lock().unwrap() = info;
            }
            return;
        }
        let seen = final_seen.entry(info.id.clone()).or_insert(0);
        *seen += 1;
        // Its node writes `finished` just after the state: wait a round for it.
        if cell.events.ends_finished() || *seen >= 2 {
            final_seen.remove(&info.id);
            let id = info.id.clone();
            self.end(&id, Ending::Copied { info }).await;
        }
    }
}
