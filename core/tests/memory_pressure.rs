//! A job that thrashes at its memory cap (not OOM-killed, not progressing)
//! raises memory-pressure events and ends with an error that names it.
mod common;

use std::time::Duration;

use claude_jobs::{IsolationMode, JobEvent, JobSpec, JobState};
use common::*;
use futures_util::StreamExt;

fn thrash() -> claude_jobs::JobSpecBuilder {
    JobSpec::builder()
        .prompt("x")
        .env("FAKE_CLAUDE_SCENARIO", "thrash")
        .env("FAKE_CLAUDE_ALLOC_MB", "40")
        .env("FAKE_CLAUDE_FILE_MB", "64")
        .memory("64M")
}

#[tokio::test]
async fn thrashing_is_reported_and_timed_out() {
    if !cgroups_available("thrashing_is_reported_and_timed_out") {
        return;
    }
    let dir = data_dir();
    let m = manager(dir.path(), IsolationMode::Required).await;
    let job = m
        .submit(thrash().timeout(Duration::from_secs(4)).build().unwrap())
        .await
        .unwrap();
    let info = job.wait().await;
    assert_eq!(info.state, JobState::TimedOut, "{info:?}");
    let err = info.error.unwrap();
    assert!(
        err.contains("memory pressure") && err.contains("64 MiB"),
        "{err}"
    );
    assert!(info.stats.memory_refaults > 1000, "{:?}", info.stats);
    let ev: Vec<_> = job.events(0).into_stream().collect().await;
    assert!(ev.iter().any(|r| matches!(r.event, JobEvent::MemoryPressure { limit_bytes: Some(l), .. } if l == 64 << 20)));
}

#[tokio::test]
async fn a_pressure_limit_stops_it_early() {
    if !cgroups_available("a_pressure_limit_stops_it_early") {
        return;
    }
    let dir = data_dir();
    let m = builder(dir.path())
        .isolation(IsolationMode::Required)
        .memory_pressure_limit(Duration::from_secs(1))
        .build()
        .await
        .unwrap();
    let info = m
        .submit(thrash().timeout(Duration::from_secs(60)).build().unwrap())
        .await
        .unwrap()
        .wait()
        .await;
    assert_eq!(info.state, JobState::TimedOut);
    assert!(
        info.duration_ms().unwrap() < 20_000,
        "stopped well before its timeout"
    );
    assert!(info.error.unwrap().contains("under memory pressure"));
}

#[tokio::test]
async fn a_job_well_inside_its_cap_raises_no_pressure() {
    if !cgroups_available("a_job_well_inside_its_cap_raises_no_pressure") {
        return;
    }
    let dir = data_dir();
    let m = manager(dir.path(), IsolationMode::Required).await;
    let spec = JobSpec::builder()
        .prompt("x")
        .env("FAKE_CLAUDE_SCENARIO", "slow")
        .env("FAKE_CLAUDE_SECONDS", "1")
        .memory("256M")
        .build()
        .unwrap();
    let job = m.submit(spec).await.unwrap();
    assert_eq!(job.wait().await.state, JobState::Succeeded);
    let ev: Vec<_> = job.events(0).into_stream().collect().await;
    assert!(!ev
        .iter()
        .any(|r| matches!(r.event, JobEvent::MemoryPressure { .. })));
}
