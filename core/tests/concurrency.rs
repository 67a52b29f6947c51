//! The concurrency limit holds, and the queue runs by priority then FIFO.
mod common;

use claude_jobs::{IsolationMode, JobEvent, JobSpec, JobState};
use common::*;
use futures_util::StreamExt;

#[tokio::test]
async fn never_more_than_three_of_ten() {
    let dir = data_dir();
    let m = builder(dir.path())
        .max_concurrent(3)
        .isolation(IsolationMode::Auto)
        .build()
        .await
        .unwrap();
    let mut jobs = Vec::new();
    for _ in 0..10 {
        jobs.push(m.submit(slow(400).build().unwrap()).await.unwrap());
    }
    // Sample the number of running jobs while they run.
    let mut max_seen = 0;
    while jobs.iter().any(|j| !j.state().is_final()) {
        let running = jobs
            .iter()
            .filter(|j| j.state() == JobState::Running)
            .count();
        max_seen = max_seen.max(running);
        assert!(m.running() <= 3);
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let mut spans = Vec::new();
    for j in &jobs {
        let i = j.wait().await;
        assert_eq!(i.state, JobState::Succeeded);
        spans.push((i.started_at.unwrap(), i.finished_at.unwrap()));
    }
    // At any job's start, at most 3 runs overlap.
    for (s, _) in &spans {
        let overlapping = spans.iter().filter(|(a, b)| a <= s && s < b).count();
        assert!(overlapping <= 3, "{overlapping} jobs ran at once");
    }
    assert_eq!(max_seen, 3, "the limit was used");
}

#[tokio::test]
async fn priority_then_fifo() {
    let dir = data_dir();
    let m = builder(dir.path())
        .max_concurrent(1)
        .isolation(IsolationMode::Auto)
        .build()
        .await
        .unwrap();
    // The blocker holds the one slot until every job is queued (cancelled then,
    // so a slow submit cannot let the queue start early).
    let blocker = m.submit(slow(60_000).build().unwrap()).await.unwrap();
    assert!(eventually(30, || blocker.info().pid.is_some()).await);
    let mut jobs = Vec::new();
    for (name, prio) in [("a", 0), ("b", 5), ("c", 0), ("d", 5), ("e", 1)] {
        let j = m
            .submit(slow(10).priority(prio).label("name", name).build().unwrap())
            .await
            .unwrap();
        jobs.push(j);
    }
    assert!(blocker.cancel().await.unwrap());
    blocker.wait().await;
    let mut order = Vec::new();
    for j in &jobs {
        let i = j.wait().await;
        order.push((i.started_at.unwrap(), i.labels["name"].clone()));
    }
    order.sort();
    let names: Vec<&str> = order.iter().map(|(_, n)| n.as_str()).collect();
    assert_eq!(names, ["b", "d", "e", "a", "c"]);
}

#[tokio::test]
async fn a_hundred_concurrent_waits_all_see_the_outcome() {
    let dir = data_dir();
    let m = manager(dir.path(), IsolationMode::Auto).await;
    let job = m.submit(slow(300).build().unwrap()).await.unwrap();
    let waits: Vec<_> = (0..100)
        .map(|_| {
            let j = job.clone();
            tokio::spawn(async move { j.wait().await.state })
        })
        .collect();
    for w in waits {
        assert_eq!(w.await.unwrap(), JobState::Succeeded);
    }
}

/// The manager keeps a job's state only while something holds it: a queued
/// or finished job nobody holds lives in the store, and `get` rebuilds it.
#[tokio::test]
async fn jobs_whose_handles_were_dropped_still_work_by_id() {
    let dir = data_dir();
    let m = builder(dir.path())
        .isolation(IsolationMode::Off)
        .store_url("memory")
        .max_concurrent(1)
        .build()
        .await
        .unwrap();
    let blocker = m.submit(slow(30_000).build().unwrap()).await.unwrap();
    let spec = JobSpec::builder()
        .prompt("hi")
        .env("FAKE_CLAUDE_SCENARIO", "ok")
        .build()
        .unwrap();
    let queued = m.submit(spec.clone()).await.unwrap().id().to_string();
    let runs = m.submit(spec).await.unwrap().id().to_string();
    let (a, b) = (m.get(&queued).await.unwrap(), m.get(&queued).await.unwrap());
    assert_eq!(a.state(), JobState::Queued);
    let first = a.events(0).next().await.unwrap();
    assert!(matches!(first.event, JobEvent::Queued { .. }) && first.seq == 1);
    assert!(m.cancel(&queued).await.unwrap());
    assert_eq!(b.wait().await.state, JobState::Cancelled);
    drop((a, b));
    let again = m.get(&queued).await.unwrap();
    assert_eq!(again.info().state, JobState::Cancelled);
    let seqs: Vec<u64> = again.events(0).into_stream().map(|r| r.seq).collect().await;
    assert_eq!(seqs, [1, 2]);
    blocker.cancel().await.unwrap();
    let info = m.get(&runs).await.unwrap().wait().await;
    assert_eq!(info.state, JobState::Succeeded);
    drop(info);
    let evs: Vec<_> = m
        .get(&runs)
        .await
        .unwrap()
        .events(0)
        .into_stream()
        .collect()
        .await;
    assert!(matches!(evs[0].event, JobEvent::Queued { .. }));
    assert!(matches!(
        evs.last().unwrap().event,
        JobEvent::Finished { .. }
    ));
    assert!(evs.iter().enumerate().all(|(i, r)| r.seq == i as u64 + 1));
}
