//! [`Stop`]: why the manager stops a running job.

use std::time::Duration;

use crate::state::JobState;

/// Why a running job is being stopped. The first three come from outside
/// (through the job's stop channel); the others from its own supervision.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Stop {
    /// A caller cancelled it (or a dependency did not succeed).
    Cancel(String),
    /// The manager is shutting down.
    Shutdown,
    /// This node lost the job's lease (another node may run it).
    LeaseLost,
    /// The wall-clock timeout.
    Timeout(Duration),
    /// No output for this long.
    Idle(Duration),
    /// The CLI printed its result but did not exit.
    AfterResult,
    /// Under memory pressure for this long.
    Pressure(Duration),
    /// The manager cannot keep the job's output (its log cannot be
    /// written: a full disk, say).
    Io(String),
    /// The kernel OOM-killed a process of the job (cgroup v1 kills only that
    /// process; the whole job goes, as `memory.oom.group` does on v2).
    OutOfMemory,
}

impl Stop {
    /// The reason in words.
    pub(crate) fn describe(&self) -> String {
        let d = |d: &Duration| humantime::format_duration(*d).to_string();
        match self {
            Stop::Cancel(r) => r.clone(),
            Stop::Shutdown => "the manager shut down while the job ran".into(),
            Stop::LeaseLost => "this node lost the job's lease (another node may run it)".into(),
            Stop::Timeout(t) => format!("timed out after {}", d(t)),
            Stop::Idle(t) => format!("no output for {} (idle timeout)", d(t)),
            Stop::AfterResult => "the CLI printed its result but did not exit".into(),
            Stop::Pressure(t) => format!("stopped after {} under memory pressure", d(t)),
            Stop::OutOfMemory => "a process of the job was killed for running out of memory".into(),
            Stop::Io(why) => why.clone(),
        }
    }

    /// The final state a stop leads to; `None` for a lingering CLI, whose
    /// outcome is its result.
    pub(crate) fn state(&self) -> Option<JobState> {
        match self {
            Stop::Cancel(_) => Some(JobState::Cancelled),
            Stop::Shutdown | Stop::LeaseLost => Some(JobState::Interrupted),
            Stop::Timeout(_) | Stop::Idle(_) | Stop::Pressure(_) => Some(JobState::TimedOut),
            Stop::OutOfMemory => Some(JobState::OomKilled),
            Stop::Io(_) => Some(JobState::Failed),
            Stop::AfterResult => None,
        }
    }

    /// The outcome of a stop that came before the job's process started.
    pub(crate) fn before_start(&self) -> (JobState, String) {
        match self {
            Stop::Shutdown => (
                JobState::Interrupted,
                "the manager shut down before the job started".into(),
            ),
            other => (
                other.state().unwrap_or(JobState::Interrupted),
                other.describe(),
            ),
        }
    }
}
