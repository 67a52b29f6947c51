//! [`JobInfo`] → the plain JS object that `job.wait()`, `job.info()`,
//! `manager.list()` return. Keys are the core's, camelCased; unset values are
//! `null`; states and isolation kinds keep the core's strings (`timed_out`,
//! `cgroup-v1`). Byte counts and microseconds are plain numbers (exact up to
//! 2^53).
//!
//! The keys are listed explicitly (they are the API); only `stats`, a flat
//! set of counters, follows the core's `ResourceStats` automatically.

use claude_jobs::wire::Style;
use claude_jobs::{JobInfo, PermissionDenial, ResourceLimits, ResourceStats, Template, Usage};
use serde_json::{json, Value};


/// The JS view of a job snapshot (`JobInfo` in index.d.ts).
pub(crate) fn job_info(i: &JobInfo) -> Value {
    json!({
        "id": i.id,
        "state": i.state.as_str(),
        "template": i.template,
        "labels": i.labels,
        "tenant": i.tenant,
        "priority": i.priority,
        "createdAt": i.created_at,
        "startedAt": i.started_at,
        "finishedAt": i.finished_at,
        "attempt": i.attempt,
        "pid": i.pid,
        "isolation": i.isolation.as_str(),
        "exitCode": i.exit_code,
        "signal": i.signal,
        "error": i.error,
        "result": i.result,
        "costUsd": i.cost_usd,
        "usage": i.usage.as_ref().map(usage),
        "sessionId": i.session_id,
        "numTurns": i.num_turns,
        "model": i.model,
        "cliVersion": i.cli_version,
        "apiErrorStatus": i.api_error_status,
        "stats": stats(&i.stats),
        "limits": limits(&i.limits),
        "logDir": i.log_dir.as_ref().map(|p| p.display().to_string()),
        "outputs": i.outputs.iter().map(|p| p.display().to_string()).collect::<Vec<_>>(),
        "structuredOutput": i.structured_output,
        "permissionDenials": i.permission_denials.iter().map(permission_denial).collect::<Vec<_>>(),
        "resumedSession": i.resumed_session,
        "workDir": i.work_dir.as_ref().map(|p| p.display().to_string()),
        "configDir": i.config_dir.as_ref().map(|p| p.display().to_string()),
    })
}

/// A tool call the CLI denied (`PermissionDenial` in index.d.ts); the
/// input is the CLI's own JSON, passed through untouched.
fn permission_denial(d: &PermissionDenial) -> Value {
    json!({ "toolName": d.tool_name, "toolUseId": d.tool_use_id, "toolInput": d.tool_input })
}

/// Token counts (`Usage` in index.d.ts).
pub(crate) fn usage(u: &Usage) -> Value {
    json!({
        "inputTokens": u.input_tokens,
        "outputTokens": u.output_tokens,
        "cacheCreationInputTokens": u.cache_creation_input_tokens,
        "cacheReadInputTokens": u.cache_read_input_tokens,
    })
}

/// Resource use of the job's process tree (`ResourceStats` in index.d.ts):
/// every counter of the core's `ResourceStats`, camelCased.
fn stats(s: &ResourceStats) -> Value {
    camel_keys(serde_json::to_value(s).unwrap_or_default())
}

/// Renames the keys of a flat object of counters to camelCase.
fn camel_keys(v: Value) -> Value {
    match v {
        Value::Object(m) => {
            Value::Object(m.into_iter().map(|(k, v)| (Style::Camel.spell(&k), v)).collect())
        }
        other => other,
    }
}

/// The applied caps (`ResourceLimits` in index.d.ts): memory in bytes.
fn limits(l: &ResourceLimits) -> Value {
    json!({ "cpus": l.cpus, "memory": l.memory, "pids": l.pids })
}

/// An instruction template (`TemplateInfo` in index.d.ts).
pub(crate) fn template(t: &Template) -> Value {
    let variables: serde_json::Map<String, Value> = t
        .variables
        .iter()
        .map(|(name, v)| {
            let spec = json!({ "required": v.required, "description": v.description, "default": v.default });
            (name.clone(), spec)
        })
        .collect();
    json!({
        "name": t.name,
        "description": t.description,
        "source": t.source,
        "variables": variables,
        "allowedTools": t.allowed_tools,
        "model": t.model,
        "limits": limits(&t.limits),
        "timeoutMs": t.timeout.map(|d| d.as_millis() as u64),
        "idleTimeoutMs": t.idle_timeout.map(|d| d.as_millis() as u64),
        "output": t.output.as_ref().map(|o| json!({ "file": o.file, "folder": o.folder, "name": o.name })),
    })
}
