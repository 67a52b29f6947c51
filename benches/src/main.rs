//! `claude-jobs-bench`: the benchmarks of issue #8.
//!
//! `claude-jobs-bench run` measures every item, each measurement in a fresh
//! child process of this program (`claude-jobs-bench child FAKE TASK-JSON`),
//! so that resident-memory figures start clean and the 2 GB ballast stays in
//! its own runs. It prints one table (benchmark | figure | goal | met?) and
//! writes it, with the machine and the raw figures, into benches/RESULTS.md
//! (between the GENERATED markers; the analysis around them is kept).
//!
//! `make bench` builds everything in release and runs it; see ../mk/bench.mk.

mod big_store;
mod bindings_report;
mod big_store_report;
mod big_store_seed;
mod floor;
mod items;
mod jobs;
mod machine;
mod measure;
mod nodes;
mod nodes_report;
mod nodes_pg;
mod timed_store;
mod real_cli;
mod real_cli_report;
mod spawn_latency;
mod spawn_report;
mod spread;
mod report;
mod running;
mod running_report;
mod suite;
mod trivial_cfgs;
mod vfork;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use claude_jobs::IsolationMode;
use serde::{Deserialize, Serialize};

use jobs::{Store, TempDir};

/// How a trivial job is run.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Driver {
    /// `posix_spawn` + `waitpid`.
    Spawn,
    /// The same with an empty `pre_exec` hook: std forks instead.
    ForkFloor,
    /// Spawn + wait with memory, cpu and pids cgroups per job.
    CgroupFloor,
    /// The same, the child made with `clone(CLONE_VM | CLONE_VFORK)`.
    CgroupFloorVfork,
    /// Through a `JobManager`.
    Manager { cgroups: bool, store: Store },
}

/// One measurement, run in a child process.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "task", rename_all = "snake_case")]
pub enum Task {
    Trivial {
        driver: Driver,
        conc: usize,
        jobs: usize,
        warmup: usize,
        ballast_mb: usize,
    },
    Sequential {
        jobs: usize,
        warmup: usize,
        store: Store,
    },
    Stream {
        mb: u64,
    },
    PipeFloor {
        mb: u64,
    },
    Queue {
        store: Store,
        jobs: usize,
        max_s: f64,
    },
    RealCli {
        bin: PathBuf,
        runs: usize,
    },
    /// Item 7: jobs one at a time, `pause_ms` apart, one way of spawning.
    SpawnLatency {
        way: String,
        jobs: usize,
        warmup: usize,
        pause_ms: u64,
    },
    /// Item 8 (issue 20 item 3): many running jobs with subscribers.
    Running { params: serde_json::Value },
    /// Item 9 (issue 20 item 4): a store that has kept a million jobs.
    BigStore { params: serde_json::Value },
    /// Item 10 (issue 20 item 5): several manager processes on one PostgreSQL.
    Nodes { params: serde_json::Value },
}

/// What a batch of trivial jobs took (also what the Python and Node scripts print).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct BatchResult {
    pub wall_s: f64,
    pub jobs: usize,
    pub failed: usize,
    #[serde(default)]
    pub error: Option<String>,
    /// CPU of the process that runs the jobs (user + sys).
    #[serde(default)]
    pub self_cpu_s: f64,
    /// CPU of its reaped children (the fake CLIs).
    #[serde(default)]
    pub children_cpu_s: f64,
    /// Resident memory of the process running the jobs after the batch.
    #[serde(default)]
    pub rss_kb: u64,
}

