//! Backups of the SQLite store: `claude-jobs backup` while a manager runs
//! jobs, restored into a new data dir; and the database file alone holding
//! every job after a shutdown (its WAL checkpointed).
#![cfg(feature = "cli")]
mod common;

use std::process::Command;
use std::time::Duration;

use claude_jobs::{IsolationMode, JobSpec, JobState, ListQuery};
use common::*;

fn backup(data: &std::path::Path, out: &std::path::Path) -> (bool, String) {
    let o = Command::new(env!("CARGO_BIN_EXE_claude-jobs"))
        .args(["backup", "--data-dir"])
        .arg(data)
        .arg(out)
        .output()
        .unwrap();
    (o.status.success(), String::from_utf8_lossy(&o.stderr).into_owned())
}

#[tokio::test]
async fn a_backup_taken_while_jobs_run_restores_them() {
    let a = data_dir();
    let m = builder(a.path()).isolation(IsolationMode::Auto).max_concurrent(2).build().await.unwrap();
    let done = m.submit(JobSpec::from_prompt("finished before the backup")).await.unwrap().wait().await;
    assert_eq!(done.state, JobState::Succeeded);
    let slow = JobSpec::builder()
        .prompt("still running")
        .env("FAKE_CLAUDE_SCENARIO", "slow")
        .env("FAKE_CLAUDE_SECONDS", "5")
        .env("FAKE_CLAUDE_INTERVAL_MS", "50")
        .build()
        .unwrap();
    let running = m.submit(slow).await.unwrap();
    assert!(eventually(30, || running.state() == JobState::Running).await);
    let out_dir = data_dir();
    let out = out_dir.path().join("jobs-backup.db");
    let (ok, stderr) = backup(a.path(), &out);
    assert!(ok, "{stderr}");
    assert!(!out_dir.path().join("jobs-backup.db-wal").exists(), "one file");
    let (again, stderr) = backup(a.path(), &out);
    assert!(!again && stderr.contains("exists"), "an existing file is not overwritten: {stderr}");
    running.wait().await;
    m.shutdown(Duration::from_secs(5)).await;

    // Restore: the copy as the store of a new data dir.
    let b = data_dir();
    std::fs::copy(&out, b.path().join("claude-jobs.db")).unwrap();
    let restored = builder(b.path()).build().await.unwrap();
    let page = restored.list(&ListQuery::default()).await.unwrap();
    let ids: Vec<&str> = page.jobs.iter().map(|j| j.id.as_str()).collect();
    assert!(ids.contains(&done.id.as_str()) && ids.contains(&running.id()), "{ids:?}");
    let back = restored.get(&done.id).await.unwrap();
    assert_eq!(back.info().result, done.result);
    assert!(job_events(&back).await.len() >= 3, "its events came too");
    restored.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test]
async fn after_shutdown_the_database_file_alone_holds_every_job() {
    let a = data_dir();
    let m = builder(a.path()).isolation(IsolationMode::Off).build().await.unwrap();
    let done = m.submit(JobSpec::from_prompt("hi")).await.unwrap().wait().await;
    m.shutdown(Duration::from_secs(5)).await;
    let b = data_dir();
    std::fs::copy(a.path().join("claude-jobs.db"), b.path().join("claude-jobs.db")).unwrap();
    let m = builder(b.path()).isolation(IsolationMode::Off).build().await.unwrap();
    assert_eq!(m.get(&done.id).await.unwrap().info().state, JobState::Succeeded);
    m.shutdown(Duration::from_secs(5)).await;
}
