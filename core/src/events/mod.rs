//! Typed job events ([`JobEvent`], [`EventRecord`]) and, in `log.rs`, the
//! per-job log that replays past events to late subscribers and then follows
//! live ones ([`EventStream`]).

use serde::{Deserialize, Serialize};

use crate::state::{IsolationKind, JobState, Usage};

/// Why a warning was raised.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WarningKind {
    /// A stdout line was longer than the line cap and was skipped.
    LineTooLong,
    /// A stdout line was not JSON.
    NotJson,
    /// cgroups could not be made; the job runs uncapped.
    IsolationUnavailable,
    /// The job's memory is at its cap: it may be thrashing.
    MemoryPressure,
    /// Older events were dropped from memory.
    EventsDropped,
    /// Something else worth knowing.
    Other,
}

/// One thing that happened to a job. Serialized with a `type` tag in snake_case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum JobEvent {
    /// Accepted and waiting for a slot.
    Queued { priority: i32 },
    /// The CLI process started.
    Started {
        pid: u32,
        isolation: IsolationKind,
        attempt: u32,
    },
    /// This attempt continues a Claude session (`--resume`): the session of
    /// the job it resumes (`from_job`, with `fork`: in a new session), or its
    /// own earlier attempt's (`from_job` is the job itself) after a retry or
    /// a requeue, so that the work done so far is not lost.
    Resuming {
        session_id: String,
        from_job: String,
        fork: bool,
    },
    /// The CLI denied a tool call (listed in its result's `permission_denials`).
    PermissionDenied {
        tool_name: String,
        tool_use_id: Option<String>,
        tool_input: serde_json::Value,
    },
    /// The CLI's `system/init` message.
    Init {
        session_id: Option<String>,
        model: Option<String>,
        cli_version: Option<String>,
        tools: Vec<String>,
    },
    /// Text from the assistant.
    AssistantText { text: String },
    /// The assistant called a tool.
    ToolUse {
        id: Option<String>,
        name: String,
        input: serde_json::Value,
    },
    /// A tool's result came back.
    ToolResult {
        tool_use_id: Option<String>,
        is_error: bool,
        content: String,
    },
    /// The CLI retries an API call.
    ApiRetry {
        attempt: u32,
        max_retries: Option<u32>,
        delay_ms: Option<u64>,
        status: Option<u16>,
        error: Option<String>,
    },
    /// A rate-limit notice from the API.
    RateLimit {
        status: String,
        resets_at: Option<i64>,
        limit_type: Option<String>,
    },
    /// The CLI's final result message.
    Result {
        is_error: bool,
        subtype: Option<String>,
        cost_usd: Option<f64>,
        usage: Option<Usage>,
        num_turns: Option<u64>,
        session_id: Option<String>,
        api_error_status: Option<u16>,
    },
    /// The memory cap is being hit.
    MemoryPressure {
        memory_bytes: u64,
        limit_bytes: Option<u64>,
        cap_hits: u64,
        /// Pages evicted and re-read since the last sample.
        refaults: u64,
        pressure_avg10: Option<f64>,
    },
    /// The manager is stopping the job.
    Stopping { reason: String },
    /// The job reached a final state.
    Finished {
        state: JobState,
        error: Option<String>,
    },
    /// Something odd that did not stop the job.
    Warning { kind: WarningKind, message: String },
    /// The attempt ended in a way worth another try: the job is queued
    /// again, to start after `delay_ms` (`attempt` is the one that ended).
    Retrying {
        attempt: u32,
        delay_ms: u64,
        error: Option<String>,
        counts_as_attempt: bool,
    },
    /// The job waits in the queue: its tenant's daily budget is used up.
    BudgetWait {
        tenant: String,
        budget_usd: f64,
        left_usd: f64,
    },
    /// A stream-json message of a type this version does not know, as printed.
    Other {
        message_type: String,
        raw: serde_json::Value,
    },
}

/// An event with its sequence number (from 1) and time (Unix ms).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventRecord {
    pub seq: u64,
    pub at_ms: u64,
    pub event: JobEvent,
}

mod log;

pub(crate) use log::{approx_size, Bound, EventLog};
pub use log::EventStream;
