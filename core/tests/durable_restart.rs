//! The embedded SQLite store: nothing is lost when a manager dies or
//! restarts, and several processes on one file share one limit.
mod common;
mod durable;

use std::sync::Arc;
use std::time::{Duration, Instant};

use claude_jobs::store::{JobRow, JobStore, SqliteStore};
use claude_jobs::{IsolationMode, JobEvent, JobState, RecoveryPolicy};
use common::*;
use durable::*;

/// Node mode: this test binary re-executed by `spawn_node`.
#[test]
fn durable_node() {
    durable::node_main();
}

async fn open_store(dir: &std::path::Path) -> Arc<dyn JobStore> {
    Arc::new(
        SqliteStore::open(&dir.join("claude-jobs.db"))
            .await
            .unwrap(),
    )
}

/// Kill -9 a manager with 3 running and 10 queued jobs; a new one recovers.
async fn kill_and_restart(requeue: bool) {
    let dir = data_dir();
    let tag = uuid::Uuid::now_v7().simple().to_string();
    let long_marker = format!("long-{tag}");
    let short_marker = format!("short-{tag}");
    // Long jobs first (FIFO): they take the 3 slots; fork-tree leaves
    // grandchildren that outlive the CLI, as real tool processes do.
    let long = if requeue {
        ("slow", 4.0)
    } else {
        ("fork-tree", 0.0)
    };
    let mut submit = vec![(long.0.to_string(), long.1, long_marker.clone()); 3];
    submit.extend(vec![("slow".to_string(), 0.3, short_marker.clone()); 10]);
    let mut node = spawn_node(&NodeCfg {
        data_dir: dir.path().to_path_buf(),
        limit: 3,
        submit,
        ..Default::default()
    });
    let ids = node.ready(60);
    assert_eq!(ids.len(), 13);
    let store = open_store(dir.path()).await;
    until_rows(&store, 30, "3 running with a pid", |rows| {
        rows.iter()
            .filter(|r| r.record.info.state == JobState::Running && r.record.info.pid.is_some())
            .count()
            == 3
    })
    .await;
    let running: Vec<String> = ids[..3].to_vec();
    // Wait for the grandchildren (fork-tree), then kill the manager.
    if !requeue {
        assert!(
            eventually(20, || processes_with_env(&long_marker).len() >= 9).await,
            "3 CLIs with 2 children each"
        );
    }
    let old_pids = processes_with_env(&long_marker);
    let groups: Vec<_> = running.iter().flat_map(|id| job_cgroups(id)).collect();
    // An operator's shell sitting in a running job's directory, with the
    // path in its environment: the restart must leave it alone.
    let job_dir = dir.path().join("jobs").join(&running[0]);
    assert!(job_dir.is_dir(), "{job_dir:?}");
    let mut bystander = std::process::Command::new("sleep")
        .arg("120")
        .current_dir(&job_dir)
        .env("OLDPWD", &job_dir)
        .spawn()
        .unwrap();
    node.kill9();
    let t0 = Instant::now();
    let mut b = builder(dir.path())
        .isolation(IsolationMode::Auto)
        .max_concurrent(3);
    if requeue {
        b = b.recovery(RecoveryPolicy::Requeue);
    }
    let m = b.build().await.unwrap();
    let recovered_in = t0.elapsed();
    eprintln!("restart recovery (build incl. orphan scan and kill): {recovered_in:?}");
    for id in &running {
        let job = m.get(id).await.unwrap();
        let info = tokio::time::timeout(Duration::from_secs(60), job.wait())
            .await
            .expect("recovered job ends");
        if requeue {
            assert_eq!(info.state, JobState::Succeeded, "{info:?}");
            assert_eq!(info.attempt, 2);
            // The requeued attempt continues the session the lost one printed.
            let all = job_events(&job).await;
            let first = all.iter().find_map(|e| match e {
                JobEvent::Init { session_id, .. } => session_id.clone(),
                _ => None,
            });
            assert!(first.is_some(), "the first attempt printed its session: {all:?}");
            assert!(
                all.iter().any(|e| matches!(e, JobEvent::Resuming { session_id, from_job, fork: false }
                    if Some(session_id) == first.as_ref() && from_job == id)),
                "the requeued attempt resumes its own session: {all:?}"
            );
        } else {
            assert_eq!(info.state, JobState::Interrupted, "{info:?}");
            assert!(
                info.error.as_deref().unwrap_or("").contains("died"),
                "{:?}",
                info.error
            );
            // Its events replay from the store, ending with the interruption.
            let mut evs = job.events(0);
            let mut all = Vec::new();
            while let Some(r) = tokio::time::timeout(Duration::from_secs(5), evs.next())
                .await
                .unwrap()
            {
                all.push(r.event);
            }
            assert!(
                all.iter().any(|e| matches!(e, JobEvent::Started { .. })),
                "{all:?}"
            );
            assert!(
                matches!(
                    all.last(),
                    Some(JobEvent::Finished {
                        state: JobState::Interrupted,
                        ..
                    })
                ),
                "{all:?}"
            );
        }
    }
    for id in &ids[3..] {
        let info = tokio::time::timeout(Duration::from_secs(60), m.get(id).await.unwrap().wait())
            .await
            .unwrap();
        assert_eq!(info.state, JobState::Succeeded, "{info:?}");
        assert_eq!(info.attempt, 1);
    }
    assert!(
        eventually(10, || old_pids.iter().all(|p| !alive(*p))).await,
        "no process of the old run survives: {:?}",
        old_pids.iter().filter(|p| alive(**p)).collect::<Vec<_>>()
    );
    assert!(
        groups.iter().all(|g| !g.exists()),
        "no cgroup of the old run survives: {groups:?}"
    );
    if !requeue {
        assert!(processes_with_env(&long_marker).is_empty());
    }
    assert!(
        bystander.try_wait().unwrap().is_none(),
        "a process that only sits in a job's directory survives the restart"
    );
    let _ = bystander.kill();
    let _ = bystander.wait();
    m.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill9_with_running_and_queued_jobs_then_restart() {
    kill_and_restart(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill9_then_restart_requeues_by_policy() {
    kill_and_restart(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn results_events_and_queue_survive_a_restart() {
    let dir = data_dir();
    let tag = uuid::Uuid::now_v7().simple().to_string();
    let (done_id, queued_id, seqs) = {
        let m = builder(dir.path()).max_concurrent(1).build().await.unwrap();
        let done = m.submit(fake_spec("slow", 0.5, &tag)).await.unwrap();
        let blocker = m.submit(fake_spec("slow", 30.0, &tag)).await.unwrap();
        let info = done.wait().await;
        assert_eq!(info.state, JobState::Succeeded);
        assert!(eventually(20, || blocker.info().pid.is_some()).await);
        let queued = m.submit(fake_spec("slow", 0.2, &tag)).await.unwrap();
        let seqs: Vec<u64> = done.events(0).into_stream_collect().await;
        m.shutdown(Duration::from_millis(100)).await;
        assert_eq!(blocker.wait().await.state, JobState::Interrupted);
        assert_eq!(
            queued.state(),
            JobState::Queued,
            "a durable store keeps it queued"
        );
        (done.id().to_string(), queued.id().to_string(), seqs)
    };
    let m = builder(dir.path()).build().await.unwrap();
    let done = m.get(&done_id).await.unwrap();
    let info = done.info();
    assert_eq!(info.state, JobState::Succeeded);
    assert!(
        info.result.as_deref().unwrap_or("").contains("slow"),
        "{:?}",
        info.result
    );
    assert!(info.log_dir.as_ref().unwrap().join("stdout.log").exists());
    // The whole stream replays from the store, with the same numbers.
    let replay: Vec<u64> = done.events(0).into_stream_collect().await;
    assert_eq!(replay, seqs);
    // A client that saw up to seq 2 resumes after it.
    let mut rest = done.events(2);
    assert_eq!(rest.next().await.unwrap().seq, 3);
    let q = m.get(&queued_id).await.unwrap();
    let qi = tokio::time::timeout(Duration::from_secs(30), q.wait())
        .await
        .unwrap();
    assert_eq!(
        qi.state,
        JobState::Succeeded,
        "the queued job ran after the restart"
    );
    m.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_share_one_limit() {
    let shared = data_dir();
    let url = format!("sqlite://{}", shared.path().join("shared.db").display());
    let (da, db) = (data_dir(), data_dir());
    let tag = uuid::Uuid::now_v7().simple().to_string();
    let store: Arc<dyn JobStore> = Arc::new(
        SqliteStore::open(&shared.path().join("shared.db"))
            .await
            .unwrap(),
    );
    let running = |rows: &[JobRow]| {
        rows.iter()
            .filter(|r| r.record.info.state == JobState::Running)
            .count()
    };
    // Process A fills the limit with three long jobs.
    let mut a = spawn_node(&NodeCfg {
        data_dir: da.path().to_path_buf(),
        store: Some(url.clone()),
        limit: 3,
        submit: vec![("slow".to_string(), 6.0, tag.clone()); 3],
        ..Default::default()
    });
    let ids_a = a.ready(60);
    until_rows(&store, 30, "A's three jobs running", |rows| {
        running(rows) == 3
    })
    .await;
    // Process B, limit 3 of its own, submits 17 short jobs: while A's three
    // run, the store's count keeps every one of them queued.
    let mut b = spawn_node(&NodeCfg {
        data_dir: db.path().to_path_buf(),
        store: Some(url.clone()),
        limit: 3,
        submit: vec![("slow".to_string(), 0.3, tag.clone()); 17],
        ..Default::default()
    });
    let ids_b = b.ready(60);
    assert_eq!(ids_a.len() + ids_b.len(), 20);
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let rows = store.rows(&known_ids(&ids_a)).await.unwrap();
    assert!(
        rows.iter()
            .all(|r| r.record.info.state == JobState::Running),
        "A's jobs ended too early for this check (a very slow host?)"
    );
    for r in store.rows(&known_ids(&ids_b)).await.unwrap() {
        assert_eq!(
            r.record.info.state,
            JobState::Queued,
            "B started a job beyond the shared limit"
        );
    }
    let mut max_running = 0;
    let rows = until_rows(&store, 120, "20 finished jobs", |rows| {
        max_running = max_running.max(running(rows));
        rows.len() == 20 && rows.iter().all(|r| r.record.info.state.is_final())
    })
    .await;
    assert!(max_running <= 3, "{max_running} running at once");
    let mut spans = Vec::new();
    let mut by_node = [0, 0];
    for r in &rows {
        let i = &r.record.info;
        assert_eq!(i.state, JobState::Succeeded, "{i:?}");
        assert_eq!(i.attempt, 1);
        assert_eq!(starts(&store, &i.id).await, 1, "job {} ran once", i.id);
        spans.push((i.started_at.unwrap(), i.finished_at.unwrap()));
        let parent = log_dir_parent(r).unwrap();
        by_node[if parent.starts_with(std::fs::canonicalize(da.path()).unwrap()) {
            0
        } else {
            1
        }] += 1;
    }
    let overlap = max_overlap(&spans);
    // Which process runs B's jobs once A's end is a race (each claims when
    // it has room); only the shared limit and "each job once" are promised.
    eprintln!("max overlap {overlap}, jobs per process {by_node:?}");
    assert!(overlap <= 3, "{overlap} jobs overlapped");
    assert_eq!(overlap, 3, "the limit was used");
    a.stop();
    b.stop();
}

trait CollectSeqs {
    async fn into_stream_collect(self) -> Vec<u64>;
}

impl CollectSeqs for claude_jobs::EventStream {
    async fn into_stream_collect(mut self) -> Vec<u64> {
        let mut v = Vec::new();
        while let Some(r) = tokio::time::timeout(Duration::from_secs(10), self.next())
            .await
            .unwrap()
        {
            v.push(r.seq);
        }
        v
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_manager_in_the_process_leaves_the_first_ones_jobs_alone() {
    let dir = data_dir();
    let tag = uuid::Uuid::now_v7().simple().to_string();
    let first = builder(dir.path()).build().await.unwrap();
    let job = first.submit(fake_spec("slow", 30.0, &tag)).await.unwrap();
    assert!(eventually(30, || job.info().pid.is_some()).await);
    let second = builder(dir.path()).build().await.unwrap();
    assert_ne!(first.node_id(), second.node_id());
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        job.state(),
        JobState::Running,
        "the second manager did not take it for an orphan"
    );
    assert!(alive(job.info().pid.unwrap() as i32));
    job.cancel().await.unwrap();
    assert_eq!(job.wait().await.state, JobState::Cancelled);
    second.shutdown(Duration::from_secs(5)).await;
    first.shutdown(Duration::from_secs(5)).await;
}

/// A SQLite store in `dir` holding a queued job for each id.
async fn store_with_queued_jobs(dir: &std::path::Path, ids: &[&str]) -> Arc<dyn JobStore> {
    let store = open_store(dir).await;
    let spec = claude_jobs::JobSpec::from_prompt("hi");
    for id in ids {
        let record = claude_jobs::store::JobRecord {
            info: claude_jobs::JobInfo::queued(id.to_string(), &spec, 1),
            spec: spec.clone(),
        };
        store.insert(&record, &[]).await.unwrap();
    }
    store
}

/// A finishing job wakes the next claim at once unless another process has
/// jobs running from the same file (then after a random delay, to spread
/// jobs): the SQLite store tells which from its last claim.
#[tokio::test]
async fn the_sqlite_store_knows_whether_other_processes_run_jobs() {
    use claude_jobs::store::ClaimOptions;
    let dir = tempfile::tempdir().unwrap();
    let store = store_with_queued_jobs(dir.path(), &["job-1", "job-2", "job-3"]).await;
    let opts = ClaimOptions::new(Duration::from_secs(60));
    assert_eq!(store.claim("node-a", 1, &opts).await.unwrap().len(), 1);
    assert!(!store.shared_with_others(), "only node-a's claim so far");
    assert_eq!(store.claim("node-a", 1, &opts).await.unwrap().len(), 1);
    assert!(!store.shared_with_others(), "node-a runs both running jobs");
    assert_eq!(store.claim("node-b", 1, &opts).await.unwrap().len(), 1);
    assert!(store.shared_with_others(), "node-b sees node-a's running jobs");
    let mem: Arc<dyn JobStore> = Arc::new(claude_jobs::store::MemoryStore::new());
    assert!(!mem.shared_with_others());
}

/// Events are stored in batches; every one comes back, in order, and a
/// second append of the same sequence numbers adds nothing.
#[tokio::test]
async fn the_sqlite_store_keeps_every_event_of_a_long_append() {
    use claude_jobs::EventRecord;
    let dir = tempfile::tempdir().unwrap();
    let store = open_store(dir.path()).await;
    let events: Vec<EventRecord> = (1..=450)
        .map(|seq| EventRecord {
            seq,
            at_ms: 1000 + seq,
            event: JobEvent::Stopping {
                reason: format!("event {seq}"),
            },
        })
        .collect();
    store.append_events("job-x", &events).await.unwrap();
    store.append_events("job-x", &events[400..]).await.unwrap();
    let back = store.events("job-x", 0).await.unwrap();
    assert_eq!(back.len(), 450);
    assert!(back.iter().zip(1..).all(|(r, seq)| r.seq == seq && r.at_ms == 1000 + seq));
    assert!(matches!(&back[449].event, JobEvent::Stopping { reason } if reason == "event 450"));
    assert_eq!(store.events("job-x", 445).await.unwrap().len(), 5);
}

/// A follower polls only what changed: jobs still queued at the attempt it
/// knows are left out by the store.
#[tokio::test]
async fn the_sqlite_store_returns_only_changed_rows_to_a_follower() {
    use claude_jobs::store::ClaimOptions;
    let dir = tempfile::tempdir().unwrap();
    let store = store_with_queued_jobs(dir.path(), &["job-1", "job-2", "job-3"]).await;
    let known = |a: Option<u32>| -> Vec<(String, Option<u32>)> {
        ["job-1", "job-2", "job-3", "job-missing"]
            .iter()
            .map(|id| (id.to_string(), a))
            .collect()
    };
    let ids = |rows: Vec<JobRow>| -> Vec<String> {
        let mut v: Vec<String> = rows.into_iter().map(|r| r.record.info.id).collect();
        v.sort();
        v
    };
    assert!(store.rows(&known(Some(0))).await.unwrap().is_empty());
    assert_eq!(ids(store.rows(&known(None)).await.unwrap()), ["job-1", "job-2", "job-3"]);
    assert_eq!(ids(store.rows(&known(Some(1))).await.unwrap()), ["job-1", "job-2", "job-3"]);
    let opts = ClaimOptions::new(Duration::from_secs(60));
    let claimed = store.claim("node-a", 1, &opts).await.unwrap();
    let changed = store.rows(&known(Some(0))).await.unwrap();
    assert_eq!(ids(changed.clone()), [claimed[0].record.info.id.clone()]);
    assert_eq!(changed[0].record.info.state, JobState::Running);
}

/// When `wait()` returns, the outcome and every event (`finished` last) are
/// in the store already: another process reading the file sees them all.
#[tokio::test]
async fn wait_returns_once_the_events_are_stored() {
    let dir = data_dir();
    let m = builder(dir.path())
        .isolation(IsolationMode::Off)
        .build()
        .await
        .unwrap();
    let store = open_store(dir.path()).await;
    for _ in 0..10 {
        let job = m
            .submit(claude_jobs::JobSpec::from_prompt("hello"))
            .await
            .unwrap();
        let info = job.wait().await;
        assert_eq!(info.state, JobState::Succeeded);
        let stored = store.events(job.id(), 0).await.unwrap();
        assert!(
            matches!(stored.last().map(|r| &r.event), Some(JobEvent::Finished { .. })),
            "stored events end with {:?}",
            stored.last()
        );
        assert!(stored.iter().zip(1..).all(|(r, seq)| r.seq == seq), "no gap");
        let row = store.get(job.id()).await.unwrap().unwrap();
        assert_eq!(row.info.state, JobState::Succeeded);
    }
}

/// Managers started at once on one new SQLite file (threads here, as
/// processes would) all open it: none gets "database is locked" while another
/// creates it, switches it to WAL or migrates it. (Before the store retried
/// its opening, 300 rounds of 12 threads on a loaded machine failed at round
/// 230; `OPEN_ROUNDS` and `OPEN_THREADS` set the sizes.)
#[test]
fn many_opens_at_once_of_a_new_sqlite_file_all_succeed() {
    let rounds: usize = std::env::var("OPEN_ROUNDS").ok().and_then(|v| v.parse().ok()).unwrap_or(100);
    let threads: usize = std::env::var("OPEN_THREADS").ok().and_then(|v| v.parse().ok()).unwrap_or(8);
    for round in 0..rounds {
        let dir = data_dir();
        let path = dir.path().join("shared.db");
        let opens: Vec<_> = (0..threads)
            .map(|_| {
                let path = path.clone();
                std::thread::spawn(move || {
                    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
                    rt.block_on(async { SqliteStore::open(&path).await.map(|_| ()).map_err(|e| e.to_string()) })
                })
            })
            .collect();
        for o in opens {
            if let Err(e) = o.join().unwrap() {
                panic!("round {round}: {e}");
            }
        }
    }
}
