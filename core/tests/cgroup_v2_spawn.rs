//! cgroup v2 only: the CLI is born in its job's cgroup (`clone3` with
//! `CLONE_INTO_CGROUP`), and the fallback (start outside, move in before
//! exec) still caps it. Each job allocates past a 64 MiB cap: it must end
//! `oom_killed`, which only happens inside the group.
//!
//! With the `test-hooks` label `spawn-into-cgroup-only` the manager leaves
//! out the move, so the job is capped only if `clone3` put it in its group;
//! `spawn-attach-only` leaves out `clone3`. Skips (with the reason) unless
//! /sys/fs/cgroup is cgroup2 and we are root; under `CLAUDE_JOBS_EXPECT_V2=1`
//! (the v2 guest) a skip is a failure.
mod common;

use claude_jobs::{IsolationKind, IsolationMode, JobSpec, JobState};
use common::*;

fn hog(hook: &str) -> JobSpec {
    JobSpec::builder()
        .prompt("eat memory")
        .env("FAKE_CLAUDE_SCENARIO", "alloc")
        .env("FAKE_CLAUDE_ALLOC_MB", "256")
        .memory("64M")
        .label("claude_jobs.test_hook", hook)
        .build()
        .unwrap()
}

async fn capped(hook: &str) {
    let dir = data_dir();
    let m = manager(dir.path(), IsolationMode::Required).await;
    let info = m.submit(hog(hook)).await.unwrap().wait().await;
    assert_eq!(info.isolation, IsolationKind::CgroupV2, "{info:?}");
    assert_eq!(info.state, JobState::OomKilled, "{hook}: the CLI was not in its capped group: {info:?}");
    assert!(info.stats.peak_memory_bytes <= 64 << 20, "{:?}", info.stats);
    m.shutdown(std::time::Duration::from_secs(5)).await;
}

#[tokio::test]
async fn the_cli_is_born_in_its_cgroup() {
    if !cgroup_v2_here("the_cli_is_born_in_its_cgroup") {
        return;
    }
    capped("spawn-into-cgroup-only").await;
}

#[tokio::test]
async fn without_clone3_the_cli_is_moved_in_before_exec() {
    if !cgroup_v2_here("without_clone3_the_cli_is_moved_in_before_exec") {
        return;
    }
    capped("spawn-attach-only").await;
}
