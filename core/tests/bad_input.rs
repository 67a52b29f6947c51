//! Bad input is a typed error naming the field; the manager keeps serving.
mod common;

use std::time::Duration;

use claude_jobs::{ErrorKind, IsolationMode, JobManager, JobSpec, JobState};
use common::*;

#[tokio::test]
async fn each_bad_field_is_named_and_the_manager_keeps_serving() {
    let dir = data_dir();
    let m = manager(dir.path(), IsolationMode::Auto).await;
    let host_cpus = claude_jobs::cpu_count();
    let file = dir.path().join("a-file");
    std::fs::write(&file, "x").unwrap();
    let p = || JobSpec::builder().prompt("hi");
    let cases: Vec<(&str, claude_jobs::JobSpecBuilder)> = vec![
        ("cpus", p().cpus(0.0)),
        ("cpus", p().cpus(-1.0)),
        ("cpus", p().cpus(host_cpus + 1.0)),
        ("memory", p().memory("lots")),
        ("memory", p().memory("4M")),
        ("pids", p().pids(0)),
        ("timeout", p().timeout(Duration::ZERO)),
        ("prompt", JobSpec::builder().prompt("")),
        ("working_dir", p().working_dir(&file)),
        ("working_dir", p().working_dir("/does/not/exist")),
        ("env", p().env("A=B", "x")),
        ("env", p().env("A\0B", "x")),
        ("extra_args", p().extra_args(["--x\0y"])),
    ];
    for (field, b) in cases {
        // The builder catches what it can; submit catches the rest (host checks).
        let spec = match b.clone().build() {
            Err(e) => {
                assert_eq!(e.kind(), ErrorKind::InvalidSpec);
                assert_eq!(e.field(), Some(field), "{e}");
                continue;
            }
            Ok(s) => s,
        };
        let e = m.submit(spec).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidSpec, "{field}: {e}");
        assert_eq!(e.field(), Some(field), "{e}");
        assert!(
            e.to_string().contains(field),
            "the message names the field: {e}"
        );
    }
    // A spec that passed the builder but has a bad value set directly is caught by submit too.
    let mut raw = JobSpec::from_prompt("hi");
    raw.pids = Some(0);
    assert_eq!(m.submit(raw).await.unwrap_err().field(), Some("pids"));

    let info = m.submit(p().build().unwrap()).await.unwrap().wait().await;
    assert_eq!(info.state, JobState::Succeeded, "still serving");
    assert!(
        m.list(&Default::default()).await.unwrap().jobs.len() == 1,
        "rejected specs left nothing behind"
    );
}

#[tokio::test]
async fn a_missing_cli_binary_is_a_spawn_error() {
    let dir = data_dir();
    let m = JobManager::builder()
        .claude_bin("/nonexistent/claude")
        .data_dir(dir.path())
        .build()
        .await
        .unwrap();
    let e = m.submit(JobSpec::from_prompt("hi")).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::SpawnFailed);
    assert_eq!(e.field(), Some("claude_bin"));
    assert!(e.to_string().contains("/nonexistent/claude"));
}

#[tokio::test]
async fn a_cli_that_disappears_after_submit_fails_the_job() {
    let dir = data_dir();
    let bin = dir.path().join("claude");
    std::fs::copy(fake_claude(), &bin).unwrap();
    let m = builder(dir.path())
        .claude_bin(&bin)
        .max_concurrent(1)
        .build()
        .await
        .unwrap();
    let first = m
        .submit(
            JobSpec::builder()
                .prompt("x")
                .env("FAKE_CLAUDE_SCENARIO", "slow")
                .env("FAKE_CLAUDE_SECONDS", "2")
                .build()
                .unwrap(),
        )
        .await
        .unwrap();
    let second = m.submit(JobSpec::from_prompt("y")).await.unwrap();
    // Started (it has a pid) while the second job is still queued behind it.
    assert!(eventually(30, || first.info().pid.is_some()).await);
    assert_eq!(second.state(), JobState::Queued);
    std::fs::remove_file(&bin).unwrap();
    let info = second.wait().await;
    assert_eq!(info.state, JobState::Failed);
    assert!(info.error.unwrap().contains("Claude CLI not found"));
}

#[tokio::test]
async fn bad_manager_options_are_named() {
    let e = JobManager::builder()
        .max_concurrent(0)
        .build()
        .await
        .unwrap_err();
    assert_eq!(e.field(), Some("max_concurrent"));
    let e = "sometimes"
        .parse::<claude_jobs::IsolationMode>()
        .unwrap_err();
    assert_eq!(e.field(), Some("isolation"));
}

#[tokio::test]
async fn a_relative_cli_path_is_taken_from_the_current_dir() {
    let dir = data_dir();
    let fake = fake_claude();
    // `../../…/abs/path`: relative to the current dir, with a directory part.
    let cwd = std::env::current_dir().unwrap();
    let mut rel = std::path::PathBuf::new();
    for _ in cwd.components().skip(1) {
        rel.push("..");
    }
    rel.push(fake.strip_prefix("/").unwrap());
    assert!(rel.is_relative() && rel.exists());
    let m = builder(dir.path())
        .claude_bin(&rel)
        .isolation(claude_jobs::IsolationMode::Off)
        .build()
        .await
        .unwrap();
    let job = m
        .submit(
            claude_jobs::JobSpec::builder()
                .prompt("hi")
                .build()
                .unwrap(),
        )
        .await
        .unwrap();
    let info = job.wait().await;
    assert_eq!(
        info.state,
        claude_jobs::JobState::Succeeded,
        "{:?}",
        info.error
    );
}
