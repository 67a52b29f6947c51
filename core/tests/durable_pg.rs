//! PostgreSQL, several nodes: each job runs once; a killed node's jobs are
//! rescued; a frozen node's late result is rejected and its process killed;
//! a cancel on one node stops the process on another.
//!
//! Needs `CLAUDE_JOBS_TEST_PG_URL` (set by `make test-durable`); without it
//! each test prints why and passes.
#![cfg(feature = "postgres")]
mod common;
mod durable;

use std::sync::Arc;
use std::time::{Duration, Instant};

use claude_jobs::store::{JobStore, PgStore};
use claude_jobs::{IsolationMode, JobManager, JobState, RecoveryPolicy};
use common::*;
use durable::*;

/// Node mode: this test binary re-executed by `spawn_node`.
#[test]
fn durable_node() {
    durable::node_main();
}

const TTL_MS: u64 = 2000;
const HB_MS: u64 = 300;

async fn setup(test: &str) -> Option<(String, Arc<dyn JobStore>)> {
    let base = pg_url(test)?;
    let url = fresh_pg_db(&base).await;
    let store: Arc<dyn JobStore> = Arc::new(PgStore::connect(&url).await.unwrap());
    Some((url, store))
}

fn node(
    url: &str,
    dir: &std::path::Path,
    limit: usize,
    submit: Vec<(String, f64, String)>,
) -> Node {
    spawn_node(&node_cfg(url, dir, limit, submit))
}

fn node_cfg(
    url: &str,
    dir: &std::path::Path,
    limit: usize,
    submit: Vec<(String, f64, String)>,
) -> NodeCfg {
    NodeCfg {
        data_dir: dir.to_path_buf(),
        store: Some(url.to_string()),
        limit,
        lease_ttl_ms: Some(TTL_MS),
        heartbeat_ms: Some(HB_MS),
        rescue_ms: Some(300),
        requeue: true,
        submit,
        ..Default::default()
    }
}

