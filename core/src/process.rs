//! Starting the CLI process: into its cgroup before exec, in its own process
//! group, with privileges dropped after the attach.

use std::collections::BTreeMap;
use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use crate::spec::RunAs;

/// What to start.
pub(crate) struct SpawnPlan<'a> {
    pub program: &'a Path,
    pub args: &'a [String],
    pub env: &'a BTreeMap<String, String>,
    pub cwd: &'a Path,
    /// `cgroup.procs` files to join before exec.
    pub attach: Vec<PathBuf>,
    pub run_as: Option<RunAs>,
}

/// Starts the process with piped stdio. The child writes `0` to each
/// `cgroup.procs` in `pre_exec`, so it (and everything it forks) is inside the
/// job's cgroup before the CLI's first instruction runs.
pub(crate) fn spawn(plan: SpawnPlan<'_>) -> io::Result<tokio::process::Child> {
    let mut cmd = tokio::process::Command::new(plan.program);
    cmd.args(plan.args)
        .env_clear()
        .envs(plan.env)
        .current_dir(plan.cwd)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    let files: Vec<File> = plan
        .attach
        .iter()
        .map(|p| {
            std::fs::OpenOptions::new()
                .write(true)
                .open(p)
                .map_err(|e| io::Error::new(e.kind(), format!("cannot open {}: {e}", p.display())))
        })
        .collect::<io::Result<_>>()?;
    let fds: Vec<i32> = files.iter().map(|f| f.as_raw_fd()).collect();
    let run_as = plan.run_as;
    // SAFETY: the closure only makes async-signal-safe system calls (write,
    // prctl, setgroups, setgid, setuid) on values prepared before the fork.
    unsafe {
        cmd.pre_exec(move || {
            for &fd in &fds {
                if libc::write(fd, b"0".as_ptr().cast(), 1) != 1 {
                    return Err(io::Error::last_os_error());
                }
            }
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            if let Some(ids) = run_as {
                if libc::setgroups(0, std::ptr::null()) != 0
                    || libc::setgid(ids.gid) != 0
                    || libc::setuid(ids.uid) != 0
                {
                    return Err(io::Error::last_os_error());
                }
            }
            Ok(())
        });
    }
    let child = cmd.spawn();
    drop(files);
    child
}

/// Sends `sig` to the process group led by `pid`.
pub(crate) fn signal_group(pid: u32, sig: i32) {
    unsafe {
        libc::kill(-(pid as i32), sig);
    }
}

/// Makes this process the reaper of its orphaned descendants, so tool
/// processes that outlive the CLI are re-parented to the manager (and reaped
/// by it) instead of escaping to PID 1.
pub(crate) fn become_subreaper() -> bool {
    unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0 }
}

/// A signal's name (`SIGKILL`).
pub(crate) fn signal_name(sig: i32) -> String {
    let name = match sig {
        libc::SIGHUP => "SIGHUP",
        libc::SIGINT => "SIGINT",
        libc::SIGQUIT => "SIGQUIT",
        libc::SIGABRT => "SIGABRT",
        libc::SIGKILL => "SIGKILL",
        libc::SIGSEGV => "SIGSEGV",
        libc::SIGPIPE => "SIGPIPE",
        libc::SIGTERM => "SIGTERM",
        libc::SIGBUS => "SIGBUS",
        _ => return format!("signal {sig}"),
    };
    name.to_string()
}
