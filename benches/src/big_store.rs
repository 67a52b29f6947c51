//! Item 9 (issue 20 item 4), the child side: a store that has kept a
//! million finished jobs (with their events), in SQLite or PostgreSQL.
//!
//! 1. `seed` real trivial jobs run through a manager; SQL copies them to
//!    `jobs` finished jobs made from 75 to 35 days ago (big_store_seed.rs).
//! 2. `rounds` rounds on that store, each with a new manager:
//!    - the time from `build()` to the claim of the first job submitted
//!      (start-up to first claim);
//!    - paged `list` with a state filter (common `succeeded`, 1-in-10
//!      `failed`, 1-in-100 `cancelled`, and none): pages from the newest on,
//!      following the cursor, and pages from random places in the history;
//!    - claim latency (a job's `started_at` − its `created_at`: the store's
//!      claim time less the submit time, ms) of a job submitted every
//!      `claim_every_ms` for `reference_s`, without pruning (the reference).
//! 3. `rounds` retention passes, each on a new manager whose `jobs_days`
//!    reaches one more age band (the last prunes every copy left), with the
//!    same claims for as long as the pass runs.

use std::path::Path;
use std::time::{Duration, Instant};

use claude_jobs::{IsolationMode, JobManager, JobState, ListQuery, RetentionPolicy};
use serde::{Deserialize, Serialize};

use crate::big_store_seed::{self, id_of, Ages, Seeded};
use crate::jobs::{trivial_spec, TempDir};

#[derive(Debug, Clone, Deserialize)]
struct Params {
    /// `sqlite`, or a `postgres://` URL of an empty database.
    store: String,
    jobs: u64,
    seed: usize,
    pages: usize,
    claim_every_ms: u64,
    reference_s: f64,
    rounds: usize,
}

/// The copies were made from `OLDEST_DAYS` to `NEWEST_DAYS` ago.
const OLDEST_DAYS: u64 = 75;
const NEWEST_DAYS: u64 = 35;
const DAY_MS: u64 = 24 * 3600 * 1000;

/// Percentiles of a sample, ms.
#[derive(Debug, Default, Serialize)]
pub(crate) struct Pct {
    pub(crate) n: usize,
    pub(crate) p50: f64,
    pub(crate) p99: f64,
    pub(crate) max: f64,
}

impl Pct {
    pub(crate) fn of(mut v: Vec<f64>) -> Pct {
        if v.is_empty() {
            return Pct::default();
        }
        v.sort_by(|a, b| a.partial_cmp(b).unwrap());
        let at = |q: f64| v[((v.len() as f64 * q).ceil() as usize).clamp(1, v.len()) - 1];
        Pct { n: v.len(), p50: at(0.5), p99: at(0.99), max: v[v.len() - 1] }
    }
}

/// One round on the full store.
#[derive(Debug, Default, Serialize)]
struct Round {
    build_ms: f64,
    submit_to_claim_ms: f64,
    /// By filter (`all`, `succeeded`, …): page read times.
    list: Vec<(String, Pct)>,
    reference_claims: Pct,
}

/// One retention pass over an age band.
#[derive(Debug, Default, Serialize)]
struct Prune {
    jobs_days: u32,
    claims: Pct,
    seconds: f64,
    /// Jobs finished more than `NEWEST_DAYS` days ago, before and after.
    copies_before: u64,
    copies_after: u64,
}

#[derive(Debug, Default, Serialize)]
struct Out {
    store: String,
    seeded: Seeded,
    rounds: Vec<Round>,
    prunes: Vec<Prune>,
    /// Every claim of every pass together.
    prune_claims_all: Pct,
    error: Option<String>,
}

pub(crate) fn child(fake: &Path, params: serde_json::Value) -> serde_json::Value {
    let p: Params = match serde_json::from_value(params) {
        Ok(p) => p,
        Err(e) => return serde_json::json!({ "error": format!("bad params: {e}") }),
    };
    let rt = crate::runtime();
    let dir = TempDir::new("big-store");
    let mut out = Out { store: p.store.clone(), ..Default::default() };
    if let Err(e) = rt.block_on(run(fake, &dir.0, &p, &mut out)) {
        out.error = Some(e);
    }
    serde_json::to_value(out).unwrap()
}

