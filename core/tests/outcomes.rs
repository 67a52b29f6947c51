//! Each CLI behaviour maps to its outcome.
mod common;

use claude_jobs::{IsolationMode, JobEvent, JobSpec, JobState, WarningKind};
use common::*;

fn spec(scenario: &str) -> JobSpec {
    JobSpec::builder()
        .prompt("hello")
        .env("FAKE_CLAUDE_SCENARIO", scenario)
        .timeout(std::time::Duration::from_secs(30))
        .build()
        .unwrap()
}

#[tokio::test]
async fn normal_result_succeeds_with_cost_usage_and_session() {
    let dir = data_dir();
    let m = manager(dir.path(), IsolationMode::Auto).await;
    let info = m.submit(spec("ok")).await.unwrap().wait().await;
    assert_eq!(info.state, JobState::Succeeded, "{info:?}");
    assert_eq!(info.result.as_deref(), Some("echo: hello"));
    assert_eq!(info.cost_usd, Some(0.0123));
    assert_eq!(info.usage.as_ref().unwrap().output_tokens, 7);
    assert!(info.session_id.is_some());
    assert_eq!(info.cli_version.as_deref(), Some("0.0.0-fake"));
    assert_eq!(info.exit_code, Some(0));
    let log = info.log_dir.unwrap();
    let stdout = std::fs::read_to_string(log.join("stdout.log")).unwrap();
    assert!(stdout.contains("\"type\":\"result\""), "raw stdout kept");
    assert!(log.join("stderr.log").exists());
}

#[tokio::test]
async fn exit_without_result_fails_with_code_and_stderr() {
    let dir = data_dir();
    let m = manager(dir.path(), IsolationMode::Auto).await;
    let info = m.submit(spec("no-result")).await.unwrap().wait().await;
    assert_eq!(info.state, JobState::Failed);
    assert_eq!(info.exit_code, Some(1));
    let err = info.error.unwrap();
    assert!(
        err.contains("code 1") && err.contains("without printing a result"),
        "{err}"
    );
    assert!(
        err.contains("something broke"),
        "stderr tail in the error: {err}"
    );
}

#[tokio::test]
async fn error_result_fails_even_with_success_subtype() {
    let dir = data_dir();
    let m = manager(dir.path(), IsolationMode::Auto).await;
    let info = m.submit(spec("error-result")).await.unwrap().wait().await;
    assert_eq!(info.state, JobState::Failed);
    assert_eq!(info.api_error_status, Some(401));
    let err = info.error.unwrap();
    assert!(
        err.contains("401") && err.contains("authentication"),
        "{err}"
    );
}

#[tokio::test]
async fn result_then_no_exit_succeeds_and_is_stopped() {
    let dir = data_dir();
    let m = manager(dir.path(), IsolationMode::Auto).await;
    let job = m.submit(spec("hang-after-result")).await.unwrap();
    let info = tokio::time::timeout(std::time::Duration::from_secs(15), job.wait())
        .await
        .unwrap();
    assert_eq!(info.state, JobState::Succeeded, "{info:?}");
    assert!(info.pid.map(|p| !alive(p as i32)).unwrap());
}

#[tokio::test]
async fn garbage_lines_are_warnings_not_failures() {
    let dir = data_dir();
    let m = manager(dir.path(), IsolationMode::Auto).await;
    let job = m.submit(spec("garbage")).await.unwrap();
    let info = job.wait().await;
    assert_eq!(info.state, JobState::Succeeded);
    let mut ev = job.events(0);
    let mut not_json = 0;
    let mut other = 0;
    while let Some(r) = ev.next().await {
        match r.event {
            JobEvent::Warning {
                kind: WarningKind::NotJson,
                ..
            } => not_json += 1,
            JobEvent::Other { message_type, .. } if message_type == "future_thing" => other += 1,
            _ => {}
        }
    }
    assert_eq!(
        not_json, 3,
        "plain text, invalid UTF-8 and broken JSON lines"
    );
    assert_eq!(other, 1, "unknown types pass through");
}

#[tokio::test]
async fn a_10mb_line_over_the_cap_is_a_warning() {
    let dir = data_dir();
    let m = builder(dir.path()).line_cap(1 << 20).build().await.unwrap();
    let job = m.submit(spec("long-line")).await.unwrap();
    let info = job.wait().await;
    assert_eq!(info.state, JobState::Succeeded);
    let events = job.events(0).into_stream();
    use futures_util::StreamExt;
    let all: Vec<_> = events.collect().await;
    assert!(all.iter().any(|r| matches!(&r.event, JobEvent::Warning { kind: WarningKind::LineTooLong, message } if message.contains("10485"))));
}

#[tokio::test]
async fn a_10mb_line_under_the_default_cap_is_parsed() {
    let dir = data_dir();
    // Room in memory for the whole event after the ones that follow it.
    let m = builder(dir.path())
        .isolation(IsolationMode::Auto)
        .event_buffer_bytes(32 << 20)
        .build()
        .await
        .unwrap();
    let job = m.submit(spec("long-line")).await.unwrap();
    assert_eq!(job.wait().await.state, JobState::Succeeded);
    let mut ev = job.events(0);
    let mut longest = 0;
    while let Some(r) = ev.next().await {
        if let JobEvent::AssistantText { text } = r.event {
            longest = longest.max(text.len());
        }
    }
    assert_eq!(longest, 10 << 20);
}

#[tokio::test]
async fn a_stderr_flood_does_not_block_the_job() {
    let dir = data_dir();
    let m = manager(dir.path(), IsolationMode::Auto).await;
    let job = m.submit(spec("stderr-flood")).await.unwrap();
    let info = tokio::time::timeout(std::time::Duration::from_secs(20), job.wait())
        .await
        .unwrap();
    assert_eq!(info.state, JobState::Succeeded);
    let size = std::fs::metadata(info.log_dir.unwrap().join("stderr.log"))
        .unwrap()
        .len();
    assert!(size >= 1 << 20, "stderr kept: {size}");
}

#[tokio::test]
async fn nonzero_exit_code_is_reported() {
    let dir = data_dir();
    let m = manager(dir.path(), IsolationMode::Auto).await;
    let info = m.submit(spec("exit-code")).await.unwrap().wait().await;
    assert_eq!(info.state, JobState::Failed);
    assert_eq!(info.exit_code, Some(3));
}

#[tokio::test]
async fn cancel_of_a_process_that_ignores_sigterm_kills_it() {
    let dir = data_dir();
    let m = manager(dir.path(), IsolationMode::Auto).await;
    let job = m.submit(spec("ignore-sigterm")).await.unwrap();
    // The fake CLI ignores SIGTERM before it prints `init`: cancel after that.
    let mut ev = job.events(0);
    while let Some(r) = ev.next().await {
        if matches!(r.event, JobEvent::Init { .. }) {
            break;
        }
    }
    assert!(job.cancel().await.unwrap());
    let info = job.wait().await;
    assert_eq!(info.state, JobState::Cancelled);
    assert_eq!(info.signal, Some(libc::SIGKILL), "{info:?}");
    assert!(!alive(info.pid.unwrap() as i32));
    assert!(
        !job.cancel().await.unwrap(),
        "cancel after the end changes nothing"
    );
}

#[tokio::test]
async fn isolation_off_is_recorded_as_none() {
    let dir = data_dir();
    let m = manager(dir.path(), IsolationMode::Off).await;
    let info = m.submit(spec("ok")).await.unwrap().wait().await;
    assert_eq!(info.state, JobState::Succeeded);
    assert_eq!(info.isolation, claude_jobs::IsolationKind::None);
}
