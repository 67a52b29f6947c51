//! Item 8, the child side: many running jobs followed by subscribers (issue 20 item 3).
//!
//! `jobs` ticker jobs at once (fake CLI scenario `ticker`: a stream-json
//! assistant line `tick N t=<unix ns>` every `interval_ms`, for `seconds`)
//! through one `JobManager` (max_concurrent = jobs, cgroups required, the
//! SQLite store, default event buffer), each followed by one subscriber task
//! (`job.events(0)`) that takes the write time from the text and records
//! now (CLOCK_REALTIME) − written. Figures are taken over the steady state:
//! from 1 s after every job's first tick reached its subscriber until 0.5 s
//! before the first jobs end.

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use claude_jobs::{EventRecord, IsolationMode, JobEvent, JobSpec, JobState};
use serde::{Deserialize, Serialize};

use crate::jobs::{self, Store, TempDir};
use crate::measure;

/// What the report asks for.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Params {
    pub jobs: usize,
    pub seconds: f64,
    pub interval_ms: u64,
    /// Diagnostic: isolation off (the report always runs with cgroups).
    #[serde(default)]
    pub isolation_off: bool,
}

/// What one run measured (the asyncio script prints the same fields).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RunningResult {
    pub jobs: usize,
    /// Jobs running when the steady state began.
    pub running_at_start: usize,
    /// Seconds of steady state measured.
    pub window_s: f64,
    /// Tick events received by the subscribers in the window.
    pub events: u64,
    /// CPU of this process (user + sys) in the window.
    pub cpu_s: f64,
    pub rss_before: u64,
    pub rss_steady: u64,
    /// Latency, line written → event received, in the window (ms).
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    /// p99 over every tick of the run (spawning included).
    pub p99_all_ms: f64,
    /// Ticks all the subscribers received, and sequence gaps they saw
    /// (events dropped from the buffer before they were read).
    pub ticks_total: u64,
    pub seq_gaps: u64,
    /// The event buffer: events held per job at the end of the window and
    /// their estimated bytes (see `buffer_bytes`), summed over the jobs.
    pub buffer_events: u64,
    pub buffer_bytes_est: u64,
    pub record_size: usize,
    pub failed: usize,
    pub error: Option<String>,
}

/// Shared between the subscribers and the measuring loop.
#[derive(Default)]
struct Shared {
    recording: AtomicBool,
    /// Subscribers that got their first tick.
    first_seen: AtomicUsize,
    window_events: AtomicU64,
    /// Ticks received so far, all jobs (the buffer estimate at window end).
    held: AtomicU64,
    held_text_bytes: AtomicU64,
}

/// What one subscriber saw.
#[derive(Default)]
struct Seen {
    window_ms: Vec<f32>,
    all_ms: Vec<f32>,
    gaps: u64,
}

pub(crate) fn child(fake: &Path, params: serde_json::Value) -> serde_json::Value {
    let p: Params = match serde_json::from_value(params) {
        Ok(p) => p,
        Err(e) => return serde_json::json!({ "error": format!("bad params: {e}") }),
    };
    raise_nofile();
    let rt = crate::runtime();
    let dir = TempDir::new("running");
    let r = rt.block_on(run(fake, &dir.0, &p));
    drop(dir);
    match r {
        Ok(r) => serde_json::to_value(r).unwrap(),
        Err(e) => serde_json::json!({ "error": e }),
    }
}

/// 200 jobs hold pipes, log files and cgroup files: the soft limit of 1024
/// descriptors is not enough.
fn raise_nofile() {
    // SAFETY: getrlimit/setrlimit on a struct we own.
    unsafe {
        let mut r: libc::rlimit = std::mem::zeroed();
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut r) == 0 && r.rlim_cur < r.rlim_max {
            r.rlim_cur = r.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &r);
        }
    }
}

/// The write time in a `tick N t=<ns>` text.
pub fn tick_time(text: &str) -> Option<u128> {
    text.strip_prefix("tick ")?.split_once(" t=")?.1.parse().ok()
}

pub fn ticker_spec(p: &Params) -> JobSpec {
    let b = JobSpec::builder()
        .prompt(crate::floor::PROMPT)
        .env("FAKE_CLAUDE_SCENARIO", "ticker")
        .env("FAKE_CLAUDE_INTERVAL_MS", p.interval_ms.to_string())
        .env("FAKE_CLAUDE_SECONDS", p.seconds.to_string());
    // Small caps: 200 jobs' memory caps must fit the manager's memory budget.
    let b = if p.isolation_off { b } else { b.memory("64M").cpus(1.0).pids(64) };
    b.build().expect("a valid spec")
}

