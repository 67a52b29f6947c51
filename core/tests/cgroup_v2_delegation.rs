//! cgroup v2 only: where the manager may make job cgroups, and what it says
//! where it may not.
//!
//! (a) Started as root in a non-root cgroup that holds processes, the manager
//!     first moves every process of that cgroup into a leaf
//!     (`claude-jobs-manager`), then enables the controllers: jobs are capped.
//! (b) Started as an unprivileged user (uid 1000) in a subtree delegated to it
//!     the way systemd's `Delegate=yes` does (the directory and its
//!     `cgroup.procs`, `cgroup.subtree_control`, `cgroup.threads` chowned to
//!     the user), it does the same without root: jobs are capped.
//! (c) Unprivileged and not delegated: `IsolationMode::Required` fails at
//!     build with a message that says what to change (Delegate=yes);
//!     `IsolationMode::Auto` runs the job uncapped with a warning event and
//!     isolation `none`.
//!
//! Each case runs its manager in a child process: this test binary again
//! (`--exact <test>`), with `CLAUDE_JOBS_V2_INNER` set, attached to the test
//! cgroup before exec and, for (b) and (c), with uid/gid 1000.
//!
//! Skips (with the reason) unless /sys/fs/cgroup is a cgroup2 mount and we
//! are root; with `CLAUDE_JOBS_EXPECT_V2=1` (set in the v2 guest by
//! `make test-cgroup-v2`) a skip is a failure.
mod common;

use std::fs::OpenOptions;
use std::os::fd::AsRawFd;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use claude_jobs::{
    ErrorKind, IsolationKind, IsolationMode, JobEvent, JobSpec, JobState, WarningKind,
};
use common::*;
use futures_util::StreamExt;

const CG: &str = "/sys/fs/cgroup";
const INNER: &str = "CLAUDE_JOBS_V2_INNER";
const INNER_DATA: &str = "CLAUDE_JOBS_V2_INNER_DATA";
const USER: u32 = 1000;

// ---- the outer part: sets up the cgroup, runs the inner part, cleans up --------------------

/// Removes `dir` and the cgroups under it (children first), killing what is left in them.
fn remove_tree(dir: &Path) {
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        if e.file_type().map(|t| t.is_dir()).unwrap_or(false) {
            remove_tree(&e.path());
        }
    }
    if dir.join("cgroup.kill").exists() {
        let _ = std::fs::write(dir.join("cgroup.kill"), "1");
    }
    for _ in 0..100 {
        match std::fs::remove_dir(dir) {
            Ok(()) => return,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return,
            Err(_) => std::thread::sleep(Duration::from_millis(20)),
        }
    }
    panic!("cannot remove {}", dir.display());
}

/// A fresh cgroup `/sys/fs/cgroup/<name>` with memory, cpu and pids available in it
/// (enabled in the root's subtree_control, as systemd does for its slices).
fn fresh_cgroup(name: &str) -> PathBuf {
    let root = Path::new(CG);
    std::fs::write(root.join("cgroup.subtree_control"), "+memory +cpu +pids").unwrap();
    let dir = root.join(name);
    remove_tree(&dir);
    std::fs::create_dir(&dir).unwrap();
    let available = std::fs::read_to_string(dir.join("cgroup.controllers")).unwrap();
    for c in ["memory", "cpu", "pids"] {
        assert!(
            available.split_whitespace().any(|x| x == c),
            "{c} not available in {name}: {available:?}"
        );
    }
    dir
}

/// What systemd does for a unit with `Delegate=yes` and `User=`: the unit's
/// cgroup directory and the files that delegate it belong to the user.
fn delegate_to(dir: &Path, uid: u32) {
    for p in [
        dir.to_path_buf(),
        dir.join("cgroup.procs"),
        dir.join("cgroup.subtree_control"),
        dir.join("cgroup.threads"),
    ] {
        std::os::unix::fs::chown(&p, Some(uid), Some(uid))
            .unwrap_or_else(|e| panic!("chown {}: {e}", p.display()));
    }
}