async fn manager(fake: &Path, dir: &Path, p: &Params, retention: RetentionPolicy) -> Result<JobManager, String> {
    let b = JobManager::builder()
        .claude_bin(fake)
        .data_dir(dir)
        .max_concurrent(4)
        .isolation(IsolationMode::Off)
        .monitor_interval(Duration::from_secs(3600))
        .retention(retention);
    let b = if p.store == "sqlite" { b } else { b.store_url(p.store.clone()) };
    b.build().await.map_err(|e| format!("manager: {e}"))
}

async fn run(fake: &Path, dir: &Path, p: &Params, out: &mut Out) -> Result<(), String> {
    // 1. Real jobs, then copies.
    let m = manager(fake, dir, p, RetentionPolicy::keep_all()).await?;
    let (failed, e) = crate::jobs::run_batch(&m, &trivial_spec(false), p.seed).await;
    if failed > 0 {
        return Err(format!("{failed} seed jobs failed: {}", e.unwrap_or_default()));
    }
    m.shutdown(Duration::from_secs(5)).await;
    let ages = Ages {
        base_ms: now_ms() - OLDEST_DAYS * DAY_MS,
        step_ms: (OLDEST_DAYS - NEWEST_DAYS) * DAY_MS / p.jobs.max(1),
    };
    out.seeded = if p.store == "sqlite" {
        big_store_seed::sqlite(&dir.join("claude-jobs.db"), p.jobs, ages).await?
    } else {
        big_store_seed::postgres(&p.store, p.jobs, ages).await?
    };
    // 2. Rounds on the full store.
    for r in 0..p.rounds {
        crate::suite::progress(&format!("  round {}/{}: start-up, pages, claims", r + 1, p.rounds));
        out.rounds.push(round(fake, dir, p, ages, r).await?);
    }
    // 3. Retention passes, a band each.
    let mut all = Vec::new();
    for r in 0..p.rounds {
        let jobs_days = band_days(r, p.rounds);
        crate::suite::progress(&format!("  pass {}/{}: retention jobs_days {jobs_days}", r + 1, p.rounds));
        let m = manager(fake, dir, p, RetentionPolicy { jobs_days, logs_days: 0, outputs_days: None }).await?;
        let copies_before = total(p, dir).await?;
        let pruner = m.clone();
        let t0 = Instant::now();
        let pass = tokio::spawn(async move { pruner.prune_now().await });
        let lat = claims(&m, p, Duration::from_secs(3600), Some(&pass)).await?;
        let _ = pass.await;
        let seconds = t0.elapsed().as_secs_f64();
        all.extend_from_slice(&lat);
        out.prunes.push(Prune { jobs_days, claims: Pct::of(lat), seconds, copies_before, copies_after: total(p, dir).await? });
        m.shutdown(Duration::from_secs(5)).await;
    }
    out.prune_claims_all = Pct::of(all);
    Ok(())
}

/// Retention's `jobs_days` for pass `r` of `n`: band by band from the
/// oldest; the last reaches below the newest copy.
fn band_days(r: usize, n: usize) -> u32 {
    if r + 1 >= n {
        return NEWEST_DAYS as u32 - 4;
    }
    let band = (OLDEST_DAYS - NEWEST_DAYS) as f64 / n as f64;
    (OLDEST_DAYS as f64 - band * (r + 1) as f64).round() as u32
}