async fn follow(mut events: claude_jobs::EventStream, sh: Arc<Shared>) -> Seen {
    let mut seen = Seen::default();
    let mut last_seq = 0u64;
    let mut first = true;
    while let Some(EventRecord { seq, event, .. }) = events.next().await {
        if last_seq != 0 && seq != last_seq + 1 {
            seen.gaps += 1;
        }
        last_seq = seq;
        let JobEvent::AssistantText { text } = event else { continue };
        let Some(t) = tick_time(&text) else { continue };
        let ms = (measure::unix_ns().saturating_sub(t)) as f64 / 1e6;
        seen.all_ms.push(ms as f32);
        sh.held.fetch_add(1, Ordering::Relaxed);
        sh.held_text_bytes.fetch_add(text.len() as u64, Ordering::Relaxed);
        if first {
            first = false;
            sh.first_seen.fetch_add(1, Ordering::SeqCst);
        }
        if sh.recording.load(Ordering::Relaxed) {
            seen.window_ms.push(ms as f32);
            sh.window_events.fetch_add(1, Ordering::Relaxed);
        }
    }
    seen
}

pub fn percentile(v: &mut [f32], q: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let i = ((v.len() as f64 * q).ceil() as usize).clamp(1, v.len()) - 1;
    v[i] as f64
}

/// Heap bytes of the events held, estimated: per event the record, its
/// `Arc` header (16 B), its slot in the deque (8 B) and its text.
fn buffer_bytes(events: u64, text_bytes: u64) -> u64 {
    events * (std::mem::size_of::<EventRecord>() as u64 + 16 + 8) + text_bytes
}

async fn run(fake: &Path, dir: &Path, p: &Params) -> Result<RunningResult, String> {
    let iso = if p.isolation_off { IsolationMode::Off } else { IsolationMode::Required };
    let m = jobs::manager(fake, dir, p.jobs, iso, Store::Sqlite)
        .await
        .map_err(|e| e.to_string())?;
    // Lazily made things (threads, the store's connections) first.
    jobs::run_batch(&m, &jobs::trivial_spec(!p.isolation_off), 3).await;
    let sh = Arc::new(Shared::default());
    let spec = ticker_spec(p);
    let mut r = RunningResult {
        jobs: p.jobs,
        rss_before: measure::rss(),
        record_size: std::mem::size_of::<EventRecord>(),
        ..Default::default()
    };
    let t_submit = Instant::now();
    let (mut handles, mut subs) = (Vec::new(), Vec::new());
    for _ in 0..p.jobs {
        let job = m.submit(spec.clone()).await.map_err(|e| e.to_string())?;
        subs.push(tokio::spawn(follow(job.events(0), sh.clone())));
        handles.push(job);
    }
    measure_window(p, &sh, &handles, t_submit, &mut r).await;
    for h in &handles {
        let info = h.wait().await;
        if info.state != JobState::Succeeded {
            r.failed += 1;
            r.error.get_or_insert(format!("{}: {}", info.state, info.error.unwrap_or_default()));
        }
    }
    let (mut win, mut all) = (Vec::new(), Vec::new());
    for s in subs {
        let seen = s.await.map_err(|e| e.to_string())?;
        win.extend(seen.window_ms);
        all.extend(seen.all_ms);
        r.seq_gaps += seen.gaps;
    }
    r.ticks_total = all.len() as u64;
    r.p50_ms = percentile(&mut win, 0.5);
    r.p99_ms = percentile(&mut win, 0.99);
    r.max_ms = win.last().copied().unwrap_or(f32::NAN) as f64;
    r.p99_all_ms = percentile(&mut all, 0.99);
    m.shutdown(Duration::from_secs(5)).await;
    Ok(r)
}

/// Waits for every subscriber's first tick, then 1 s, then measures CPU,
/// events and RSS until 0.5 s before the first jobs end.
async fn measure_window(
    p: &Params,
    sh: &Shared,
    handles: &[claude_jobs::Job],
    t_submit: Instant,
    r: &mut RunningResult,
) {
    let end = t_submit + Duration::from_secs_f64((p.seconds - 0.5).max(0.0));
    while sh.first_seen.load(Ordering::SeqCst) < p.jobs && Instant::now() < end {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    r.running_at_start = handles
        .iter()
        .filter(|h| h.state() == JobState::Running)
        .count();
    let (c0, t0) = (measure::self_cpu(), Instant::now());
    sh.recording.store(true, Ordering::SeqCst);
    if end > Instant::now() {
        tokio::time::sleep(end - Instant::now()).await;
    }
    sh.recording.store(false, Ordering::SeqCst);
    r.cpu_s = measure::self_cpu().since(&c0).total().as_secs_f64();
    r.window_s = t0.elapsed().as_secs_f64();
    r.rss_steady = measure::rss();
    r.events = sh.window_events.load(Ordering::SeqCst);
    // The default bound is 10 000 events a job (the 2 MiB one is not reached here).
    r.buffer_events = sh.held.load(Ordering::SeqCst).min(p.jobs as u64 * 10_000);
    r.buffer_bytes_est = buffer_bytes(r.buffer_events, sh.held_text_bytes.load(Ordering::SeqCst));
    if r.window_s < 1.0 {
        r.error = Some(format!(
            "steady state too short ({:.2} s): the jobs took too long to start",
            r.window_s
        ));
    }
}
