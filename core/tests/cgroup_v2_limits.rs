//! cgroup v2 only: a running job's cgroup holds the limits the manager wrote
//! (`memory.max`, `memory.swap.max`, `memory.oom.group`, `cpu.max`,
//! `pids.max`), the job's processes are in it, `pids.max` is enforced, and
//! the group is gone when the job ends.
//!
//! Skips (with the reason) unless /sys/fs/cgroup is a cgroup2 mount and we
//! are root; with `CLAUDE_JOBS_EXPECT_V2=1` (set in the v2 guest by
//! `make test-cgroup-v2`) a skip is a failure.
mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use claude_jobs::{IsolationKind, IsolationMode, JobEvent, JobSpec, JobState};
use common::*;

fn read(dir: &Path, file: &str) -> String {
    std::fs::read_to_string(dir.join(file))
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.join(file).display()))
        .trim()
        .to_string()
}

/// Waits for the job's `Started` event and returns its pid.
async fn started(job: &claude_jobs::Job) -> u32 {
    let mut ev = job.events(0);
    while let Some(r) = ev.next().await {
        if let JobEvent::Started { pid, isolation, .. } = r.event {
            assert_eq!(isolation, IsolationKind::CgroupV2);
            return pid;
        }
    }
    panic!("the job ended without starting: {:?}", job.info());
}

#[tokio::test]
async fn limits_are_in_the_running_jobs_cgroup_and_it_is_removed_after() {
    if !cgroup_v2_here("limits_are_in_the_running_jobs_cgroup_and_it_is_removed_after") {
        return;
    }
    let dir = data_dir();
    let m = manager(dir.path(), IsolationMode::Required).await;
    assert_eq!(m.isolation(), IsolationKind::CgroupV2);
    let marker = format!("v2-limits-{}", std::process::id());
    let spec = JobSpec::builder()
        .prompt("wait")
        .env("FAKE_CLAUDE_SCENARIO", "slow")
        .env("FAKE_CLAUDE_SECONDS", "60")
        .env("FAKE_CLAUDE_INTERVAL_MS", "200")
        .env("TEST_MARKER", &marker)
        .memory("256M")
        .cpus(0.5)
        .pids(64)
        .build()
        .unwrap();
    let job = m.submit(spec).await.unwrap();
    let pid = started(&job).await;

    let dirs = job_cgroups(job.id());
    assert_eq!(dirs.len(), 1, "one v2 group per job: {dirs:?}");
    let cg: PathBuf = dirs[0].clone();
    eprintln!("job cgroup {}", cg.display());
    assert_eq!(read(&cg, "cgroup.type"), "domain");
    assert_eq!(read(&cg, "memory.max"), (256u64 << 20).to_string());
    assert_eq!(read(&cg, "memory.swap.max"), "0");
    assert_eq!(read(&cg, "memory.oom.group"), "1");
    assert_eq!(read(&cg, "cpu.max"), "50000 100000");
    assert_eq!(read(&cg, "pids.max"), "64");
    // The controllers are enabled down to the job's parent.
    let parent = cg.parent().unwrap();
    let enabled = read(parent, "cgroup.subtree_control");
    for c in ["memory", "cpu", "pids"] {
        assert!(
            enabled.split_whitespace().any(|x| x == c),
            "{c} not in {}: {enabled:?}",
            parent.display()
        );
    }
    // The CLI was attached before exec: it is in the group, and so are only the job's processes.
    let procs: Vec<i32> = read(&cg, "cgroup.procs")
        .lines()
        .map(|l| l.parse().unwrap())
        .collect();
    assert!(
        procs.contains(&(pid as i32)),
        "leader {pid} not in {procs:?}"
    );
    let own = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap();
    let rel = cg.strip_prefix("/sys/fs/cgroup").unwrap();
    assert_eq!(own.trim(), format!("0::/{}", rel.display()));
    assert!(
        procs.iter().all(|p| *p != std::process::id() as i32),
        "the manager is not in the job's group"
    );
    // Counters a running job has.
    assert!(read(&cg, "memory.current").parse::<u64>().unwrap() > 0);
    assert!(read(&cg, "memory.events").contains("oom_kill 0"));

    job.cancel().await.unwrap();
    let info = job.wait().await;
    assert_eq!(info.state, JobState::Cancelled, "{info:?}");
    assert_eq!(info.isolation, IsolationKind::CgroupV2);
    assert!(
        info.stats.cpu_usage_usec > 0,
        "cpu.stat read before removal: {:?}",
        info.stats
    );
    assert!(
        info.stats.peak_memory_bytes > 0,
        "memory.peak read before removal: {:?}",
        info.stats
    );
    assert!(!cg.exists(), "cgroup left: {}", cg.display());
    assert!(job_cgroups(job.id()).is_empty());
    assert!(
        processes_with_env(&marker).is_empty(),
        "a process of the job survived"
    );
    m.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test]
async fn pids_max_stops_a_fork_and_the_leftovers_are_killed() {
    if !cgroup_v2_here("pids_max_stops_a_fork_and_the_leftovers_are_killed") {
        return;
    }
    let dir = data_dir();
    let m = manager(dir.path(), IsolationMode::Required).await;
    let marker = format!("v2-pids-{}", std::process::id());
    // fork-tree needs 4 processes at once: leader, child, middle, daemon.
    let spec = JobSpec::builder()
        .prompt("spawn tools")
        .env("FAKE_CLAUDE_SCENARIO", "fork-tree")
        .env("TEST_MARKER", &marker)
        .pids(2)
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap();
    let job = m.submit(spec).await.unwrap();
    let info = job.wait().await;
    assert_eq!(info.state, JobState::Failed, "{info:?}");
    assert!(
        info.error.as_deref().unwrap_or("").contains("fork"),
        "{info:?}"
    );
    assert!(info.stats.peak_processes <= 2, "{:?}", info.stats);
    assert!(
        processes_with_env(&marker).is_empty(),
        "the forked child survived"
    );
    assert!(job_cgroups(job.id()).is_empty());
}

#[tokio::test]
async fn shutdown_stops_the_job_and_removes_the_managers_directory() {
    if !cgroup_v2_here("shutdown_stops_the_job_and_removes_the_managers_directory") {
        return;
    }
    let dir = data_dir();
    let m = manager(dir.path(), IsolationMode::Required).await;
    let spec = JobSpec::builder()
        .prompt("wait")
        .env("FAKE_CLAUDE_SCENARIO", "slow")
        .env("FAKE_CLAUDE_SECONDS", "60")
        .memory("128M")
        .build()
        .unwrap();
    let job = m.submit(spec).await.unwrap();
    started(&job).await;
    let cg = job_cgroups(job.id()).pop().expect("the job's cgroup");
    let mgr_dir = cg.parent().unwrap().to_path_buf();
    assert!(
        mgr_dir
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("mgr-"),
        "{}",
        mgr_dir.display()
    );
    m.shutdown(Duration::from_millis(100)).await;
    let info = job.wait().await;
    assert_eq!(info.state, JobState::Interrupted, "{info:?}");
    assert!(!cg.exists(), "job cgroup left: {}", cg.display());
    assert!(
        !mgr_dir.exists(),
        "manager directory left: {}",
        mgr_dir.display()
    );
}
