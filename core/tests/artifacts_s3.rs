//! The S3 artifact store against an S3-compatible server (moto's, started by
//! `make test-durable` through scripts/s3-server.sh, which sets
//! `CLAUDE_JOBS_TEST_S3_URL`): two machines (two managers, two data dirs, one
//! SQLite file, then one PostgreSQL database when `make test-durable` gives
//! one) with `artifact_store = "s3://bucket/prefix"`; a job run by A
//! has its log (live, then byte for byte) and its output (size, SHA-256,
//! bytes) served by B, and a step on B reads A's output. Every S3 request
//! passes through a proxy that breaks the first upload's connection: the
//! upload is retried and nothing is lost or doubled.
//!
//! One test in this binary: it sets the AWS variables for the process.
mod common;
mod durable;
#[path = "common/two_machines.rs"]
mod two_machines;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use claude_jobs::JobState;
use common::*;
#[cfg(feature = "postgres")]
use durable::{fresh_pg_db, pg_url};
use two_machines::*;
use tokio::io::AsyncReadExt;
use tokio::net::{TcpListener, TcpStream};

/// A TCP proxy to `upstream` that closes the first connection whose first
/// request is a PUT of a job's chunk, before it reaches the server.
async fn breaking_proxy(upstream: String) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let broken = Arc::new(AtomicUsize::new(0));
    let count = broken.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut client, _)) = listener.accept().await else { return };
            let (upstream, count) = (upstream.clone(), count.clone());
            tokio::spawn(async move {
                let mut first = vec![0u8; 4096];
                let n = client.read(&mut first).await.unwrap_or(0);
                let head = String::from_utf8_lossy(&first[..n]).to_string();
                if head.starts_with("PUT ") && head.contains("/jobs/") && count.fetch_add(1, Ordering::SeqCst) == 0 {
                    return; // dropped: the client sees the connection closed
                }
                if head.starts_with("PUT ") && head.contains("/jobs/") {
                    count.fetch_sub(1, Ordering::SeqCst);
                }
                let Ok(mut server) = TcpStream::connect(&upstream).await else { return };
                use tokio::io::AsyncWriteExt;
                if server.write_all(&first[..n]).await.is_err() {
                    return;
                }
                let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
            });
        }
    });
    (format!("http://{addr}"), broken)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_artifacts_serve_logs_and_outputs_on_the_other_machine_through_a_failed_upload() {
    let Ok(endpoint) = std::env::var("CLAUDE_JOBS_TEST_S3_URL") else {
        eprintln!("SKIP s3 artifacts: CLAUDE_JOBS_TEST_S3_URL is not set (`make test-durable` starts moto and sets it)");
        return;
    };
    let bucket = format!("cj-test-{}", &uuid::Uuid::now_v7().simple().to_string()[20..]);
    let r = ureq::put(&format!("{endpoint}/{bucket}")).call().expect("moto creates the bucket");
    assert_eq!(r.status(), 200);
    let upstream = endpoint.trim_start_matches("http://").to_string();
    let (proxy, broken) = breaking_proxy(upstream).await;
    // Before any manager (or other thread of this test) reads the environment.
    for (k, v) in [
        ("AWS_ENDPOINT_URL", proxy.as_str()),
        ("AWS_ALLOW_HTTP", "true"),
        ("AWS_ACCESS_KEY_ID", "test-key-id"),
        ("AWS_SECRET_ACCESS_KEY", "test-secret"),
        ("AWS_REGION", "us-east-1"),
    ] {
        std::env::set_var(k, v);
    }
    let at = format!("s3://{bucket}/claude-jobs");
    let dir = data_dir();
    let url = format!("sqlite://{}", dir.path().join("shared.db").display());
    two_machines_on_s3(&url, &at, &broken).await;
    assert_eq!(broken.load(Ordering::SeqCst), 1, "the first upload's connection was broken, and the upload retried");
    // The same with the job store on PostgreSQL (when `make test-durable` gives one).
    #[cfg(feature = "postgres")]
    match pg_url("s3 artifacts with a PostgreSQL job store") {
        Some(base) => two_machines_on_s3(&fresh_pg_db(&base).await, &format!("{at}-pg"), &broken).await,
        None => eprintln!("SKIP the PostgreSQL job store case: no CLAUDE_JOBS_TEST_PG_URL"),
    }
}

/// A job of machine A: its log followed live by B, then served byte for
/// byte; an output listed and served by B; a step on B that reads it.
async fn two_machines_on_s3(url: &str, at: &str, broken: &AtomicUsize) {
    let (da, db) = (data_dir(), data_dir());
    let a = machine(da.path(), url, at).await;
    let job = a.submit(slow(12000).build().unwrap()).await.unwrap();
    assert!(eventually(20, || job.state() == JobState::Running).await);
    let b = machine(db.path(), url, at).await;
    let mut live = Vec::new();
    for _ in 0..60 {
        let seen = b.read_log(job.id(), "stdout", None).await.unwrap().len();
        if job.state() == JobState::Running && seen > 0 {
            live.push(seen);
        }
        if live.len() >= 2 && live[live.len() - 1] > live[0] {
            break;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    assert!(live.len() >= 2 && live[live.len() - 1] > live[0], "B follows A's log while it runs: {live:?}");
    let info = job.wait().await;
    assert_eq!(info.state, JobState::Succeeded, "{info:?}");
    let local = std::fs::read(info.log_dir.as_ref().unwrap().join("stdout.log")).unwrap();
    assert!(b.read_log(job.id(), "stdout", None).await.unwrap() == local, "byte for byte, {} bytes", local.len());
    assert!(broken.load(Ordering::SeqCst) >= 1, "the first upload's connection was broken");

    // B stops, so that A runs the next job (on PostgreSQL both would claim it).
    b.shutdown(Duration::from_secs(5)).await;
    drop(b);
    let out = a.submit(step("Research Acme.", "research.md")).await.unwrap().wait().await;
    assert_eq!(out.state, JobState::Succeeded, "{out:?}");
    assert!(ran_in(&out, da.path()), "A ran it");
    let bytes = std::fs::read(&out.outputs[0]).unwrap();
    a.shutdown(Duration::from_secs(5)).await;
    drop(a);
    std::fs::remove_dir_all(da.path().join("brand")).unwrap();
    // B again, alone: it serves A's output and its step reads it, from S3.
    let b = machine(db.path(), url, at).await;
    let listed = b.outputs(&out.id).await.unwrap();
    let sha = sha(&bytes);
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!((listed[0].name.as_str(), listed[0].size, &listed[0].sha256), ("research.md", bytes.len() as u64, &sha));
    assert_eq!(b.read_output(&out.id, "research.md").await.unwrap(), Some(bytes.clone()));
    let two = b.submit(input_step(&out.id, "brief.md")).await.unwrap().wait().await;
    assert_eq!(two.state, JobState::Succeeded, "{two:?}");
    assert!(ran_in(&two, db.path()), "B ran it");
    let brief = std::fs::read_to_string(&two.outputs[0]).unwrap();
    assert!(brief.contains(String::from_utf8_lossy(&bytes).trim()), "B's step read A's output from S3: {brief:?}");
    b.shutdown(Duration::from_secs(5)).await;
}
