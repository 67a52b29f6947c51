//! Starting the CLI process: into its cgroup before exec, in its own process
//! group, with privileges dropped after the attach; without `fork()` (see
//! [`clone`]).

mod child;
mod clone;
mod clone3;

use std::collections::BTreeMap;
use std::ffi::{CString, OsStr};
use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

pub(crate) use child::Child;

use crate::spec::RunAs;

/// What to start.
pub(crate) struct SpawnPlan<'a> {
    pub program: &'a Path,
    pub args: &'a [String],
    pub env: &'a BTreeMap<String, String>,
    pub cwd: &'a Path,
    /// `cgroup.procs` files to join before exec.
    pub attach: Vec<PathBuf>,
    /// A cgroup v2 directory, open (the caller keeps it open until `spawn`
    /// returns), to start the process in directly (`clone3` +
    /// `CLONE_INTO_CGROUP`), with `attach` as the fallback.
    pub into_cgroup: Option<RawFd>,
    pub run_as: Option<RunAs>,
}

/// Starts the process with piped stdio, in a new process group. The child
/// writes `0` to each `cgroup.procs` before exec, so it (and everything it
/// forks) is inside the job's cgroup before the CLI's first instruction runs.
/// Must be called inside a tokio runtime.
pub(crate) fn spawn(plan: SpawnPlan<'_>) -> io::Result<Child> {
    let program = resolve_program(plan.program, plan.env)?;
    let path = cstring(program.as_os_str())?;
    let argv_c: Vec<CString> = std::iter::once(Ok(path.clone()))
        .chain(plan.args.iter().map(|a| cstring(OsStr::new(a))))
        .collect::<io::Result<_>>()?;
    let env_c: Vec<CString> = plan
        .env
        .iter()
        .map(|(k, v)| cstring(OsStr::new(&format!("{k}={v}"))))
        .collect::<io::Result<_>>()?;
    let cwd = cstring(plan.cwd.as_os_str())?;
    let argv = null_terminated(&argv_c);
    let envp = null_terminated(&env_c);
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
    let attach: Vec<i32> = files.iter().map(|f| f.as_raw_fd()).collect();
    let into = plan.into_cgroup.filter(|_| !attach_only());
    let (in_r, in_w) = pipe()?;
    let (out_r, out_w) = pipe()?;
    let (err_r, err_w) = pipe()?;
    for parent_end in [&in_w, &out_r, &err_r] {
        set_nonblocking(parent_end)?;
    }
    let args = clone::ChildArgs {
        path: &path,
        argv: &argv,
        envp: &envp,
        cwd: &cwd,
        stdio: [in_r.as_raw_fd(), out_w.as_raw_fd(), err_w.as_raw_fd()],
        attach: &attach,
        into_cgroup: into,
        run_as: plan.run_as.map(|r| (r.uid, r.gid)),
    };
    let pid = clone::clone_exec(&args).map_err(|e| e.into_io(&plan.cwd.display().to_string()))?;
    drop((in_r, out_w, err_w, files));
    Child::new(pid, in_w, out_r, err_r)
}

/// `CLAUDE_JOBS_SPAWN_ATTACH=1`: always start the CLI outside its cgroup v2
/// group and move it in before exec (the way before `clone3`; for
/// comparison, or a kernel whose `CLONE_INTO_CGROUP` misbehaves).
fn attach_only() -> bool {
    std::env::var_os("CLAUDE_JOBS_SPAWN_ATTACH").is_some_and(|v| v == "1")
}

fn cstring(s: &OsStr) -> io::Result<CString> {
    CString::new(s.as_bytes()).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{:?} contains a NUL byte", s),
        )
    })
}

fn null_terminated(v: &[CString]) -> Vec<*const libc::c_char> {
    v.iter()
        .map(|c| c.as_ptr())
        .chain(std::iter::once(std::ptr::null()))
        .collect()
}

fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0i32; 2];
    // SAFETY: pipe2 fills the array with two new descriptors we then own.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: as above.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

fn set_nonblocking(fd: &OwnedFd) -> io::Result<()> {
    // SAFETY: fcntl on a descriptor we own.
    unsafe {
        let flags = libc::fcntl(fd.as_raw_fd(), libc::F_GETFL);
        if flags < 0 || libc::fcntl(fd.as_raw_fd(), libc::F_SETFL, flags | libc::O_NONBLOCK) < 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

/// The program to exec: a path with a `/` as it is; a bare name looked up in
/// the job's `PATH` (the manager's when the job has none), as `execvp` would.
fn resolve_program(program: &Path, env: &BTreeMap<String, String>) -> io::Result<PathBuf> {
    if program.as_os_str().as_bytes().contains(&b'/') {
        return Ok(program.to_path_buf());
    }
    let path = env
        .get("PATH")
        .cloned()
        .or_else(|| std::env::var("PATH").ok())
        .unwrap_or_else(|| "/usr/local/bin:/usr/bin:/bin".into());
    crate::claude::command::find_in_path(program, OsStr::new(&path))
        .ok_or_else(|| io::Error::from_raw_os_error(libc::ENOENT))
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

#[cfg(test)]
mod tests;
