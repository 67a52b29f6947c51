//! Item 6: the real Claude Code CLI against the loopback mock API, run
//! directly and through the manager in three configurations, interleaved,
//! each run cut into segments: before the spawn, spawn to the first line,
//! first to last line (the CLI's own work), last line to the outcome.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use claude_jobs::{IsolationMode, JobEvent, JobManager, JobSpec, JobState};
use mock_anthropic::{MockConfig, MockServer};
use serde::{Deserialize, Serialize};

const PROMPT: &str = "Say hello in one short sentence.";

/// One run, in seconds: `wall` from the call (spawn or submit) to the outcome
/// (exit reaped, or final state stored and `wait` returned); the segments add
/// up to it.
#[derive(Debug, Default, Clone, Copy, Serialize, Deserialize)]
pub struct Run {
    pub wall: f64,
    /// Direct: `spawn` returning. Manager: submit to the `started` event
    /// (job stored, cgroup made and capped, process spawned).
    pub before_spawn: f64,
    /// From there to the CLI's first stdout line (as the direct reader reads
    /// it; as the subscriber receives its event).
    pub to_first: f64,
    /// First to last line (the `result`): the CLI's own work.
    pub cli: f64,
    /// Last line to the outcome.
    pub to_outcome: f64,
}

/// The ways a run is made, in the order of [`RealCliResult::runs`].
pub const WAYS: [&str; 4] = [
    "direct",
    "manager, isolation off, memory store",
    "manager, cgroups, memory store",
    "manager, cgroups, SQLite store (the default configuration)",
];

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct RealCliResult {
    /// `runs[w][i]`: way `w` (see [`WAYS`]) in round `i`.
    pub runs: Vec<Vec<Run>>,
    pub error: Option<String>,
}

/// The CLI's environment in every way of running: what the manager passes
/// through from this process's environment by default
/// ([`claude_jobs::DEFAULT_PASS_ENV`]: a direct run that inherits its
/// environment gets these too; `NODE_EXTRA_CA_CERTS` alone costs the CLI's
/// start-up tens of ms here), then the mock API's.
fn base_env(base_url: &str) -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = claude_jobs::DEFAULT_PASS_ENV
        .iter()
        .filter(|k| !k.starts_with("ANTHROPIC_") && !k.starts_with("CLAUDE_"))
        .filter_map(|k| std::env::var(k).ok().map(|v| (k.to_string(), v)))
        .collect();
    env.extend([
        ("ANTHROPIC_BASE_URL".into(), base_url.to_string()),
        ("ANTHROPIC_API_KEY".into(), "test-key".into()),
        (
            "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC".into(),
            "1".into(),
        ),
        ("DISABLE_AUTOUPDATER".into(), "1".into()),
    ]);
    env
}

/// One direct run, as the seed would do it: fresh config dir and working dir,
/// prompt on stdin, stdout read to the end.
fn direct(bin: &Path, env: &[(String, String)], scratch: &Path, i: usize) -> Result<Run, String> {
    let run_dir = scratch.join(format!("direct-{i}"));
    let (work, config) = (run_dir.join("work"), run_dir.join("config"));
    std::fs::create_dir_all(&work).map_err(|e| e.to_string())?;
    std::fs::create_dir_all(&config).map_err(|e| e.to_string())?;
    let t0 = Instant::now();
    let mut child = Command::new(bin)
        .args(crate::floor::CLI_ARGS)
        .env_clear()
        .envs(env.iter().map(|(k, v)| (k, v)))
        .env("CLAUDE_CONFIG_DIR", &config)
        .current_dir(&work)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", bin.display()))?;
    let spawned = Instant::now();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(PROMPT.as_bytes())
        .map_err(|e| e.to_string())?;
    let mut err = child.stderr.take().unwrap();
    let err_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    let (mut first, mut last, mut ok) = (None, None, false);
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    while out.read_line(&mut line).map_err(|e| e.to_string())? > 0 {
        let now = Instant::now();
        first.get_or_insert(now);
        if line.contains("\"type\":\"result\"") {
            last = Some(now);
            ok = line.contains("\"is_error\":false");
        }
        line.clear();
    }
    let status = child.wait().map_err(|e| e.to_string())?;
    let end = Instant::now();
    let stderr = err_reader.join().unwrap_or_default();
    match (first, last) {
        (Some(first), Some(last)) if ok && status.success() => Ok(Run {
            wall: (end - t0).as_secs_f64(),
            before_spawn: (spawned - t0).as_secs_f64(),
            to_first: (first - spawned).as_secs_f64(),
            cli: (last - first).as_secs_f64(),
            to_outcome: (end - last).as_secs_f64(),
        }),
        _ => Err(format!(
            "direct run failed ({status}): {}",
            stderr.chars().take(300).collect::<String>()
        )),
    }
}