impl BatchResult {
    pub fn ms_per_job(&self) -> f64 {
        self.wall_s * 1000.0 / self.jobs.max(1) as f64
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("child") if args.len() == 4 => {
            let task: Task = serde_json::from_str(&args[3]).expect("a task in JSON");
            let out = child(Path::new(&args[2]), task);
            println!("{out}");
        }
        Some("run") => suite::run(&args[2..]),
        _ => {
            eprintln!(
                "usage: claude-jobs-bench run [--quick] [--rounds N] [--only 1,2,…] [--fake PATH] [--tiny PATH] \
                 [--prepared DIR] [--results PATH] [--no-write]\n\
                 (child processes: claude-jobs-bench child FAKE TASK-JSON)"
            );
            std::process::exit(2);
        }
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

/// Runs one task and returns its result as JSON.
fn child(fake: &Path, task: Task) -> serde_json::Value {
    match task {
        Task::Trivial {
            driver,
            conc,
            jobs,
            warmup,
            ballast_mb,
        } => {
            let _ballast = measure::Ballast::new(ballast_mb);
            serde_json::to_value(trivial(fake, driver, conc, jobs, warmup)).unwrap()
        }
        Task::Sequential {
            jobs,
            warmup,
            store,
        } => {
            let rt = runtime();
            let r = rt.block_on(async {
                let dir = TempDir::new("seq");
                let m = match jobs::manager(fake, &dir.0, 3, IsolationMode::Off, store).await {
                    Ok(m) => m,
                    Err(e) => {
                        return BatchResult {
                            error: Some(e.to_string()),
                            ..Default::default()
                        }
                    }
                };
                let spec = jobs::trivial_spec(false);
                jobs::run_sequential(&m, &spec, warmup).await;
                let (c0, t0) = (measure::self_cpu(), Instant::now());
                let (failed, error) = jobs::run_sequential(&m, &spec, jobs).await;
                let r = BatchResult {
                    wall_s: t0.elapsed().as_secs_f64(),
                    jobs,
                    failed,
                    error,
                    self_cpu_s: measure::self_cpu().since(&c0).total().as_secs_f64(),
                    children_cpu_s: 0.0,
                    rss_kb: measure::rss() / 1024,
                };
                m.shutdown(std::time::Duration::from_secs(5)).await;
                r
            });
            serde_json::to_value(r).unwrap()
        }
        Task::Stream { mb } => {
            let rt = runtime();
            let dir = TempDir::new("stream");
            match rt.block_on(jobs::stream(fake, &dir.0, mb)) {
                Ok(r) => serde_json::to_value(r).unwrap(),
                Err(e) => serde_json::json!({ "error": e.to_string() }),
            }
        }
        Task::PipeFloor { mb } => serde_json::to_value(pipe_floor(fake, mb)).unwrap(),
        Task::Queue { store, jobs, max_s } => {
            let rt = runtime();
            let dir = TempDir::new("queue");
            let out = match rt.block_on(jobs::queue(fake, &dir.0, store, jobs, max_s)) {
                Ok(r) => serde_json::to_value(r).unwrap(),
                Err(e) => serde_json::json!({ "error": e.to_string() }),
            };
            // A shutdown cut off midway leaves tasks behind: do not wait for
            // them (the blocking job's CLI dies with us: PR_SET_PDEATHSIG).
            drop(dir);
            println!("{out}");
            std::process::exit(0);
        }
        Task::SpawnLatency {
            way,
            jobs,
            warmup,
            pause_ms,
        } => {
            let rt = runtime();
            let pause = std::time::Duration::from_millis(pause_ms);
            serde_json::to_value(rt.block_on(spawn_latency::run(fake, &way, jobs, warmup, pause))).unwrap()
        }
        Task::Running { params } => running::child(fake, params),
        Task::BigStore { params } => big_store::child(fake, params),
        Task::Nodes { params } => nodes::child(fake, params),
        Task::RealCli { bin, runs } => {
            let rt = runtime();
            let dir = TempDir::new("real-cli");
            serde_json::to_value(rt.block_on(real_cli::run(&bin, runs, &dir.0))).unwrap()
        }
    }
}

fn trivial(fake: &Path, driver: Driver, conc: usize, jobs: usize, warmup: usize) -> BatchResult {
    let timed = |f: &dyn Fn(usize) -> (usize, Option<String>)| {
        f(warmup);
        let (c0, k0, t0) = (measure::self_cpu(), measure::children_cpu(), Instant::now());
        let (failed, error) = f(jobs);
        BatchResult {
            wall_s: t0.elapsed().as_secs_f64(),
            jobs,
            failed,
            error,
            self_cpu_s: measure::self_cpu().since(&c0).total().as_secs_f64(),
            children_cpu_s: measure::children_cpu().since(&k0).total().as_secs_f64(),
            rss_kb: measure::rss() / 1024,
        }
    };
    match driver {
        Driver::Spawn => timed(&|n| (floor::spawn_floor(fake, conc, n), None)),
        Driver::ForkFloor => timed(&|n| (floor::fork_floor(fake, conc, n), None)),
        Driver::CgroupFloor | Driver::CgroupFloorVfork => {
            match floor::FloorCgroups::new(driver == Driver::CgroupFloorVfork) {
                Ok(cg) => {
                    let cg = Arc::new(cg);
                    timed(&|n| {
                        let failed = cg.run(fake, conc, n);
                        (
                            failed,
                            (failed > 0).then(|| "some cgroup floor jobs failed".to_string()),
                        )
                    })
                }
                Err(e) => BatchResult {
                    error: Some(e),
                    ..Default::default()
                },
            }
        }
        Driver::Manager { cgroups, store } => {
            let rt = runtime();
            rt.block_on(async {
                let dir = TempDir::new("trivial");
                let iso = if cgroups {
                    IsolationMode::Required
                } else {
                    IsolationMode::Off
                };
                let m = match jobs::manager(fake, &dir.0, conc, iso, store).await {
                    Ok(m) => m,
                    Err(e) => {
                        return BatchResult {
                            error: Some(e.to_string()),
                            ..Default::default()
                        }
                    }
                };
                let spec = jobs::trivial_spec(cgroups);
                jobs::run_batch(&m, &spec, warmup).await;
                let (c0, k0, t0) = (measure::self_cpu(), measure::children_cpu(), Instant::now());
                let (failed, error) = jobs::run_batch(&m, &spec, jobs).await;
                let r = BatchResult {
                    wall_s: t0.elapsed().as_secs_f64(),
                    jobs,
                    failed,
                    error,
                    self_cpu_s: measure::self_cpu().since(&c0).total().as_secs_f64(),
                    children_cpu_s: measure::children_cpu().since(&k0).total().as_secs_f64(),
                    rss_kb: measure::rss() / 1024,
                };
                m.shutdown(std::time::Duration::from_secs(5)).await;
                r
            })
        }
    }
}

/// The least a reader of the 500 MB stream can cost: `read(2)` into a 256 KiB
/// buffer and nothing else.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct PipeFloorResult {
    pub bytes: u64,
    pub wall_s: f64,
    pub cpu_s: f64,
}

fn pipe_floor(fake: &Path, mb: u64) -> PipeFloorResult {
    use std::io::{Read, Write};
    let mut child = std::process::Command::new(fake)
        .args(floor::CLI_ARGS)
        .env("FAKE_CLAUDE_SCENARIO", "big-output")
        .env("FAKE_CLAUDE_OUTPUT_MB", mb.to_string())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("the fake CLI");
    let _ = child
        .stdin
        .take()
        .unwrap()
        .write_all(floor::PROMPT.as_bytes());
    let (c0, t0) = (measure::self_cpu(), Instant::now());
    let mut out = child.stdout.take().unwrap();
    let mut buf = vec![0u8; 256 * 1024];
    let mut bytes = 0u64;
    while let Ok(n) = out.read(&mut buf) {
        if n == 0 {
            break;
        }
        bytes += n as u64;
    }
    let _ = child.wait();
    PipeFloorResult {
        bytes,
        wall_s: t0.elapsed().as_secs_f64(),
        cpu_s: measure::self_cpu().since(&c0).total().as_secs_f64(),
    }
}
