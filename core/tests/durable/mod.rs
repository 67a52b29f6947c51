//! Helpers for the durable-store tests: manager "nodes" in separate processes
//! (the test binary re-executed in node mode), store inspection, and
//! throwaway PostgreSQL databases.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use claude_jobs::store::{JobRow, JobStore, ListQuery};
use claude_jobs::{IsolationMode, JobSpec, RecoveryPolicy};

use crate::common;

/// How a node process is set up (passed in `CJ_NODE_*` variables).
#[derive(Debug, Clone, Default)]
pub struct NodeCfg {
    pub data_dir: PathBuf,
    /// Store URL (default: the data dir's SQLite file).
    pub store: Option<String>,
    pub limit: usize,
    pub lease_ttl_ms: Option<u64>,
    pub heartbeat_ms: Option<u64>,
    pub rescue_ms: Option<u64>,
    pub requeue: bool,
    /// Jobs the node submits once started: (scenario, seconds, marker).
    pub submit: Vec<(String, f64, String)>,
    pub node_id: Option<String>,
    /// The `artifact_store` option.
    pub artifacts: Option<String>,
}

/// Control files of a node: `<ctl>/ids` (submitted ids), `<ctl>/ready`, `<ctl>/stop`.
pub struct Node {
    pub child: Child,
    pub ctl: PathBuf,
}

impl Node {
    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    /// Waits until the node has built its manager and submitted its jobs.
    pub fn ready(&mut self, secs: u64) -> Vec<String> {
        let end = Instant::now() + Duration::from_secs(secs);
        while !self.ctl.join("ready").exists() {
            if let Ok(Some(st)) = self.child.try_wait() {
                panic!("node exited early ({st}); log:\n{}", self.log());
            }
            assert!(
                Instant::now() < end,
                "node not ready in {secs} s; log:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        std::fs::read_to_string(self.ctl.join("ids"))
            .unwrap_or_default()
            .lines()
            .map(String::from)
            .collect()
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.ctl.join("log")).unwrap_or_default()
    }

    pub fn signal(&self, sig: i32) {
        unsafe {
            libc::kill(self.pid(), sig);
        }
    }

    /// SIGKILL and reap.
    pub fn kill9(&mut self) {
        self.signal(libc::SIGKILL);
        let _ = self.child.wait();
    }

    /// Graceful: asks the node to shut down, waits for it.
    pub fn stop(&mut self) {
        let _ = std::fs::write(self.ctl.join("stop"), "");
        let end = Instant::now() + Duration::from_secs(60);
        while Instant::now() < end {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        eprintln!(
            "node {} did not stop in 60 s; its log:\n{}",
            self.pid(),
            self.log()
        );
        self.kill9();
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            self.signal(libc::SIGCONT);
            self.kill9();
        }
        // Kept for a failing test (its log is there), removed otherwise.
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.ctl);
        }
    }
}

/// Starts a node: this test binary again, running only the test `durable_node`.
pub fn spawn_node(cfg: &NodeCfg) -> Node {
    let ctl = tempfile::Builder::new()
        .prefix("cj-node-")
        .tempdir()
        .unwrap()
        .keep();
    let log = std::fs::File::create(ctl.join("log")).unwrap();
    let submit: Vec<String> = cfg
        .submit
        .iter()
        .map(|(s, secs, m)| format!("{s},{secs},{m}"))
        .collect();
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args(["--exact", "durable_node", "--nocapture", "--test-threads=1"])
        .env("CJ_NODE", "1")
        .env("CJ_NODE_CTL", &ctl)
        .env("CJ_NODE_DIR", &cfg.data_dir)
        .env("CJ_NODE_LIMIT", cfg.limit.max(1).to_string())
        .env("CJ_NODE_SUBMIT", submit.join(";"))
        .env("CJ_NODE_REQUEUE", if cfg.requeue { "1" } else { "0" })
        .env("FAKE_CLAUDE_BIN", common::fake_claude())
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log);
    let opt = |c: &mut Command, k: &str, v: Option<String>| {
        if let Some(v) = v {
            c.env(k, v);
        }
    };
    opt(&mut cmd, "CJ_NODE_STORE", cfg.store.clone());
    opt(
        &mut cmd,
        "CJ_NODE_TTL_MS",
        cfg.lease_ttl_ms.map(|v| v.to_string()),
    );
    opt(
        &mut cmd,
        "CJ_NODE_HB_MS",
        cfg.heartbeat_ms.map(|v| v.to_string()),
    );
    opt(
        &mut cmd,
        "CJ_NODE_RESCUE_MS",
        cfg.rescue_ms.map(|v| v.to_string()),
    );
    opt(&mut cmd, "CJ_NODE_ID", cfg.node_id.clone());
    opt(&mut cmd, "CJ_NODE_ARTIFACTS", cfg.artifacts.clone());
    Node {
        child: cmd.spawn().unwrap(),
        ctl,
    }
}

