//! Cancel and timeout kill the whole process tree (including a setsid'd
//! double-forked daemon) and remove the cgroup.
mod common;

use std::time::Duration;

use claude_jobs::{IsolationMode, JobSpec, JobState};
use common::*;

fn fork_tree(marker: &str) -> claude_jobs::JobSpecBuilder {
    JobSpec::builder()
        .prompt("spawn tools")
        .env("FAKE_CLAUDE_SCENARIO", "fork-tree")
        .env("TEST_MARKER", marker)
}

async fn check_gone(job: &claude_jobs::Job, marker: &str) {
    let events: Vec<_> = {
        use futures_util::StreamExt;
        job.events(0).into_stream().collect().await
    };
    let pids = fake_pids(&events);
    assert_eq!(pids.len(), 2, "child and setsid daemon were spawned");
    for p in &pids {
        assert!(!alive(*p), "pid {p} survived");
    }
    assert!(
        processes_with_env(marker).is_empty(),
        "a process of the job survived"
    );
    assert!(
        job_cgroups(job.id()).is_empty(),
        "cgroup left: {:?}",
        job_cgroups(job.id())
    );
}

#[tokio::test]
async fn cancel_kills_the_whole_tree() {
    if !cgroups_available("cancel_kills_the_whole_tree") {
        return;
    }
    let dir = data_dir();
    let m = manager(dir.path(), IsolationMode::Required).await;
    let marker = format!("cancel-{}", std::process::id());
    let job = m.submit(fork_tree(&marker).build().unwrap()).await.unwrap();
    let mut ev = job.events(0);
    // Wait until the tree exists.
    while let Some(r) = ev.next().await {
        if matches!(&r.event, claude_jobs::JobEvent::Other { raw, .. } if raw["subtype"] == "fake_pids")
        {
            break;
        }
    }
    assert_eq!(
        processes_with_env(&marker).len(),
        3,
        "leader, child, daemon"
    );
    assert!(!job_cgroups(job.id()).is_empty());
    job.cancel().await.unwrap();
    let info = job.wait().await;
    assert_eq!(info.state, JobState::Cancelled);
    check_gone(&job, &marker).await;
}

#[tokio::test]
async fn timeout_kills_the_whole_tree() {
    if !cgroups_available("timeout_kills_the_whole_tree") {
        return;
    }
    let dir = data_dir();
    let m = manager(dir.path(), IsolationMode::Required).await;
    let marker = format!("timeout-{}", std::process::id());
    let spec = fork_tree(&marker)
        .timeout(Duration::from_secs(2))
        .build()
        .unwrap();
    let job = m.submit(spec).await.unwrap();
    let info = job.wait().await;
    assert_eq!(info.state, JobState::TimedOut);
    assert!(info.error.unwrap().contains("timed out after 2s"));
    check_gone(&job, &marker).await;
}

#[tokio::test]
async fn idle_timeout_fires_on_silence() {
    let dir = data_dir();
    let m = manager(dir.path(), IsolationMode::Auto).await;
    let spec = JobSpec::builder()
        .prompt("x")
        .env("FAKE_CLAUDE_SCENARIO", "ignore-sigterm")
        .idle_timeout(Duration::from_secs(1))
        .build()
        .unwrap();
    let info = m.submit(spec).await.unwrap().wait().await;
    assert_eq!(info.state, JobState::TimedOut);
    assert!(info.error.unwrap().contains("idle timeout"));
}

/// Lines keep an idle timeout away: a job writing every 300 ms for 2.5 s
/// runs to its end under a 1 s idle timeout.
#[tokio::test]
async fn lines_keep_the_idle_timeout_away() {
    let dir = data_dir();
    let m = manager(dir.path(), IsolationMode::Auto).await;
    let spec = JobSpec::builder()
        .prompt("x")
        .env("FAKE_CLAUDE_SCENARIO", "ticker")
        .env("FAKE_CLAUDE_INTERVAL_MS", "300")
        .env("FAKE_CLAUDE_SECONDS", "2.5")
        .idle_timeout(Duration::from_secs(1))
        .build()
        .unwrap();
    let info = m.submit(spec).await.unwrap().wait().await;
    assert_eq!(info.state, JobState::Succeeded, "{:?}", info.error);
}

/// A job that forks without pause and ignores SIGTERM (a shell loop starting
/// background sleepers) is stopped whole: the kill stops forks in its group first, so
/// the process list can only shrink while it is killed.
#[tokio::test]
async fn cancel_stops_a_job_that_keeps_forking() {
    if !cgroups_available("cancel_stops_a_job_that_keeps_forking") {
        return;
    }
    let dir = data_dir();
    let script = dir.path().join("forker.sh");
    // Paced (~100 sleepers a second) so the pids cap is not reached (a
    // failed fork ends the shell) before the cancel.
    std::fs::write(
        &script,
        "#!/bin/sh\ntrap '' TERM\nwhile :; do sleep 600 & sleep 0.01; done\n",
    )
    .unwrap();
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let m = builder(dir.path())
        .claude_bin(&script)
        .isolation(IsolationMode::Required)
        .build()
        .await
        .unwrap();
    let marker = format!("forker-{}", std::process::id());
    let spec = JobSpec::builder()
        .prompt("fork")
        .env("TEST_MARKER", &marker)
        .pids(2000)
        .build()
        .unwrap();
    let job = m.submit(spec).await.unwrap();
    assert!(
        eventually(10, || processes_with_env(&marker).len() >= 20).await,
        "the loop should have started sleepers"
    );
    job.cancel().await.unwrap();
    let info = job.wait().await;
    assert_eq!(info.state, JobState::Cancelled);
    assert!(
        processes_with_env(&marker).is_empty(),
        "survivors: {:?}",
        processes_with_env(&marker)
    );
    assert!(job_cgroups(job.id()).is_empty(), "cgroup left: {:?}", job_cgroups(job.id()));
}
