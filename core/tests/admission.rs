//! Resource-aware admission: a job starts only when the memory (and CPU)
//! caps of the running jobs plus its own fit the manager's budget; a job
//! that could never fit is refused at submit.
mod common;

use std::sync::Arc;

use claude_jobs::store::MemoryStore;
use claude_jobs::{CpuBudget, ErrorKind, IsolationMode, Job, JobManager, JobState, MemoryBudget};
use common::*;

const MIB: u64 = 1 << 20;

/// The largest number of jobs whose runs overlapped, from their start and end times.
async fn max_overlap(jobs: &[Job]) -> usize {
    let mut spans = Vec::new();
    for j in jobs {
        let i = j.wait().await;
        assert_eq!(i.state, JobState::Succeeded, "{:?}", i.error);
        spans.push((i.started_at.unwrap(), i.finished_at.unwrap()));
    }
    spans
        .iter()
        .map(|(s, _)| spans.iter().filter(|(a, b)| a <= s && s < b).count())
        .max()
        .unwrap_or(0)
}

async fn budgeted(
    dir: &std::path::Path,
    memory: MemoryBudget,
    cpu: CpuBudget,
    in_memory: bool,
) -> JobManager {
    let mut b = builder(dir)
        .max_concurrent(5)
        .isolation(IsolationMode::Off)
        .memory_budget(memory)
        .cpu_budget(cpu);
    if in_memory {
        b = b.store(Arc::new(MemoryStore::new()));
    }
    b.build().await.unwrap()
}

async fn memory_budget_bounds_running_jobs(in_memory: bool) {
    let dir = data_dir();
    let m = budgeted(
        dir.path(),
        MemoryBudget::Bytes(300 * MIB),
        CpuBudget::Off,
        in_memory,
    )
    .await;
    assert_eq!(m.memory_budget(), Some(300 * MIB));
    let mut jobs = Vec::new();
    for _ in 0..6 {
        jobs.push(
            m.submit(slow(1000).memory("128M").build().unwrap())
                .await
                .unwrap(),
        );
    }
    // Two 128 MiB caps fit in 300 MiB, three do not: max_concurrent (5) is
    // not the bound. (Run spans, not `m.running()`: a finished job's slot is
    // free in the store a moment before the manager's counter drops.)
    assert_eq!(max_overlap(&jobs).await, 2);
    m.shutdown(std::time::Duration::from_secs(5)).await;
}

#[tokio::test]
async fn memory_budget_bounds_running_jobs_sqlite() {
    memory_budget_bounds_running_jobs(false).await;
}

#[tokio::test]
async fn memory_budget_bounds_running_jobs_in_memory() {
    memory_budget_bounds_running_jobs(true).await;
}

#[tokio::test]
async fn a_cap_that_can_never_fit_is_refused_and_the_manager_keeps_serving() {
    let dir = data_dir();
    let m = budgeted(
        dir.path(),
        MemoryBudget::Bytes(300 * MIB),
        CpuBudget::Cores(1.0),
        false,
    )
    .await;
    let e = m
        .submit(slow(10).memory("512M").build().unwrap())
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::CapacityExceeded);
    assert_eq!(e.kind().code(), "CAPACITY_EXCEEDED");
    assert_eq!(e.field(), Some("memory"));
    assert!(
        e.to_string().contains("512 MiB") && e.to_string().contains("300 MiB"),
        "{e}"
    );
    let e = m
        .submit(slow(10).cpus(1.5).build().unwrap())
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::CapacityExceeded);
    assert_eq!(e.field(), Some("cpus"));
    // Nothing was queued for them; a job that fits runs.
    assert!(m.list(&Default::default()).await.unwrap().jobs.is_empty());
    let ok = m
        .submit(slow(10).memory("300M").cpus(1.0).build().unwrap())
        .await
        .unwrap();
    assert_eq!(ok.wait().await.state, JobState::Succeeded);
}

#[tokio::test]
async fn cpu_budget_bounds_running_jobs() {
    let dir = data_dir();
    let m = budgeted(dir.path(), MemoryBudget::Off, CpuBudget::Cores(1.0), false).await;
    assert_eq!(m.memory_budget(), None);
    assert_eq!(m.cpu_budget(), Some(1.0));
    let mut jobs = Vec::new();
    for _ in 0..5 {
        jobs.push(
            m.submit(slow(1000).cpus(0.5).build().unwrap())
                .await
                .unwrap(),
        );
    }
    assert_eq!(max_overlap(&jobs).await, 2);
}

