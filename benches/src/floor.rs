//! The floors: what spawning the fake CLI costs with nothing around it.
//!
//! - `spawn_floor`: `std::process::Command` with piped stdio and no
//!   `pre_exec`, which std runs through `posix_spawn` (glibc: `clone(CLONE_VM |
//!   CLONE_VFORK)`), then write the prompt, read stdout and stderr to the end,
//!   `waitpid`. N threads take jobs from one counter.
//! - `cgroup_floor`: the same, plus per job a memory, a cpu and a pids cgroup
//!   (v1): mkdir, limits written, the child attached in `pre_exec` by three
//!   `cgroup.procs` writes (so std must `fork`), rmdir after the wait.

use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// The fake CLI's arguments, as the manager passes them.
pub const CLI_ARGS: [&str; 4] = ["-p", "--output-format", "stream-json", "--verbose"];
pub const PROMPT: &str = "benchmark job: say ok";

fn command(bin: &Path) -> Command {
    let mut cmd = Command::new(bin);
    cmd.args(CLI_ARGS)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("FAKE_CLAUDE_SCENARIO", "trivial")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

/// Prompt in, stdout and stderr out, reaped. Returns false when the job failed.
fn run_child(cmd: &mut Command) -> bool {
    let Ok(mut child) = cmd.spawn() else {
        return false;
    };
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(PROMPT.as_bytes());
    }
    let mut out = Vec::with_capacity(1024);
    let mut err = Vec::new();
    if let Some(mut s) = child.stdout.take() {
        let _ = s.read_to_end(&mut out);
    }
    if let Some(mut s) = child.stderr.take() {
        let _ = s.read_to_end(&mut err);
    }
    let ok = child.wait().map(|s| s.success()).unwrap_or(false);
    ok && out.windows(14).any(|w| w == b"\"type\":\"result")
}

