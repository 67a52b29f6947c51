//! Retention: finished jobs (rows, events, log dirs), logs and outputs are
//! deleted after the days of the [`RetentionPolicy`](super::RetentionPolicy).
//! Runs a minute after start-up, then every hour.

use std::sync::atomic::Ordering;
use std::sync::Weak;
use std::time::{Duration, SystemTime};

use super::ManagerInner;
use crate::util::now_ms;

const DAY_MS: u64 = 24 * 3600 * 1000;
const BATCH: usize = 500;

pub(super) async fn retention_loop(weak: Weak<ManagerInner>) {
    let mut wait = Duration::from_secs(60);
    loop {
        tokio::time::sleep(wait).await;
        wait = Duration::from_secs(3600);
        let Some(m) = weak.upgrade() else { return };
        if m.stopped.load(Ordering::SeqCst) {
            return;
        }
        m.prune().await;
    }
}

impl ManagerInner {
    /// One retention pass.
    pub(super) async fn prune(&self) {
        let r = self.cfg.retention;
        let now = now_ms();
        if let Some(days) = r.outputs_days {
            let cutoff = now.saturating_sub(days as u64 * DAY_MS);
            if let Ok(old) = self.store.finished_before(cutoff, 10_000).await {
                for info in old {
                    for out in &info.outputs {
                        let _ = std::fs::remove_file(out);
                    }
                }
            }
        }
        if r.logs_days > 0 {
            self.prune_logs(now.saturating_sub(r.logs_days as u64 * DAY_MS))
                .await;
        }
        if r.jobs_days > 0 {
            let cutoff = now.saturating_sub(r.jobs_days as u64 * DAY_MS);
            loop {
                let old = match self.store.finished_before(cutoff, BATCH).await {
                    Ok(o) if !o.is_empty() => o,
                    Ok(_) => break,
                    Err(e) => return self.health.failed(&self.store_name, "pruning old jobs", &e),
                };
                let ids: Vec<String> = old.iter().map(|i| i.id.clone()).collect();
                for id in &ids {
                    let _ = std::fs::remove_dir_all(self.cfg.data_dir.join("jobs").join(id));
                }
                match self.store.delete(&ids).await {
                    Ok(n) => tracing::info!(
                        deleted = n,
                        "pruned finished jobs older than {} days",
                        r.jobs_days
                    ),
                    Err(e) => return self.health.failed(&self.store_name, "pruning old jobs", &e),
                }
                self.jobs.forget(&ids);
                if old.len() < BATCH {
                    break;
                }
            }
        }
    }

    /// Deletes `data_dir/jobs/<id>` of finished (or unknown) jobs not touched since `cutoff`.
    async fn prune_logs(&self, cutoff_ms: u64) {
        let cutoff = SystemTime::UNIX_EPOCH + Duration::from_millis(cutoff_ms);
        let dir = self.cfg.data_dir.join("jobs");
        let old: Vec<String> = std::fs::read_dir(&dir)
            .into_iter()
            .flatten()
            .flatten()
            .filter(|e| {
                e.metadata()
                    .and_then(|m| m.modified())
                    .map(|t| t < cutoff)
                    .unwrap_or(false)
            })
            .filter_map(|e| e.file_name().to_str().map(String::from))
            .collect();
        for chunk in old.chunks(BATCH) {
            let rows = match self.store.rows(chunk).await {
                Ok(r) => r,
                Err(e) => return self.health.failed(&self.store_name, "pruning logs", &e),
            };
            for id in chunk {
                let live = rows
                    .iter()
                    .any(|r| &r.record.info.id == id && !r.record.info.state.is_final());
                if !live {
                    let _ = std::fs::remove_dir_all(dir.join(id));
                }
            }
        }
    }
}
