//! Orphans: running rows whose node is gone. At start-up, every running row
//! owned by a dead manager of this host is one (its leftover processes and
//! cgroup are killed first, found by what that manager recorded);
//! afterwards the rescuer also takes rows whose lease expired (a node on
//! another machine that died or froze), re-checking the lease under the row
//! lock so that a result that just landed, or a heartbeat that just renewed
//! it, wins. Each orphan is queued again or ends `interrupted` (`timed_out`
//! past its deadline) by [`RecoveryPolicy`](crate::RecoveryPolicy), through `end`.

use std::sync::{Arc, Weak};

use super::end::Ending;
use super::retry;
use super::inner::every;
use super::Inner;
use crate::events::JobEvent;
use crate::state::JobState;
use crate::store::{JobRow, Requeue};
use crate::util::now_ms;

/// True when a node id `host-pid` (or `host-pid-N`) names a process of this
/// host that is gone.
fn dead_here(node: &str) -> bool {
    let Some(rest) = node.strip_prefix(&format!("{}-", crate::host::hostname())) else {
        return false;
    };
    let Ok(pid) = rest.split('-').next().unwrap_or("").parse::<u32>() else {
        return false;
    };
    !process_alive(pid)
}

/// True when `pid` is a live process. A thread id is not one: `/proc/<tid>`
/// answers for the threads of every process although it is not listed, and
/// in a container started again the old manager's pid is often a thread id of
/// the new one's.
fn process_alive(pid: u32) -> bool {
    let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) else {
        return false;
    };
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .map(|v| v.trim().to_string())
            .unwrap_or_default()
    };
    let state = field("State:");
    field("Tgid:") == pid.to_string() && !state.starts_with('Z') && !state.starts_with('X')
}

pub(super) async fn rescue_loop(weak: Weak<Inner>) {
    let interval = |m: &Inner| m.store.durable().then_some(m.opts.rescue_interval);
    every(weak, interval, |m| async move { recover_orphans(&m, false).await }).await
}

/// One pass over the running rows (at start-up: `at_start`).
pub(super) async fn recover_orphans(m: &Arc<Inner>, at_start: bool) {
    if !m.store.durable() {
        return;
    }
    let rows = match m.store.store.running().await {
        Ok(r) => r,
        Err(e) => return m.store.failed("looking for orphaned jobs", &e),
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

impl Inner {
    async fn rescue(&self, row: JobRow, only_if_expired: bool) {
        let info = row.record.info.clone();
        let id = info.id.clone();
        let owner = row.locked_by.clone().unwrap_or_else(|| "?".into());
        // Only a dead owner's leftovers: a live (frozen) owner kills its own
        // process when its next heartbeat finds the lease gone.
        let killed = if only_if_expired {
            0
        } else {
            let (id2, pid, start) = (id.clone(), info.pid, info.pid_start_time);
            tokio::task::spawn_blocking(move || crate::isolation::kill_leftovers(&id2, pid, start))
                .await
                .unwrap_or(0)
        };
        let why = if only_if_expired {
            format!("node {owner} stopped renewing the job's lease")
        } else {
            format!("the manager running the job (node {owner}) died")
        };
        let now = now_ms();
        let past_deadline = row.deadline_at.is_some_and(|d| d < now);
        let again = (!past_deadline)
            .then(|| retry::after_orphan(self.opts.recovery, info.attempt, row.max_attempts, &self.opts.retry_backoff))
            .flatten();
        match again {
            Some(delay) => {
                let req = Requeue {
                    run_at_ms: now + delay.as_millis() as u64,
                    count_attempt: true,
                    error: Some(why.clone()),
                    only_if_expired,
                };
                match self.store.store.requeue(&id, row.lease, &req).await {
                    Ok(true) => {}
                    Ok(false) => return,
                    Err(e) => return self.store.failed("rescuing a job", &e),
                }
                tracing::warn!(job_id = %id, node = %owner, killed, delay_ms = delay.as_millis() as u64, "orphaned job queued again: {why}");
                let retrying = JobEvent::Retrying {
                    attempt: info.attempt,
                    delay_ms: delay.as_millis() as u64,
                    error: Some(why),
                    counts_as_attempt: true,
                };
                self.store.append_after_stored(&id, retrying).await;
                self.admission.wake_in(delay);
            }
            None => {
                let mut end = info;
                end.state = if past_deadline { JobState::TimedOut } else { JobState::Interrupted };
                end.error = Some(if past_deadline { format!("{why}, and its deadline passed") } else { why });
                end.finished_at = Some(now);
                tracing::warn!(job_id = %id, node = %owner, killed, state = %end.state, "orphaned job ended: {}", end.error.as_deref().unwrap_or(""));
                let how = Ending::Rescued {
                    info: end,
                    lease: row.lease,
                    only_if_expired,
                };
                self.end(&id, how).await;
            }
        }
        self.follow_wake.notify_one();
        self.admission.wake.notify_one();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_thread_id_is_not_a_live_process() {
        assert!(process_alive(std::process::id()));
        let (tx, rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = std::sync::mpsc::channel::<()>();
        let t = std::thread::spawn(move || {
            tx.send(unsafe { libc::gettid() } as u32).unwrap();
            let _ = stop_rx.recv();
        });
        let tid = rx.recv().unwrap();
        assert!(std::path::Path::new(&format!("/proc/{tid}/status")).exists());
        assert!(!process_alive(tid), "thread {tid} taken for a process");
        stop_tx.send(()).unwrap();
        t.join().unwrap();
    }

    #[test]
    fn a_dead_process_of_this_host_is_dead_here() {
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        let host = crate::host::hostname();
        assert!(dead_here(&format!("{host}-{pid}")));
        assert!(!dead_here(&format!("{host}-{}", std::process::id())));
        assert!(!dead_here(&format!("{host}-{}-2", std::process::id())));
        assert!(!dead_here(&format!("another-host-{pid}")));
    }
}
