//! The end of an attempt: the cgroup's counters read and the group removed,
//! what the CLI reported copied into the info, and the outcome decided.

use std::os::unix::process::ExitStatusExt as _;
use std::process::ExitStatus;
use std::sync::Arc;

use super::io::Drained;
use super::start::Proc;
use super::supervise::Watched;
use super::Attempt;
use crate::claude::stream::StreamState;
use crate::events::{JobEvent, WarningKind};
use crate::isolation::JobGroup;
use crate::job::Stop;
use crate::monitor::PressureWatch;
use crate::process;
use crate::state::{JobInfo, JobState};
use crate::util::{now_ms, tail};

/// Reads the counters, removes the cgroup and records what the CLI said.
pub(super) async fn record(a: &Attempt, info: &mut JobInfo, proc: &Proc, w: &Watched, exit: ExitStatus, d: &Drained) {
    if let Some(g) = &proc.group {
        info.stats = g.stats();
        info.stats.peak_processes = info.stats.peak_processes.max(w.pressure.peak_processes);
        if !destroy(g.clone()).await {
            a.cell.emit(JobEvent::Warning {
                kind: WarningKind::Other,
                message: format!("could not remove the job's cgroup {:?}", g.paths()),
            });
        }
    }
    info.exit_code = exit.code();
    info.signal = exit.signal();
    info.finished_at = Some(now_ms());
    let s = &d.stream;
    // An attempt that printed no session keeps the one it resumed (the next
    // attempt resumes that).
    if s.session_id.is_some() {
        info.session_id = s.session_id.clone();
    }
    info.model = s.model.clone();
    info.cli_version = s.cli_version.clone();
    info.structured_output = None;
    info.permission_denials.clear();
    if let Some(r) = &s.result {
        let r = proc.redactor.value(r.clone());
        info.result = r.text;
        info.cost_usd = r.total_cost_usd;
        info.usage = r.usage;
        info.num_turns = r.num_turns;
        info.api_error_status = r.api_error_status;
        info.structured_output = r.structured_output;
        info.permission_denials = r.permission_denials;
        if r.session_id.is_some() {
            info.session_id = r.session_id;
        }
    }
}

/// The final state and error of an attempt.
pub(super) fn decide(w: &Watched, stream: &StreamState, info: &JobInfo, stderr_tail: &str) -> (JobState, Option<String>) {
    let ok_result = stream.result.as_ref().map(|r| !r.is_error).unwrap_or(false);
    match &w.stop {
        Some(Stop::AfterResult) if ok_result => return (JobState::Succeeded, None),
        None | Some(Stop::AfterResult) => {}
        Some(Stop::OutOfMemory) if info.stats.oom_kills > 0 => {}
        Some(s @ (Stop::Timeout(_) | Stop::Idle(_) | Stop::Pressure(_))) => {
            let note = pressure_note(&w.pressure, info);
            return (JobState::TimedOut, Some(format!("{}{note}", s.describe())));
        }
        Some(s) => return (s.state().unwrap_or(JobState::Failed), Some(s.describe())),
    }
    // Any OOM kill in the group ends the job `oom_killed`, as on cgroup v2
    // where `memory.oom.group` kills the whole job.
    if info.stats.oom_kills > 0 {
        return (
            JobState::OomKilled,
            Some(format!(
                "killed by the kernel: out of memory at its {} memory cap (peak {})",
                human_bytes(info.limits.memory.unwrap_or(0)),
                human_bytes(info.stats.peak_memory_bytes)
            )),
        );
    }
    if ok_result && info.exit_code == Some(0) {
        return (JobState::Succeeded, None);
    }
    (JobState::Failed, Some(failure(stream, info, stderr_tail)))
}

fn pressure_note(p: &PressureWatch, info: &JobInfo) -> String {
    if !p.seen {
        return String::new();
    }
    format!(
        "; the job was under memory pressure at its {} memory cap (thrashing: {} pages evicted and re-read): raise its memory cap",
        human_bytes(info.limits.memory.unwrap_or(0)),
        info.stats.memory_refaults
    )
}

/// Why a job that was not stopped failed, in words.
fn failure(stream: &StreamState, info: &JobInfo, stderr_tail: &str) -> String {
    let exit = match (info.exit_code, info.signal) {
        (Some(c), _) => format!("exited with code {c}"),
        (None, Some(s)) => format!("was killed by {}", process::signal_name(s)),
        _ => "ended".to_string(),
    };
    let stderr_note = if stderr_tail.trim().is_empty() {
        String::new()
    } else {
        format!("; stderr: {}", tail(stderr_tail.trim(), 500))
    };
    match &stream.result {
        Some(r) if r.is_error => {
            let text = r.text.clone().unwrap_or_default();
            match r.api_error_status {
                Some(401) => format!("API error 401 (authentication failed: check ANTHROPIC_API_KEY): {text}"),
                Some(429) => format!("API error 429 (rate limited): {text}"),
                Some(529) => format!("API error 529 (the API is overloaded): {text}"),
                Some(s) => format!("API error {s}: {text}"),
                None => format!(
                    "the CLI reported an error ({}): {text}",
                    r.subtype.clone().or(r.terminal_reason.clone()).unwrap_or_default()
                ),
            }
        }
        Some(_) => format!("the CLI printed a successful result but {exit}"),
        None => format!("the CLI {exit} without printing a result{stderr_note}"),
    }
}

/// Removes the job's group, killing what is still in it first. An empty
/// group is removed here (an rmdir per hierarchy: it fails while processes
/// remain); else on a blocking thread.
pub(super) async fn destroy(g: Arc<dyn JobGroup>) -> bool {
    if g.try_destroy() {
        return true;
    }
    tokio::task::spawn_blocking(move || {
        g.kill_all(0);
        g.destroy()
    })
    .await
    .unwrap_or(false)
}

fn human_bytes(b: u64) -> String {
    const MIB: f64 = (1 << 20) as f64;
    if b >= 1 << 30 {
        format!("{:.1} GiB", b as f64 / (MIB * 1024.0))
    } else {
        format!("{:.0} MiB", b as f64 / MIB)
    }
}
