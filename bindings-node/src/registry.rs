//! The jobs this process has handles to, so that `index.js` can kill what is
//! still running when the process exits without `manager.shutdown()`.
//!
//! The core already makes the CLI die with the manager (`PR_SET_PDEATHSIG`)
//! and sweeps a dead manager's cgroups at its next start. At exit this also
//! kills, at once, each running job's process group and every process left
//! in the job's cgroup (tools that `setsid`-daemonised), found by scanning
//! `/proc/*/cgroup` for the core's `job-<id>` group name. The core has no
//! synchronous "kill everything now" call to use instead.

use std::sync::Mutex;

use claude_jobs::{Job, JobState};

static LIVE: Mutex<Vec<Job>> = Mutex::new(Vec::new());

/// Remembers a job until it has ended.
pub(crate) fn track(job: &Job) {
    let mut live = LIVE.lock().unwrap_or_else(|e| e.into_inner());
    live.retain(|j| !j.state().is_final());
    if !job.state().is_final() && !live.iter().any(|j| j.id() == job.id()) {
        live.push(job.clone());
    }
}

/// SIGKILLs every process of every running job; returns how many jobs.
pub(crate) fn kill_running() -> u32 {
    let running: Vec<(String, Option<u32>)> = {
        let live = LIVE.lock().unwrap_or_else(|e| e.into_inner());
        live.iter()
            .map(|j| j.info())
            .filter(|i| i.state == JobState::Running)
            .map(|i| (i.id, i.pid))
            .collect()
    };
    for pid in running
        .iter()
        .filter_map(|(_, pid)| *pid)
        .filter(|p| *p > 1)
    {
        // SAFETY: kill(2) with a negative pid signals that process group.
        unsafe { libc::kill(-(pid as i32), libc::SIGKILL) };
    }
    let groups: Vec<String> = running.iter().map(|(id, _)| format!("/job-{id}")).collect();
    // A process forking while we scan can slip past one round.
    for _ in 0..3 {
        if kill_in_groups(&groups) == 0 {
            break;
        }
    }
    running.len() as u32
}

/// SIGKILLs every process whose cgroup path ends with one of `groups`.
fn kill_in_groups(groups: &[String]) -> usize {
    if groups.is_empty() {
        return 0;
    }
    let me = std::process::id();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return 0;
    };
    let mut killed = 0;
    for entry in dir.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        if pid == me {
            continue;
        }
        let Ok(text) = std::fs::read_to_string(format!("/proc/{pid}/cgroup")) else {
            continue;
        };
        let ours = text
            .lines()
            .filter_map(|l| l.splitn(3, ':').nth(2))
            .any(|path| groups.iter().any(|g| path.ends_with(g.as_str())));
        if ours {
            // SAFETY: plain kill(2) of a process in one of our jobs' cgroups.
            unsafe { libc::kill(pid as i32, libc::SIGKILL) };
            killed += 1;
        }
    }
    killed
}
