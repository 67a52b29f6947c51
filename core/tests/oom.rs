//! A job over its memory cap ends `oom_killed`; its neighbour is unaffected.
mod common;

use claude_jobs::{IsolationMode, JobSpec, JobState};
use common::*;

#[tokio::test]
async fn memory_cap_oom_kills_only_the_offender() {
    if !cgroups_available("memory_cap_oom_kills_only_the_offender") {
        return;
    }
    let dir = data_dir();
    let m = manager(dir.path(), IsolationMode::Required).await;
    let hog = JobSpec::builder()
        .prompt("eat memory")
        .env("FAKE_CLAUDE_SCENARIO", "alloc")
        .memory("64M")
        .build()
        .unwrap();
    let neighbour = JobSpec::builder()
        .prompt("be calm")
        .env("FAKE_CLAUDE_SCENARIO", "slow")
        .env("FAKE_CLAUDE_SECONDS", "1")
        .env("FAKE_CLAUDE_INTERVAL_MS", "100")
        .memory("256M")
        .build()
        .unwrap();
    let n = m.submit(neighbour).await.unwrap();
    let h = m.submit(hog).await.unwrap();
    let hi = h.wait().await;
    assert_eq!(hi.state, JobState::OomKilled, "{hi:?}");
    assert!(hi.error.as_deref().unwrap().contains("out of memory"));
    assert_eq!(hi.stats.oom_kills, 1);
    assert!(hi.stats.peak_memory_bytes >= 60 << 20, "{:?}", hi.stats);
    assert!(hi.stats.peak_memory_bytes <= 64 << 20, "{:?}", hi.stats);
    let ni = n.wait().await;
    assert_eq!(ni.state, JobState::Succeeded, "{ni:?}");
    assert_eq!(ni.stats.oom_kills, 0);
}
