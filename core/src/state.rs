//! A job's state, outcome and the snapshot [`JobInfo`] that every API returns.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Where a job is in its life. Final states never change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    /// Waiting for a slot (or for its dependencies).
    Queued,
    /// The CLI is running.
    Running,
    /// Exit 0 and a result with `is_error: false`.
    Succeeded,
    /// Anything else that went wrong: see [`JobInfo::error`].
    Failed,
    /// Cancelled by a caller (or because a dependency did not succeed).
    Cancelled,
    /// The wall-clock or idle timeout fired.
    TimedOut,
    /// The kernel killed it for exceeding its memory cap.
    OomKilled,
    /// The manager shut down (or died) while the job ran.
    Interrupted,
}

impl JobState {
    /// True for the final states.
    pub fn is_final(self) -> bool {
        !matches!(self, JobState::Queued | JobState::Running)
    }
    /// The snake_case name used everywhere (`"timed_out"`).
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Queued => "queued",
            JobState::Running => "running",
            JobState::Succeeded => "succeeded",
            JobState::Failed => "failed",
            JobState::Cancelled => "cancelled",
            JobState::TimedOut => "timed_out",
            JobState::OomKilled => "oom_killed",
            JobState::Interrupted => "interrupted",
        }
    }
    /// Every state.
    pub const ALL: [JobState; 8] = [
        JobState::Queued,
        JobState::Running,
        JobState::Succeeded,
        JobState::Failed,
        JobState::Cancelled,
        JobState::TimedOut,
        JobState::OomKilled,
        JobState::Interrupted,
    ];
}

impl fmt::Display for JobState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for JobState {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        JobState::ALL
            .into_iter()
            .find(|st| st.as_str() == s)
            .ok_or_else(|| format!("unknown job state {s:?}"))
    }
}

/// How the job's processes were isolated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
pub enum IsolationKind {
    /// A cgroup v1 group per controller.
    #[serde(rename = "cgroup-v1")]
    CgroupV1,
    /// A cgroup v2 group.
    #[serde(rename = "cgroup-v2")]
    CgroupV2,
    /// No cgroup: the job ran uncapped.
    #[default]
    #[serde(rename = "none")]
    None,
}

impl IsolationKind {
    /// `"cgroup-v1"`, `"cgroup-v2"` or `"none"`.
    pub fn as_str(self) -> &'static str {
        match self {
            IsolationKind::CgroupV1 => "cgroup-v1",
            IsolationKind::CgroupV2 => "cgroup-v2",
            IsolationKind::None => "none",
        }
    }
}

impl fmt::Display for IsolationKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Token counts reported by the CLI.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Usage {
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cache_creation_input_tokens: u64,
    pub cache_read_input_tokens: u64,
}

/// Resource use of the job's whole process tree, read from its cgroup.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ResourceStats {
    /// Peak memory of the cgroup in bytes.
    pub peak_memory_bytes: u64,
    /// CPU time of all processes, in microseconds.
    pub cpu_usage_usec: u64,
    /// Time the job was throttled by its CPU cap, in microseconds.
    pub cpu_throttled_usec: u64,
    /// Number of CFS periods in which the job was throttled.
    pub nr_throttled: u64,
    /// Highest number of processes seen at once.
    pub peak_processes: u64,
    /// Times the memory cap was hit (v1 `memory.failcnt`, v2 `memory.events max`).
    pub memory_cap_hits: u64,
    /// Pages evicted under the cap and read again (thrashing), from `memory.stat`.
    pub memory_refaults: u64,
    /// OOM kills inside the job's cgroup.
    pub oom_kills: u64,
}

/// What the CLI's final `result` message said.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct JobResult {
    /// The final text.
    pub text: Option<String>,
    /// `is_error` as the CLI printed it.
    pub is_error: bool,
    /// `subtype` (`success`, `error_max_turns`, …).
    pub subtype: Option<String>,
    /// The CLI's own cost estimate.
    pub total_cost_usd: Option<f64>,
    pub usage: Option<Usage>,
    pub num_turns: Option<u64>,
    pub duration_ms: Option<u64>,
    pub duration_api_ms: Option<u64>,
    pub session_id: Option<String>,
    pub api_error_status: Option<u16>,
    pub terminal_reason: Option<String>,
    /// `modelUsage` as printed (per model, with `costUSD`).
    pub model_usage: Option<serde_json::Value>,
    /// With `--json-schema`: the answer, an object of the schema.
    pub structured_output: Option<serde_json::Value>,
    /// Tool calls the CLI denied.
    pub permission_denials: Vec<PermissionDenial>,
}

/// A tool call the CLI denied (a `disallowed_tools` rule, or a tool that is
/// neither allowed nor covered by the permission mode), as its result lists it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PermissionDenial {
    /// The tool (`Bash`, `Write`, `mcp__srv__tool`).
    pub tool_name: String,
    /// The id of the denied `tool_use` block.
    pub tool_use_id: Option<String>,
    /// The call's input (`{"command": "rm -rf /"}`).
    pub tool_input: serde_json::Value,
}

