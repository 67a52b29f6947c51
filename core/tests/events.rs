//! Typed events, replayed to late subscribers.
mod common;

use claude_jobs::{IsolationMode, JobEvent, JobSpec, JobState};
use common::*;
use futures_util::StreamExt;

async fn events_of(scenario: &str) -> (claude_jobs::JobInfo, Vec<JobEvent>) {
    let dir = data_dir();
    let m = manager(dir.path(), IsolationMode::Auto).await;
    let job = m
        .submit(
            JobSpec::builder()
                .prompt("go")
                .env("FAKE_CLAUDE_SCENARIO", scenario)
                .build()
                .unwrap(),
        )
        .await
        .unwrap();
    let info = job.wait().await;
    // Subscribing after the end replays everything.
    let ev: Vec<_> = job.events(0).into_stream().map(|r| r.event).collect().await;
    (info, ev)
}

#[tokio::test]
async fn a_normal_run_tells_its_story_in_order() {
    let (info, ev) = events_of("ok").await;
    assert_eq!(info.state, JobState::Succeeded);
    let kinds: Vec<String> = ev
        .iter()
        .map(|e| {
            serde_json::to_value(e).unwrap()["type"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "queued",
            "started",
            "init",
            "assistant_text",
            "result",
            "finished"
        ]
    );
    match &ev[1] {
        JobEvent::Started { pid, .. } => assert_eq!(Some(*pid), info.pid),
        e => panic!("{e:?}"),
    }
    assert!(matches!(&ev[2], JobEvent::Init { cli_version: Some(v), .. } if v == "0.0.0-fake"));
    assert!(matches!(
        &ev[4],
        JobEvent::Result {
            cost_usd: Some(_),
            is_error: false,
            ..
        }
    ));
    assert!(matches!(
        &ev[5],
        JobEvent::Finished {
            state: JobState::Succeeded,
            ..
        }
    ));
}

#[tokio::test]
async fn tool_use_and_tool_results() {
    let (_, ev) = events_of("tool-use").await;
    assert!(ev.iter().any(|e| matches!(e, JobEvent::ToolUse { name, input, .. } if name == "Write" && input["file_path"] == "out.md")));
    assert!(ev.iter().any(|e| matches!(e, JobEvent::ToolResult { content, is_error: false, .. } if content.contains("File created"))));
}

#[tokio::test]
async fn api_retries_and_rate_limits() {
    let (_, ev) = events_of("api-retry").await;
    let retries: Vec<_> = ev
        .iter()
        .filter(|e| {
            matches!(
                e,
                JobEvent::ApiRetry {
                    status: Some(529),
                    ..
                }
            )
        })
        .collect();
    assert_eq!(retries.len(), 2);
    let (_, ev) = events_of("rate-limit").await;
    assert!(ev
        .iter()
        .any(|e| matches!(e, JobEvent::RateLimit { status, .. } if status == "allowed_warning")));
}

#[tokio::test]
async fn live_subscribers_follow_and_resume() {
    let dir = data_dir();
    let m = manager(dir.path(), IsolationMode::Auto).await;
    let job = m
        .submit(
            JobSpec::builder()
                .prompt("go")
                .env("FAKE_CLAUDE_SCENARIO", "slow")
                .env("FAKE_CLAUDE_SECONDS", "1")
                .env("FAKE_CLAUDE_INTERVAL_MS", "100")
                .build()
                .unwrap(),
        )
        .await
        .unwrap();
    let mut live = job.events(0);
    let mut seen = Vec::new();
    for _ in 0..4 {
        seen.push(live.next().await.unwrap());
    }
    assert!(
        job.state() == JobState::Running,
        "events arrive while the job runs"
    );
    // A client that reconnects resumes after the last event it saw.
    let resumed: Vec<_> = job
        .events(seen.last().unwrap().seq)
        .into_stream()
        .collect()
        .await;
    assert_eq!(resumed[0].seq, seen.last().unwrap().seq + 1);
    let rest: Vec<_> = live.into_stream().collect().await;
    assert_eq!(rest.len(), resumed.len());
    assert!(matches!(
        rest.last().unwrap().event,
        JobEvent::Finished { .. }
    ));
}

#[tokio::test]
async fn event_buffer_bytes_bounds_what_a_job_keeps_in_memory() {
    let dir = data_dir();
    let m = builder(dir.path())
        .isolation(IsolationMode::Off)
        .store_url("memory")
        .event_buffer_bytes(256 << 10)
        .build()
        .await
        .unwrap();
    let job = m
        .submit(
            JobSpec::builder()
                .prompt("go")
                .env("FAKE_CLAUDE_SCENARIO", "big-output")
                .env("FAKE_CLAUDE_OUTPUT_MB", "4")
                .build()
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(job.wait().await.state, JobState::Succeeded);
    let held: Vec<_> = job.events(0).into_stream().collect().await;
    // About 1.1 KB per event: 256 KiB holds a few hundred of the ~3 000.
    assert!(held.len() < 400, "{} events held", held.len());
    assert!(held[0].seq > 1000, "the oldest were dropped");
    assert!(matches!(
        held.last().unwrap().event,
        JobEvent::Finished { .. }
    ));
    assert!(held.windows(2).all(|w| w[1].seq == w[0].seq + 1));
}