#[tokio::test]
async fn a_big_job_is_not_overtaken_by_smaller_ones_behind_it() {
    let dir = data_dir();
    let m = budgeted(
        dir.path(),
        MemoryBudget::Bytes(300 * MIB),
        CpuBudget::Off,
        false,
    )
    .await;
    let a = m
        .submit(slow(600).memory("200M").build().unwrap())
        .await
        .unwrap();
    assert!(eventually(10, || a.state() == JobState::Running).await);
    let b = m
        .submit(slow(100).memory("200M").build().unwrap())
        .await
        .unwrap();
    // 200 + 50 would fit beside `a`, but `b` is first in the queue.
    let c = m
        .submit(slow(100).memory("50M").build().unwrap())
        .await
        .unwrap();
    let (ia, ib, ic) = (a.wait().await, b.wait().await, c.wait().await);
    for i in [&ia, &ib, &ic] {
        assert_eq!(i.state, JobState::Succeeded);
    }
    assert!(
        ib.started_at.unwrap() >= ia.finished_at.unwrap(),
        "b started beside a"
    );
    assert!(
        ic.started_at.unwrap() >= ib.started_at.unwrap(),
        "c overtook b"
    );
}

#[tokio::test]
async fn uncapped_jobs_do_not_count() {
    let dir = data_dir();
    let m = budgeted(
        dir.path(),
        MemoryBudget::Bytes(100 * MIB),
        CpuBudget::Cores(0.5),
        false,
    )
    .await;
    let mut jobs = Vec::new();
    for _ in 0..3 {
        jobs.push(m.submit(slow(2000).build().unwrap()).await.unwrap());
    }
    assert_eq!(max_overlap(&jobs).await, 3);
}

#[tokio::test]
async fn the_default_budget_is_available_memory_minus_a_reserve() {
    let dir = data_dir();
    let before = claude_jobs::available_memory();
    // Not `builder()`: the tests' common builder turns the budget off.
    let m = JobManager::builder()
        .claude_bin(fake_claude())
        .data_dir(dir.path())
        .isolation(IsolationMode::Off)
        .build()
        .await
        .unwrap();
    let after = claude_jobs::available_memory();
    let budget = m.memory_budget().expect("a memory budget by default");
    let (lo, hi) = (before.min(after), before.max(after));
    let expect = |avail: u64| {
        avail
            .saturating_sub(claude_jobs::MEMORY_RESERVE_BYTES)
            .max(avail / 2)
    };
    // Available memory moves while other tests run: allow 256 MiB either way.
    assert!(
        budget + 256 * MIB >= expect(lo) && budget <= expect(hi) + 256 * MIB,
        "budget {budget}, available {before}..{after}"
    );
    assert_eq!(m.cpu_budget(), None, "no CPU budget by default");
}

#[tokio::test]
async fn bad_budgets_are_named() {
    let dir = data_dir();
    let e = builder(dir.path())
        .memory_budget(MemoryBudget::Bytes(1024))
        .build()
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidSpec);
    assert_eq!(e.field(), Some("memory_budget"));
    let e = builder(dir.path())
        .cpu_budget(CpuBudget::Cores(f64::NAN))
        .build()
        .await
        .unwrap_err();
    assert_eq!(e.field(), Some("cpu_budget"));
    let e = builder(dir.path())
        .memory_budget(MemoryBudget::Bytes(256 * MIB))
        .default_limits(claude_jobs::ResourceLimits::default().with_memory(512 * MIB))
        .build()
        .await
        .unwrap_err();
    assert_eq!(e.field(), Some("default_limits.memory"));
    assert!(e.to_string().contains("memory budget"), "{e}");
}

