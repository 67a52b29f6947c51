//! Values and events that used to crash, wedge or silently weaken the
//! manager: caps the kernel would refuse, durations that overflow, a panic
//! in a job's task, an OOM kill of a tool process, a full disk.
mod common;

use std::time::Duration;

use claude_jobs::wire::{from_value, Style};
use claude_jobs::{ErrorKind, IsolationMode, JobSpec, JobState, ManagerOptions};
use common::*;

#[tokio::test]
async fn caps_the_host_cannot_give_are_refused_at_submit() {
    let dir = data_dir();
    let m = manager(dir.path(), IsolationMode::Auto).await;
    let field = |e: claude_jobs::Error| (e.kind(), e.field().map(String::from));
    let too_many = JobSpec::builder().prompt("x").pids(5_000_000).build().unwrap_err();
    assert_eq!(field(too_many), (ErrorKind::InvalidSpec, Some("pids".into())));
    let js_max: JobSpec = from_value(serde_json::json!({"prompt": "x", "pids": 9007199254740992.0}), Style::Camel).unwrap();
    assert_eq!(field(m.submit(js_max).await.unwrap_err()), (ErrorKind::InvalidSpec, Some("pids".into())));
    let huge = JobSpec::builder().prompt("x").memory_bytes(1 << 60).build().unwrap();
    assert_eq!(field(m.submit(huge).await.unwrap_err()).1.as_deref(), Some("memory"));
    let cpus = JobSpec::builder().prompt("x").cpus(1e6).build().unwrap();
    assert_eq!(field(m.submit(cpus).await.unwrap_err()).1.as_deref(), Some("cpus"));
    // The manager still serves.
    let ok = m.submit(JobSpec::from_prompt("hi")).await.unwrap().wait().await;
    assert_eq!(ok.state, JobState::Succeeded);
    m.shutdown(Duration::from_secs(5)).await;
}

/// Under `auto`, a cap the kernel refuses (here a pids value past its
/// limit, smuggled past validation by a test hook) fails that job naming the
/// field: it never runs uncapped, leaves no cgroup, and the next job is capped.
#[cfg(feature = "test-hooks")]
#[tokio::test]
async fn a_cap_the_kernel_refuses_fails_the_job_naming_it_and_never_runs_uncapped() {
    if !cgroups_available("a_cap_the_kernel_refuses_fails_the_job_naming_it_and_never_runs_uncapped") {
        return;
    }
    let dir = data_dir();
    let m = manager(dir.path(), IsolationMode::Auto).await;
    let spec = JobSpec::builder()
        .prompt("hi")
        .memory("64M")
        .label("claude_jobs.test_hook", "kernel-refuses-pids")
        .build()
        .unwrap();
    let job = m.submit(spec).await.unwrap();
    let id = job.id().to_string();
    let info = tokio::time::timeout(Duration::from_secs(30), job.wait()).await.expect("the job ends");
    assert_eq!(info.state, JobState::Failed, "{info:?}");
    let error = info.error.clone().unwrap_or_default();
    assert!(error.contains("refused the job's pids cap"), "{error}");
    assert_eq!(info.pid, None, "it never started without its caps: {info:?}");
    let left: Vec<String> = claude_jobs_cgroup_dirs().into_iter().filter(|d| d.contains(&id)).collect();
    assert!(left.is_empty(), "its cgroup is gone: {left:?}");
    let next = m.submit(JobSpec::builder().prompt("hi").memory("64M").build().unwrap()).await.unwrap().wait().await;
    assert_eq!(next.state, JobState::Succeeded, "{next:?}");
    assert_ne!(next.isolation, claude_jobs::IsolationKind::None, "the next job is capped: {next:?}");
    m.shutdown(Duration::from_secs(5)).await;
}

/// Every directory under the cgroup mounts whose path names a job (to find
/// a job's leftovers by its id).
#[cfg(feature = "test-hooks")]
fn claude_jobs_cgroup_dirs() -> Vec<String> {
    fn walk(dir: &std::path::Path, depth: usize, out: &mut Vec<String>) {
        let Ok(rd) = std::fs::read_dir(dir) else { return };
        for e in rd.flatten() {
            if e.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                out.push(e.path().display().to_string());
                if depth < 6 {
                    walk(&e.path(), depth + 1, out);
                }
            }
        }
    }
    let mut out = Vec::new();
    walk(std::path::Path::new("/sys/fs/cgroup"), 0, &mut out);
    out
}

#[test]
fn durations_that_would_overflow_are_refused() {
    let huge = Duration::from_secs(10_000_000_000_000_000_000);
    let e = JobSpec::builder().prompt("x").timeout(huge).build().unwrap_err();
    assert_eq!(e.field(), Some("timeout"));
    let e = JobSpec::builder().prompt("x").idle_timeout(huge).build().unwrap_err();
    assert_eq!(e.field(), Some("idle_timeout"));
    for (key, v) in [("timeout", 1e19), ("timeout", 1e20), ("idle_timeout", 3e9)] {
        let e = from_value::<JobSpec>(serde_json::json!({"prompt": "x", key: v}), Style::Snake).unwrap_err();
        assert_eq!(e.field(), Some(key), "{e}");
    }
    let e = from_value::<ManagerOptions>(serde_json::json!({"defaultTimeoutMs": 1e22}), Style::Camel).unwrap_err();
    assert_eq!(e.field(), Some("defaultTimeoutMs"));
    let opts = ManagerOptions { kill_grace: huge, ..Default::default() };
    assert_eq!(opts.validate().unwrap_err().field(), Some("kill_grace"));
}

