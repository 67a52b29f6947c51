//! Shared helpers for the integration tests: the fake CLI, managers with
//! short grace periods, /proc scans and cgroup checks.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use claude_jobs::{IsolationMode, JobEvent, JobManager, JobManagerBuilder};

/// The real Claude CLI from `CLAUDE_BIN` (`make test-rust` sets it). Without
/// it the test skips, saying so, unless `CLAUDE_JOBS_REQUIRE_REAL_CLI=1`
/// (CI), where it fails.
pub fn real_claude_bin(test: &str) -> Option<PathBuf> {
    match std::env::var("CLAUDE_BIN") {
        Ok(p) if !p.is_empty() => Some(PathBuf::from(p)),
        _ => {
            if std::env::var("CLAUDE_JOBS_REQUIRE_REAL_CLI").as_deref() == Ok("1") {
                panic!("{test}: CLAUDE_BIN is not set but the real CLI is required here");
            }
            eprintln!("SKIP {test}: CLAUDE_BIN is not set (run scripts/install-claude.sh)");
            None
        }
    }
}

/// Path of the fake CLI, built on first use.
pub fn fake_claude() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        if let Ok(p) = std::env::var("FAKE_CLAUDE_BIN") {
            return PathBuf::from(p);
        }
        let root = Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .unwrap()
            .to_path_buf();
        let status = std::process::Command::new(env!("CARGO"))
            .args(["build", "-q", "-p", "fake-claude"])
            .current_dir(&root)
            .status()
            .expect("cargo build fake-claude");
        assert!(status.success(), "building fake-claude failed");
        let target = std::env::var("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|_| root.join("target"));
        target.join("debug/fake-claude")
    })
    .clone()
}

/// Path of the `mcp-echo` test MCP server (`testing/mcp-echo`), built on first use.
pub fn mcp_echo() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| workspace_binary("mcp-echo", "MCP_ECHO_BIN")).clone()
}

/// Path of the local mock Messages API (`testing/mock-anthropic`), built on first use.
pub fn mock_anthropic() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| workspace_binary("mock-anthropic", "MOCK_ANTHROPIC_BIN")).clone()
}

/// A binary of the workspace (`$var` when set), built with cargo.
fn workspace_binary(package: &str, var: &str) -> PathBuf {
    if let Ok(p) = std::env::var(var) {
        return PathBuf::from(p);
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf();
    let status = std::process::Command::new(env!("CARGO"))
        .args(["build", "-q", "-p", package])
        .current_dir(&root)
        .status()
        .unwrap_or_else(|e| panic!("cargo build {package}: {e}"));
    assert!(status.success(), "building {package} failed");
    let target = std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| root.join("target"));
    target.join("debug").join(package)
}

/// True when this process can make cgroups. When it cannot, the test prints
/// why and is skipped, unless `CLAUDE_JOBS_REQUIRE_CGROUPS=1` (set by
/// `make test`), where a skip is a failure.
pub fn cgroups_available(test: &str) -> bool {
    let root = unsafe { libc::geteuid() } == 0;
    let mounted = Path::new("/sys/fs/cgroup/memory/cgroup.procs").exists()
        || Path::new("/sys/fs/cgroup/cgroup.controllers").exists();
    if root && mounted {
        return true;
    }
    let why = if !root {
        "not root"
    } else {
        "no cgroup filesystem"
    };
    if std::env::var("CLAUDE_JOBS_REQUIRE_CGROUPS").as_deref() == Ok("1") {
        panic!("{test}: cgroups are required here (CLAUDE_JOBS_REQUIRE_CGROUPS=1) but unavailable: {why}");
    }
    eprintln!("SKIP {test}: needs cgroups: {why}");
    false
}

pub fn data_dir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("claude-jobs-test-")
        .tempdir()
        .unwrap()
}

/// A builder with the fake CLI and short grace periods.
pub fn builder(dir: &Path) -> JobManagerBuilder {
    JobManager::builder()
        .claude_bin(fake_claude())
        .data_dir(dir)
        .kill_grace(Duration::from_millis(500))
        .result_grace(Duration::from_millis(500))
        .monitor_interval(Duration::from_millis(100))
        .poll_interval(Duration::from_millis(200))
        // No memory budget: the default (available memory − 2 GiB) would
        // refuse the templates' 900 MiB caps in the 2 GiB cgroup-v2 guest.
        // core/tests/admission.rs tests the budgets, the default included.
        .memory_budget(claude_jobs::MemoryBudget::Off)
}

