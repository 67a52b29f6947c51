//! What a dead manager's job left on this host, found by what the manager
//! recorded, never by scanning other processes: the job's process group
//! (its recorded pid, checked against its recorded start time, so a reused
//! pid is left alone) and the job's cgroup under a dead manager's directory.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::cgfs;

/// Kills what is left of job `id`; returns how many processes were signalled.
pub(crate) fn kill_leftovers(id: &str, pid: Option<u32>, pid_start: Option<u64>) -> usize {
    let mut killed = 0;
    if let (Some(pid), Some(start)) = (pid, pid_start) {
        if pid > 1 && cgfs::process_start_time(pid) == Some(start) {
            // SAFETY: kill(2) of the job's own process group (the CLI leads it).
            unsafe {
                libc::kill(-(pid as i32), libc::SIGKILL);
                libc::kill(pid as i32, libc::SIGKILL);
            }
            killed += 1;
        }
    }
    let name = format!("job-{id}");
    for parent in job_parents() {
        for mgr in cgfs::stale_manager_dirs(&parent) {
            let dir = mgr.join(&name);
            if dir.is_dir() {
                killed += empty_and_remove(&dir);
                let _ = std::fs::remove_dir(&mgr);
            }
        }
    }
    killed
}

fn empty_and_remove(dir: &Path) -> usize {
    let mut killed = 0;
    for _ in 0..50 {
        let pids = cgfs::procs(dir);
        if pids.is_empty() {
            break;
        }
        killed += pids.len();
        cgfs::kill_and_reap(&pids, 0);
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = cgfs::remove_dir(dir);
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
            let b = root.join(ctrls.strip_prefix("name=").unwrap_or(&ctrls));
            if !b.is_dir() {
                continue;
            }
            b
        };
        let mut own = base.join(rel);
        if own.file_name().is_some_and(|n| n == "claude-jobs-manager") {
            own.pop();
        }
        let p = own.join(super::PARENT_DIR);
        if p.is_dir() && !out.contains(&p) {
            out.push(p);
        }
    }
    out
}
