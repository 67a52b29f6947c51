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
use crate::limits::ResourceLimits;

#[cfg(target_os = "linux")]
pub(crate) mod cgfs;
#[cfg(target_os = "linux")]
mod leftovers;
#[cfg(target_os = "linux")]
mod v1;
#[cfg(target_os = "linux")]
mod v2;

/// Kills what a dead manager's job left (its recorded process group, its
/// cgroup); returns how many processes were signalled.
pub(crate) fn kill_leftovers(id: &str, pid: Option<u32>, pid_start: Option<u64>) -> usize {
    #[cfg(target_os = "linux")]
    {
        leftovers::kill_leftovers(id, pid, pid_start)
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = (id, pid, pid_start);
        0
    }
}

/// A process's start time (clock ticks after boot), to tell it from a later
/// process with the same pid.
pub(crate) fn process_start_time(pid: u32) -> Option<u64> {
    #[cfg(target_os = "linux")]
    {
        cgfs::process_start_time(pid)
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = pid;
        None
    }
}

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

/// Why a job's group could not be made.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum GroupError {
    /// cgroups cannot be made here (the directory, a controller).
    Unavailable(String),
    /// The group was made, but the kernel refused one of the job's caps (or
    /// reads it back otherwise): `field` is the spec field.
    Refused { field: &'static str, reason: String },
}

impl GroupError {
    /// A `map_err` adapter for a cap's write.
    pub(crate) fn refused(field: &'static str) -> impl Fn(String) -> GroupError + Copy {
        move |reason| GroupError::Refused { field, reason }
    }
}

impl std::fmt::Display for GroupError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            GroupError::Unavailable(r) => f.write_str(r),
            GroupError::Refused { field, reason } => {
                write!(f, "the kernel refused the job's {field} cap: {reason}")
            }
        }
    }
}

/// One job's cgroup(s).
pub(crate) trait JobGroup: Send + Sync + std::fmt::Debug {
    fn kind(&self) -> IsolationKind;
    /// The `cgroup.procs` files the child writes `0` to before exec.
    fn attach_paths(&self) -> Vec<PathBuf>;
    /// A cgroup v2 group: its directory's open descriptor (`O_PATH`, which
    /// `clone3` takes), for a child born in it (`CLONE_INTO_CGROUP`; v1 has
    /// no such thing). Valid while the group lives.
    fn spawn_fd(&self) -> Option<std::os::fd::RawFd> {
        None
    }
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
    ) -> Result<Box<dyn JobGroup>, GroupError> {
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