/// The SQLite store claims in one SQL statement what the memory store works
/// out in Rust (`ClaimOptions::fitting`): the same jobs, in the same order,
/// for slots, memory and CPU budgets, priorities and caps held by jobs
/// already running.
#[tokio::test]
async fn the_sqlite_claim_and_the_memory_store_take_the_same_jobs() {
    use claude_jobs::store::{ClaimOptions, JobRecord, JobStore, SqliteStore};
    use claude_jobs::{JobInfo, JobSpec};
    let dir = data_dir();
    let sqlite: Arc<dyn JobStore> = Arc::new(
        SqliteStore::open(&dir.path().join("claim.db"))
            .await
            .unwrap(),
    );
    let memory: Arc<dyn JobStore> = Arc::new(MemoryStore::new());
    // (id, memory MiB, cpus, priority): claim order is b (priority 5), then a, c, d, e, f.
    let jobs = [
        ("a", 100, 0.1, 0),
        ("b", 50, 0.2, 5),
        ("c", 100, 0.0, 0),
        ("d", 200, 0.5, 0),
        ("e", 10, 0.1, 0),
        ("f", 0, 0.0, 0),
    ];
    for (i, (id, mib, cpus, prio)) in jobs.iter().enumerate() {
        let mut b = JobSpec::builder().prompt("x").priority(*prio);
        if *mib > 0 {
            b = b.memory_bytes(mib * MIB);
        }
        if *cpus > 0.0 {
            b = b.cpus(*cpus);
        }
        let spec = b.build().unwrap();
        let record = JobRecord {
            info: JobInfo::queued(id.to_string(), &spec, i as u64),
            spec,
        };
        sqlite.insert(&record, &[]).await.unwrap();
        memory.insert(&record, &[]).await.unwrap();
    }
    let ids = |claims: Vec<claude_jobs::store::Claim>| -> Vec<String> {
        claims.into_iter().map(|c| c.record.info.id).collect()
    };
    let ttl = std::time::Duration::from_secs(60);
    let steps = [
        // 250 MiB: b + a fit (150), + c = 250 fits, + d does not: stop (e is not taken past d).
        ClaimOptions {
            memory_budget: Some(250 * MIB),
            ..ClaimOptions::new(ttl)
        },
        // Slots: 3 are running, 4 allowed: one more, if it fits 600 MiB with the 250 held.
        ClaimOptions {
            max_running: Some(4),
            memory_budget: Some(600 * MIB),
            ..ClaimOptions::new(ttl)
        },
        // CPU: 0.1 + 0.2 + 0.5 held; e's 0.1 makes 0.9, within 0.9 (the float
        // slack); f has no CPU cap (counts 0).
        ClaimOptions {
            cpu_budget: Some(0.9),
            ..ClaimOptions::new(ttl)
        },
        ClaimOptions::new(ttl),
    ];
    let want: [Vec<&str>; 4] = [vec!["b", "a", "c"], vec!["d"], vec!["e", "f"], vec![]];
    for (opts, want) in steps.iter().zip(want) {
        let from_sqlite = ids(sqlite.claim("n", 10, opts).await.unwrap());
        let from_memory = ids(memory.claim("n", 10, opts).await.unwrap());
        assert_eq!(from_sqlite, want, "SQLite, {opts:?}");
        assert_eq!(from_memory, want, "memory, {opts:?}");
    }
}

/// Caps so big that their sum passes 64-bit integers do not stop the SQLite
/// claim (it sums caps as floats, as the memory store saturates).
#[tokio::test]
async fn huge_caps_do_not_overflow_the_sqlite_claim() {
    use claude_jobs::store::{ClaimOptions, JobRecord, JobStore, SqliteStore};
    use claude_jobs::{JobInfo, JobSpec};
    let dir = data_dir();
    let store = SqliteStore::open(&dir.path().join("huge.db"))
        .await
        .unwrap();
    for id in ["a", "b", "c"] {
        let spec = JobSpec::builder()
            .prompt("x")
            .memory_bytes(i64::MAX as u64 - 1)
            .build()
            .unwrap();
        let info = JobInfo::queued(id.to_string(), &spec, 0);
        store.insert(&JobRecord { info, spec }, &[]).await.unwrap();
    }
    let opts = ClaimOptions::new(std::time::Duration::from_secs(60));
    assert_eq!(store.claim("n", 2, &opts).await.unwrap().len(), 2);
    // Two such caps running, one more queued: still no error.
    assert_eq!(store.claim("n", 2, &opts).await.unwrap().len(), 1);
}

/// A job queued this very millisecond is ready for the SQLite claim (its
/// clock is SQLite's, read under the write lock, never before the caller's).
#[tokio::test]
async fn the_sqlite_claim_takes_a_job_queued_the_same_millisecond() {
    use claude_jobs::store::{ClaimOptions, JobRecord, JobStore, SqliteStore};
    use claude_jobs::{JobInfo, JobSpec};
    let dir = data_dir();
    let store = SqliteStore::open(&dir.path().join("now.db")).await.unwrap();
    let opts = ClaimOptions::new(std::time::Duration::from_secs(60));
    let spec = JobSpec::from_prompt("x");
    for i in 0..200 {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64;
        let info = JobInfo::queued(format!("job-{i}"), &spec, now);
        store
            .insert(
                &JobRecord {
                    info,
                    spec: spec.clone(),
                },
                &[],
            )
            .await
            .unwrap();
        let got = store.claim("n", 1, &opts).await.unwrap();
        assert_eq!(got.len(), 1, "job {i} (queued at {now}) was not ready");
    }
}
