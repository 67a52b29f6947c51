//! Per-job cgroups: the manager-wide [`Isolator`] finds the hierarchy (v1 or
//! v2), prepares the manager's own directory, sweeps groups left by managers
//! that died, and creates one [`JobGroup`] per job with its limits written
//! and read back.
//!
//! cgroups-rs finds the mounts; the limit writes are done here directly and
//! checked by reading them back, because cgroups-rs ignores some failed writes
//! (see `../shared/notes/cgroups.md`).

use std::path::PathBuf;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::state::{IsolationKind, ResourceStats};
use crate::ResourceLimits;

#[cfg(target_os = "linux")]
pub(crate) mod cgfs;
#[cfg(target_os = "linux")]
mod v1;
#[cfg(target_os = "linux")]
mod v2;

/// The directory under the manager's own cgroup that holds the job groups.
pub(crate) const PARENT_DIR: &str = "claude-jobs";
/// CFS period for CPU caps.
pub(crate) const CPU_PERIOD_US: u64 = 100_000;

/// Whether jobs must, may or must not run in cgroups.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IsolationMode {
    /// Fail jobs when their cgroup cannot be made.
    Required,
    /// Use cgroups where they can be made; otherwise run uncapped, with a
    /// warning event and `isolation: "none"` recorded.
    #[default]
    Auto,
    /// Never use cgroups.
    Off,
}

impl FromStr for IsolationMode {
    type Err = crate::Error;
    fn from_str(s: &str) -> crate::Result<Self> {
        match s {
            "required" => Ok(IsolationMode::Required),
            "auto" => Ok(IsolationMode::Auto),
            "off" | "none" => Ok(IsolationMode::Off),
            other => Err(crate::Error::invalid(
                "isolation",
                format!("{other:?} is not one of required, auto, off"),
            )),
        }
    }
}

/// A reading of the job's counters while it runs.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Sample {
    pub memory_bytes: u64,
    pub memory_cap_hits: u64,
    /// Pages evicted and read again (`workingset_refault_*` in `memory.stat`):
    /// the thrashing signal.
    pub refaults: u64,
    pub pressure_avg10: Option<f64>,
    pub processes: u64,
}

/// One job's cgroup(s).
pub(crate) trait JobGroup: Send + Sync + std::fmt::Debug {
    fn kind(&self) -> IsolationKind;
    /// The `cgroup.procs` files the child writes `0` to before exec.
    fn attach_paths(&self) -> Vec<PathBuf>;
    fn procs(&self) -> Vec<i32>;
    /// No process left in the group (nor, on v2, in groups under it).
    fn is_empty(&self) -> bool {
        self.procs().is_empty()
    }
    /// Kills every process in the group and waits until it is empty. Orphans
    /// re-parented to us are reaped; `leader` (the CLI) is left for its owner.
    fn kill_all(&self, leader: i32);
    fn oom_kills(&self) -> u64;
    fn sample(&self) -> Sample;
    fn stats(&self) -> ResourceStats;
    /// rmdir (with retries); true when gone.
    fn destroy(&self) -> bool;
    /// One rmdir per directory, no retry, no sleep (for an empty group, from
    /// async code); true when gone.
    fn try_destroy(&self) -> bool;
    fn paths(&self) -> Vec<PathBuf>;
}

#[derive(Debug)]
enum Root {
    #[cfg(target_os = "linux")]
    V1(v1::V1Root),
    #[cfg(target_os = "linux")]
    V2(v2::V2Root),
}

/// The manager-wide cgroup facade.
#[derive(Debug)]
pub(crate) struct Isolator {
    root: Root,
    /// How many stale job groups were swept at start-up.
    pub swept: usize,
}

impl Isolator {
    /// Detects cgroups, prepares the manager's directory and sweeps stale
    /// groups. The error says why cgroups cannot be used here.
    pub(crate) fn new() -> Result<Isolator, String> {
        #[cfg(target_os = "linux")]
        {
            let root = if let Some(v1) = v1::V1Root::detect() {
                Root::V1(v1?)
            } else if let Some(v2) = v2::V2Root::detect() {
                Root::V2(v2?)
            } else {
                return Err("no cgroup filesystem is mounted".into());
            };
            let mut iso = Isolator { root, swept: 0 };
            iso.swept = match &iso.root {
                Root::V1(r) => r.sweep_stale(),
                Root::V2(r) => r.sweep_stale(),
            };
            match &iso.root {
                Root::V1(r) => r.prepare()?,
                Root::V2(r) => r.prepare()?,
            }
            Ok(iso)
        }
        #[cfg(not(target_os = "linux"))]
        {
            Err("cgroups exist only on Linux".into())
        }
    }

    pub(crate) fn kind(&self) -> IsolationKind {
        match self.root {
            #[cfg(target_os = "linux")]
            Root::V1(_) => IsolationKind::CgroupV1,
            #[cfg(target_os = "linux")]
            Root::V2(_) => IsolationKind::CgroupV2,
        }
    }

    /// Creates the group `job-<id>` with `limits`, written and read back.
    pub(crate) fn create(
        &self,
        job_id: &str,
        limits: &ResourceLimits,
    ) -> Result<Box<dyn JobGroup>, String> {
        let name = format!("job-{job_id}");
        match &self.root {
            #[cfg(target_os = "linux")]
            Root::V1(r) => Ok(Box::new(r.create(&name, limits)?)),
            #[cfg(target_os = "linux")]
            Root::V2(r) => Ok(Box::new(r.create(&name, limits)?)),
        }
    }

    /// Removes the manager's own directory (at shutdown).
    pub(crate) fn remove(&self) {
        match &self.root {
            #[cfg(target_os = "linux")]
            Root::V1(r) => r.remove(),
            #[cfg(target_os = "linux")]
            Root::V2(r) => r.remove(),
        }
    }
}
