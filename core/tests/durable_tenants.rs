//! Tenants across processes and nodes: `max_running` held by the store's
//! claim for each tenant while another tenant's jobs run, on one SQLite file
//! shared by two processes and on two PostgreSQL nodes; `max_queued` and
//! idempotency keys held by the insert under 200 parallel submits.
//!
//! The PostgreSQL test needs `CLAUDE_JOBS_TEST_PG_URL` (set by `make
//! test-durable`); without it, it prints why and passes.
mod common;
mod durable;

use std::sync::Arc;
use std::time::Duration;

use claude_jobs::store::{JobRow, JobStore, SqliteStore};
use claude_jobs::{ErrorKind, IsolationMode, JobManager, JobSpec, JobState, TenantQuota};
use common::*;
use durable::*;

/// Node mode: this test binary re-executed by `spawn_node`.
#[test]
fn durable_node() {
    durable::node_main();
}

fn quota(max_running: u32) -> TenantQuota {
    TenantQuota { max_running: Some(max_running), ..Default::default() }
}

/// Submits 4 jobs for tenant `a` (max 1 running) and 4 for `b` (max 2)
/// through `m`, waits for all 8 to end, and checks the claims: never more
/// of a tenant running than its quota (from the stored start and end
/// times), `b` at 2 while `a` ran, and both nodes ran jobs.
async fn check_two_tenants(m: &JobManager, store: &Arc<dyn JobStore>, first_node_dir: &std::path::Path) {
    m.set_tenant("a", quota(1)).await.unwrap();
    m.set_tenant("b", quota(2)).await.unwrap();
    let mut ids = Vec::new();
    for i in 0..8 {
        let tenant = if i % 2 == 0 { "a" } else { "b" };
        let spec = slow(1200).tenant(tenant).build().unwrap();
        ids.push(m.submit(spec).await.unwrap().id().to_string());
    }
    let rows = until_rows(store, 120, "8 finished jobs", |rows| {
        rows.len() == 8 && rows.iter().all(|r| r.record.info.state.is_final())
    })
    .await;
    let spans = |t: &str| -> Vec<(u64, u64)> {
        rows.iter()
            .filter(|r| r.record.info.tenant.as_deref() == Some(t))
            .map(|r| (r.record.info.started_at.unwrap(), r.record.info.finished_at.unwrap()))
            .collect()
    };
    for r in &rows {
        assert_eq!(r.record.info.state, JobState::Succeeded, "{:?}", r.record.info);
        assert_eq!(r.record.info.attempt, 1);
    }
    let (a, b) = (spans("a"), spans("b"));
    assert_eq!((a.len(), b.len()), (4, 4));
    assert_eq!(max_overlap(&a), 1, "tenant a (max_running 1): {a:?}");
    assert_eq!(max_overlap(&b), 2, "tenant b (max_running 2) ran 2 at once: {b:?}");
    let all: Vec<(u64, u64)> = a.iter().chain(&b).copied().collect();
    assert_eq!(max_overlap(&all), 3, "a's job ran while b ran 2: {all:?}");
    let first = std::fs::canonicalize(first_node_dir).unwrap();
    let on_first = rows.iter().filter(|r| node_dir_is(r, &first)).count();
    eprintln!("jobs on the first node: {on_first} of 8");
    assert!(on_first > 0 && on_first < 8, "both nodes ran jobs ({on_first} of 8 on the first)");
}

/// This process's manager (`max_concurrent` 2) and another node
/// (`other_limit`) on the store at `url`, then [`check_two_tenants`] through
/// the store `open` returns.
async fn on_two_nodes<F>(da: &tempfile::TempDir, db: &tempfile::TempDir, url: &str, other_limit: usize, open: impl FnOnce() -> F)
where
    F: std::future::Future<Output = Arc<dyn JobStore>>,
{
    let m = builder(da.path())
        .store_url(url)
        .isolation(IsolationMode::Auto)
        .max_concurrent(2)
        .poll_interval(Duration::from_millis(100))
        .build()
        .await
        .unwrap();
    let mut other = spawn_node(&NodeCfg {
        data_dir: db.path().to_path_buf(),
        store: Some(url.to_string()),
        limit: other_limit,
        ..Default::default()
    });
    other.ready(60);
    let store = open().await;
    check_two_tenants(&m, &store, da.path()).await;
    other.stop();
    m.shutdown(Duration::from_secs(5)).await;
}

fn node_dir_is(r: &JobRow, dir: &std::path::Path) -> bool {
    log_dir_parent(r).is_some_and(|p| p.starts_with(dir))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_running_holds_per_tenant_across_two_processes_on_one_sqlite_file() {
    let (da, db) = (data_dir(), data_dir());
    let url = format!("sqlite://{}", da.path().join("shared.db").display());
    // On one SQLite file `max_concurrent` counts every process's jobs: this
    // one starts a job while fewer than 2 run, the other while fewer than 3,
    // so the third job at once (a's 1 + b's 2) runs in the other process.
    let store_path = da.path().join("shared.db");
    on_two_nodes(&da, &db, &url, 3, || async move {
        Arc::new(SqliteStore::open(&store_path).await.unwrap()) as Arc<dyn JobStore>
    })
    .await;
}

#[cfg(feature = "postgres")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_running_holds_per_tenant_on_two_postgres_nodes() {
    let Some(base) = pg_url("max_running_holds_per_tenant_on_two_postgres_nodes") else {
        return;
    };
    let url = fresh_pg_db(&base).await;
    let (da, db) = (data_dir(), data_dir());
    let store_url = url.clone();
    on_two_nodes(&da, &db, &url, 2, || async move {
        Arc::new(claude_jobs::store::PgStore::connect(&store_url).await.unwrap()) as Arc<dyn JobStore>
    })
    .await;
}

