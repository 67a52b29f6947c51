//! Retention: finished jobs (rows, events, log dirs), logs and outputs are
//! deleted after the days of the [`RetentionPolicy`](super::RetentionPolicy).
//! Runs a minute after start-up, then every hour. The directory of a job
//! whose session a queued or running job resumes (its working dir and
//! config dir) is kept while that job lives.

use std::collections::HashSet;
use std::sync::Weak;
use std::time::{Duration, SystemTime};

use super::Inner;
use crate::state::JobState;
use crate::store::ListQuery;
use crate::util::now_ms;

const DAY_MS: u64 = 24 * 3600 * 1000;
const BATCH: usize = 500;

pub(super) async fn retention_loop(weak: Weak<Inner>) {
    let mut wait = Duration::from_secs(60);
    loop {
        tokio::time::sleep(wait).await;
        wait = Duration::from_secs(3600);
        let Some(m) = weak.upgrade() else { return };
        if m.is_stopped() {
            return;
        }
        m.prune().await;
    }
}

impl Inner {
    /// One retention pass.
    pub(super) async fn prune(&self) {
        let r = self.opts.retention;
        let now = now_ms();
        // 0 days keeps outputs, as unset does.
        if let Some(days) = r.outputs_days.filter(|d| *d > 0) {
            let cutoff = now.saturating_sub(days as u64 * DAY_MS);
            if let Ok(old) = self.store.store.finished_before(cutoff, 10_000).await {
                for info in &old {
                    for out in &info.outputs {
                        let _ = std::fs::remove_file(out);
                    }
                }
                self.prune_artifacts(&old, "output/").await;
            }
        }
        if r.logs_days == 0 && r.jobs_days == 0 {
            return;
        }
        let Some(keep) = self.resumed_dirs().await else { return };
        if r.logs_days > 0 {
            self.prune_logs(now.saturating_sub(r.logs_days as u64 * DAY_MS), &keep)
                .await;
        }
        if r.jobs_days > 0 {
            let cutoff = now.saturating_sub(r.jobs_days as u64 * DAY_MS);
            loop {
                let old = match self.store.store.finished_before(cutoff, BATCH).await {
                    Ok(o) if !o.is_empty() => o,
                    Ok(_) => break,
                    Err(e) => return self.store.failed("pruning old jobs", &e),
                };
                let ids: Vec<String> = old.iter().map(|i| i.id.clone()).collect();
                for id in ids.iter().filter(|id| !keep.contains(*id)) {
                    let _ = std::fs::remove_dir_all(self.opts.data_dir.join("jobs").join(id));
                }
                // The store deletes its own artifacts with the rows; an S3 bucket's go first.
                self.prune_artifacts(&old, "").await;
                match self.store.store.delete(&ids).await {
                    Ok(n) => tracing::info!(
                        deleted = n,
                        "pruned finished jobs older than {} days",
                        r.jobs_days
                    ),
                    Err(e) => return self.store.failed("pruning old jobs", &e),
                }
                self.handles.forget(&ids);
                if old.len() < BATCH {
                    break;
                }
            }
        }
    }

    /// The jobs whose directories hold the session of a queued or running
    /// job (`None`: the store could not say; nothing is deleted then).
    async fn resumed_dirs(&self) -> Option<HashSet<String>> {
        let jobs = self.opts.data_dir.join("jobs");
        let mut keep = HashSet::new();
        for state in [JobState::Queued, JobState::Running] {
            let mut q = ListQuery { state: Some(state), limit: Some(crate::store::MAX_PAGE), ..Default::default() };
            loop {
                let page = match self.store.store.list(&q).await {
                    Ok(p) => p,
                    Err(e) => {
                        self.store.failed("listing live jobs for retention", &e);
                        return None;
                    }
                };
                for info in &page.jobs {
                    for dir in [&info.work_dir, &info.config_dir].into_iter().flatten() {
                        let owner = dir.parent().filter(|p| p.parent() == Some(jobs.as_path()));
                        if let Some(name) = owner.and_then(|p| p.file_name()).and_then(|n| n.to_str()) {
                            keep.insert(name.to_string());
                        }
                    }
                }
                match page.next_cursor {
                    Some(c) => q.cursor = Some(c),
                    None => break,
                }
            }
        }
        Some(keep)
    }

    /// Deletes `data_dir/jobs/<id>` of finished (or unknown) jobs not touched
    /// since `cutoff`, except those in `keep`.
    /// Deletes the jobs' artifacts under `prefix` in the `db` artifact store.
    async fn prune_artifacts(&self, jobs: &[crate::state::JobInfo], prefix: &str) {
        let Some(a) = &self.store.artifacts else { return };
        let ids: Vec<String> = jobs.iter().map(|i| i.id.clone()).collect();
        for chunk in ids.chunks(BATCH) {
            if let Err(e) = a.delete_artifacts(chunk, prefix).await {
                return self.store.failed("pruning artifacts", &e);
            }
        }
    }

    async fn prune_logs(&self, cutoff_ms: u64, keep: &HashSet<String>) {
        if self.store.artifacts.is_some() {
            if let Ok(old) = self.store.store.finished_before(cutoff_ms, 10_000).await {
                let old: Vec<_> = old.into_iter().filter(|i| !keep.contains(&i.id)).collect();
                self.prune_artifacts(&old, "log/").await;
            }
        }
        let cutoff = SystemTime::UNIX_EPOCH + Duration::from_millis(cutoff_ms);
        let dir = self.opts.data_dir.join("jobs");
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
            .filter(|id| !keep.contains(id))
            .collect();
        for chunk in old.chunks(BATCH) {
            let known: Vec<(String, Option<u32>)> = chunk.iter().map(|id| (id.clone(), None)).collect();
            let rows = match self.store.store.rows(&known).await {
                Ok(r) => r,
                Err(e) => return self.store.failed("pruning logs", &e),
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
