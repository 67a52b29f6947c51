//! Item 6: the real Claude Code CLI against the loopback mock API, run
//! directly and through the manager, interleaved, wall time averaged.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use claude_jobs::{IsolationMode, JobManager, JobSpec, JobState};
use mock_anthropic::{MockConfig, MockServer};
use serde::{Deserialize, Serialize};

const PROMPT: &str = "Say hello in one short sentence.";

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct RealCliResult {
    /// Wall seconds of each run, per way of running.
    pub direct: Vec<f64>,
    pub manager_off: Vec<f64>,
    pub manager_cgroups: Vec<f64>,
    pub error: Option<String>,
}

fn base_env(base_url: &str) -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = ["PATH", "HOME", "LANG", "TMPDIR"]
        .iter()
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
fn direct(bin: &Path, env: &[(String, String)], scratch: &Path, i: usize) -> Result<f64, String> {
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
    let mut out = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .map_err(|e| e.to_string())?;
    let status = child.wait().map_err(|e| e.to_string())?;
    let wall = t0.elapsed().as_secs_f64();
    let stderr = err_reader.join().unwrap_or_default();
    let ok = status.success()
        && out
            .lines()
            .any(|l| l.contains("\"type\":\"result\"") && l.contains("\"is_error\":false"));
    if !ok {
        return Err(format!(
            "direct run failed ({status}): {}",
            stderr.chars().take(300).collect::<String>()
        ));
    }
    Ok(wall)
}

async fn via_manager(m: &JobManager, cgroups: bool) -> Result<f64, String> {
    let b = JobSpec::builder().prompt(PROMPT);
    // Memory and process caps only: a CPU cap would slow the CLI itself and
    // count as "overhead".
    let b = if cgroups { b.memory("2G").pids(512) } else { b };
    let spec = b.build().map_err(|e| e.to_string())?;
    let t0 = Instant::now();
    let job = m.submit(spec).await.map_err(|e| e.to_string())?;
    let info = job.wait().await;
    let wall = t0.elapsed().as_secs_f64();
    if info.state != JobState::Succeeded {
        return Err(format!(
            "manager run ended {}: {}",
            info.state,
            info.error.unwrap_or_default()
        ));
    }
    Ok(wall)
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
    for (tag, iso) in [("off", IsolationMode::Off), ("cg", IsolationMode::Required)] {
        let dir: PathBuf = scratch.join(format!("mgr-{tag}"));
        let mut b = JobManager::builder()
            .claude_bin(bin)
            .data_dir(&dir)
            .max_concurrent(1)
            .isolation(iso)
            .store_url("memory");
        for (k, v) in &env {
            b = b.env(k.clone(), v.clone());
        }
        managers.push(
            b.build()
                .await
                .map_err(|e| format!("manager ({tag}): {e}"))?,
        );
    }
    let bin2 = bin.to_path_buf();
    // Round 0 warms the page cache and the CLI's first-run paths; not counted.
    for i in 0..=runs {
        // The order rotates from round to round, so no way of running is
        // always the one that follows another.
        let mut walls = [0.0; 3];
        for k in 0..3 {
            let which = (k + i) % 3;
            walls[which] = match which {
                0 => {
                    let (b, e, s) = (bin2.clone(), env.clone(), scratch.to_path_buf());
                    tokio::task::spawn_blocking(move || direct(&b, &e, &s, i))
                        .await
                        .map_err(|e| e.to_string())??
                }
                1 => via_manager(&managers[0], false).await?,
                _ => via_manager(&managers[1], true).await?,
            };
        }
        if i > 0 {
            res.direct.push(walls[0]);
            res.manager_off.push(walls[1]);
            res.manager_cgroups.push(walls[2]);
        }
    }
    for m in managers {
        m.shutdown(Duration::from_secs(5)).await;
    }
    mock.shutdown().await;
    Ok(())
}
