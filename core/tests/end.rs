//! Every way a job ends goes through the manager's one `end`: the outcome is
//! stored, the waiters wake, the event stream ends with exactly one
//! `finished`, and the slot is free. One test per outcome, each checking
//! all of that the same way.
mod common;

use std::time::Duration;

use claude_jobs::{IsolationMode, Job, JobEvent, JobManager, JobSpec, JobState, ListQuery};
use common::*;

/// What every ended job must show.
async fn ended_once(m: &JobManager, job: &Job, want: JobState) {
    let info = tokio::time::timeout(Duration::from_secs(60), job.wait())
        .await
        .expect("wait() returns");
    assert_eq!(info.state, want, "{info:?}");
    let events = tokio::time::timeout(Duration::from_secs(10), job_events(job))
        .await
        .expect("the event stream ends");
    let finished: Vec<&JobEvent> = events.iter().filter(|e| matches!(e, JobEvent::Finished { .. })).collect();
    assert_eq!(finished.len(), 1, "one finished event: {events:?}");
    assert!(matches!(events.last(), Some(JobEvent::Finished { state, .. }) if *state == want), "{events:?}");
    let stored = m.list(&ListQuery::default()).await.unwrap();
    let row = stored.jobs.iter().find(|j| j.id == job.id()).expect("listed");
    assert_eq!(row.state, want, "the store has the outcome");
}

/// No slot is held once every job ended.
async fn slots_free(m: &JobManager) {
    assert!(eventually(10, || m.running() == 0).await, "the slots are free");
    assert_eq!(m.status().await.unwrap().running, 0);
}

async fn manager_with(dir: &std::path::Path, store: &str) -> JobManager {
    builder(dir)
        .isolation(IsolationMode::Auto)
        .store_url(store)
        .max_concurrent(1)
        .build()
        .await
        .unwrap()
}

fn scenario(name: &str) -> claude_jobs::JobSpecBuilder {
    JobSpec::builder().prompt("x").env("FAKE_CLAUDE_SCENARIO", name)
}

#[tokio::test]
async fn succeeded_failed_and_timed_out_end_through_the_same_path() {
    let dir = data_dir();
    let m = manager_with(dir.path(), "sqlite://claude-jobs.db").await;
    let ok = m.submit(scenario("ok").build().unwrap()).await.unwrap();
    ended_once(&m, &ok, JobState::Succeeded).await;
    let bad = m.submit(scenario("no-result").build().unwrap()).await.unwrap();
    ended_once(&m, &bad, JobState::Failed).await;
    let late = m.submit(scenario("slow").timeout(Duration::from_millis(500)).build().unwrap()).await.unwrap();
    ended_once(&m, &late, JobState::TimedOut).await;
    slots_free(&m).await;
    m.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test]
async fn cancelled_queued_running_and_dependents_end_through_the_same_path() {
    let dir = data_dir();
    let m = manager_with(dir.path(), "sqlite://claude-jobs.db").await;
    let running = m.submit(slow(20_000).build().unwrap()).await.unwrap();
    assert!(eventually(30, || running.state() == JobState::Running).await);
    let queued = m.submit(JobSpec::from_prompt("waits")).await.unwrap();
    let dependent = m
        .submit(JobSpec::builder().prompt("after").depends_on(queued.id()).build().unwrap())
        .await
        .unwrap();
    assert!(queued.cancel().await.unwrap());
    ended_once(&m, &queued, JobState::Cancelled).await;
    ended_once(&m, &dependent, JobState::Cancelled).await;
    assert!(dependent.info().error.unwrap().contains("dependency"));
    assert!(running.cancel().await.unwrap());
    ended_once(&m, &running, JobState::Cancelled).await;
    slots_free(&m).await;
    m.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test]
async fn oom_killed_ends_through_the_same_path() {
    if !cgroups_available("oom_killed_ends_through_the_same_path") {
        return;
    }
    let dir = data_dir();
    let m = manager_with(dir.path(), "memory").await;
    let hog = m.submit(scenario("alloc").memory("64M").build().unwrap()).await.unwrap();
    ended_once(&m, &hog, JobState::OomKilled).await;
    slots_free(&m).await;
    m.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test]
async fn interrupted_by_shutdown_running_and_queued_end_through_the_same_path() {
    let dir = data_dir();
    let m = manager_with(dir.path(), "memory").await;
    let running = m.submit(slow(20_000).build().unwrap()).await.unwrap();
    assert!(eventually(30, || running.state() == JobState::Running).await);
    let queued = m.submit(JobSpec::from_prompt("never runs")).await.unwrap();
    let stopper = {
        let m = m.clone();
        tokio::spawn(async move { m.shutdown(Duration::ZERO).await })
    };
    for (job, want) in [(&running, JobState::Interrupted), (&queued, JobState::Interrupted)] {
        let info = tokio::time::timeout(Duration::from_secs(30), job.wait()).await.unwrap();
        assert_eq!(info.state, want, "{info:?}");
        let events = job_events(job).await;
        let n = events.iter().filter(|e| matches!(e, JobEvent::Finished { .. })).count();
        assert_eq!(n, 1, "{events:?}");
    }
    stopper.await.unwrap();
    assert_eq!(m.running(), 0);
}

#[cfg(feature = "test-hooks")]
#[tokio::test]
async fn retention_with_zero_output_days_keeps_collected_outputs() {
    let dir = data_dir();
    let retention = claude_jobs::RetentionPolicy {
        jobs_days: 0,
        logs_days: 0,
        outputs_days: Some(0),
    };
    let m = builder(dir.path()).isolation(IsolationMode::Off).retention(retention).build().await.unwrap();
    let mut spec = JobSpec::from_prompt("write it");
    spec.output = Some(claude_jobs::OutputSpec {
        file: "out.md".into(),
        folder: "kept".into(),
        name: None,
    });
    let info = m.submit(spec).await.unwrap().wait().await;
    assert_eq!(info.state, JobState::Succeeded, "{info:?}");
    let out = info.outputs[0].clone();
    assert!(out.exists());
    m.prune_now().await;
    assert!(out.exists(), "0 days keeps outputs, as unset does");
    m.shutdown(Duration::from_secs(5)).await;
}
