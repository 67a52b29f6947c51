//! The API key never appears in logs, events or errors.
mod common;

use claude_jobs::{IsolationMode, JobSpec};
use common::*;

const KEY: &str = "sk-ant-test-SECRET-4f9a2c";

#[tokio::test]
async fn the_key_is_redacted_everywhere() {
    let dir = data_dir();
    let m = builder(dir.path())
        .env("ANTHROPIC_API_KEY", KEY)
        .isolation(IsolationMode::Auto)
        .build()
        .await
        .unwrap();
    for scenario in ["leak-env", "no-result", "error-result", "env-dump"] {
        let job = m
            .submit(
                JobSpec::builder()
                    .prompt("hi")
                    .env("FAKE_CLAUDE_SCENARIO", scenario)
                    .build()
                    .unwrap(),
            )
            .await
            .unwrap();
        let info = job.wait().await;
        let events = serde_json::to_string(&{
            use futures_util::StreamExt;
            job.events().into_stream().collect::<Vec<_>>().await
        })
        .unwrap();
        let info_json = serde_json::to_string(&info).unwrap();
        let log_dir = info.log_dir.clone().unwrap();
        let stdout = std::fs::read_to_string(log_dir.join("stdout.log")).unwrap();
        let stderr = std::fs::read_to_string(log_dir.join("stderr.log")).unwrap();
        for (what, text) in [
            ("events", &events),
            ("info", &info_json),
            ("stdout.log", &stdout),
            ("stderr.log", &stderr),
        ] {
            assert!(
                !text.contains(KEY),
                "{scenario}: the key leaked into {what}"
            );
        }
        if scenario == "leak-env" {
            assert!(
                stderr.contains("[REDACTED]"),
                "the leak was caught: {stderr}"
            );
            assert!(info.result.unwrap().contains("[REDACTED]"));
        }
        if scenario == "env-dump" {
            // The CLI did receive the key (passed through), it is only masked in what we keep.
            assert!(
                stdout.contains("\"ANTHROPIC_API_KEY\":\"[REDACTED]\""),
                "{stdout}"
            );
        }
    }
}
