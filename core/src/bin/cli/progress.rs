//! One line of progress on stderr per interesting event.

use claude_jobs::{EventRecord, JobEvent};

fn short(s: &str, n: usize) -> String {
    let one_line: String = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() > n {
        format!("{}…", one_line.chars().take(n).collect::<String>())
    } else {
        one_line
    }
}

/// Prints `rec` for a person, prefixed with `tag` (the job's name or id).
pub fn print(tag: &str, rec: &EventRecord) {
    let line = match &rec.event {
        JobEvent::Queued { .. } => "queued".to_string(),
        JobEvent::Started { pid, isolation, .. } => {
            format!("started: pid {pid}, isolation {isolation}")
        }
        JobEvent::Init {
            model, cli_version, ..
        } => format!(
            "CLI {} with model {}",
            cli_version.as_deref().unwrap_or("?"),
            model.as_deref().unwrap_or("?")
        ),
        JobEvent::AssistantText { text } => format!("text: {}", short(text, 100)),
        JobEvent::ToolUse { name, .. } => format!("tool: {name}"),
        JobEvent::ApiRetry {
            attempt,
            status,
            delay_ms,
            ..
        } => format!(
            "API retry {attempt} (status {}) in {} ms",
            status.map(|s| s.to_string()).unwrap_or_else(|| "?".into()),
            delay_ms.unwrap_or(0)
        ),
        JobEvent::RateLimit { status, .. } => format!("rate limit: {status}"),
        JobEvent::Result {
            is_error, cost_usd, ..
        } => format!(
            "result: {} (${:.4})",
            if *is_error { "error" } else { "ok" },
            cost_usd.unwrap_or(0.0)
        ),
        JobEvent::MemoryPressure {
            memory_bytes,
            limit_bytes,
            ..
        } => format!(
            "memory pressure: {} of {} MiB",
            memory_bytes >> 20,
            limit_bytes.unwrap_or(0) >> 20
        ),
        JobEvent::Stopping { reason } => format!("stopping: {reason}"),
        JobEvent::Resuming { session_id, from_job, fork } => format!(
            "resuming session {session_id} of job {from_job}{}",
            if *fork { " in a new session (fork)" } else { "" }
        ),
        JobEvent::PermissionDenied { tool_name, tool_input, .. } => {
            format!("permission denied: {tool_name} {}", short(&tool_input.to_string(), 120))
        }
        JobEvent::Finished { state, error } => match error {
            Some(e) => format!("finished: {state}: {}", short(e, 200)),
            None => format!("finished: {state}"),
        },
        JobEvent::Warning { message, .. } => format!("warning: {}", short(message, 160)),
        _ => return,
    };
    eprintln!("[{tag}] {line}");
}