/// A spec for the fake CLI: `scenario` for `secs`, tagged with `marker` in its env.
pub fn fake_spec(scenario: &str, secs: f64, marker: &str) -> JobSpec {
    JobSpec::builder()
        .prompt("durable test job")
        .env("FAKE_CLAUDE_SCENARIO", scenario)
        .env("FAKE_CLAUDE_SECONDS", secs.to_string())
        .env("FAKE_CLAUDE_INTERVAL_MS", "200")
        .env("CJ_TEST_MARKER", marker)
        .build()
        .unwrap()
}

/// The body of the `durable_node` test: nothing unless `CJ_NODE=1`.
pub fn node_main() {
    if std::env::var("CJ_NODE").as_deref() != Ok("1") {
        return;
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(run_node());
    std::process::exit(0);
}

async fn run_node() {
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let ms = |k: &str| env(k).map(|v| Duration::from_millis(v.parse().unwrap()));
    let ctl = PathBuf::from(env("CJ_NODE_CTL").unwrap());
    let dir = PathBuf::from(env("CJ_NODE_DIR").unwrap());
    let mut b = common::builder(&dir)
        .isolation(IsolationMode::Auto)
        .max_concurrent(env("CJ_NODE_LIMIT").unwrap().parse::<usize>().unwrap())
        .poll_interval(Duration::from_millis(100))
        .event_flush_interval(Duration::from_millis(200));
    if let Some(url) = env("CJ_NODE_STORE") {
        b = b.store_url(url);
    }
    if let Some(d) = ms("CJ_NODE_TTL_MS") {
        b = b.lease_ttl(d);
    }
    if let Some(d) = ms("CJ_NODE_HB_MS") {
        b = b.heartbeat_interval(d);
    }
    if let Some(d) = ms("CJ_NODE_RESCUE_MS") {
        b = b.rescue_interval(d);
    }
    if let Some(id) = env("CJ_NODE_ID") {
        b = b.node_id(id);
    }
    if let Some(a) = env("CJ_NODE_ARTIFACTS") {
        b = b.artifact_store(a);
    }
    if env("CJ_NODE_REQUEUE").as_deref() == Some("1") {
        b = b.recovery(RecoveryPolicy::Requeue);
    }
    let m = b.build().await.expect("node manager");
    eprintln!("node {} up, store {}", m.node_id(), m.store_url());
    let mut ids = Vec::new();
    for item in env("CJ_NODE_SUBMIT")
        .unwrap_or_default()
        .split(';')
        .filter(|s| !s.is_empty())
    {
        let mut it = item.split(',');
        let (scenario, secs, marker) = (it.next().unwrap(), it.next().unwrap(), it.next().unwrap());
        let job = m
            .submit(fake_spec(scenario, secs.parse().unwrap(), marker))
            .await
            .expect("submit");
        ids.push(job.id().to_string());
    }
    std::fs::write(ctl.join("ids"), ids.join("\n")).unwrap();
    std::fs::write(ctl.join("ready"), "").unwrap();
    while !ctl.join("stop").exists() {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    m.shutdown(Duration::from_secs(5)).await;
    eprintln!("node stopped");
}

/// Rows of every job in the store.
pub async fn all_rows(store: &Arc<dyn JobStore>) -> Vec<JobRow> {
    let mut known: Vec<(String, Option<u32>)> = Vec::new();
    let mut q = ListQuery { limit: Some(1000), ..Default::default() };
    loop {
        let page = store.list(&q).await.unwrap();
        known.extend(page.jobs.into_iter().map(|i| (i.id, None)));
        match page.next_cursor {
            Some(c) => q.cursor = Some(c),
            None => break,
        }
    }
    store.rows(&known).await.unwrap()
}

/// Waits (polling the store) until `f(rows)` holds.
pub async fn until_rows(
    store: &Arc<dyn JobStore>,
    secs: u64,
    what: &str,
    mut f: impl FnMut(&[JobRow]) -> bool,
) -> Vec<JobRow> {
    let end = Instant::now() + Duration::from_secs(secs);
    loop {
        let rows = all_rows(store).await;
        if f(&rows) {
            return rows;
        }
        if Instant::now() > end {
            let states: Vec<String> = rows
                .iter()
                .map(|r| {
                    format!(
                        "{} {} a{} {:?}",
                        &r.record.info.id[24..],
                        r.record.info.state,
                        r.record.info.attempt,
                        r.locked_by
                    )
                })
                .collect();
            panic!("timed out after {secs} s waiting for {what}; rows: {states:#?}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// How many times each job started (its `started` events in the store).
pub async fn starts(store: &Arc<dyn JobStore>, id: &str) -> usize {
    store
        .events(id, 0)
        .await
        .unwrap()
        .iter()
        .filter(|r| matches!(r.event, claude_jobs::JobEvent::Started { .. }))
        .count()
}

/// The most runs that overlapped, from `[started_at, finished_at)` intervals.
pub fn max_overlap(spans: &[(u64, u64)]) -> usize {
    let mut points: Vec<(u64, i32)> = Vec::new();
    for (s, e) in spans {
        points.push((*s, 1));
        points.push((*e, -1));
    }
    // Ends before starts at the same instant.
    points.sort_by_key(|(t, d)| (*t, *d));
    let (mut cur, mut max) = (0i32, 0i32);
    for (_, d) in points {
        cur += d;
        max = max.max(cur);
    }
    max as usize
}

/// The parent pid of a process.
pub fn ppid(pid: i32) -> Option<i32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat[stat.rfind(')')? + 2..]
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// The PostgreSQL URL for the tests, or `None` (and a printed reason) when unset.
pub fn pg_url(test: &str) -> Option<String> {
    match std::env::var("CLAUDE_JOBS_TEST_PG_URL") {
        Ok(u) if !u.is_empty() => Some(u),
        _ => {
            eprintln!("SKIP {test}: CLAUDE_JOBS_TEST_PG_URL is not set (`make test-durable` starts a server and sets it)");
            None
        }
    }
}

#[cfg(feature = "postgres")]
/// A fresh database on the test server, so tests running at once do not share a queue.
pub async fn fresh_pg_db(base: &str) -> String {
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect(base)
        .await
        .expect("connect to the test PostgreSQL");
    let name = format!("cj_{}", uuid::Uuid::now_v7().simple());
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .await
        .unwrap();
    let (head, _) = base.rsplit_once('/').unwrap();
    format!("{head}/{name}")
}

pub fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

pub fn log_dir_parent(row: &JobRow) -> Option<PathBuf> {
    row.record
        .info
        .log_dir
        .as_deref()
        .and_then(Path::parent)
        .map(Path::to_path_buf)
}

/// Ids as `JobStore::rows` takes them: every row, whatever its state.
pub fn known_ids(ids: &[String]) -> Vec<(String, Option<u32>)> {
    ids.iter().map(|id| (id.clone(), None)).collect()
}
