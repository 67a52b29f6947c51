//! A tenant's daily budget and the store-wide rate-limit pause, with the
//! real Claude Code CLI (`CLAUDE_BIN`) against the loopback mock: what the
//! CLI reports a job cost is what the budget counts, the `--max-budget-usd`
//! each job gets is read from its argv (a wrapper records it), and the
//! mock's request log shows when the API was called.
mod common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use claude_jobs::{EventRecord, IsolationMode, Job, JobEvent, JobInfo, JobManager, JobState, TenantQuota};
use common::*;
use mock_anthropic::{MockConfig, MockServer};

/// A script that writes its argv to `<dir>/<pid>.argv` (one per line) and
/// becomes the real CLI: the pid is the one the `started` event reports.
fn argv_recorder(dir: &Path, real: &Path) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let script = dir.join("claude-recording-argv");
    let argv = dir.join("argv");
    std::fs::create_dir_all(&argv).unwrap();
    std::fs::set_permissions(&argv, std::fs::Permissions::from_mode(0o777)).unwrap();
    let body = format!(
        "#!/bin/sh\nprintf '%s\\n' \"$@\" > '{}'/$$.argv\nexec '{}' \"$@\"\n",
        argv.display(),
        real.display()
    );
    std::fs::write(&script, body).unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    script
}

/// The `--max-budget-usd` a job's CLI got (from the recorded argv of the pid
/// its latest `started` event names).
fn budget_flag(dir: &Path, events: &[EventRecord]) -> Option<f64> {
    let pid = events.iter().rev().find_map(|r| match r.event {
        JobEvent::Started { pid, .. } => Some(pid),
        _ => None,
    })?;
    let argv = std::fs::read_to_string(dir.join("argv").join(format!("{pid}.argv"))).ok()?;
    argv.lines().find_map(|a| a.strip_prefix("--max-budget-usd=")).map(|v| v.parse().unwrap())
}

async fn real_manager(dir: &Path, bin: PathBuf, mock: &MockServer) -> JobManager {
    let home = dir.join("home");
    std::fs::create_dir_all(&home).unwrap();
    builder(dir)
        .claude_bin(bin)
        .max_concurrent(3)
        .isolation(IsolationMode::Auto)
        .poll_interval(Duration::from_millis(100))
        .env("ANTHROPIC_BASE_URL", mock.base_url())
        .env("ANTHROPIC_API_KEY", "test-key-not-real")
        .env("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1")
        .env("HOME", home.display().to_string())
        .build()
        .await
        .unwrap()
}

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as u64
}

/// The job's events so far (a live job's stream is read until it is quiet
/// for 200 ms).
async fn events_of(m: &JobManager, id: &str) -> Vec<EventRecord> {
    let mut stream = m.get(id).await.unwrap().events(0);
    let mut out = Vec::new();
    while let Ok(Some(r)) = tokio::time::timeout(Duration::from_millis(200), stream.next()).await {
        out.push(r);
    }
    out
}

async fn wait_final(job: &Job) -> JobInfo {
    tokio::time::timeout(Duration::from_secs(120), job.wait()).await.expect("job ended in 120 s")
}