async fn via_manager(m: &JobManager, cgroups: bool) -> Result<Run, String> {
    let b = JobSpec::builder().prompt(PROMPT);
    // Memory and process caps only: a CPU cap would slow the CLI itself and
    // count as "overhead".
    let b = if cgroups { b.memory("2G").pids(512) } else { b };
    let spec = b.build().map_err(|e| e.to_string())?;
    let t0 = Instant::now();
    let job = m.submit(spec).await.map_err(|e| e.to_string())?;
    // The events as a subscriber receives them, timed on receipt.
    let mut events = job.events(0);
    let follow = tokio::spawn(async move {
        let (mut started, mut first, mut last) = (None, None, None);
        while let Some(rec) = events.next().await {
            let now = Instant::now();
            match rec.event {
                JobEvent::Started { .. } => started = Some(now),
                JobEvent::Result { .. } => {
                    first.get_or_insert(now);
                    last = Some(now);
                }
                JobEvent::Queued { .. } | JobEvent::Finished { .. } | JobEvent::Stopping { .. } => {}
                _ if started.is_some() => {
                    first.get_or_insert(now);
                }
                _ => {}
            }
        }
        (started, first, last)
    });
    let info = job.wait().await;
    let end = Instant::now();
    if info.state != JobState::Succeeded {
        follow.abort();
        return Err(format!(
            "manager run ended {}: {}",
            info.state,
            info.error.unwrap_or_default()
        ));
    }
    match follow.await.map_err(|e| e.to_string())? {
        (Some(started), Some(first), Some(last)) => Ok(Run {
            wall: (end - t0).as_secs_f64(),
            before_spawn: (started - t0).as_secs_f64(),
            to_first: (first - started).as_secs_f64(),
            cli: (last - first).as_secs_f64(),
            to_outcome: (end.max(last) - last).as_secs_f64(),
        }),
        seen => Err(format!(
            "the job's events lacked started/first/result: {:?}",
            (seen.0.is_some(), seen.1.is_some(), seen.2.is_some())
        )),
    }
}

pub async fn run(bin: &Path, runs: usize, scratch: &Path) -> RealCliResult {
    let mut res = RealCliResult::default();
    if let Err(e) = run_inner(bin, runs, scratch, &mut res).await {
        res.error = Some(e);
    }
    res
}

async fn run_inner(
    bin: &Path,
    runs: usize,
    scratch: &Path,
    res: &mut RealCliResult,
) -> Result<(), String> {
    let mock = MockServer::start(MockConfig::default())
        .await
        .map_err(|e| format!("mock API: {e}"))?;
    let env = base_env(&mock.base_url());
    let mut managers = Vec::new();
    let configs = [
        ("off-memory", IsolationMode::Off, true),
        ("cg-memory", IsolationMode::Required, true),
        ("cg-sqlite", IsolationMode::Required, false),
    ];
    for (tag, iso, memory) in configs {
        let dir: PathBuf = scratch.join(format!("mgr-{tag}"));
        let mut b = JobManager::builder()
            .claude_bin(bin)
            .data_dir(&dir)
            .max_concurrent(1)
            .isolation(iso);
        // Without store_url: the default, SQLite in data_dir.
        if memory {
            b = b.store_url("memory");
        }
        for (k, v) in &env {
            b = b.env(k.clone(), v.clone());
        }
        managers.push(
            b.build()
                .await
                .map_err(|e| format!("manager ({tag}): {e}"))?,
        );
    }
    res.runs = vec![Vec::new(); WAYS.len()];
    let bin2 = bin.to_path_buf();
    // Round 0 warms the page cache and the CLI's first-run paths; not counted.
    for i in 0..=runs {
        // The order rotates from round to round, so no way of running is
        // always the one that follows another.
        let mut round = [Run::default(); WAYS.len()];
        for k in 0..WAYS.len() {
            let which = (k + i) % WAYS.len();
            round[which] = match which {
                0 => {
                    let (b, e, s) = (bin2.clone(), env.clone(), scratch.to_path_buf());
                    tokio::task::spawn_blocking(move || direct(&b, &e, &s, i))
                        .await
                        .map_err(|e| e.to_string())??
                }
                w => via_manager(&managers[w - 1], matches!(configs[w - 1].1, IsolationMode::Required)).await?,
            };
        }
        if i > 0 {
            for (w, r) in round.into_iter().enumerate() {
                res.runs[w].push(r);
            }
        }
    }
    for m in managers {
        m.shutdown(Duration::from_secs(5)).await;
    }
    mock.shutdown().await;
    Ok(())
}
