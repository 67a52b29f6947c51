//! Two machines (two managers, two data dirs) on one store with
//! `artifact_store = "db"`: a job run by A has its logs (while it runs, and
//! at the end byte for byte) and its outputs (size, SHA-256, bytes) served
//! by B; a workflow whose steps run on alternate machines reads each step's
//! output from the store. With `"local"` (today's default) B finds neither,
//! and a step on B cannot read A's output: what the `db` store fixes.
//!
//! The PostgreSQL case needs `CLAUDE_JOBS_TEST_PG_URL` (set by `make
//! test-durable`); without it, it prints why and passes.
mod common;
mod durable;
#[path = "common/two_machines.rs"]
mod two_machines;

use std::time::Duration;

use claude_jobs::{ErrorKind, IsolationMode, JobState};
use common::*;
use durable::*;
use two_machines::*;

#[test]
fn durable_node() {
    durable::node_main();
}

async fn logs_and_outputs_served_by_the_other_machine(url: &str) {
    let (da, db) = (data_dir(), data_dir());
    let a = machine(da.path(), url, "db").await;
    // 12 s of progress lines, every 50 ms: B sees the log grow while A runs it.
    let job = a.submit(slow(12000).build().unwrap()).await.unwrap();
    assert!(eventually(20, || job.state() == JobState::Running).await);
    let b = machine(db.path(), url, "db").await;
    let mut live = Vec::new();
    let end = std::time::Instant::now() + Duration::from_secs(20);
    while std::time::Instant::now() < end {
        let seen = b.read_log(job.id(), "stdout", None).await.unwrap();
        let running = b.get(job.id()).await.unwrap().info().state == JobState::Running;
        if running && !seen.is_empty() {
            live.push(seen.len());
        }
        if live.len() >= 2 && live[live.len() - 1] > live[0] {
            break;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    assert!(live.len() >= 2 && live[live.len() - 1] > live[0], "B follows A's log while it runs: sizes {live:?}");
    let info = job.wait().await;
    assert_eq!(info.state, JobState::Succeeded, "{info:?}");
    assert!(ran_in(&info, da.path()), "A ran it");
    let local = std::fs::read(info.log_dir.as_ref().unwrap().join("stdout.log")).unwrap();
    assert!(local.len() > 10_000, "a real log: {} bytes", local.len());
    assert_eq!(b.read_log(job.id(), "stdout", None).await.unwrap(), local, "byte for byte");
    let tail = b.read_log(job.id(), "stdout", Some(100)).await.unwrap();
    assert_eq!(tail, local[local.len() - 100..]);
    let err = b.read_log(job.id(), "both", None).await.unwrap_err();
    assert_eq!((err.kind(), err.field()), (ErrorKind::InvalidSpec, Some("stream")));

    // An output collected by A: listed by B with its size and checksum.
    let job = a.submit(step("Write the brief.", "brief.md")).await.unwrap();
    let info = job.wait().await;
    assert_eq!(info.state, JobState::Succeeded, "{info:?}");
    let bytes = std::fs::read(&info.outputs[0]).unwrap();
    let name = info.outputs[0].file_name().unwrap().to_str().unwrap().to_string();
    let listed = b.outputs(job.id()).await.unwrap();
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!((listed[0].name.as_str(), listed[0].size, listed[0].sha256.as_str()), (name.as_str(), bytes.len() as u64, sha(&bytes).as_str()));
    assert_eq!(b.read_output(job.id(), &name).await.unwrap(), Some(bytes));
    assert_eq!(b.read_output(job.id(), "other.md").await.unwrap(), None);
    assert_eq!(b.read_output(job.id(), "../brief.md").await.unwrap(), None);
    a.shutdown(Duration::from_secs(5)).await;
    b.shutdown(Duration::from_secs(5)).await;
}

/// Step 1 on A, step 2 on B (A stopped), step 3 on A again: each reads the
/// previous step's output through the store.
async fn a_workflow_on_alternate_machines(url: &str) {
    let (da, db) = (data_dir(), data_dir());
    let a = machine(da.path(), url, "db").await;
    let one = a.submit(step("Research Acme.", "research.md")).await.unwrap().wait().await;
    assert_eq!(one.state, JobState::Succeeded, "{one:?}");
    a.shutdown(Duration::from_secs(5)).await;
    drop(a);
    let research = std::fs::read_to_string(&one.outputs[0]).unwrap();
    // A's data dir is gone from B's point of view: B never reads it.
    std::fs::remove_dir_all(da.path().join("brand")).unwrap();

    let b = machine(db.path(), url, "db").await;
    let two = b.submit(input_step(&one.id, "brief.md")).await.unwrap().wait().await;
    assert_eq!(two.state, JobState::Succeeded, "{two:?}");
    assert!(ran_in(&two, db.path()), "B ran it");
    let brief = std::fs::read_to_string(&two.outputs[0]).unwrap();
    assert!(brief.contains(research.trim()), "B's step got A's output: {brief:?} / {research:?}");
    b.shutdown(Duration::from_secs(5)).await;
    drop(b);

    let a = machine(da.path(), url, "db").await;
    std::fs::remove_dir_all(db.path().join("brand")).unwrap();
    let three = a.submit(input_step(&two.id, "draft.md")).await.unwrap().wait().await;
    assert_eq!(three.state, JobState::Succeeded, "{three:?}");
    let draft = std::fs::read_to_string(&three.outputs[0]).unwrap();
    assert!(draft.contains(brief.trim()), "A's step got B's output");
    a.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_db_artifacts_serve_logs_and_outputs_on_the_other_machine() {
    let dir = data_dir();
    let url = format!("sqlite://{}", dir.path().join("shared.db").display());
    logs_and_outputs_served_by_the_other_machine(&url).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_db_artifacts_carry_a_workflow_across_machines() {
    let dir = data_dir();
    let url = format!("sqlite://{}", dir.path().join("shared.db").display());
    a_workflow_on_alternate_machines(&url).await;
}

#[cfg(feature = "postgres")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_db_artifacts_serve_logs_and_outputs_on_the_other_machine() {
    let Some(base) = pg_url("postgres_db_artifacts_serve_logs_and_outputs_on_the_other_machine") else {
        return;
    };
    logs_and_outputs_served_by_the_other_machine(&fresh_pg_db(&base).await).await;
}

#[cfg(feature = "postgres")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_db_artifacts_carry_a_workflow_across_machines() {
    let Some(base) = pg_url("postgres_db_artifacts_carry_a_workflow_across_machines") else {
        return;
    };
    a_workflow_on_alternate_machines(&fresh_pg_db(&base).await).await;
}

/// Today's default: each machine serves only what it ran.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_local_artifacts_the_other_machine_has_neither_logs_nor_outputs() {
    let (dir, da, db) = (data_dir(), data_dir(), data_dir());
    let url = format!("sqlite://{}", dir.path().join("shared.db").display());
    let a = machine(da.path(), &url, "local").await;
    let one = a.submit(step("Research Acme.", "research.md")).await.unwrap().wait().await;
    assert_eq!(one.state, JobState::Succeeded);
    assert!(!a.read_log(&one.id, "stdout", None).await.unwrap().is_empty(), "A serves its own log");
    a.shutdown(Duration::from_secs(5)).await;
    drop(a);
    std::fs::remove_dir_all(da.path()).unwrap();
    let b = machine(db.path(), &url, "local").await;
    assert!(b.read_log(&one.id, "stdout", None).await.unwrap().is_empty());
    assert_eq!(b.outputs(&one.id).await.unwrap(), vec![]);
    let two = b.submit(input_step(&one.id, "brief.md")).await.unwrap().wait().await;
    assert_eq!(two.state, JobState::Failed);
    assert!(two.error.as_deref().unwrap_or("").contains("input prev"), "{:?}", two.error);
    b.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test]
async fn a_bad_artifact_store_names_the_option() {
    let dir = data_dir();
    for (value, says) in [("s3://Bad_Bucket/jobs", "not an S3 bucket name"), ("nfs", "not an artifact store")] {
        let e = builder(dir.path()).artifact_store(value).build().await.unwrap_err();
        assert_eq!((e.kind(), e.field()), (ErrorKind::InvalidSpec, Some("artifact_store")), "{e}");
        assert!(e.to_string().contains(says), "{e}");
    }
    let e = builder(dir.path()).store_url("memory").artifact_store("db").build().await.unwrap_err();
    assert_eq!(e.field(), Some("artifact_store"), "{e}");
}

/// Machine A is killed (-9) while it uploads a job's log; B rescues the job
/// and runs it again: what B serves is B's attempt whole, byte for byte,
/// never A's partial upload in front of it (which stays under attempt 1).
async fn kill9_mid_upload(url: &str) {
    let (da, db) = (data_dir(), data_dir());
    let tag = uuid::Uuid::now_v7().simple().to_string();
    let mut a = spawn_node(&NodeCfg {
        data_dir: da.path().to_path_buf(),
        store: Some(url.to_string()),
        limit: 1,
        lease_ttl_ms: Some(1500),
        heartbeat_ms: Some(300),
        rescue_ms: Some(300),
        requeue: true,
        submit: vec![("slow".to_string(), 6.0, tag)],
        artifacts: Some("db".into()),
        ..Default::default()
    });
    let id = a.ready(60).remove(0);
    let store = claude_jobs::store::open(url, db.path()).await.unwrap();
    let artifacts = store.clone().artifacts().expect("SQLite and PostgreSQL hold artifacts");
    let mut uploaded = 0;
    for _ in 0..200 {
        uploaded = artifacts.read_artifact(&id, 1, "log/stdout.log").await.unwrap().map_or(0, |b| b.len());
        if uploaded > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(uploaded > 0, "A uploaded part of attempt 1's log; its log:\n{}", a.log());
    a.kill9();
    let b = builder(db.path())
        .store_url(url)
        .artifact_store("db")
        .isolation(IsolationMode::Off)
        .lease_ttl(Duration::from_millis(1500))
        .heartbeat_interval(Duration::from_millis(300))
        .rescue_interval(Duration::from_millis(300))
        .recovery(claude_jobs::RecoveryPolicy::Requeue)
        .build()
        .await
        .unwrap();
    let job = b.get(&id).await.unwrap();
    let info = tokio::time::timeout(Duration::from_secs(60), job.wait()).await.expect("rescued and run");
    assert_eq!((info.state, info.attempt), (JobState::Succeeded, 2), "{info:?}");
    assert!(ran_in(&info, db.path()), "B ran attempt 2");
    let local = std::fs::read(info.log_dir.as_ref().unwrap().join("stdout.log")).unwrap();
    let served = b.read_log(&id, "stdout", None).await.unwrap();
    assert_eq!(served.len(), local.len());
    assert!(served == local, "B serves its own attempt, whole");
    let first = artifacts.read_artifact(&id, 1, "log/stdout.log").await.unwrap().unwrap();
    assert!(!first.is_empty() && first != local, "attempt 1's part is kept apart");
    b.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_kill9_mid_upload_serves_the_rescuing_attempt_whole() {
    let dir = data_dir();
    let url = format!("sqlite://{}", dir.path().join("shared.db").display());
    kill9_mid_upload(&url).await;
}

#[cfg(feature = "postgres")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_kill9_mid_upload_serves_the_rescuing_attempt_whole() {
    let Some(base) = pg_url("postgres_kill9_mid_upload_serves_the_rescuing_attempt_whole") else {
        return;
    };
    kill9_mid_upload(&fresh_pg_db(&base).await).await;
}

/// Chunks in the store of job `id` whose names are `LIKE like`.
#[cfg(feature = "test-hooks")]
async fn artifact_rows(conn: &mut sqlx::SqliteConnection, id: &str, like: &str) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM cj_artifacts WHERE job_id = ? AND name LIKE ?")
        .bind(id)
        .bind(like)
        .fetch_one(conn)
        .await
        .unwrap()
}

/// Retention deletes a finished job's artifacts from the `db` store: its
/// outputs after `outputs_days`, its logs after `logs_days`, the rest with its
/// row after `jobs_days`; a newer job's artifacts stay.
#[cfg(feature = "test-hooks")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_deletes_artifacts_from_the_db_store() {
    use claude_jobs::RetentionPolicy;
    use sqlx::Connection;
    let (dir, da, db) = (data_dir(), data_dir(), data_dir());
    let url = format!("sqlite://{}", dir.path().join("shared.db").display());
    let a = machine(da.path(), &url, "db").await;
    let old = a.submit(step("Old news.", "old.md")).await.unwrap().wait().await;
    let new = a.submit(step("Fresh news.", "new.md")).await.unwrap().wait().await;
    assert_eq!((old.state, new.state), (JobState::Succeeded, JobState::Succeeded));
    a.shutdown(Duration::from_secs(5)).await;
    drop(a);
    // The old job finished three days ago.
    let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
    sqlx::query("UPDATE cj_jobs SET finished_at = finished_at - 3 * 86400000 WHERE id = ?")
        .bind(&old.id)
        .execute(&mut conn)
        .await
        .unwrap();
    assert!(artifact_rows(&mut conn, &old.id, "output/%").await > 0 && artifact_rows(&mut conn, &old.id, "log/%").await > 0);
    // Machine B, with retention: outputs and logs after 2 days, the jobs kept.
    let retention = |outputs, logs, jobs| RetentionPolicy { jobs_days: jobs, logs_days: logs, outputs_days: Some(outputs) };
    let b = builder(db.path()).store_url(&url).artifact_store("db").isolation(IsolationMode::Off);
    let b = b.retention(retention(2, 2, 0)).build().await.unwrap();
    assert_eq!(b.outputs(&old.id).await.unwrap().len(), 1, "served before the pass");
    b.prune_now().await;
    assert_eq!(b.outputs(&old.id).await.unwrap(), vec![], "the old output is gone");
    assert!(b.read_log(&old.id, "stdout", None).await.unwrap().is_empty(), "the old log is gone");
    assert_eq!(artifact_rows(&mut conn, &old.id, "%").await, 0);
    assert_eq!(b.outputs(&new.id).await.unwrap().len(), 1, "the new job's output stays");
    assert!(!b.read_log(&new.id, "stdout", None).await.unwrap().is_empty(), "and its log");
    assert!(b.get(&old.id).await.is_ok(), "jobs_days 0 keeps the row");
    b.shutdown(Duration::from_secs(5)).await;
    drop(b);
    // jobs_days: the row goes, and whatever the store still held of it.
    let b = builder(db.path()).store_url(&url).artifact_store("db").isolation(IsolationMode::Off);
    let b = b.retention(retention(0, 0, 2)).build().await.unwrap();
    b.prune_now().await;
    assert_eq!(b.get(&old.id).await.err().map(|e| e.kind()), Some(ErrorKind::JobNotFound));
    assert!(artifact_rows(&mut conn, &new.id, "%").await > 0, "the new job's artifacts stay");
    b.shutdown(Duration::from_secs(5)).await;
}
