//! Shutdown drains, then interrupts what is still running.
mod common;

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use claude_jobs::store::JobStore;
use claude_jobs::{ErrorKind, IsolationMode, JobEvent, JobSpec, JobState};
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

#[path = "common/gated_claim.rs"]
mod gated_claim;

use gated_claim::GatedClaimStore;

/// A manager whose store holds its claims at a gate, with one job claimed:
/// running in the store, the answer held until the test opens the gate.
async fn job_in_a_held_claim(
    dir: &std::path::Path,
) -> (
    claude_jobs::JobManager,
    claude_jobs::Job,
    Arc<GatedClaimStore>,
) {
    let store = Arc::new(GatedClaimStore::new());
    let m = builder(dir)
        .store(store.clone())
        .max_concurrent(1)
        .isolation(IsolationMode::Auto)
        .build()
        .await
        .unwrap();
    let job = m.submit(slow(30_000).build().unwrap()).await.unwrap();
    assert!(store.held(30).await, "the job was not claimed");
    let rec = store.inner.get(job.id()).await.unwrap().unwrap();
    assert_eq!(rec.info.state, JobState::Running);
    (m, job, store)
}

#[tokio::test]
async fn shutdown_waits_for_a_claim_in_flight_and_its_job_never_starts() {
    let dir = data_dir();
    let (m, job, store) = job_in_a_held_claim(dir.path()).await;
    let stopping = {
        let m = m.clone();
        tokio::spawn(async move { m.shutdown(Duration::ZERO).await })
    };
    // Shutdown does not return while the claim is out.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        !stopping.is_finished(),
        "shutdown returned with a claim in flight"
    );
    assert_eq!(store.answered.load(Ordering::SeqCst), 0);
    store.open();
    tokio::time::timeout(Duration::from_secs(10), stopping)
        .await
        .expect("shutdown returned once the claim came back")
        .unwrap();
    assert_eq!(store.answered.load(Ordering::SeqCst), 1);
    assert_eq!(m.running(), 0);
    let info = tokio::time::timeout(Duration::from_secs(5), job.wait())
        .await
        .expect("the job ended with the shutdown");
    assert_eq!(info.state, JobState::Interrupted, "{:?}", info.error);
    assert_eq!(
        info.error.as_deref(),
        Some("the manager shut down before the job started")
    );
    assert_eq!(info.pid, None, "no process was started");
    let events = job_events(&job).await;
    assert!(
        !events.iter().any(|e| matches!(e, JobEvent::Started { .. })),
        "{events:?}"
    );
}

#[tokio::test]
async fn a_job_cancelled_while_being_claimed_ends_cancelled_without_a_process() {
    let dir = data_dir();
    let (m, job, store) = job_in_a_held_claim(dir.path()).await;
    assert!(job.cancel().await.unwrap());
    store.open();
    let info = tokio::time::timeout(Duration::from_secs(5), job.wait())
        .await
        .expect("the job ended");
    assert_eq!(info.state, JobState::Cancelled, "{:?}", info.error);
    assert_eq!(info.pid, None, "no process was started");
    assert!(!job_events(&job)
        .await
        .iter()
        .any(|e| matches!(e, JobEvent::Started { .. })));
    // The manager goes on serving.
    let next = m.submit(slow(10).build().unwrap()).await.unwrap();
    assert!(store.held(30).await);
    store.open();
    assert_eq!(next.wait().await.state, JobState::Succeeded);
    m.shutdown(Duration::from_secs(5)).await;
}