/// A data directory the user can write.
fn data_dir_for(uid: u32) -> tempfile::TempDir {
    let d = data_dir();
    std::os::unix::fs::chown(d.path(), Some(uid), Some(uid)).unwrap();
    d
}

/// Starts `cmd` inside `cgroup` (attached before exec, with a descriptor
/// opened here, as root: the kernel checks the opener's credentials, so this
/// works after `Command::uid` has dropped them).
fn spawn_in(mut cmd: Command, cgroup: &Path) -> Child {
    let procs = OpenOptions::new()
        .write(true)
        .open(cgroup.join("cgroup.procs"))
        .unwrap();
    let fd = procs.as_raw_fd();
    // SAFETY: only write(2) between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            if libc::write(fd, b"0".as_ptr().cast(), 1) != 1 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {cmd:?} in {}: {e}", cgroup.display()));
    drop(procs);
    child
}

/// Runs this test binary's `test` as the inner part `role`, in `cgroup`, as
/// `uid` when given; panics with its output unless it passes.
fn run_inner(test: &str, role: &str, cgroup: &Path, uid: Option<u32>, data: &Path) {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args(["--exact", test, "--nocapture", "--test-threads=1"])
        .env(INNER, role)
        .env(INNER_DATA, data)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(uid) = uid {
        cmd.uid(uid).gid(uid).env("HOME", data);
    }
    let child = spawn_in(cmd, cgroup);
    let pid = child.id();
    // The inner part must end; kill it after two minutes.
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let d2 = done.clone();
    std::thread::spawn(move || {
        let end = Instant::now() + Duration::from_secs(120);
        while Instant::now() < end {
            if d2.load(std::sync::atomic::Ordering::SeqCst) {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        unsafe { libc::kill(pid as i32, libc::SIGKILL) };
    });
    let out = child.wait_with_output().unwrap();
    done.store(true, std::sync::atomic::Ordering::SeqCst);
    // Indented, so that the inner part's "test result:" line is not taken for the outer's.
    let indent = |b: &[u8]| {
        String::from_utf8_lossy(b)
            .lines()
            .map(|l| format!("  | {l}\n"))
            .collect::<String>()
    };
    let text = format!(
        "--- inner {role} stdout\n{}--- inner {role} stderr\n{}",
        indent(&out.stdout),
        indent(&out.stderr)
    );
    eprintln!("{text}");
    let ran = String::from_utf8_lossy(&out.stdout).contains("1 passed");
    assert!(
        out.status.success() && ran,
        "inner part {role} failed ({}):\n{text}",
        out.status
    );
}

/// The line `0::/<path>` of `/proc/<pid>/cgroup`, as a path under /sys/fs/cgroup.
fn cgroup_of(pid: &str) -> PathBuf {
    let text = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap();
    let line = text.lines().find(|l| l.starts_with("0::")).unwrap();
    Path::new(CG).join(line[3..].trim_start_matches('/'))
}

fn subdirs(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .filter(|e| e.file_type().map(|t| t.is_dir()).unwrap_or(false))
        .map(|e| e.path())
        .collect()
}

// ---- the inner part: a manager in the cgroup it was started in ----------------------------

fn inner_data() -> PathBuf {
    PathBuf::from(std::env::var(INNER_DATA).expect(INNER_DATA))
}

fn alloc_64m() -> JobSpec {
    JobSpec::builder()
        .prompt("eat memory")
        .env("FAKE_CLAUDE_SCENARIO", "alloc")
        .memory("64M")
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap()
}

/// A capped job is OOM-killed at 64M, and a running job's cgroup is under `own`.
async fn capped_jobs_run_under(m: &claude_jobs::JobManager, own: &Path) {
    assert_eq!(
        m.isolation(),
        IsolationKind::CgroupV2,
        "{:?}",
        m.isolation_error()
    );
    let info = m.submit(alloc_64m()).await.unwrap().wait().await;
    assert_eq!(info.state, JobState::OomKilled, "{info:?}");
    assert_eq!(info.isolation, IsolationKind::CgroupV2);
    assert_eq!(info.stats.oom_kills, 1, "{:?}", info.stats);
    assert!(info.stats.peak_memory_bytes <= 64 << 20, "{:?}", info.stats);

    let slow = JobSpec::builder()
        .prompt("wait")
        .env("FAKE_CLAUDE_SCENARIO", "slow")
        .env("FAKE_CLAUDE_SECONDS", "60")
        .memory("128M")
        .cpus(0.5)
        .pids(32)
        .build()
        .unwrap();
    let job = m.submit(slow).await.unwrap();
    let mut ev = job.events(0);
    let mut pid = 0;
    while let Some(r) = ev.next().await {
        if let JobEvent::Started { pid: p, .. } = r.event {
            pid = p;
            break;
        }
    }
    assert!(pid > 0, "the job started: {:?}", job.info());
    let cg = cgroup_of(&pid.to_string());
    assert!(
        cg.starts_with(own.join("claude-jobs")),
        "job cgroup {} not under {}",
        cg.display(),
        own.display()
    );
    let read = |f: &str| {
        std::fs::read_to_string(cg.join(f))
            .unwrap()
            .trim()
            .to_string()
    };
    assert_eq!(read("memory.max"), (128u64 << 20).to_string());
    assert_eq!(read("memory.oom.group"), "1");
    assert_eq!(read("cpu.max"), "50000 100000");
    assert_eq!(read("pids.max"), "32");
    job.cancel().await.unwrap();
    assert_eq!(job.wait().await.state, JobState::Cancelled);
    assert!(!cg.exists(), "job cgroup left: {}", cg.display());
}

/// Checks that the manager moved this process into `own/claude-jobs-manager`
/// and enabled the controllers in `own`.
fn moved_to_leaf(own: &Path) {
    assert_eq!(
        cgroup_of("self"),
        own.join("claude-jobs-manager"),
        "the manager moved itself into the leaf"
    );
    let procs = std::fs::read_to_string(own.join("cgroup.procs")).unwrap();
    assert!(
        procs.trim().is_empty(),
        "no process left in {}: {procs:?}",
        own.display()
    );
    let enabled = std::fs::read_to_string(own.join("cgroup.subtree_control")).unwrap();
    for c in ["memory", "cpu", "pids"] {
        assert!(
            enabled.split_whitespace().any(|x| x == c),
            "{c} not enabled in {}: {enabled:?}",
            own.display()
        );
    }
}

async fn inner_a() {
    let own = cgroup_of("self");
    assert!(own.ends_with("deleg-a"), "started in {}", own.display());
    let m = builder(&inner_data())
        .isolation(IsolationMode::Required)
        .build()
        .await
        .unwrap();
    moved_to_leaf(&own);
    capped_jobs_run_under(&m, &own).await;
    m.shutdown(Duration::from_secs(5)).await;
}

async fn inner_b() {
    assert_eq!(unsafe { libc::geteuid() }, USER);
    let own = cgroup_of("self");
    assert!(own.ends_with("deleg-b"), "started in {}", own.display());
    let m = builder(&inner_data())
        .isolation(IsolationMode::Required)
        .build()
        .await
        .unwrap();
    moved_to_leaf(&own);
    capped_jobs_run_under(&m, &own).await;
    m.shutdown(Duration::from_secs(5)).await;
}

async fn inner_c() {
    assert_eq!(unsafe { libc::geteuid() }, USER);
    let data = inner_data();
    let err = builder(&data)
        .isolation(IsolationMode::Required)
        .build()
        .await
        .unwrap_err();
    let msg = err.to_string();
    eprintln!("Required, not delegated: {msg}");
    assert_eq!(err.kind(), ErrorKind::Isolation, "{msg}");
    assert!(
        msg.contains("Delegate=yes"),
        "the error says what to change: {msg}"
    );

    let m = builder(&data)
        .isolation(IsolationMode::Auto)
        .build()
        .await
        .unwrap();
    assert_eq!(m.isolation(), IsolationKind::None);
    assert!(
        m.isolation_error().unwrap_or("").contains("Delegate=yes"),
        "{:?}",
        m.isolation_error()
    );
    let spec = JobSpec::builder()
        .prompt("hi")
        .env("FAKE_CLAUDE_SCENARIO", "ok")
        .memory("128M")
        .build()
        .unwrap();
    let job = m.submit(spec).await.unwrap();
    let info = job.wait().await;
    assert_eq!(info.state, JobState::Succeeded, "{info:?}");
    assert_eq!(info.isolation, IsolationKind::None);
    let events: Vec<_> = job.events(0).into_stream().collect().await;
    let warning = events.iter().find_map(|r| match &r.event {
        JobEvent::Warning {
            kind: WarningKind::IsolationUnavailable,
            message,
        } => Some(message.clone()),
        _ => None,
    });
    let warning = warning.expect("a warning that the job runs uncapped");
    eprintln!("Auto, not delegated: warning {warning:?}");
    assert!(warning.contains("without cgroup limits"), "{warning}");
    assert!(events.iter().any(|r| matches!(
        r.event,
        JobEvent::Started {
            isolation: IsolationKind::None,
            ..
        }
    )));
    m.shutdown(Duration::from_secs(5)).await;
}

/// Runs the inner part when this process is one; true when it was.
async fn inner(role: &str) -> bool {
    match std::env::var(INNER).as_deref() {
        Ok(r) if r == role => {}
        Ok(other) => panic!("inner part {other} started for test of part {role}"),
        Err(_) => return false,
    }
    match role {
        "a" => inner_a().await,
        "b" => inner_b().await,
        _ => inner_c().await,
    }
    true
}

// ---- the tests -------------------------------------------------------------------------

#[tokio::test]
async fn a_root_manager_in_a_busy_cgroup_moves_into_a_leaf_first() {
    const T: &str = "a_root_manager_in_a_busy_cgroup_moves_into_a_leaf_first";
    if inner("a").await || !cgroup_v2_here(T) {
        return;
    }
    let own = fresh_cgroup("deleg-a");
    // Another process in the same cgroup: it has to move to the leaf too.
    let mut cmd = Command::new("sleep");
    cmd.arg("600");
    let mut bystander = spawn_in(cmd, &own);
    let data = data_dir();
    run_inner(T, "a", &own, None, data.path());
    let moved = cgroup_of(&bystander.id().to_string());
    let _ = bystander.kill();
    let _ = bystander.wait();
    assert_eq!(
        moved,
        own.join("claude-jobs-manager"),
        "the other process was moved into the leaf"
    );
    remove_tree(&own);
}

#[tokio::test]
async fn an_unprivileged_manager_in_a_delegated_subtree_caps_jobs() {
    const T: &str = "an_unprivileged_manager_in_a_delegated_subtree_caps_jobs";
    if inner("b").await || !cgroup_v2_here(T) {
        return;
    }
    let own = fresh_cgroup("deleg-b");
    delegate_to(&own, USER);
    let data = data_dir_for(USER);
    run_inner(T, "b", &own, Some(USER), data.path());
    remove_tree(&own);
}

#[tokio::test]
async fn an_unprivileged_manager_without_delegation_fails_or_runs_uncapped() {
    const T: &str = "an_unprivileged_manager_without_delegation_fails_or_runs_uncapped";
    if inner("c").await || !cgroup_v2_here(T) {
        return;
    }
    // A service cgroup that was not delegated: root's, as systemd leaves it without Delegate=yes.
    let own = fresh_cgroup("deleg-c");
    let data = data_dir_for(USER);
    run_inner(T, "c", &own, Some(USER), data.path());
    assert!(
        subdirs(&own).is_empty(),
        "nothing was created in {}: {:?}",
        own.display(),
        subdirs(&own)
    );
    remove_tree(&own);
}
