//! Item 10, the child side: several manager processes on one PostgreSQL (issue 20 item 5).
//!
//! Two modes, chosen by `params.mode`:
//! - `seed`: submits `jobs` trivial jobs to the database at `url` through a
//!   manager whose claims are held closed (so none runs), then shuts it down:
//!   the jobs stay queued;
//! - `node`: connects to `url`, waits until `start_at_ms` (Unix ms, the same
//!   for every node of a run), builds a manager (max_concurrent `conc`,
//!   node id `node_id`, isolation off) on the store wrapped in a
//!   [`TimedStore`], and runs jobs until the queue is empty and every job it
//!   claimed has ended; prints its CPU, the ids it claimed, the duration of
//!   each claim and when its last result was stored.

use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use claude_jobs::store::PgStore;
use claude_jobs::{IsolationMode, JobManager, JobState};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::jobs::{trivial_spec, TempDir};
use crate::measure;
use crate::timed_store::TimedStore;

#[derive(Debug, Deserialize)]
struct Params {
    mode: String,
    url: String,
    #[serde(default)]
    jobs: usize,
    #[serde(default)]
    conc: usize,
    #[serde(default)]
    node_id: String,
    #[serde(default)]
    start_at_ms: u64,
    /// A node gives up after this long.
    #[serde(default = "default_max_s")]
    max_s: f64,
}

fn default_max_s() -> f64 {
    300.0
}

/// Runs the measurement described by `params` and returns its figures as JSON
/// (`{"error": …}` when it cannot run).
pub(crate) fn child(fake: &Path, params: Value) -> Value {
    let p: Params = match serde_json::from_value(params) {
        Ok(p) => p,
        Err(e) => return json!({ "error": format!("bad params: {e}") }),
    };
    let rt = crate::runtime();
    let r = match p.mode.as_str() {
        "seed" => rt.block_on(seed(fake, &p)),
        "node" => rt.block_on(node(fake, &p)),
        other => Err(format!("unknown mode {other}")),
    };
    r.unwrap_or_else(|e| json!({ "error": e }))
}

async fn connect(url: &str, open: bool, epoch: Instant) -> Result<Arc<TimedStore>, String> {
    let pg = PgStore::connect(url).await.map_err(|e| format!("PostgreSQL: {e}"))?;
    Ok(Arc::new(TimedStore::new(Arc::new(pg), open, epoch)))
}

fn builder(fake: &Path, dir: &Path, conc: usize, store: Arc<TimedStore>) -> claude_jobs::JobManagerBuilder {
    JobManager::builder()
        .claude_bin(fake)
        .data_dir(dir)
        .max_concurrent(conc)
        .isolation(IsolationMode::Off)
        .monitor_interval(Duration::from_secs(3600))
        .kill_grace(Duration::from_secs(1))
        .store(store)
}

/// Queues `p.jobs` trivial jobs, 32 submits in flight.
async fn seed(fake: &Path, p: &Params) -> Result<Value, String> {
    let store = connect(&p.url, false, Instant::now()).await?;
    let dir = TempDir::new("nodes-seed");
    let m = builder(fake, &dir.0, 1, store.clone())
        .build()
        .await
        .map_err(|e| e.to_string())?;
    let t0 = Instant::now();
    let mut set = tokio::task::JoinSet::new();
    const IN_FLIGHT: usize = 32;
    for k in 0..IN_FLIGHT {
        let m = m.clone();
        let n = p.jobs / IN_FLIGHT + usize::from(k < p.jobs % IN_FLIGHT);
        set.spawn(async move {
            let spec = trivial_spec(false);
            for _ in 0..n {
                m.submit(spec.clone()).await.map_err(|e| e.to_string())?;
            }
            Ok::<usize, String>(n)
        });
    }
    let mut submitted = 0;
    let mut error = None;
    while let Some(r) = set.join_next().await {
        match r.map_err(|e| e.to_string()).and_then(|r| r) {
            Ok(n) => submitted += n,
            Err(e) => error = Some(e),
        }
    }
    let submit_s = t0.elapsed().as_secs_f64();
    m.shutdown(Duration::from_secs(5)).await;
    let queued = store
        .inner()
        .counts()
        .await
        .map_err(|e| e.to_string())?
        .get(&JobState::Queued)
        .copied()
        .unwrap_or(0);
    if let Some(e) = error {
        return Err(format!("submitting: {e}"));
    }
    Ok(json!({ "submitted": submitted, "queued": queued, "submit_s": submit_s }))
}

/// Waits until the queue is empty and every job this node claimed has ended.
async fn until_done(store: &TimedStore, max_s: f64) -> Result<(), String> {
    let t0 = Instant::now();
    loop {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let claimed = store.seen.lock().unwrap().claimed.len() as u64;
        let ended = store.finished.load(Ordering::SeqCst)
            + store.stale.load(Ordering::SeqCst)
            + store.requeues.load(Ordering::SeqCst);
        if ended >= claimed {
            let counts = store.inner().counts().await.map_err(|e| e.to_string())?;
            if counts.get(&JobState::Queued).copied().unwrap_or(0) == 0 {
                return Ok(());
            }
        }
        if t0.elapsed().as_secs_f64() > max_s {
            return Err(format!("not done after {max_s} s ({ended} of {claimed} claimed jobs ended)"));
        }
    }
}

async fn node(fake: &Path, p: &Params) -> Result<Value, String> {
    let (epoch, epoch_ms) = (Instant::now(), measure::unix_ms());
    let store = connect(&p.url, true, epoch).await?;
    let dir = TempDir::new(&format!("nodes-{}", p.node_id));
    let wait = p.start_at_ms as f64 - measure::unix_ms();
    if wait > 0.0 {
        tokio::time::sleep(Duration::from_secs_f64(wait / 1000.0)).await;
    }
    let late_ms = measure::unix_ms() - p.start_at_ms as f64;
    let (c0, k0) = (measure::self_cpu(), measure::children_cpu());
    let m = builder(fake, &dir.0, p.conc, store.clone())
        .node_id(p.node_id.clone())
        .build()
        .await
        .map_err(|e| e.to_string())?;
    let built_ms = measure::unix_ms() - p.start_at_ms as f64;
    let done = until_done(&store, p.max_s).await;
    let cpu = measure::self_cpu().since(&c0).total().as_secs_f64();
    let kids = measure::children_cpu().since(&k0).total().as_secs_f64();
    let rss_kb = measure::rss() / 1024;
    m.shutdown(Duration::from_secs(5)).await;
    done?;
    let seen = std::mem::take(&mut *store.seen.lock().unwrap());
    let last_finish_ms = epoch_ms + store.last_finish_us.load(Ordering::SeqCst) as f64 / 1000.0;
    Ok(json!({
        "node_id": p.node_id,
        "late_ms": late_ms,
        "built_ms": built_ms,
        "claimed": seen.claimed,
        "claim_us": seen.claims.iter().map(|c| c.0).collect::<Vec<_>>(),
        "claim_n": seen.claims.iter().map(|c| c.1).collect::<Vec<_>>(),
        "finished": store.finished.load(Ordering::SeqCst),
        "stale": store.stale.load(Ordering::SeqCst),
        "requeues": store.requeues.load(Ordering::SeqCst),
        "last_finish_ms": last_finish_ms,
        "self_cpu_s": cpu,
        "children_cpu_s": kids,
        "rss_kb": rss_kb,
    }))
}