/// $0.12 a day, jobs capped at $0.055 each (the mock's answer costs about
/// $0.05 with this CLI): two run, the next two wait with `budget_wait`
/// until the budget is raised; a job without a cap of its own gets what is
/// left; no job's `--max-budget-usd` is above what was left when it started.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_daily_budget_holds_jobs_until_it_is_raised() {
    let Some(real) = real_claude_bin("a_daily_budget_holds_jobs_until_it_is_raised") else { return };
    let mock = MockServer::start(MockConfig::default()).await.unwrap();
    let dir = data_dir();
    let m = real_manager(dir.path(), argv_recorder(dir.path(), &real), &mock).await;
    m.set_tenant("t", TenantQuota { daily_budget_usd: Some(0.12), ..Default::default() }).await.unwrap();
    let spec = |n: u32, cap: Option<f64>| {
        let mut b = claude_jobs::JobSpec::builder().prompt(format!("Budget job {n}: say hello.")).tenant("t");
        if let Some(c) = cap {
            b = b.max_budget_usd(c);
        }
        b.build().unwrap()
    };
    let mut jobs = Vec::new();
    for n in 1..=4 {
        jobs.push(m.submit(spec(n, Some(0.055))).await.unwrap());
    }
    let first: Vec<JobInfo> = vec![wait_final(&jobs[0]).await, wait_final(&jobs[1]).await];
    for i in &first {
        assert_eq!(i.state, JobState::Succeeded, "{i:?}");
        let c = i.cost_usd.unwrap();
        assert!(c > 0.0 && c < 0.055, "the mock's answer costs under the cap: {c}");
    }
    let spent: f64 = first.iter().map(|i| i.cost_usd.unwrap()).sum();
    // Waiting: too little left for a $0.055 cap (first while jobs 1 and 2
    // held their caps, then after their costs), and they say so.
    assert!(
        wait_until(10, || async {
            let mut all = true;
            for j in &jobs[2..] {
                let ev = events_of(&m, j.id()).await;
                all &= ev.iter().any(|r| matches!(r.event, JobEvent::BudgetWait { left_usd, budget_usd, .. } if left_usd < 0.055 && budget_usd == 0.12));
            }
            all
        })
        .await,
        "jobs 3 and 4 got a budget_wait event"
    );
    tokio::time::sleep(Duration::from_millis(1500)).await;
    for j in &jobs[2..] {
        assert_eq!(j.info().state, JobState::Queued, "still waiting: {:?}", j.info());
    }
    let usage = m.tenant_usage("t").await.unwrap();
    assert!((usage.spent_today_usd - spent).abs() < 1e-9, "{usage:?} vs {spent}");
    assert_eq!((usage.running, usage.queued), (0, 2));
    let raised_at = now_ms();
    m.set_tenant("t", TenantQuota { daily_budget_usd: Some(0.30), ..Default::default() }).await.unwrap();
    for j in &jobs[2..] {
        assert_eq!(wait_final(j).await.state, JobState::Succeeded);
    }
    // No cap of its own: it gets what is left.
    let fifth = m.submit(spec(5, None)).await.unwrap();
    assert_eq!(wait_final(&fifth).await.state, JobState::Succeeded);
    jobs.push(fifth);
    check_caps_within_budget(&m, dir.path(), &jobs, raised_at).await;
    m.shutdown(Duration::from_secs(5)).await;
}

/// From the stored times: when each job started, the budget then, less what
/// had finished (costs) and what ran (caps), was at least its cap; a job
/// without a cap of its own got exactly what was left.
async fn check_caps_within_budget(m: &JobManager, dir: &Path, jobs: &[Job], raised_at: u64) {
    let mut infos = Vec::new();
    let mut caps = HashMap::new();
    for j in jobs {
        let ev = events_of(m, j.id()).await;
        caps.insert(j.id().to_string(), budget_flag(dir, &ev).expect("--max-budget-usd was passed"));
        infos.push(j.info());
    }
    for (k, i) in infos.iter().enumerate() {
        let start = i.started_at.unwrap();
        let budget = if start < raised_at { 0.12 } else { 0.30 };
        let spent: f64 = infos.iter().filter(|o| o.finished_at.unwrap() <= start).map(|o| o.cost_usd.unwrap()).sum();
        let held: f64 = infos
            .iter()
            .filter(|o| o.id != i.id && o.started_at.unwrap() <= start && o.finished_at.unwrap() > start)
            .map(|o| caps[&o.id])
            .sum();
        let left = budget - spent - held;
        let cap = caps[&i.id];
        eprintln!("job {}: started {start}, cap {cap}, left {left:.6}, cost {:?}", k + 1, i.cost_usd);
        assert!(cap <= left + 1e-9, "job {} got --max-budget-usd={cap} with only {left} left", k + 1);
        if k == 4 {
            assert!((cap - left).abs() < 1e-6, "no cap of its own: what is left ({left}), got {cap}");
        } else {
            assert!((cap - 0.055).abs() < 1e-12, "its own cap: {cap}");
        }
    }
}