/// Start-up, pages and reference claims on a new manager.
async fn round(fake: &Path, dir: &Path, p: &Params, ages: Ages, r: usize) -> Result<Round, String> {
    let mut out = Round::default();
    let t0 = Instant::now();
    let m = manager(fake, dir, p, RetentionPolicy::keep_all()).await?;
    out.build_ms = ms(t0.elapsed());
    let t1 = Instant::now();
    let job = m.submit(trivial_spec(false)).await.map_err(|e| e.to_string())?;
    wait_claimed(&job).await?;
    out.submit_to_claim_ms = ms(t1.elapsed());
    job.wait().await;
    for (name, state) in [
        ("all", None),
        ("succeeded", Some(JobState::Succeeded)),
        ("failed", Some(JobState::Failed)),
        ("cancelled", Some(JobState::Cancelled)),
    ] {
        out.list.push((name.to_string(), pages(&m, state, p, ages, r as u64).await?));
    }
    let lat = claims(&m, p, Duration::from_secs_f64(p.reference_s), None).await?;
    out.reference_claims = Pct::of(lat);
    m.shutdown(Duration::from_secs(5)).await;
    Ok(out)
}

/// Wall-clock now, whole ms (the store's timestamps).
fn now_ms() -> u64 {
    crate::measure::unix_ms() as u64
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// The copies left (finished more than `NEWEST_DAYS` days ago).
async fn total(p: &Params, dir: &Path) -> Result<u64, String> {
    let cutoff = now_ms() - NEWEST_DAYS * DAY_MS;
    big_store_seed::count_old(&p.store, &dir.join("claude-jobs.db"), cutoff).await
}

/// Until the job has left the queue.
async fn wait_claimed(job: &claude_jobs::Job) -> Result<(), String> {
    let deadline = Instant::now() + Duration::from_secs(60);
    while job.info().state == JobState::Queued {
        if Instant::now() > deadline {
            return Err("the first job was not claimed in 60 s".into());
        }
        tokio::time::sleep(Duration::from_micros(200)).await;
    }
    Ok(())
}

/// `p.pages` pages from the newest on, then `p.pages` from random places
/// (other places in each round).
async fn pages(m: &JobManager, state: Option<JobState>, p: &Params, ages: Ages, round: u64) -> Result<Pct, String> {
    let mut times = Vec::with_capacity(2 * p.pages);
    let mut q = ListQuery { state, limit: Some(100), ..Default::default() };
    let mut rng = 0x9e37_79b9_7f4a_7c15u64 ^ (round + 1).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    for i in 0..2 * p.pages {
        if i >= p.pages {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            q.cursor = Some(id_of(rng % p.jobs.max(1), ages));
        }
        let t = Instant::now();
        let page = m.list(&q).await.map_err(|e| format!("list: {e}"))?;
        times.push(ms(t.elapsed()));
        if page.jobs.is_empty() {
            return Err(format!("list {state:?}: an empty page"));
        }
        if let Some(s) = state {
            if page.jobs.iter().any(|j| j.state != s) {
                return Err(format!("list {s}: a job in another state"));
            }
        }
        q.cursor = page.next_cursor;
    }
    Ok(Pct::of(times))
}

/// A job every `claim_every_ms` until `for_` has passed or `until` ends;
/// the claim latency of each (started_at − created_at, ms).
async fn claims(
    m: &JobManager,
    p: &Params,
    for_: Duration,
    until: Option<&tokio::task::JoinHandle<()>>,
) -> Result<Vec<f64>, String> {
    let t0 = Instant::now();
    let mut jobs = Vec::new();
    let mut tick = tokio::time::interval(Duration::from_millis(p.claim_every_ms.max(1)));
    while t0.elapsed() < for_ && !until.is_some_and(|h| h.is_finished()) {
        tick.tick().await;
        jobs.push(m.submit(trivial_spec(false)).await.map_err(|e| e.to_string())?);
    }
    let mut lat = Vec::with_capacity(jobs.len());
    for j in jobs {
        let info = j.wait().await;
        if info.state != JobState::Succeeded {
            return Err(format!("a claim-latency job ended {}: {}", info.state, info.error.unwrap_or_default()));
        }
        let started = info.started_at.ok_or("a job without started_at")?;
        lat.push(started.saturating_sub(info.created_at) as f64);
    }
    Ok(lat)
}
