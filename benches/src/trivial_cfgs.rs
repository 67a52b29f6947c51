//! The trivial-job configurations of items 1 and 2 (which driver, which
//! concurrency, with or without the 2 GB ballast) and the asyncio baseline's
//! runner.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::jobs::Store;
use crate::suite::{python_script, run_json, Opts, Plan, BALLAST_MB};
use crate::{Driver, Task};

/// One trivial-job configuration of items 1 and 2.
pub(crate) struct Cfg {
    pub(crate) key: String,
    pub(crate) run: Run,
    /// The CLI, when not the trivial one.
    pub(crate) cli: Option<PathBuf>,
}

pub(crate) enum Run {
    Child(Task),
    Asyncio { conc: usize },
}

fn manager_driver(cgroups: bool, store: Store) -> Driver {
    Driver::Manager { cgroups, store }
}

pub(crate) const DRIVERS: [(&str, &str); 9] = [
    ("asyncio", "asyncio + semaphore (Python, the seed's design)"),
    ("spawn", "bare posix_spawn + waitpid (floor)"),
    (
        "fork",
        "diagnostic: the same with fork (empty pre_exec hook)",
    ),
    (
        "cgfloor",
        "diagnostic: cgroup floor with fork (attach in a pre_exec hook)",
    ),
    (
        "cgvfork",
        "cgroup floor: clone(CLONE_VM|CLONE_VFORK), attach, exec + wait, memory/cpu/pids cgroups (the manager's technique)",
    ),
    ("mgr-off-memory", "JobManager, isolation off, memory store"),
    (
        "mgr-cg-memory",
        "JobManager, cgroups (required), memory store",
    ),
    ("mgr-off-sqlite", "JobManager, isolation off, SQLite store"),
    (
        "mgr-cg-sqlite",
        "JobManager, cgroups (required), SQLite store",
    ),
];

fn driver_of(name: &str) -> Option<Driver> {
    Some(match name {
        "spawn" => Driver::Spawn,
        "fork" => Driver::ForkFloor,
        "cgfloor" => Driver::CgroupFloor,
        "cgvfork" => Driver::CgroupFloorVfork,
        "mgr-off-memory" => manager_driver(false, Store::Memory),
        "mgr-cg-memory" => manager_driver(true, Store::Memory),
        "mgr-off-sqlite" => manager_driver(false, Store::Sqlite),
        "mgr-cg-sqlite" => manager_driver(true, Store::Sqlite),
        _ => return None,
    })
}

/// Jobs per batch of item 2: as many as item 1's, but for the fork-based
/// floors, which copy the 2 GB's page tables per job (30-40 ms each).
/// (300-job batches of a 0.25 ms job last 75 ms: too short to tell 10 %.)
pub(crate) fn item2_jobs(plan: &Plan, name: &str) -> usize {
    match name {
        "fork" | "cgfloor" => plan.ballast_jobs,
        _ => plan.jobs,
    }
}

pub(crate) fn is_diagnostic(name: &str) -> bool {
    matches!(name, "fork" | "cgfloor")
}

pub(crate) fn trivial_configs(opts: &Opts, plan: &Plan) -> Vec<Cfg> {
    let mut cfgs = Vec::new();
    if opts.wants(1) {
        for conc in [3usize, 2] {
            for (name, _) in DRIVERS {
                if conc != 3 && is_diagnostic(name) {
                    continue;
                }
                let run = match driver_of(name) {
                    Some(driver) => Run::Child(Task::Trivial {
                        driver,
                        conc,
                        jobs: plan.jobs,
                        warmup: plan.warmup,
                        ballast_mb: 0,
                    }),
                    None => Run::Asyncio { conc },
                };
                cfgs.push(Cfg {
                    key: format!("c{conc}/{name}"),
                    run,
                    cli: None,
                });
            }
        }
        // Report rows: the ratio with the tiny CLI on the C library.
        if let Some(libc) = &opts.tiny_libc {
            for name in ["asyncio", "mgr-off-memory"] {
                let run = match driver_of(name) {
                    Some(driver) => Run::Child(Task::Trivial {
                        driver,
                        conc: 3,
                        jobs: plan.jobs,
                        warmup: plan.warmup,
                        ballast_mb: 0,
                    }),
                    None => Run::Asyncio { conc: 3 },
                };
                cfgs.push(Cfg {
                    key: format!("c3libc/{name}"),
                    run,
                    cli: Some(libc.clone()),
                });
            }
        }
    }
    if opts.wants(2) {
        for ballast in [0, BALLAST_MB] {
            for name in [
                "spawn",
                "fork",
                "cgfloor",
                "cgvfork",
                "mgr-off-memory",
                "mgr-cg-memory",
            ] {
                cfgs.push(Cfg {
                    key: format!("big{ballast}/{name}"),
                    run: Run::Child(Task::Trivial {
                        driver: driver_of(name).unwrap(),
                        conc: 3,
                        jobs: item2_jobs(plan, name),
                        warmup: plan.warmup.min(item2_jobs(plan, name) / 5),
                        ballast_mb: ballast,
                    }),
                    cli: None,
                });
            }
        }
    }
    cfgs
}

pub(crate) fn asyncio(cli: &Path, plan: &Plan, conc: usize) -> Result<Value, String> {
    run_json(
        python_script("asyncio_baseline.py", cli)
            .args(["--jobs", &plan.jobs.to_string()])
            .args(["--warmup", &plan.warmup.to_string()])
            .args(["--concurrency", &conc.to_string()]),
    )
}
