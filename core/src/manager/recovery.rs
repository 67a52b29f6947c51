//! Orphans: running rows whose node is gone. At start-up, every running row
//! owned by a dead manager of this host is one (its leftover processes and
//! cgroup are killed first); afterwards the rescuer also takes rows whose
//! lease expired (a node on another machine that died or froze), re-checking
//! the lease under the row lock so that a result that just landed, or a
//! heartbeat that just renewed it, wins. Each orphan is queued again or ends
//! `interrupted` (`timed_out` past its deadline) by [`RecoveryPolicy`].
//!
//! [`RecoveryPolicy`]: super::RecoveryPolicy

use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};
use std::time::Duration;

use super::policy;
use super::ManagerInner;
use crate::events::{EventRecord, JobEvent};
use crate::isolation::cgfs;
use crate::state::JobState;
use crate::store::{JobRow, Requeue};
use crate::util::now_ms;

/// The host name, the first part of node ids.
pub(crate) fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "host".into())
}

/// True when a node id `host-pid` (or `host-pid-N`) names a process of this
/// host that is gone.
fn dead_here(node: &str) -> bool {
    let Some(rest) = node.strip_prefix(&format!("{}-", hostname())) else {
        return false;
    };
    let Ok(pid) = rest.split('-').next().unwrap_or("").parse::<u32>() else {
        return false;
    };
    !process_alive(pid)
}

fn process_alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(s) => {
            let state = s
                .rsplit(')')
                .next()
                .unwrap_or("")
                .split_whitespace()
                .next()
                .unwrap_or("");
            state != "Z" && state != "X"
        }
        Err(_) => false,
    }
}

pub(super) async fn rescue_loop(weak: Weak<ManagerInner>) {
    let interval = match weak.upgrade() {
        Some(m) if m.store.is_durable() => m.cfg.rescue_interval,
        _ => return,
    };
    loop {
        tokio::time::sleep(interval).await;
        let Some(m) = weak.upgrade() else { return };
        if m.stopped.load(Ordering::SeqCst) {
            return;
        }
        recover_orphans(&m, false).await;
    }
}

/// One pass over the running rows (at start-up: `at_start`).
pub(super) async fn recover_orphans(m: &Arc<ManagerInner>, at_start: bool) {
    if !m.store.is_durable() {
        return;
    }
    let rows = match m.store.running().await {
        Ok(r) => r,
        Err(e) => {
            m.health
                .failed(&m.store_name, "looking for orphaned jobs", &e);
            return;
        }
    };
    let now = now_ms();
    for row in rows {
        let owner = row.locked_by.clone().unwrap_or_default();
        let mine = owner == m.node_id;
        if mine && !at_start {
            continue;
        }
        // With a fixed node id, our own rows at start-up are a previous life's.
        let dead = (mine && at_start) || dead_here(&owner);
        let expired = row.lease_expires_at.map(|t| t < now).unwrap_or(true);
        if dead || expired {
            m.rescue(row, !dead).await;
        }
    }
}