/// A snapshot of a job: what every `get`, `list` and `wait` returns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobInfo {
    pub id: String,
    pub state: JobState,
    /// Template name, when the job was made from one.
    pub template: Option<String>,
    pub labels: BTreeMap<String, String>,
    /// Who the job is for (see [`crate::Policy`]).
    #[serde(default)]
    pub tenant: Option<String>,
    pub priority: i32,
    /// Unix milliseconds.
    pub created_at: u64,
    pub started_at: Option<u64>,
    pub finished_at: Option<u64>,
    /// Attempt number, from 1.
    pub attempt: u32,
    pub pid: Option<u32>,
    /// The CLI process's start time (clock ticks after boot): with `pid`,
    /// what a later manager kills if this one dies (never a reused pid).
    #[serde(default)]
    pub pid_start_time: Option<u64>,
    pub isolation: IsolationKind,
    pub exit_code: Option<i32>,
    pub signal: Option<i32>,
    /// Why the job did not succeed, in words a person understands.
    pub error: Option<String>,
    /// The final text of the result (shortcut for `result.text`).
    pub result: Option<String>,
    pub cost_usd: Option<f64>,
    pub usage: Option<Usage>,
    pub session_id: Option<String>,
    pub num_turns: Option<u64>,
    pub model: Option<String>,
    pub cli_version: Option<String>,
    /// API status code of a failed result (401, 529, …).
    pub api_error_status: Option<u16>,
    pub stats: ResourceStats,
    /// The applied caps (spec merged with the manager's defaults).
    pub limits: crate::ResourceLimits,
    /// `data_dir/jobs/<id>`: stdout.log, stderr.log, the default working dir.
    pub log_dir: Option<PathBuf>,
    /// Files collected from the job's working directory.
    pub outputs: Vec<PathBuf>,
    /// With `json_schema`: the structured answer (an object of the schema).
    #[serde(default)]
    pub structured_output: Option<serde_json::Value>,
    /// Tool calls the CLI denied (from its result).
    #[serde(default)]
    pub permission_denials: Vec<PermissionDenial>,
    /// The CLI's working directory (for a resumed job: the earlier job's).
    #[serde(default)]
    pub work_dir: Option<PathBuf>,
    /// The CLI's `CLAUDE_CONFIG_DIR`, where it keeps the session's transcript
    /// (for a resumed job: the earlier job's).
    #[serde(default)]
    pub config_dir: Option<PathBuf>,
    /// For a job that resumes another (`resume`): the session it continues.
    /// `session_id` is the same, or, with `fork_session`, a new one.
    #[serde(default)]
    pub resumed_session: Option<String>,
}

impl JobInfo {
    /// A fresh queued job.
    pub fn queued(id: String, spec: &crate::JobSpec, now_ms: u64) -> Self {
        JobInfo {
            id,
            state: JobState::Queued,
            template: spec.template.clone(),
            labels: spec.labels.clone(),
            tenant: spec.tenant.clone(),
            priority: spec.priority,
            created_at: now_ms,
            started_at: None,
            finished_at: None,
            attempt: 0,
            pid: None,
            pid_start_time: None,
            isolation: IsolationKind::None,
            exit_code: None,
            signal: None,
            error: None,
            result: None,
            cost_usd: None,
            usage: None,
            session_id: None,
            num_turns: None,
            model: None,
            cli_version: None,
            api_error_status: None,
            stats: ResourceStats::default(),
            limits: spec.limits(),
            log_dir: None,
            outputs: Vec::new(),
            structured_output: None,
            permission_denials: Vec::new(),
            work_dir: None,
            config_dir: None,
            resumed_session: None,
        }
    }

    /// Duration of the run in milliseconds, once started.
    pub fn duration_ms(&self) -> Option<u64> {
        let start = self.started_at?;
        let end = self.finished_at.unwrap_or_else(crate::util::now_ms);
        Some(end.saturating_sub(start))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_are_snake_case() {
        for s in JobState::ALL {
            let json = serde_json::to_string(&s).unwrap();
            assert_eq!(json, format!("\"{}\"", s.as_str()));
            assert_eq!(s.as_str().parse::<JobState>().unwrap(), s);
        }
        assert_eq!(JobState::OomKilled.as_str(), "oom_killed");
        assert!(!JobState::Running.is_final());
        assert!(JobState::Interrupted.is_final());
    }

    #[test]
    fn old_rows_without_the_agent_fields_still_read() {
        let spec = crate::JobSpec::from_prompt("p");
        let mut v = serde_json::to_value(JobInfo::queued("j".into(), &spec, 1)).unwrap();
        for k in ["structured_output", "permission_denials", "work_dir", "config_dir", "resumed_session"] {
            v.as_object_mut().unwrap().remove(k);
        }
        let back: JobInfo = serde_json::from_value(v).unwrap();
        assert!(back.permission_denials.is_empty() && back.structured_output.is_none());
    }

    #[test]
    fn isolation_names() {
        assert_eq!(
            serde_json::to_string(&IsolationKind::CgroupV1).unwrap(),
            "\"cgroup-v1\""
        );
        assert_eq!(IsolationKind::None.as_str(), "none");
    }
}