/// A manager in this process, as another node.
async fn local_node(url: &str, dir: &std::path::Path, name: &str) -> JobManager {
    builder(dir)
        .store_url(url)
        .isolation(IsolationMode::Auto)
        .node_id(format!("{name}-{}", uuid::Uuid::now_v7().simple()))
        .max_concurrent(3)
        .lease_ttl(Duration::from_millis(TTL_MS))
        .heartbeat_interval(Duration::from_millis(HB_MS))
        .rescue_interval(Duration::from_millis(300))
        .poll_interval(Duration::from_millis(200))
        .event_flush_interval(Duration::from_millis(200))
        .recovery(RecoveryPolicy::Requeue)
        .build()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_run_each_of_30_jobs_once() {
    let Some((url, store)) = setup("two_nodes_run_each_of_30_jobs_once").await else {
        return;
    };
    let (da, db) = (data_dir(), data_dir());
    let tag = uuid::Uuid::now_v7().simple().to_string();
    let mut a = node(
        &url,
        da.path(),
        3,
        vec![("slow".to_string(), 0.3, tag.clone()); 30],
    );
    let mut b = node(&url, db.path(), 3, vec![]);
    let ids = a.ready(60);
    b.ready(60);
    assert_eq!(ids.len(), 30);
    let rows = until_rows(&store, 120, "30 finished jobs", |rows| {
        rows.len() == 30 && rows.iter().all(|r| r.record.info.state.is_final())
    })
    .await;
    let mut by_node = [0, 0];
    for r in &rows {
        let i = &r.record.info;
        assert_eq!(i.state, JobState::Succeeded, "{i:?}");
        assert_eq!(i.attempt, 1, "{i:?}");
        assert_eq!(starts(&store, &i.id).await, 1, "job {} ran once", i.id);
        let parent = log_dir_parent(r).unwrap();
        by_node[if parent.starts_with(std::fs::canonicalize(da.path()).unwrap()) {
            0
        } else {
            1
        }] += 1;
    }
    eprintln!("jobs per node: {by_node:?}");
    assert!(
        by_node[0] > 0 && by_node[1] > 0,
        "both nodes ran jobs: {by_node:?}"
    );
    a.stop();
    b.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_nodes_jobs_are_rescued_within_the_lease() {
    let Some((url, store)) = setup("a_killed_nodes_jobs_are_rescued_within_the_lease").await else {
        return;
    };
    let (da, db) = (data_dir(), data_dir());
    let tag = uuid::Uuid::now_v7().simple().to_string();
    // As if on another machine: a node id that is not `<this host>-<pid>`,
    // so only its lease expiring tells the others that it is gone.
    let mut cfg = node_cfg(
        &url,
        da.path(),
        3,
        vec![("slow".to_string(), 3.0, tag.clone()); 3],
    );
    cfg.node_id = Some(format!("machine-a-{}", &tag[..8]));
    let mut a = spawn_node(&cfg);
    let ids = a.ready(60);
    until_rows(&store, 30, "3 running on node A", |rows| {
        rows.iter()
            .filter(|r| r.record.info.state == JobState::Running && r.record.info.pid.is_some())
            .count()
            == 3
    })
    .await;
    let b = local_node(&url, db.path(), "b").await;
    a.kill9();
    let t0 = Instant::now();
    let rows = until_rows(&store, 30, "the 3 jobs running again on node B", |rows| {
        rows.iter()
            .filter(|r| {
                r.record.info.state == JobState::Running
                    && r.locked_by.as_deref() == Some(b.node_id())
            })
            .count()
            == 3
    })
    .await;
    let rescued_in = t0.elapsed();
    eprintln!("rescue time after kill -9 (lease TTL {TTL_MS} ms): {rescued_in:?}");
    assert!(
        rescued_in < Duration::from_millis(TTL_MS + 3000),
        "rescued in {rescued_in:?}"
    );
    assert!(
        rescued_in > Duration::from_millis(TTL_MS / 2),
        "not before its lease could expire: {rescued_in:?}"
    );
    assert!(rows.iter().all(|r| r.record.info.attempt == 2));
    for id in &ids {
        let info = tokio::time::timeout(Duration::from_secs(30), b.get(id).await.unwrap().wait())
            .await
            .unwrap();
        assert_eq!(info.state, JobState::Succeeded, "{info:?}");
        assert_eq!(info.attempt, 2);
    }
    b.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frozen_nodes_late_result_is_rejected_and_its_process_killed() {
    let Some((url, store)) = setup("a_frozen_nodes_late_result_is_rejected").await else {
        return;
    };
    let (da, db) = (data_dir(), data_dir());
    let tag = uuid::Uuid::now_v7().simple().to_string();
    // Job 1 ends while its node is frozen; job 2 still runs when it wakes.
    let mut b = node(
        &url,
        db.path(),
        3,
        vec![
            ("slow".to_string(), 2.5, format!("{tag}-1")),
            ("slow".to_string(), 60.0, format!("{tag}-2")),
        ],
    );
    let ids = b.ready(60);
    let rows = until_rows(&store, 30, "both running on node B", |rows| {
        rows.iter()
            .filter(|r| r.record.info.state == JobState::Running && r.record.info.pid.is_some())
            .count()
            == 2
    })
    .await;
    let pid_of = |id: &str| {
        rows.iter()
            .find(|r| r.record.info.id == id)
            .unwrap()
            .record
            .info
            .pid
            .unwrap() as i32
    };
    let (b1, b2) = (pid_of(&ids[0]), pid_of(&ids[1]));
    b.signal(libc::SIGSTOP);
    let a = local_node(&url, da.path(), "a").await;
    until_rows(&store, 30, "both rescued and running on node A", |rows| {
        rows.iter()
            .filter(|r| {
                r.record.info.state == JobState::Running
                    && r.locked_by.as_deref() == Some(a.node_id())
            })
            .count()
            == 2
    })
    .await;
    // B's first CLI finishes while B is frozen; then B wakes up.
    assert!(eventually(20, || !alive(b1)).await);
    assert!(alive(b2), "B's second CLI runs on while B is frozen");
    b.signal(libc::SIGCONT);
    let t0 = Instant::now();
    assert!(
        eventually(10, || !alive(b2)).await,
        "the frozen node killed its process once it saw the lease gone"
    );
    eprintln!(
        "frozen node killed its stale process {:?} after SIGCONT",
        t0.elapsed()
    );
    let j1 = a.get(&ids[0]).await.unwrap();
    let info = tokio::time::timeout(Duration::from_secs(30), j1.wait())
        .await
        .unwrap();
    assert_eq!(info.state, JobState::Succeeded);
    assert_eq!(info.attempt, 2);
    assert_ne!(
        info.pid,
        Some(b1 as u32),
        "the stored result is A's, not B's late one"
    );
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let stored = store.get(&ids[0]).await.unwrap().unwrap().info;
    assert_eq!(
        stored.pid, info.pid,
        "B's late result did not overwrite A's"
    );
    let j2 = a.get(&ids[1]).await.unwrap();
    assert_eq!(
        j2.state(),
        JobState::Running,
        "A's copy of job 2 keeps running"
    );
    let a_pid = j2.info().pid.unwrap() as i32;
    assert!(alive(a_pid));
    j2.cancel().await.unwrap();
    assert_eq!(j2.wait().await.state, JobState::Cancelled);
    a.shutdown(Duration::from_secs(5)).await;
    b.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_on_one_node_stops_the_process_on_another() {
    let Some((url, store)) = setup("cancel_on_one_node_stops_the_process_on_another").await else {
        return;
    };
    let (da, db) = (data_dir(), data_dir());
    let tag = uuid::Uuid::now_v7().simple().to_string();
    let mut b = node(
        &url,
        db.path(),
        3,
        vec![("slow".to_string(), 60.0, tag.clone())],
    );
    let ids = b.ready(60);
    let rows = until_rows(&store, 30, "running on node B", |rows| {
        rows.iter()
            .any(|r| r.record.info.state == JobState::Running && r.record.info.pid.is_some())
    })
    .await;
    let pid = rows[0].record.info.pid.unwrap() as i32;
    let a = local_node(&url, da.path(), "a").await;
    let job = a.get(&ids[0]).await.unwrap();
    assert_eq!(job.state(), JobState::Running);
    let t0 = Instant::now();
    assert!(job.cancel().await.unwrap(), "the cancel was accepted");
    assert!(
        eventually(5, || !alive(pid)).await,
        "the process on node B stopped"
    );
    let latency = t0.elapsed();
    eprintln!("cross-node cancel latency (until the process is gone): {latency:?}");
    assert!(latency < Duration::from_secs(2), "took {latency:?}");
    let info = tokio::time::timeout(Duration::from_secs(10), job.wait())
        .await
        .expect("wait() resolves on node A");
    assert_eq!(info.state, JobState::Cancelled);
    a.shutdown(Duration::from_secs(5)).await;
    b.stop();
}

#[tokio::test]
async fn store_errors_never_show_the_password() {
    // Nothing listens on port 1: the connection fails at once.
    let err = JobManager::builder()
        .data_dir(data_dir().path())
        .store_url("postgres://jobs:hunter2secret@127.0.0.1:1/jobs")
        .build()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), claude_jobs::ErrorKind::Store);
    let msg = err.to_string();
    assert!(!msg.contains("hunter2secret"), "{msg}");
    assert!(msg.contains("jobs:***@127.0.0.1:1"), "{msg}");
    let err = JobManager::builder()
        .data_dir(data_dir().path())
        .store_url("mysql://root:hunter2secret@x/db")
        .build()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), claude_jobs::ErrorKind::InvalidSpec);
    assert_eq!(err.field(), Some("store_url"));
    assert!(!err.to_string().contains("hunter2secret"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_budget_holds_on_postgres() {
    let Some((url, _store)) = setup("memory_budget_holds_on_postgres").await else {
        return;
    };
    let dir = data_dir();
    let m = builder(dir.path())
        .store_url(&url)
        .isolation(IsolationMode::Off)
        .max_concurrent(5)
        .memory_budget(claude_jobs::MemoryBudget::Bytes(300 << 20))
        .poll_interval(Duration::from_millis(100))
        .build()
        .await
        .unwrap();
    let mut jobs = Vec::new();
    for _ in 0..5 {
        let spec = claude_jobs::JobSpec::builder()
            .prompt("wait")
            .env("FAKE_CLAUDE_SCENARIO", "slow")
            .env("FAKE_CLAUDE_SECONDS", "0.4")
            .memory("128M")
            .build()
            .unwrap();
        jobs.push(m.submit(spec).await.unwrap());
    }
    let mut spans = Vec::new();
    for j in &jobs {
        let i = j.wait().await;
        assert_eq!(i.state, JobState::Succeeded, "{:?}", i.error);
        spans.push((i.started_at.unwrap(), i.finished_at.unwrap()));
    }
    let overlap = spans
        .iter()
        .map(|(s, _)| spans.iter().filter(|(a, b)| a <= s && s < b).count())
        .max();
    // Two 128 MiB caps fit in 300 MiB; a third waits although 5 may run.
    assert_eq!(overlap, Some(2));
    let e = m
        .submit(
            claude_jobs::JobSpec::builder()
                .prompt("x")
                .memory("1G")
                .build()
                .unwrap(),
        )
        .await
        .unwrap_err();
    assert_eq!(e.kind(), claude_jobs::ErrorKind::CapacityExceeded);
    m.shutdown(Duration::from_secs(5)).await;
}

/// `list` on PostgreSQL: pages follow the cursor, newest first, each job once;
/// the state, template and label filters run in the store.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_pages_and_filters_on_postgres() {
    use claude_jobs::store::ListQuery;
    use claude_jobs::JobSpec;
    let Some((url, store)) = setup("list_pages_and_filters_on_postgres").await else {
        return;
    };
    let dir = data_dir();
    let m = local_node(&url, dir.path(), "list").await;
    let mut ids = Vec::new();
    for i in 0..7 {
        let b = JobSpec::builder().label("team", if i < 5 { "a" } else { "b" });
        let b = match i {
            2 => b.prompt("x").env("FAKE_CLAUDE_SCENARIO", "no-result"),
            3 => b.template("brand-data").variable("brand", "ACME"),
            _ => b.prompt(format!("job {i}")),
        };
        let job = m.submit(b.build().unwrap()).await.unwrap();
        ids.push(job.id().to_string());
        job.wait().await;
    }
    let q = |f: &dyn Fn(&mut ListQuery)| {
        let mut q = ListQuery { limit: Some(2), ..Default::default() };
        f(&mut q);
        q
    };
    // Every page of two, through the store and through the manager.
    for use_store in [true, false] {
        let (mut seen, mut query, mut pages) = (Vec::new(), q(&|_| {}), 0);
        loop {
            let page = if use_store { store.list(&query).await } else { m.list(&query).await }.unwrap();
            assert!(page.jobs.len() <= 2);
            pages += 1;
            seen.extend(page.jobs.into_iter().map(|i| i.id));
            match page.next_cursor {
                Some(c) => query.cursor = Some(c),
                None => break,
            }
        }
        let newest_first: Vec<String> = ids.iter().rev().cloned().collect();
        assert_eq!(seen, newest_first, "each job once, newest first");
        assert_eq!(pages, 4);
    }
    let all = |q: ListQuery| {
        let store = store.clone();
        async move {
            let mut q = ListQuery { limit: Some(1000), ..q };
            q.cursor = None;
            store.list(&q).await.unwrap().jobs.into_iter().map(|i| i.id).collect::<Vec<_>>()
        }
    };
    assert_eq!(all(q(&|q| q.label = Some("team=b".into()))).await, [ids[6].clone(), ids[5].clone()]);
    assert_eq!(all(q(&|q| q.state = Some(JobState::Failed))).await, [ids[2].clone()]);
    assert_eq!(all(q(&|q| q.template = Some("brand-data".into()))).await, [ids[3].clone()]);
    let succeeded_a = all(q(&|q| {
        q.state = Some(JobState::Succeeded);
        q.label = Some("team=a".into());
    }))
    .await;
    assert_eq!(succeeded_a, [ids[4].clone(), ids[3].clone(), ids[1].clone(), ids[0].clone()]);
    let bad = store.list(&ListQuery { label: Some("team".into()), ..Default::default() }).await.unwrap_err();
    assert_eq!(bad.field(), Some("label"));
    m.shutdown(Duration::from_secs(5)).await;
}