#[cfg(feature = "test-hooks")]
#[tokio::test]
async fn a_panic_in_a_jobs_task_fails_that_job_and_frees_its_slot() {
    let dir = data_dir();
    let m = builder(dir.path()).max_concurrent(1).isolation(IsolationMode::Auto).build().await.unwrap();
    let spec = JobSpec::builder()
        .prompt("x")
        .env("FAKE_CLAUDE_SCENARIO", "slow")
        .env("FAKE_CLAUDE_SECONDS", "30")
        .label("claude_jobs.test_hook", "panic-while-running")
        .build()
        .unwrap();
    let job = m.submit(spec).await.unwrap();
    let info = tokio::time::timeout(Duration::from_secs(30), job.wait()).await.expect("the job ends");
    assert_eq!(info.state, JobState::Failed, "{info:?}");
    assert!(info.error.as_deref().unwrap().contains("panic"), "{info:?}");
    let pid = info.pid.expect("it had started");
    assert!(eventually(10, || !alive(pid)).await, "its process was killed");
    // The slot is free: the next job runs; shutdown returns.
    let next = m.submit(JobSpec::from_prompt("hi")).await.unwrap();
    let next = tokio::time::timeout(Duration::from_secs(30), next.wait()).await.unwrap();
    assert_eq!(next.state, JobState::Succeeded);
    tokio::time::timeout(Duration::from_secs(20), m.shutdown(Duration::from_secs(5)))
        .await
        .expect("shutdown returns");
}

#[cfg(feature = "test-hooks")]
fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| !s.rsplit(')').next().unwrap_or("").trim_start().starts_with('Z'))
        .unwrap_or(false)
}

#[tokio::test]
async fn an_oom_kill_of_a_tool_process_ends_the_job_oom_killed() {
    if !cgroups_available("an_oom_kill_of_a_tool_process_ends_the_job_oom_killed") {
        return;
    }
    let dir = data_dir();
    let m = manager(dir.path(), IsolationMode::Required).await;
    let spec = JobSpec::builder()
        .prompt("run a tool that eats memory")
        .env("FAKE_CLAUDE_SCENARIO", "oom-child")
        .env("FAKE_CLAUDE_ALLOC_MB", "300")
        .memory("64M")
        .build()
        .unwrap();
    let info = m.submit(spec).await.unwrap().wait().await;
    assert_eq!(info.state, JobState::OomKilled, "the CLI said success, but a process of the job was OOM-killed: {info:?}");
    assert!(info.stats.oom_kills >= 1, "{:?}", info.stats);
    m.shutdown(Duration::from_secs(5)).await;
}

/// A tmpfs of `mb` MiB mounted on a new directory, unmounted when dropped.
struct SmallDisk {
    _parent: tempfile::TempDir,
    path: std::path::PathBuf,
}

impl SmallDisk {
    fn mount(mb: u64) -> Option<SmallDisk> {
        if unsafe { libc::geteuid() } != 0 {
            if std::env::var("CLAUDE_JOBS_REQUIRE_CGROUPS").as_deref() == Ok("1") {
                panic!("the full-disk test must run as root here (it mounts a tmpfs)");
            }
            eprintln!("SKIP a_full_disk_ends_the_job_promptly_and_says_so: needs root to mount a tmpfs");
            return None;
        }
        let parent = data_dir();
        let path = parent.path().join("disk");
        std::fs::create_dir(&path).unwrap();
        let ok = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={mb}m"), "tmpfs"])
            .arg(&path)
            .status()
            .unwrap()
            .success();
        assert!(ok, "mount -t tmpfs");
        Some(SmallDisk { _parent: parent, path })
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg("-l").arg(&self.path).status();
    }
}

#[tokio::test]
async fn a_full_disk_ends_the_job_promptly_and_says_so() {
    let Some(disk) = SmallDisk::mount(8) else { return };
    let m = builder(&disk.path).isolation(IsolationMode::Auto).build().await.unwrap();
    // 64 MiB of output into an 8 MiB disk.
    let spec = JobSpec::builder()
        .prompt("x")
        .env("FAKE_CLAUDE_SCENARIO", "big-output")
        .env("FAKE_CLAUDE_OUTPUT_MB", "64")
        .build()
        .unwrap();
    let job = m.submit(spec).await.unwrap();
    let info = tokio::time::timeout(Duration::from_secs(30), job.wait())
        .await
        .expect("the job ends promptly");
    assert_eq!(info.state, JobState::Failed, "{info:?}");
    let error = info.error.clone().unwrap_or_default();
    assert!(error.contains("disk is full"), "the error says why: {error}");
    if let Some(last) = m.store_health().last_error {
        assert!(!last.contains("transaction depth"), "store health names the real error: {last}");
    }
    // Space again: the manager goes on serving.
    std::fs::remove_file(info.log_dir.unwrap().join("stdout.log")).unwrap();
    let next = m.submit(JobSpec::from_prompt("hi")).await.unwrap();
    let next = tokio::time::timeout(Duration::from_secs(30), next.wait()).await.unwrap();
    assert_eq!(next.state, JobState::Succeeded, "{next:?}");
    assert!(m.store_health().healthy);
    m.shutdown(Duration::from_secs(5)).await;
}
