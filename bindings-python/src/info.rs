//! The read-only snapshots: [`JobInfo`] (what `wait`, `info`, `get` and
//! `list` give) and its parts [`Usage`], [`ResourceStats`], [`ResourceLimits`].
//! Same field names as the core; states and isolation kinds are the core's
//! snake_case / kebab-case strings.

use std::collections::BTreeMap;
use std::path::PathBuf;

use pyo3::prelude::*;

use crate::convert::Json;
use crate::records::record_class;

/// Token counts reported by the CLI.
#[pyclass(frozen, get_all, module = "claude_jobs", name = "Usage")]
#[derive(Clone)]
pub struct Usage {
    input_tokens: u64,
    output_tokens: u64,
    cache_creation_input_tokens: u64,
    cache_read_input_tokens: u64,
}

impl Usage {
    const FIELDS: &'static [&'static str] = &[
        "input_tokens",
        "output_tokens",
        "cache_creation_input_tokens",
        "cache_read_input_tokens",
    ];
}

impl From<claude_jobs::Usage> for Usage {
    fn from(u: claude_jobs::Usage) -> Self {
        Usage {
            input_tokens: u.input_tokens,
            output_tokens: u.output_tokens,
            cache_creation_input_tokens: u.cache_creation_input_tokens,
            cache_read_input_tokens: u.cache_read_input_tokens,
        }
    }
}

record_class!(Usage, "Usage", {});

/// Resource use of the job's whole process tree, read from its cgroup
/// (zeros when the job ran without one).
#[pyclass(frozen, get_all, module = "claude_jobs", name = "ResourceStats")]
#[derive(Clone)]
pub struct ResourceStats {
    peak_memory_bytes: u64,
    cpu_usage_usec: u64,
    cpu_throttled_usec: u64,
    nr_throttled: u64,
    peak_processes: u64,
    memory_cap_hits: u64,
    memory_refaults: u64,
    oom_kills: u64,
}

impl ResourceStats {
    const FIELDS: &'static [&'static str] = &[
        "peak_memory_bytes",
        "cpu_usage_usec",
        "cpu_throttled_usec",
        "nr_throttled",
        "peak_processes",
        "memory_cap_hits",
        "memory_refaults",
        "oom_kills",
    ];
}

impl From<claude_jobs::ResourceStats> for ResourceStats {
    fn from(s: claude_jobs::ResourceStats) -> Self {
        ResourceStats {
            peak_memory_bytes: s.peak_memory_bytes,
            cpu_usage_usec: s.cpu_usage_usec,
            cpu_throttled_usec: s.cpu_throttled_usec,
            nr_throttled: s.nr_throttled,
            peak_processes: s.peak_processes,
            memory_cap_hits: s.memory_cap_hits,
            memory_refaults: s.memory_refaults,
            oom_kills: s.oom_kills,
        }
    }
}

record_class!(ResourceStats, "ResourceStats", {});

/// CPU (cores), memory (bytes) and process caps; `None` means no cap.
#[pyclass(frozen, get_all, module = "claude_jobs", name = "ResourceLimits")]
#[derive(Clone)]
pub struct ResourceLimits {
    cpus: Option<f64>,
    memory: Option<u64>,
    pids: Option<u64>,
}

impl ResourceLimits {
    const FIELDS: &'static [&'static str] = &["cpus", "memory", "pids"];
}

impl From<claude_jobs::ResourceLimits> for ResourceLimits {
    fn from(l: claude_jobs::ResourceLimits) -> Self {
        ResourceLimits {
            cpus: l.cpus,
            memory: l.memory,
            pids: l.pids,
        }
    }
}

record_class!(ResourceLimits, "ResourceLimits", {});

/// A snapshot of one job: what `Job.wait()`, `Job.info()`, `JobManager.get()`
/// and `JobManager.list()` return. Times are Unix milliseconds.
/// `structured_output` (with `json_schema`) is the answer as plain Python
/// values; `permission_denials` a list of `{tool_name, tool_use_id,
/// tool_input}` dicts.
#[pyclass(frozen, get_all, module = "claude_jobs", name = "JobInfo")]
#[derive(Clone)]
pub struct JobInfo {
    id: String,
    state: &'static str,
    template: Option<String>,
    labels: BTreeMap<String, String>,
    tenant: Option<String>,
    priority: i32,
    created_at: u64,
    started_at: Option<u64>,
    finished_at: Option<u64>,
    attempt: u32,
    pid: Option<u32>,
    isolation: &'static str,
    exit_code: Option<i32>,
    signal: Option<i32>,
    error: Option<String>,
    result: Option<String>,
    cost_usd: Option<f64>,
    usage: Option<Usage>,
    session_id: Option<String>,
    num_turns: Option<u64>,
    model: Option<String>,
    cli_version: Option<String>,
    api_error_status: Option<u16>,
    stats: ResourceStats,
    limits: ResourceLimits,
    log_dir: Option<PathBuf>,
    outputs: Vec<PathBuf>,
    structured_output: Json,
    permission_denials: Json,
    resumed_session: Option<String>,
    work_dir: Option<PathBuf>,
    config_dir: Option<PathBuf>,
}

impl JobInfo {
    const FIELDS: &'static [&'static str] = &[
        "id",
        "state",
        "template",
        "labels",
        "tenant",
        "priority",
        "created_at",
        "started_at",
        "finished_at",
        "attempt",
        "pid",
        "isolation",
        "exit_code",
        "signal",
        "error",
        "result",
        "cost_usd",
        "usage",
        "session_id",
        "num_turns",
        "model",
        "cli_version",
        "api_error_status",
        "stats",
        "limits",
        "log_dir",
        "outputs",
        "structured_output",
        "permission_denials",
        "resumed_session",
        "work_dir",
        "config_dir",
    ];
}

impl From<claude_jobs::JobInfo> for JobInfo {
    fn from(i: claude_jobs::JobInfo) -> Self {
        JobInfo {
            id: i.id,
            state: i.state.as_str(),
            template: i.template,
            labels: i.labels,
            tenant: i.tenant,
            priority: i.priority,
            created_at: i.created_at,
            started_at: i.started_at,
            finished_at: i.finished_at,
            attempt: i.attempt,
            pid: i.pid,
            isolation: i.isolation.as_str(),
            exit_code: i.exit_code,
            signal: i.signal,
            error: i.error,
            result: i.result,
            cost_usd: i.cost_usd,
            usage: i.usage.map(Usage::from),
            session_id: i.session_id,
            num_turns: i.num_turns,
            model: i.model,
            cli_version: i.cli_version,
            api_error_status: i.api_error_status,
            stats: i.stats.into(),
            limits: i.limits.into(),
            log_dir: i.log_dir,
            outputs: i.outputs,
            structured_output: Json(i.structured_output.unwrap_or(serde_json::Value::Null)),
            permission_denials: Json::of(&i.permission_denials),
            resumed_session: i.resumed_session,
            work_dir: i.work_dir,
            config_dir: i.config_dir,
        }
    }
}

record_class!(JobInfo, "JobInfo", {
    /// True once the state is final (anything but queued and running).
    #[getter]
    fn is_final(&self) -> bool {
        !matches!(self.state, "queued" | "running")
    }

    /// Run time in milliseconds (up to now while running), or None before start.
    #[getter]
    fn duration_ms(&self) -> Option<u64> {
        let start = self.started_at?;
        let end = self.finished_at.unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_millis() as u64)
                .unwrap_or(start)
        });
        Some(end.saturating_sub(start))
    }
});
