//! The CLI's stream-json output (one JSON object a line) turned into typed
//! [`JobEvent`]s, while keeping what the outcome needs (init facts, result).

use serde::Deserialize;
use serde_json::Value;

use crate::events::{JobEvent, WarningKind};
use crate::state::{JobResult, PermissionDenial, Usage};
use crate::util::truncate;

/// Tool results are kept in events up to this many bytes.
const TOOL_RESULT_MAX: usize = 4096;

/// What the stream said so far.
#[derive(Debug, Default)]
pub(crate) struct StreamState {
    pub session_id: Option<String>,
    pub model: Option<String>,
    pub cli_version: Option<String>,
    pub result: Option<JobResult>,
    pub lines: u64,
}

#[derive(Deserialize)]
struct Msg {
    #[serde(rename = "type")]
    ty: String,
    subtype: Option<String>,
    session_id: Option<String>,
    // system/init
    model: Option<String>,
    claude_code_version: Option<String>,
    tools: Option<Vec<Value>>,
    // system/api_retry
    attempt: Option<u32>,
    max_retries: Option<u32>,
    retry_delay_ms: Option<u64>,
    error_status: Option<u16>,
    error: Option<Value>,
    // assistant / user
    message: Option<Body>,
    // rate_limit_event
    rate_limit_info: Option<RateLimitInfo>,
    // result
    is_error: Option<bool>,
    result: Option<String>,
    total_cost_usd: Option<f64>,
    usage: Option<Usage>,
    num_turns: Option<u64>,
    duration_ms: Option<u64>,
    duration_api_ms: Option<u64>,
    api_error_status: Option<u16>,
    terminal_reason: Option<String>,
    #[serde(rename = "modelUsage")]
    model_usage: Option<Value>,
    structured_output: Option<Value>,
    /// Read leniently: a shape this version does not know loses the list,
    /// never the result.
    permission_denials: Option<Value>,
}

#[derive(Deserialize)]
struct Body {
    #[serde(default)]
    content: Content,
}

#[derive(Deserialize, Default)]
#[serde(untagged)]
enum Content {
    Blocks(Vec<Block>),
    Text(String),
    #[default]
    None,
}

#[derive(Deserialize)]
struct Block {
    #[serde(rename = "type")]
    ty: String,
    text: Option<String>,
    id: Option<String>,
    name: Option<String>,
    input: Option<Value>,
    tool_use_id: Option<String>,
    content: Option<Value>,
    is_error: Option<bool>,
}

#[derive(Deserialize)]
struct RateLimitInfo {
    status: Option<String>,
    #[serde(rename = "resetsAt")]
    resets_at: Option<i64>,
    #[serde(rename = "rateLimitType")]
    limit_type: Option<String>,
}

fn preview(line: &[u8]) -> String {
    let s = String::from_utf8_lossy(&line[..line.len().min(200)]);
    s.into_owned()
}

/// Parses one stdout line (without its newline) into `out`.
pub(crate) fn parse_line(line: &[u8], st: &mut StreamState, out: &mut Vec<JobEvent>) {
    let trimmed = trim(line);
    if trimmed.is_empty() {
        return;
    }
    st.lines += 1;
    if trimmed[0] != b'{' {
        out.push(JobEvent::Warning {
            kind: WarningKind::NotJson,
            message: format!(
                "skipped a stdout line that is not JSON: {}",
                preview(trimmed)
            ),
        });
        return;
    }
    let msg: Msg = match serde_json::from_slice(trimmed) {
        Ok(m) => m,
        Err(e) => {
            out.push(JobEvent::Warning {
                kind: WarningKind::NotJson,
                message: format!(
                    "skipped a stdout line that is not valid JSON ({e}): {}",
                    preview(trimmed)
                ),
            });
            return;
        }
    };
    if let Some(s) = &msg.session_id {
        if st.session_id.as_deref() != Some(s) {
            st.session_id = Some(s.clone());
        }
    }
    match msg.ty.as_str() {
        "system" => system(msg, trimmed, st, out),
        "assistant" => {
            if let Some(body) = msg.message {
                blocks(body.content, out);
            }
        }
        "user" => {
            if let Some(body) = msg.message {
                blocks(body.content, out);
            }
        }
        "rate_limit_event" => {
            let info = msg.rate_limit_info;
            out.push(JobEvent::RateLimit {
                status: info
                    .as_ref()
                    .and_then(|i| i.status.clone())
                    .unwrap_or_default(),
                resets_at: info.as_ref().and_then(|i| i.resets_at),
                limit_type: info.and_then(|i| i.limit_type),
            });
        }
        "result" => result(msg, st, out),
        "stream_event" => {}
        other => out.push(other_event(other, trimmed)),
    }
}