/// Runs `jobs` jobs on `conc` threads with `one(index)`; returns the failures.
fn on_threads(
    conc: usize,
    jobs: usize,
    one: impl Fn(usize) -> bool + Send + Sync + 'static,
) -> usize {
    let next = Arc::new(AtomicUsize::new(0));
    let failed = Arc::new(AtomicUsize::new(0));
    let one = Arc::new(one);
    let threads: Vec<_> = (0..conc)
        .map(|_| {
            let (next, failed, one) = (next.clone(), failed.clone(), one.clone());
            std::thread::spawn(move || loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= jobs {
                    break;
                }
                if !one(i) {
                    failed.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    for t in threads {
        let _ = t.join();
    }
    failed.load(Ordering::Relaxed)
}

/// Bare spawn + wait.
pub fn spawn_floor(bin: &Path, conc: usize, jobs: usize) -> usize {
    let bin = bin.to_path_buf();
    on_threads(conc, jobs, move |_| run_child(&mut command(&bin)))
}

/// The same with an empty `pre_exec` hook, which makes std `fork()` instead
/// of `posix_spawn` (what the manager's spawn does): the cost of the fork.
pub fn fork_floor(bin: &Path, conc: usize, jobs: usize) -> usize {
    let bin = bin.to_path_buf();
    on_threads(conc, jobs, move |_| {
        let mut cmd = command(&bin);
        // SAFETY: the hook does nothing.
        unsafe { cmd.pre_exec(|| Ok(())) };
        run_child(&mut cmd)
    })
}

/// Where this process sits in each v1 hierarchy that carries `ctrl`.
pub fn v1_own_dir(ctrl: &str) -> Option<PathBuf> {
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    let (root, mount_point) = mountinfo.lines().find_map(|l| {
        let (pre, post) = l.split_once(" - ")?;
        let mut post = post.split_whitespace();
        if post.next()? != "cgroup" {
            return None;
        }
        let opts = post.nth(1)?;
        if !opts.split(',').any(|o| o == ctrl) {
            return None;
        }
        let f: Vec<&str> = pre.split_whitespace().collect();
        Some((f.get(3)?.to_string(), PathBuf::from(f.get(4)?)))
    })?;
    let own = std::fs::read_to_string("/proc/self/cgroup").ok()?;
    let path = own.lines().find_map(|l| {
        let mut it = l.splitn(3, ':');
        let _ = it.next()?;
        let ctrls = it.next()?;
        let p = it.next()?;
        ctrls.split(',').any(|c| c == ctrl).then(|| p.to_string())
    })?;
    let rel = Path::new(&path)
        .strip_prefix(&root)
        .map(Path::to_path_buf)
        .unwrap_or_else(|_| PathBuf::from(path.trim_start_matches('/')));
    Some(mount_point.join(rel))
}

/// The per-job parents of the cgroup floor: `<own>/claude-jobs-bench-<pid>`
/// in the memory, cpu and pids hierarchies.
pub struct FloorCgroups {
    parents: Vec<(&'static str, PathBuf)>,
    /// Attach in a `clone(CLONE_VM | CLONE_VFORK)` child (as `posix_spawn`
    /// does) instead of a forked one.
    vfork: bool,
}

impl FloorCgroups {
    pub fn new(vfork: bool) -> Result<FloorCgroups, String> {
        let mut parents = Vec::new();
        for ctrl in ["memory", "cpu", "pids"] {
            let own = v1_own_dir(ctrl).ok_or_else(|| {
                format!(
                    "no cgroup v1 {ctrl} hierarchy (the cgroup floor is measured on v1 hosts only)"
                )
            })?;
            let p = own.join(format!("claude-jobs-bench-{}", std::process::id()));
            std::fs::create_dir_all(&p)
                .map_err(|e| format!("cannot create {}: {e}", p.display()))?;
            parents.push((ctrl, p));
        }
        Ok(FloorCgroups { parents, vfork })
    }

    fn one_job(&self, bin: &Path, i: usize) -> bool {
        let dirs: Vec<(&str, PathBuf)> = self
            .parents
            .iter()
            .map(|(c, p)| (*c, p.join(format!("job-{i}"))))
            .collect();
        for (_, d) in &dirs {
            if std::fs::create_dir(d).is_err() {
                return false;
            }
        }
        let mut ok = true;
        for (ctrl, d) in &dirs {
            let writes: &[(&str, &str)] = match *ctrl {
                "memory" => &[("memory.limit_in_bytes", "1073741824")],
                "cpu" => &[
                    ("cpu.cfs_period_us", "100000"),
                    ("cpu.cfs_quota_us", "100000"),
                ],
                _ => &[("pids.max", "256")],
            };
            for (f, v) in writes {
                ok &= std::fs::write(d.join(f), v).is_ok();
            }
        }
        let files: Vec<std::fs::File> = dirs
            .iter()
            .filter_map(|(_, d)| {
                std::fs::OpenOptions::new()
                    .write(true)
                    .open(d.join("cgroup.procs"))
                    .ok()
            })
            .collect();
        ok &= files.len() == dirs.len();
        if ok && self.vfork {
            let fds: Vec<i32> = files.iter().map(|f| f.as_raw_fd()).collect();
            ok = crate::vfork::run_trivial(bin, &fds);
        } else if ok {
            let fds: Vec<i32> = files.iter().map(|f| f.as_raw_fd()).collect();
            let mut cmd = command(bin);
            // SAFETY: only write(2) on fds opened before the fork.
            unsafe {
                cmd.pre_exec(move || {
                    for &fd in &fds {
                        if libc::write(fd, b"0".as_ptr().cast(), 1) != 1 {
                            return Err(std::io::Error::last_os_error());
                        }
                    }
                    Ok(())
                });
            }
            ok = run_child(&mut cmd);
        }
        drop(files);
        for (_, d) in &dirs {
            ok &= rmdir_retry(d);
        }
        ok
    }

    /// Spawn + wait with the three cgroups made per job.
    pub fn run(self: &Arc<Self>, bin: &Path, conc: usize, jobs: usize) -> usize {
        let (me, bin) = (self.clone(), bin.to_path_buf());
        on_threads(conc, jobs, move |i| me.one_job(&bin, i))
    }
}

impl Drop for FloorCgroups {
    fn drop(&mut self) {
        for (_, p) in &self.parents {
            if let Ok(rd) = std::fs::read_dir(p) {
                for e in rd.flatten() {
                    if e.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                        rmdir_retry(&e.path());
                    }
                }
            }
            rmdir_retry(p);
        }
    }
}

/// rmdir, retrying on EBUSY (10 tries from 1 ms, doubling).
fn rmdir_retry(d: &Path) -> bool {
    let mut wait = Duration::from_millis(1);
    for _ in 0..10 {
        match std::fs::remove_dir(d) {
            Ok(()) => return true,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return true,
            Err(_) => {
                std::thread::sleep(wait);
                wait *= 2;
            }
        }
    }
    false
}
