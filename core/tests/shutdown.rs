//! Shutdown drains, then interrupts what is still running.
mod common;

use std::time::Duration;

use claude_jobs::{ErrorKind, IsolationMode, JobSpec, JobState};
use common::*;

#[tokio::test]
async fn shutdown_interrupts_running_and_queued_jobs() {
    let dir = data_dir();
    // In memory: queued jobs end `interrupted` at shutdown. (A durable store
    // keeps them queued for the next manager: see durable_restart.rs.)
    let m = builder(dir.path())
        .store_url("memory")
        .max_concurrent(1)
        .isolation(IsolationMode::Auto)
        .build()
        .await
        .unwrap();
    let slow = || {
        JobSpec::builder()
            .prompt("x")
            .env("FAKE_CLAUDE_SCENARIO", "slow")
            .env("FAKE_CLAUDE_SECONDS", "30")
            .build()
            .unwrap()
    };
    let running = m.submit(slow()).await.unwrap();
    let queued = m.submit(slow()).await.unwrap();
    assert!(eventually(30, || running.info().pid.is_some()).await);
    m.shutdown(Duration::from_millis(200)).await;
    let r = running.wait().await;
    assert_eq!(r.state, JobState::Interrupted);
    assert!(!alive(r.pid.unwrap() as i32));
    assert_eq!(queued.wait().await.state, JobState::Interrupted);
    let e = m.submit(slow()).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::ShuttingDown);
}

#[tokio::test]
async fn shutdown_lets_short_jobs_finish() {
    let dir = data_dir();
    let m = manager(dir.path(), IsolationMode::Auto).await;
    let job = m
        .submit(
            JobSpec::builder()
                .prompt("x")
                .env("FAKE_CLAUDE_SCENARIO", "slow")
                .env("FAKE_CLAUDE_SECONDS", "0.5")
                .build()
                .unwrap(),
        )
        .await
        .unwrap();
    assert!(eventually(30, || job.info().pid.is_some()).await);
    m.shutdown(Duration::from_secs(10)).await;
    assert_eq!(job.wait().await.state, JobState::Succeeded);
}