/// The final `result` message: kept for the outcome, and an event.
fn result(msg: Msg, st: &mut StreamState, out: &mut Vec<JobEvent>) {
    let r = JobResult {
        text: msg.result,
        is_error: msg.is_error.unwrap_or(false),
        subtype: msg.subtype,
        total_cost_usd: msg.total_cost_usd,
        usage: msg.usage,
        num_turns: msg.num_turns,
        duration_ms: msg.duration_ms,
        duration_api_ms: msg.duration_api_ms,
        session_id: msg.session_id.or_else(|| st.session_id.clone()),
        api_error_status: msg.api_error_status,
        terminal_reason: msg.terminal_reason,
        model_usage: msg.model_usage,
        structured_output: msg.structured_output.filter(|v| !v.is_null()),
        permission_denials: denials(msg.permission_denials),
    };
    for d in &r.permission_denials {
        out.push(JobEvent::PermissionDenied {
            tool_name: d.tool_name.clone(),
            tool_use_id: d.tool_use_id.clone(),
            tool_input: d.tool_input.clone(),
        });
    }
    out.push(JobEvent::Result {
        is_error: r.is_error,
        subtype: r.subtype.clone(),
        cost_usd: r.total_cost_usd,
        usage: r.usage.clone(),
        num_turns: r.num_turns,
        session_id: r.session_id.clone(),
        api_error_status: r.api_error_status,
    });
    st.result = Some(r);
}

/// The result's `permission_denials`: the entries that are objects.
fn denials(v: Option<Value>) -> Vec<PermissionDenial> {
    match v {
        Some(Value::Array(items)) => items
            .into_iter()
            .filter(Value::is_object)
            .filter_map(|d| serde_json::from_value(d).ok())
            .collect(),
        _ => Vec::new(),
    }
}

fn system(msg: Msg, raw: &[u8], st: &mut StreamState, out: &mut Vec<JobEvent>) {
    match msg.subtype.as_deref() {
        Some("init") => {
            st.model = msg.model.clone();
            st.cli_version = msg.claude_code_version.clone();
            let tools = msg
                .tools
                .unwrap_or_default()
                .into_iter()
                .filter_map(|t| match t {
                    Value::String(s) => Some(s),
                    Value::Object(o) => o.get("name").and_then(|n| n.as_str()).map(String::from),
                    _ => None,
                })
                .collect();
            out.push(JobEvent::Init {
                session_id: msg.session_id,
                model: msg.model,
                cli_version: msg.claude_code_version,
                tools,
            });
        }
        Some("api_retry") => out.push(JobEvent::ApiRetry {
            attempt: msg.attempt.unwrap_or(0),
            max_retries: msg.max_retries,
            delay_ms: msg.retry_delay_ms,
            status: msg.error_status,
            error: msg.error.map(|e| match e {
                Value::String(s) => s,
                other => other.to_string(),
            }),
        }),
        _ => out.push(other_event("system", raw)),
    }
}

fn other_event(ty: &str, raw: &[u8]) -> JobEvent {
    JobEvent::Other {
        message_type: ty.to_string(),
        raw: serde_json::from_slice(raw).unwrap_or(Value::Null),
    }
}

fn blocks(content: Content, out: &mut Vec<JobEvent>) {
    let blocks = match content {
        Content::Blocks(b) => b,
        Content::Text(t) => {
            if !t.is_empty() {
                out.push(JobEvent::AssistantText { text: t });
            }
            return;
        }
        Content::None => return,
    };
    for b in blocks {
        match b.ty.as_str() {
            "text" => {
                if let Some(text) = b.text {
                    out.push(JobEvent::AssistantText { text });
                }
            }
            "tool_use" | "server_tool_use" => out.push(JobEvent::ToolUse {
                id: b.id,
                name: b.name.unwrap_or_default(),
                input: b.input.unwrap_or(Value::Null),
            }),
            "tool_result" => {
                let text = match b.content {
                    Some(Value::String(s)) => s,
                    Some(Value::Array(parts)) => parts
                        .iter()
                        .filter_map(|p| p.get("text").and_then(|t| t.as_str()))
                        .collect::<Vec<_>>()
                        .join("\n"),
                    Some(other) => other.to_string(),
                    None => String::new(),
                };
                out.push(JobEvent::ToolResult {
                    tool_use_id: b.tool_use_id,
                    is_error: b.is_error.unwrap_or(false),
                    content: truncate(&text, TOOL_RESULT_MAX).to_string(),
                });
            }
            _ => {}
        }
    }
}

