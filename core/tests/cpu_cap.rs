//! A CPU cap of 0.5 holds a busy loop to about half a core.
mod common;

use claude_jobs::{IsolationMode, JobSpec, JobState};
use common::*;

#[tokio::test]
async fn half_a_core_is_half_a_core() {
    if !cgroups_available("half_a_core_is_half_a_core") {
        return;
    }
    let dir = data_dir();
    let m = manager(dir.path(), IsolationMode::Required).await;
    let spec = JobSpec::builder()
        .prompt("burn")
        .env("FAKE_CLAUDE_SCENARIO", "cpu")
        .env("FAKE_CLAUDE_SECONDS", "3")
        .cpus(0.5)
        .build()
        .unwrap();
    let info = m.submit(spec).await.unwrap().wait().await;
    assert_eq!(info.state, JobState::Succeeded, "{info:?}");
    let wall_us = (info.duration_ms().unwrap() * 1000) as f64;
    let cores = info.stats.cpu_usage_usec as f64 / wall_us;
    eprintln!(
        "cpu usage {:.3} cores, throttled {} periods",
        cores, info.stats.nr_throttled
    );
    assert!(cores <= 0.6, "measured {cores:.3} cores under a 0.5 cap");
    assert!(cores >= 0.1, "the job did run: {cores:.3} cores");
    // On a busy host the loop may get less than its quota and never be
    // throttled; when it did get close to the cap, the cap must have bitten.
    if cores >= 0.45 {
        assert!(info.stats.nr_throttled > 5, "{:?}", info.stats);
    }
}
