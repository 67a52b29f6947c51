//! Retries: a crash (no result) is tried again with backoff up to
//! `max_attempts`; an API error result is final; attempts are kept in the store.
mod common;

use std::time::Duration;

use claude_jobs::{IsolationMode, JobEvent, JobSpec, JobState};
use common::*;

fn spec(scenario: &str, attempts: u32) -> JobSpec {
    JobSpec::builder()
        .prompt("retry me")
        .env("FAKE_CLAUDE_SCENARIO", scenario)
        .max_attempts(attempts)
        .build()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crashes_are_retried_with_backoff_until_the_last_attempt() {
    let dir = data_dir();
    let m = builder(dir.path())
        .isolation(IsolationMode::Auto)
        .retry_backoff(Duration::from_millis(200), Duration::from_secs(1))
        .build()
        .await
        .unwrap();
    let job = m.submit(spec("no-result", 3)).await.unwrap();
    let info = tokio::time::timeout(Duration::from_secs(60), job.wait())
        .await
        .unwrap();
    assert_eq!(info.state, JobState::Failed, "{info:?}");
    assert_eq!(info.attempt, 3);
    let events = job.events(0).into_stream();
    let events: Vec<_> = futures_util::StreamExt::collect::<Vec<_>>(events).await;
    let retries = events
        .iter()
        .filter(|r| {
            matches!(
                r.event,
                JobEvent::Retrying {
                    counts_as_attempt: true,
                    ..
                }
            )
        })
        .count();
    let starts = events
        .iter()
        .filter(|r| matches!(r.event, JobEvent::Started { .. }))
        .count();
    assert_eq!((retries, starts), (2, 3), "{events:#?}");
    // After a restart the same history is read from the store.
    m.shutdown(Duration::from_secs(5)).await;
    drop(m);
    let m2 = builder(dir.path()).build().await.unwrap();
    let again = m2.get(job.id()).await.unwrap();
    assert_eq!(again.info().attempt, 3);
    let replay: Vec<_> =
        futures_util::StreamExt::collect::<Vec<_>>(again.events(0).into_stream()).await;
    assert_eq!(replay.len(), events.len());
    m2.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_errors_and_successes_are_not_retried() {
    let dir = data_dir();
    let m = builder(dir.path())
        .retry_backoff(Duration::from_millis(100), Duration::from_secs(1))
        .build()
        .await
        .unwrap();
    let bad = m.submit(spec("error-result", 3)).await.unwrap();
    let ok = m.submit(spec("ok", 3)).await.unwrap();
    let bi = bad.wait().await;
    assert_eq!((bi.state, bi.attempt), (JobState::Failed, 1), "{bi:?}");
    let oi = ok.wait().await;
    assert_eq!((oi.state, oi.attempt), (JobState::Succeeded, 1));
    m.shutdown(Duration::from_secs(5)).await;
}