fn trim(mut s: &[u8]) -> &[u8] {
    while let [first, rest @ ..] = s {
        if first.is_ascii_whitespace() {
            s = rest;
        } else {
            break;
        }
    }
    while let [rest @ .., last] = s {
        if last.is_ascii_whitespace() {
            s = rest;
        } else {
            break;
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(lines: &[&str]) -> (StreamState, Vec<JobEvent>) {
        let mut st = StreamState::default();
        let mut out = Vec::new();
        for l in lines {
            parse_line(l.as_bytes(), &mut st, &mut out);
        }
        (st, out)
    }

    #[test]
    fn init_text_tool_and_result() {
        let (st, ev) = parse(&[
            r#"{"type":"system","subtype":"init","session_id":"s1","model":"m","claude_code_version":"2.1.0","tools":["Write"]}"#,
            r#"{"type":"assistant","message":{"content":[{"type":"text","text":"hi"},{"type":"tool_use","id":"t1","name":"Write","input":{"file_path":"a"}}]}}"#,
            r#"{"type":"user","message":{"content":[{"type":"tool_result","tool_use_id":"t1","content":"ok"}]}}"#,
            r#"{"type":"result","subtype":"success","is_error":false,"result":"done","total_cost_usd":0.5,"usage":{"input_tokens":3,"output_tokens":4},"num_turns":2,"session_id":"s1"}"#,
        ]);
        assert_eq!(st.cli_version.as_deref(), Some("2.1.0"));
        assert!(
            matches!(&ev[0], JobEvent::Init { tools, .. } if tools == &vec!["Write".to_string()])
        );
        assert!(matches!(&ev[1], JobEvent::AssistantText { text } if text == "hi"));
        assert!(matches!(&ev[2], JobEvent::ToolUse { name, .. } if name == "Write"));
        assert!(matches!(&ev[3], JobEvent::ToolResult { content, .. } if content == "ok"));
        let r = st.result.unwrap();
        assert_eq!(r.total_cost_usd, Some(0.5));
        assert_eq!(r.usage.unwrap().output_tokens, 4);
    }

    #[test]
    fn api_error_is_an_error_even_with_success_subtype() {
        let (st, _) = parse(&[
            r#"{"type":"result","subtype":"success","is_error":true,"api_error_status":401,"terminal_reason":"api_error","result":"Invalid API key"}"#,
        ]);
        let r = st.result.unwrap();
        assert!(r.is_error);
        assert_eq!(r.api_error_status, Some(401));
    }

    #[test]
    fn garbage_becomes_warnings_and_unknown_types_pass_through() {
        let (_, ev) = parse(&["not json", "{broken", r#"{"type":"future","x":1}"#, ""]);
        assert_eq!(ev.len(), 3);
        assert!(matches!(
            &ev[0],
            JobEvent::Warning {
                kind: WarningKind::NotJson,
                ..
            }
        ));
        assert!(matches!(
            &ev[1],
            JobEvent::Warning {
                kind: WarningKind::NotJson,
                ..
            }
        ));
        assert!(
            matches!(&ev[2], JobEvent::Other { message_type, raw } if message_type == "future" && raw["x"] == 1)
        );
    }

    #[test]
    fn structured_output_and_denials_are_kept() {
        let (st, ev) = parse(&[
            r#"{"type":"result","subtype":"success","is_error":false,"result":"{\"name\":\"x\"}","structured_output":{"name":"x"},"permission_denials":[{"tool_name":"Bash","tool_use_id":"t1","tool_input":{"command":"touch a"}},"odd"]}"#,
        ]);
        let r = st.result.unwrap();
        assert_eq!(r.structured_output, Some(serde_json::json!({"name": "x"})));
        assert_eq!(r.permission_denials.len(), 1);
        assert_eq!(r.permission_denials[0].tool_name, "Bash");
        assert!(matches!(&ev[0], JobEvent::PermissionDenied { tool_name, tool_input, .. }
            if tool_name == "Bash" && tool_input["command"] == "touch a"));
        assert!(matches!(&ev[1], JobEvent::Result { .. }));
        let (st, _) = parse(&[r#"{"type":"result","is_error":false,"permission_denials":{"weird":1},"structured_output":null}"#]);
        let r = st.result.unwrap();
        assert!(r.permission_denials.is_empty() && r.structured_output.is_none());
    }

    #[test]
    fn retries_and_rate_limits() {
        let (_, ev) = parse(&[
            r#"{"type":"system","subtype":"api_retry","attempt":2,"max_retries":10,"retry_delay_ms":500,"error_status":529,"error":"overloaded_error"}"#,
            r#"{"type":"rate_limit_event","rate_limit_info":{"status":"allowed_warning","resetsAt":17,"rateLimitType":"five_hour"}}"#,
        ]);
        assert!(matches!(
            &ev[0],
            JobEvent::ApiRetry {
                attempt: 2,
                status: Some(529),
                ..
            }
        ));
        assert!(
            matches!(&ev[1], JobEvent::RateLimit { status, resets_at: Some(17), .. } if status == "allowed_warning")
        );
    }
}
