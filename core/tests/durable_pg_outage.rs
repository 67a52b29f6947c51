//! PostgreSQL going away for a few seconds and coming back: the manager
//! reports it, keeps its running jobs alive, and recovers without losing or
//! duplicating a job. (Its own test binary: it stops the shared server.)
//!
//! With `CLAUDE_JOBS_TEST_PG_CTL` (a `scripts/postgres.sh`, set by `make
//! test-durable`) the server is stopped and started again; otherwise every
//! connection to the test database is killed for a few seconds.
#![cfg(feature = "postgres")]
mod common;
mod durable;

use std::time::{Duration, Instant};

use claude_jobs::{IsolationMode, JobState};
use common::*;
use durable::*;

#[test]
fn durable_node() {
    durable::node_main();
}

fn pg_ctl(arg: &str) -> bool {
    let Ok(script) = std::env::var("CLAUDE_JOBS_TEST_PG_CTL") else {
        return false;
    };
    let st = std::process::Command::new(script)
        .arg(arg)
        .stdout(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(st.success(), "postgres.sh {arg}");
    true
}

async fn outage(base: &str, db: &str, secs: f64) {
    if pg_ctl("stop") {
        tokio::time::sleep(Duration::from_secs_f64(secs)).await;
        pg_ctl("start");
        return;
    }
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect(base).await.unwrap();
    let end = Instant::now() + Duration::from_secs_f64(secs);
    while Instant::now() < end {
        sqlx::query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()")
            .bind(db)
            .execute(&mut conn)
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_database_going_away_loses_and_duplicates_nothing() {
    let Some(base) = pg_url("the_database_going_away_loses_and_duplicates_nothing") else {
        return;
    };
    let url = fresh_pg_db(&base).await;
    let db_name = url.rsplit('/').next().unwrap().to_string();
    let dir = data_dir();
    let tag = uuid::Uuid::now_v7().simple().to_string();
    let m = builder(dir.path())
        .store_url(&url)
        .isolation(IsolationMode::Auto)
        .max_concurrent(3)
        .lease_ttl(Duration::from_secs(20))
        .heartbeat_interval(Duration::from_millis(300))
        .rescue_interval(Duration::from_millis(500))
        .event_flush_interval(Duration::from_millis(200))
        .build()
        .await
        .unwrap();
    let mut jobs = Vec::new();
    for _ in 0..6 {
        jobs.push(m.submit(fake_spec("slow", 5.0, &tag)).await.unwrap());
    }
    assert!(
        eventually(30, || jobs
            .iter()
            .filter(|j| j.info().pid.is_some())
            .count()
            == 3)
        .await
    );
    let running: Vec<(String, u32)> = jobs
        .iter()
        .filter_map(|j| j.info().pid.map(|p| (j.id().to_string(), p)))
        .collect();
    assert!(m.store_health().healthy);
    let t0 = Instant::now();
    let watcher = {
        let m = m.clone();
        tokio::spawn(async move {
            let mut saw_unhealthy = false;
            while t0.elapsed() < Duration::from_secs(9) {
                saw_unhealthy |= !m.store_health().healthy;
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            saw_unhealthy
        })
    };
    // Longer than the pool's 2 s acquire timeout, so calls fail meanwhile.
    outage(&base, &db_name, 4.0).await;
    eprintln!("database back after {:?}", t0.elapsed());
    let saw_unhealthy = watcher.await.unwrap();
    let health = m.store_health();
    eprintln!("store health after the outage: {health:?}");
    assert!(
        saw_unhealthy && health.outages >= 1,
        "the outage was reported: {health:?}"
    );
    for j in &jobs {
        let info = tokio::time::timeout(Duration::from_secs(60), j.wait())
            .await
            .expect("job ends");
        assert_eq!(info.state, JobState::Succeeded, "{info:?}");
        assert_eq!(info.attempt, 1, "{info:?}");
    }
    // The jobs that ran through the outage kept their process.
    for (id, pid) in &running {
        let info = m.get(id).await.unwrap().info();
        assert_eq!(info.pid, Some(*pid), "job {id} was not restarted");
    }
    assert!(eventually(10, || m.store_health().healthy).await);
    let store: std::sync::Arc<dyn claude_jobs::store::JobStore> =
        std::sync::Arc::new(claude_jobs::store::PgStore::connect(&url).await.unwrap());
    for j in &jobs {
        assert_eq!(starts(&store, j.id()).await, 1, "job {} ran once", j.id());
        assert_eq!(
            store.get(j.id()).await.unwrap().unwrap().info.state,
            JobState::Succeeded
        );
    }
    m.shutdown(Duration::from_secs(5)).await;
}