impl ManagerInner {
    async fn rescue(&self, row: JobRow, only_if_expired: bool) {
        let info = &row.record.info;
        let id = info.id.clone();
        let owner = row.locked_by.clone().unwrap_or_else(|| "?".into());
        let started = std::time::Instant::now();
        // Only a dead owner's leftovers: a live (frozen) owner kills its own
        // process when its next heartbeat finds the lease gone.
        let killed = if !only_if_expired {
            let id2 = id.clone();
            tokio::task::spawn_blocking(move || kill_leftovers(&id2))
                .await
                .unwrap_or(0)
        } else {
            0
        };
        let why = if only_if_expired {
            format!("node {owner} stopped renewing the job's lease")
        } else {
            format!("the manager running the job (node {owner}) died")
        };
        let now = now_ms();
        let past_deadline = row.deadline_at.map(|d| d < now).unwrap_or(false);
        let again = if past_deadline {
            None
        } else {
            policy::after_orphan(
                self.cfg.recovery,
                info.attempt,
                row.max_attempts,
                &self.cfg.backoff,
            )
        };
        let event;
        if let Some(delay) = again {
            let req = Requeue {
                run_at_ms: now + delay.as_millis() as u64,
                count_attempt: true,
                error: Some(why.clone()),
                only_if_expired,
            };
            match self.store.requeue(&id, row.lease, &req).await {
                Ok(true) => {}
                Ok(false) => return,
                Err(e) => return self.health.failed(&self.store_name, "rescuing a job", &e),
            }
            tracing::warn!(job_id = %id, node = %owner, killed, delay_ms = delay.as_millis() as u64, "orphaned job queued again: {why}");
            event = JobEvent::Retrying {
                attempt: info.attempt,
                delay_ms: delay.as_millis() as u64,
                error: Some(why),
                counts_as_attempt: true,
            };
            let wake = self.wake.clone();
            tokio::spawn(async move {
                tokio::time::sleep(delay).await;
                wake.notify_one();
            });
        } else {
            let mut end = info.clone();
            end.state = if past_deadline {
                JobState::TimedOut
            } else {
                JobState::Interrupted
            };
            end.error = Some(if past_deadline {
                format!("{why}, and its deadline passed")
            } else {
                why
            });
            end.finished_at = Some(now);
            match self
                .store
                .finish_rescued(&end, row.lease, only_if_expired)
                .await
            {
                Ok(true) => {}
                Ok(false) => return,
                Err(e) => return self.health.failed(&self.store_name, "rescuing a job", &e),
            }
            tracing::warn!(job_id = %id, node = %owner, killed, state = %end.state, "orphaned job ended: {}", end.error.as_deref().unwrap_or(""));
            event = JobEvent::Finished {
                state: end.state,
                error: end.error.clone(),
            };
            self.cancel_dependents(&id, end.state).await;
        }
        let last = self
            .store
            .events(&id, 0)
            .await
            .ok()
            .and_then(|e| e.last().map(|r| r.seq))
            .unwrap_or(0);
        let rec = EventRecord {
            seq: last + 1,
            at_ms: now,
            event,
        };
        if let Err(e) = self.store.append_events(&id, &[rec]).await {
            self.health.failed(&self.store_name, "storing events", &e);
        }
        tracing::debug!(job_id = %id, ms = started.elapsed().as_millis() as u64, "rescue done");
        self.watch_wake.notify_one();
        self.wake.notify_one();
    }
}

/// Kills what is left of a job on this host: processes whose environment or
/// working dir names its directory (`…/jobs/<id>/`), and its cgroup under a
/// dead manager's directory. Returns how many processes were signalled.
fn kill_leftovers(id: &str) -> usize {
    let marker = format!("/jobs/{id}/");
    let dir_marker = format!("/jobs/{id}");
    let me = std::process::id() as i32;
    let mut killed = 0;
    for pid in std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
    {
        if pid == me {
            continue;
        }
        let env_hit = std::fs::read(format!("/proc/{pid}/environ"))
            .map(|env| memchr::memmem::find(&env, marker.as_bytes()).is_some())
            .unwrap_or(false);
        let cwd_hit = std::fs::read_link(format!("/proc/{pid}/cwd"))
            .map(|p| p.to_string_lossy().contains(&dir_marker))
            .unwrap_or(false);
        if env_hit || cwd_hit {
            unsafe {
                libc::kill(pid, libc::SIGKILL);
            }
            killed += 1;
        }
    }
    let name = format!("job-{id}");
    for parent in job_parents() {
        for mgr in cgfs::stale_manager_dirs(&parent) {
            let dir = mgr.join(&name);
            if dir.is_dir() {
                for _ in 0..50 {
                    let pids = cgfs::procs(&dir);
                    if pids.is_empty() {
                        break;
                    }
                    killed += pids.len();
                    cgfs::kill_and_reap(&pids, 0);
                    std::thread::sleep(Duration::from_millis(20));
                }
                let _ = cgfs::remove_dir(&dir);
                let _ = std::fs::remove_dir(&mgr);
            }
        }
    }
    killed
}

/// `<own cgroup>/claude-jobs` in every mounted hierarchy (v1 and v2).
fn job_parents() -> Vec<PathBuf> {
    let root = Path::new("/sys/fs/cgroup");
    let mut out = Vec::new();
    for (ctrls, path) in cgfs::own_cgroups() {
        let rel = path.trim_start_matches('/');
        let base = if ctrls.is_empty() {
            root.to_path_buf()
        } else {
            let name = ctrls.strip_prefix("name=").unwrap_or(&ctrls);
            let b = root.join(name);
            if !b.is_dir() {
                continue;
            }
            b
        };
        let mut own = base.join(rel);
        if own
            .file_name()
            .map(|n| n == "claude-jobs-manager")
            .unwrap_or(false)
        {
            own.pop();
        }
        let p = own.join(crate::isolation::PARENT_DIR);
        if p.is_dir() && !out.contains(&p) {
            out.push(p);
        }
    }
    out
}