/// 200 submits at once for two tenants with `max_queued` 30 and 40 (and
/// 10 more per tenant with one idempotency key): exactly the quota accepted,
/// the rest refused with `QuotaExceeded`; one job per key and tenant.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_queued_and_idempotency_keys_hold_under_parallel_submits() {
    let dir = data_dir();
    // Nothing starts: every job stays queued while the submits race.
    let m = builder(dir.path()).max_concurrent(1).build().await.unwrap();
    let blocker = m.submit(slow(30_000).build().unwrap()).await.unwrap();
    m.set_tenant("a", TenantQuota { max_queued: Some(30), ..Default::default() }).await.unwrap();
    m.set_tenant("b", TenantQuota { max_queued: Some(40), ..Default::default() }).await.unwrap();
    let mut tasks = Vec::new();
    for i in 0..220 {
        let m = m.clone();
        tasks.push(tokio::spawn(async move {
            let tenant = if i % 2 == 0 { "a" } else { "b" };
            let mut b = slow(10).tenant(tenant);
            if i >= 200 {
                b = b.idempotency_key("same-key");
            }
            (tenant, i >= 200, m.submit(b.build().unwrap()).await.map(|j| j.id().to_string()))
        }));
    }
    let mut accepted = std::collections::HashMap::<&str, Vec<String>>::new();
    let mut keyed = std::collections::HashMap::<&str, std::collections::BTreeSet<String>>::new();
    for t in tasks {
        let (tenant, with_key, r) = t.await.unwrap();
        match r {
            Ok(id) if with_key => {
                keyed.entry(tenant).or_default().insert(id);
            }
            Ok(id) => accepted.entry(tenant).or_default().push(id),
            Err(e) => {
                assert_eq!(e.kind(), ErrorKind::QuotaExceeded, "{e}");
                assert!(e.to_string().contains(tenant), "{e}");
                assert!(e.retry_after().is_some(), "{e}");
            }
        }
    }
    for (t, max) in [("a", 30), ("b", 40)] {
        let plain = accepted.get(t).map_or(0, Vec::len);
        let key_jobs = keyed.get(t).map_or(0, |s| s.len());
        assert!(key_jobs <= 1, "tenant {t}: one job per idempotency key, got {key_jobs}");
        assert_eq!(plain + key_jobs, max, "tenant {t}: exactly max_queued accepted");
        let q = claude_jobs::ListQuery { tenant: Some(t.to_string()), limit: Some(1000), ..Default::default() };
        let listed = m.list(&q).await.unwrap().jobs;
        assert_eq!(listed.len(), max, "tenant {t}: the list holds each accepted job once");
        let usage = m.tenant_usage(t).await.unwrap();
        assert_eq!(usage.queued, max as u64);
    }
    // Once the queue has room, the key returns the job it made, and another
    // tenant's same key makes its own.
    let q = claude_jobs::ListQuery { tenant: Some("a".into()), limit: Some(1000), ..Default::default() };
    for j in m.list(&q).await.unwrap().jobs {
        m.get(&j.id).await.unwrap().cancel().await.unwrap();
    }
    let first = m.submit(slow(10).tenant("a").idempotency_key("k2").build().unwrap()).await.unwrap();
    let again = m.submit(slow(10).tenant("a").idempotency_key("k2").build().unwrap()).await.unwrap();
    let other = m.submit(slow(10).tenant("c").idempotency_key("k2").build().unwrap()).await.unwrap();
    assert_eq!(first.id(), again.id());
    assert_ne!(first.id(), other.id());
    blocker.cancel().await.unwrap();
    m.shutdown(Duration::from_secs(5)).await;
}

/// An idempotency key holds for 24 hours: a second submit returns the first
/// job; once that job is more than a day old, the key makes a new one.
#[tokio::test]
async fn an_idempotency_key_is_free_again_after_a_day() {
    use sqlx::Connection;
    let dir = data_dir();
    let url = format!("sqlite://{}", dir.path().join("jobs.db").display());
    let m = builder(dir.path()).store_url(&url).isolation(IsolationMode::Off).build().await.unwrap();
    let spec = || JobSpec::builder().prompt("once").idempotency_key("k-1").build().unwrap();
    let first = m.submit(spec()).await.unwrap();
    assert_eq!(m.submit(spec()).await.unwrap().id(), first.id(), "the same job within the day");
    assert_eq!(first.wait().await.state, JobState::Succeeded);
    let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
    sqlx::query("UPDATE cj_jobs SET created_at = created_at - 25 * 3600000 WHERE id = ?")
        .bind(first.id())
        .execute(&mut conn)
        .await
        .unwrap();
    let later = m.submit(spec()).await.unwrap();
    assert_ne!(later.id(), first.id(), "a day later the key makes a new job");
    assert_eq!(later.wait().await.state, JobState::Succeeded);
    assert_eq!(m.submit(spec()).await.unwrap().id(), later.id(), "and holds again for the new one");
    assert_eq!(m.get(first.id()).await.unwrap().info().state, JobState::Succeeded, "the first job stays");
    m.shutdown(Duration::from_secs(5)).await;
}
