//! Runs through the `JobManager`: trivial jobs (items 1, 2 and 5), the
//! 500 MB stream (item 3) and the 100 000-job queue (item 4).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use claude_jobs::store::{JobStore, MemoryStore};
use claude_jobs::{IsolationMode, JobManager, JobSpec, JobState};
use serde::{Deserialize, Serialize};

use crate::floor::PROMPT;
use crate::measure;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Store {
    Memory,
    Sqlite,
}

impl Store {
    pub fn label(self) -> &'static str {
        match self {
            Store::Memory => "memory",
            Store::Sqlite => "SQLite",
        }
    }
}

/// A manager for benchmarks: the fake CLI, a data dir under /tmp, the
/// monitor practically off, the given store and isolation.
pub async fn manager(
    fake: &Path,
    data_dir: &Path,
    conc: usize,
    isolation: IsolationMode,
    store: Store,
) -> claude_jobs::Result<JobManager> {
    let b = JobManager::builder()
        .claude_bin(fake)
        .data_dir(data_dir)
        .max_concurrent(conc)
        .isolation(isolation)
        .monitor_interval(Duration::from_secs(3600))
        .kill_grace(Duration::from_secs(1));
    let b = match store {
        Store::Memory => b.store_url("memory"),
        // The manager's default store: SQLite in data_dir/claude-jobs.db.
        Store::Sqlite => b,
    };
    b.build().await
}

/// The trivial job: three stream-json lines. With cgroups, the caps the
/// cgroup floor writes (1 GiB, one CPU, 256 processes).
pub fn trivial_spec(cgroups: bool) -> JobSpec {
    let b = JobSpec::builder()
        .prompt(PROMPT)
        .env("FAKE_CLAUDE_SCENARIO", "trivial");
    let b = if cgroups {
        b.memory("1G").cpus(1.0).pids(256)
    } else {
        b
    };
    b.build().expect("a valid spec")
}

/// Submits `n` jobs, then waits for all. Returns the jobs that did not succeed
/// and the first error seen.
pub async fn run_batch(m: &JobManager, spec: &JobSpec, n: usize) -> (usize, Option<String>) {
    let mut handles = Vec::with_capacity(n);
    let mut failed = 0;
    let mut first_error = None;
    for _ in 0..n {
        match m.submit(spec.clone()).await {
            Ok(j) => handles.push(j),
            Err(e) => {
                failed += 1;
                first_error.get_or_insert(e.to_string());
            }
        }
    }
    for h in handles {
        let info = h.wait().await;
        if info.state != JobState::Succeeded {
            failed += 1;
            first_error.get_or_insert(format!(
                "{}: {}",
                info.state,
                info.error.unwrap_or_default()
            ));
        }
    }
    (failed, first_error)
}

/// Submit → wait, one job at a time.
pub async fn run_sequential(m: &JobManager, spec: &JobSpec, n: usize) -> (usize, Option<String>) {
    let mut failed = 0;
    let mut first_error = None;
    for _ in 0..n {
        match m.submit(spec.clone()).await {
            Ok(j) => {
                let info = j.wait().await;
                if info.state != JobState::Succeeded {
                    failed += 1;
                    first_error.get_or_insert(format!(
                        "{}: {}",
                        info.state,
                        info.error.unwrap_or_default()
                    ));
                }
            }
            Err(e) => {
                failed += 1;
                first_error.get_or_insert(e.to_string());
            }
        }
    }
    (failed, first_error)
}

/// What item 3 measures around one 500 MB job.
#[derive(Debug, Serialize, Deserialize)]
pub struct StreamResult {
    pub mb: u64,
    pub wall_s: f64,
    pub cpu_user_s: f64,
    pub cpu_sys_s: f64,
    pub hwm_before: u64,
    pub hwm_after: u64,
    pub rss_before: u64,
    pub rss_after: u64,
    pub state: String,
    pub error: Option<String>,
    pub lines_logged: u64,
    /// Lines the CLI printed, events the store kept, and the largest run of
    /// sequence numbers missing from the store.
    pub stream_lines: u64,
    pub events_stored: u64,
    pub max_seq_gap: u64,
}