pub async fn manager(dir: &Path, isolation: IsolationMode) -> JobManager {
    builder(dir).isolation(isolation).build().await.unwrap()
}

/// Every event of a job, to its end.
pub async fn job_events(job: &claude_jobs::Job) -> Vec<JobEvent> {
    use futures_util::StreamExt;
    job.events(0).into_stream().map(|r| r.event).collect().await
}

/// The pids a `fork-tree` job printed.
pub fn fake_pids(events: &[claude_jobs::EventRecord]) -> Vec<i32> {
    events
        .iter()
        .find_map(|r| match &r.event {
            JobEvent::Other { raw, .. } if raw["subtype"] == "fake_pids" => Some(
                raw["pids"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|p| p.as_i64().unwrap() as i32)
                    .collect(),
            ),
            _ => None,
        })
        .unwrap_or_default()
}

/// True if `pid` exists and is not a zombie.
pub fn alive(pid: i32) -> bool {
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

/// Processes whose environment carries `marker` (a per-test value in a job env).
pub fn processes_with_env(marker: &str) -> Vec<i32> {
    let needle = marker.as_bytes();
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/environ"))
                .map(|env| env.windows(needle.len()).any(|w| w == needle))
                .unwrap_or(false)
                && alive(*pid)
        })
        .collect()
}

/// Job cgroup directories named after `job_id` anywhere under the cgroup mounts.
pub fn job_cgroups(job_id: &str) -> Vec<PathBuf> {
    cgroups_named(|n| n == format!("job-{job_id}"))
}

/// The directories of the manager running in process `pid` (`mgr-PID-…`).
pub fn manager_cgroups(pid: u32) -> Vec<PathBuf> {
    let prefix = format!("mgr-{pid}-");
    cgroups_named(|n| n.starts_with(&prefix))
}

/// Every cgroup directory whose name passes `want`.
pub fn cgroups_named(want: impl Fn(&str) -> bool) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![PathBuf::from("/sys/fs/cgroup")];
    while let Some(dir) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in rd.flatten() {
            if e.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                let p = e.path();
                if want(&e.file_name().to_string_lossy()) {
                    found.push(p.clone());
                }
                stack.push(p);
            }
        }
    }
    found
}

/// Waits for a condition for up to `secs`.
pub async fn eventually(secs: u64, mut f: impl FnMut() -> bool) -> bool {
    let end = std::time::Instant::now() + Duration::from_secs(secs);
    while std::time::Instant::now() < end {
        if f() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    f()
}

/// A fake job that runs `ms` milliseconds, printing progress every 50 ms.
pub fn slow(ms: u32) -> claude_jobs::JobSpecBuilder {
    claude_jobs::JobSpec::builder()
        .prompt("wait")
        .env("FAKE_CLAUDE_SCENARIO", "slow")
        .env("FAKE_CLAUDE_SECONDS", format!("{}", ms as f64 / 1000.0))
        .env("FAKE_CLAUDE_INTERVAL_MS", "50")
}

/// True when /sys/fs/cgroup is cgroup2 and we are root; otherwise prints why
/// and returns false, or panics under `CLAUDE_JOBS_EXPECT_V2=1`.
pub fn cgroup_v2_here(test: &str) -> bool {
    const CGROUP2_SUPER_MAGIC: i64 = 0x6367_7270;
    let mut st: libc::statfs = unsafe { std::mem::zeroed() };
    let is_v2 = unsafe { libc::statfs(c"/sys/fs/cgroup".as_ptr(), &mut st) } == 0
        && st.f_type as i64 == CGROUP2_SUPER_MAGIC;
    let root = unsafe { libc::geteuid() } == 0;
    if is_v2 && root {
        return true;
    }
    let why = if !is_v2 {
        "/sys/fs/cgroup is not a cgroup2 mount (cgroup v1 or hybrid host)"
    } else {
        "not root"
    };
    if std::env::var("CLAUDE_JOBS_EXPECT_V2").as_deref() == Ok("1") {
        panic!("{test}: cgroup v2 is expected here (CLAUDE_JOBS_EXPECT_V2=1) but: {why}");
    }
    eprintln!("SKIP {test}: needs cgroup v2: {why}");
    false
}