async fn wait_until<F, Fut>(secs: u64, mut f: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let end = std::time::Instant::now() + Duration::from_secs(secs);
    while std::time::Instant::now() < end {
        if f().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    f().await
}

/// The mock answers its first request 429 with `retry-after: 3`: admissions
/// pause store-wide (status shows it), no job starts and the mock sees no
/// new request until the CLI's own retry after the 3 s; then all 5 jobs
/// succeed, each in one attempt.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_429_pauses_admissions_until_the_api_says_and_costs_no_attempt() {
    let Some(real) = real_claude_bin("a_429_pauses_admissions_until_the_api_says_and_costs_no_attempt") else { return };
    let mock = MockServer::start(MockConfig { rate_limited_first: 1, rate_limit_retry_after_ms: 3000, ..Default::default() })
        .await
        .unwrap();
    let dir = data_dir();
    let m = real_manager(dir.path(), real, &mock).await;
    let mut jobs = Vec::new();
    for n in 1..=5 {
        let spec = claude_jobs::JobSpec::builder().prompt(format!("Rate job {n}: say hello.")).build().unwrap();
        jobs.push(m.submit(spec).await.unwrap());
    }
    let mut paused_until = None;
    let end = std::time::Instant::now() + Duration::from_secs(60);
    while paused_until.is_none() && std::time::Instant::now() < end {
        paused_until = m.status().await.unwrap().paused_until_ms;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let paused_until = paused_until.expect("status shows the pause");
    let mut infos = Vec::new();
    for j in &jobs {
        infos.push(wait_final(j).await);
    }
    let log = mock.received();
    let ms = |t: SystemTime| t.duration_since(UNIX_EPOCH).unwrap().as_millis() as u64;
    let first = log.iter().find(|r| r.n == 1).expect("the first request is in the log");
    assert_eq!(first.reply["status"], 429);
    let t429 = ms(first.at);
    assert!(paused_until >= t429 + 3000, "paused for the 3 s the API asked: {paused_until} vs {t429}");
    for i in &infos {
        assert_eq!(i.state, JobState::Succeeded, "{i:?}");
        assert_eq!(i.attempt, 1, "no attempt used by the rate limit: {i:?}");
        let start = i.started_at.unwrap();
        assert!(start <= t429 || start >= t429 + 3000, "job {} started at {start}, inside the pause from {t429}", i.id);
    }
    let late: Vec<u64> = infos.iter().map(|i| i.started_at.unwrap()).filter(|s| *s > t429).collect();
    assert_eq!(late.len(), 2, "two jobs were held back and started after the pause");
    // CLIs already running when the 429 went out may still send their first
    // request (on a loaded machine, seconds later): the manager cannot hold
    // those back. Jobs held back by the pause, and the rate-limited CLI's
    // own retry, reach the API only after the 3 s.
    let held: Vec<Option<String>> =
        infos.iter().filter(|i| i.started_at.unwrap() > t429).map(|i| i.session_id.clone()).collect();
    assert!(held.iter().all(Option::is_some), "the held-back jobs have sessions: {held:?}");
    for r in log.iter().filter(|r| r.n > 1) {
        let sid = r.session_id();
        if sid == first.session_id() || held.contains(&sid) {
            let at = ms(r.at);
            assert!(at >= t429 + 3000, "request {} at +{} ms, inside the pause", r.n, at as i64 - t429 as i64);
        }
    }
    let retried = log.iter().filter(|r| r.session_id() == first.session_id() && r.n > 1).count();
    assert_eq!(retried, 1, "the rate-limited CLI retried once, after the pause");
    m.shutdown(Duration::from_secs(5)).await;
}