pub async fn stream(fake: &Path, data_dir: &Path, mb: u64) -> claude_jobs::Result<StreamResult> {
    // The memory store, held here too, to count the events it kept.
    let store = Arc::new(MemoryStore::new());
    let m = JobManager::builder()
        .claude_bin(fake)
        .data_dir(data_dir)
        .max_concurrent(1)
        .isolation(IsolationMode::Off)
        .monitor_interval(Duration::from_secs(3600))
        .store(store.clone())
        .build()
        .await?;
    // One small job first so that lazily made things (threads, buffers) exist.
    run_batch(&m, &trivial_spec(false), 3).await;
    let spec = JobSpec::builder()
        .prompt(PROMPT)
        .env("FAKE_CLAUDE_SCENARIO", "big-output")
        .env("FAKE_CLAUDE_OUTPUT_MB", mb.to_string())
        .build()?;
    let (hwm0, rss0) = (measure::hwm(), measure::rss());
    let cpu0 = measure::self_cpu();
    let t0 = Instant::now();
    let job = m.submit(spec).await?;
    let info = job.wait().await;
    let wall = t0.elapsed();
    let cpu = measure::self_cpu().since(&cpu0);
    let (hwm1, rss1) = (measure::hwm(), measure::rss());
    let lines_logged = info
        .log_dir
        .as_ref()
        .and_then(|d| std::fs::metadata(d.join("stdout.log")).ok())
        .map(|md| md.len())
        .unwrap_or(0);
    // The fake's result says "big-output: L lines, B bytes".
    let stream_lines = info
        .result
        .as_deref()
        .and_then(|r| r.strip_prefix("big-output: "))
        .and_then(|r| r.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    let stored = store.events(job.id(), 0).await.unwrap_or_default();
    let max_seq_gap = stored
        .windows(2)
        .map(|w| w[1].seq.saturating_sub(w[0].seq + 1))
        .max()
        .unwrap_or(0);
    let events_stored = stored.len() as u64;
    drop(stored);
    let out = StreamResult {
        stream_lines,
        events_stored,
        max_seq_gap,
        mb,
        wall_s: wall.as_secs_f64(),
        cpu_user_s: cpu.user.as_secs_f64(),
        cpu_sys_s: cpu.sys.as_secs_f64(),
        hwm_before: hwm0,
        hwm_after: hwm1,
        rss_before: rss0,
        rss_after: rss1,
        state: info.state.to_string(),
        error: info.error.clone(),
        lines_logged,
    };
    drop(job);
    m.shutdown(Duration::from_secs(5)).await;
    Ok(out)
}

/// How long item 4 waits for `shutdown` with the queue full.
pub const SHUTDOWN_CAP: Duration = Duration::from_secs(10);

/// What item 4 measures: `n` jobs queued behind one that blocks.
#[derive(Debug, Serialize, Deserialize)]
pub struct QueueResult {
    pub store: Store,
    pub jobs: usize,
    pub submit_s: f64,
    pub rss_before: u64,
    pub rss_after: u64,
    pub shutdown_s: f64,
    /// False when shutdown did not return within SHUTDOWN_CAP.
    pub shutdown_done: bool,
    pub error: Option<String>,
    /// `size_of` the spec and the info, which the manager keeps per job.
    pub spec_size: usize,
    pub info_size: usize,
}

/// Submits up to `n` jobs, stopping early after `max_s` seconds (a slow store).
pub async fn queue(
    fake: &Path,
    data_dir: &Path,
    store: Store,
    n: usize,
    max_s: f64,
) -> claude_jobs::Result<QueueResult> {
    let m = manager(fake, data_dir, 1, IsolationMode::Off, store).await?;
    // Warm the submit path, then block the one slot.
    run_batch(&m, &trivial_spec(false), 3).await;
    let blocker = JobSpec::builder()
        .prompt(PROMPT)
        .env("FAKE_CLAUDE_SCENARIO", "slow")
        .env("FAKE_CLAUDE_SECONDS", "3600")
        .env("FAKE_CLAUDE_INTERVAL_MS", "60000")
        .build()?;
    let blocker = m.submit(blocker).await?;
    let t = Instant::now();
    while blocker.state() != JobState::Running && t.elapsed() < Duration::from_secs(30) {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let spec = trivial_spec(false);
    let rss0 = measure::rss();
    let t0 = Instant::now();
    let mut error = None;
    let mut jobs = 0;
    for i in 0..n {
        if i % 1000 == 0 && t0.elapsed().as_secs_f64() > max_s {
            break;
        }
        match m.submit(spec.clone()).await {
            Ok(_) => jobs += 1,
            Err(e) => {
                error = Some(e.to_string());
                break;
            }
        }
    }
    let submit = t0.elapsed();
    let rss1 = measure::rss();
    if blocker.state() != JobState::Running {
        error.get_or_insert(format!(
            "the blocking job is {} (jobs may have run)",
            blocker.state()
        ));
    }
    // Shutdown ends the queued jobs (memory store) or leaves them queued
    // (durable store); cut off after SHUTDOWN_CAP, which is reported.
    let t1 = Instant::now();
    // In its own task: the memory store's loop never yields, so a timeout
    // around the future itself would never fire.
    let m2 = m.clone();
    let task = tokio::spawn(async move { m2.shutdown(Duration::from_millis(200)).await });
    let shutdown_done = tokio::time::timeout(SHUTDOWN_CAP, task).await.is_ok();
    Ok(QueueResult {
        store,
        jobs,
        submit_s: submit.as_secs_f64(),
        rss_before: rss0,
        rss_after: rss1,
        shutdown_s: t1.elapsed().as_secs_f64(),
        shutdown_done,
        error,
        spec_size: std::mem::size_of::<JobSpec>(),
        info_size: std::mem::size_of::<claude_jobs::JobInfo>(),
    })
}

/// Where data dirs go: `$BENCH_TMP`, else /dev/shm (tmpfs) when it is there,
/// else the temp dir. tmpfs keeps the figures about the manager rather than
/// about the state of a disk file system that other work shares.
pub fn default_tmp() -> PathBuf {
    let shm = Path::new("/dev/shm");
    if shm.is_dir()
        && std::fs::metadata(shm)
            .map(|m| !m.permissions().readonly())
            .unwrap_or(false)
    {
        shm.to_path_buf()
    } else {
        std::env::temp_dir()
    }
}

/// Where the benchmarks' data dirs go: `$BENCH_TMP`, else `default_tmp()`.
pub fn data_base() -> PathBuf {
    std::env::var_os("BENCH_TMP")
        .map(PathBuf::from)
        .unwrap_or_else(default_tmp)
}

/// A fresh data dir under `data_base()`, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        let p = data_base().join(format!("claude-jobs-bench-{}-{tag}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).expect("a temp dir");
        TempDir(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
