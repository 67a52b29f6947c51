//! Decides what to answer to one `/v1/messages` request.

use std::time::Duration;

use serde_json::{json, Value};

use crate::scenario::{
    has_tool_call, has_tool_call_named, last_tool_result, named_mcp_tools, resolve_output_path,
    sample_document, sample_text, tool_names, tool_result_text, tool_schema, tool_use_name,
    working_directory, Directives, Scenario,
};
use crate::sse::{error_json, Block};
use crate::MockConfig;

/// Bytes per `text_delta` for ordinary answers.
const TEXT_CHUNK_BYTES: usize = 48;
/// Bytes per `text_delta` for the `large` scenario.
const LARGE_CHUNK_BYTES: usize = 1024;
/// Default `Bash` command of the `bash` scenario. Not a bare `sleep 300`:
/// CLI 2.1.332 refuses a command whose first part is `sleep N` (N >= 2) with
/// "Blocked: standalone sleep 300" and never runs it.
pub const DEFAULT_BASH_COMMAND: &str = "echo 'mock: long command started' && sleep 300";
/// The tool through which CLI 2.1.332 takes a `--json-schema` answer.
pub const STRUCTURED_OUTPUT_TOOL: &str = "StructuredOutput";
/// The `text` the `mcp` scenario passes to the MCP tool by default.
pub const DEFAULT_MCP_TEXT: &str = "hello from mock-anthropic";

/// What the server sends back.
#[derive(Clone, Debug, PartialEq)]
pub enum Reply {
    /// An HTTP error with an Anthropic error body.
    Error {
        status: u16,
        body: Value,
        retry_after_ms: Option<u64>,
    },
    /// An assistant message (streamed or not, as the request asks).
    Message {
        blocks: Vec<Block>,
        stop_reason: &'static str,
        /// Pause before each content delta (the `slow` scenario).
        delta_interval: Option<Duration>,
    },
}

/// The parts of a request that decide the answer.
#[derive(Clone, Debug, PartialEq)]
pub struct Analysis {
    pub scenario: Scenario,
    pub directives: Directives,
    pub cwd: Option<String>,
}

/// Reads the scenario and directives from a request body (every prompt of
/// a resumed conversation, the latest winning).
pub fn analyze(req: &Value, default: Scenario) -> Analysis {
    let directives = Directives::of_request(req);
    Analysis {
        scenario: directives.scenario.unwrap_or(default),
        cwd: working_directory(req),
        directives,
    }
}

/// HTTP 529 `overloaded_error`.
pub fn overloaded(retry_after_ms: Option<u64>) -> Reply {
    Reply::Error {
        status: 529,
        body: error_json("overloaded_error", "Overloaded"),
        retry_after_ms,
    }
}

/// HTTP 429 `rate_limit_error`.
pub fn rate_limited(retry_after_ms: u64) -> Reply {
    Reply::Error {
        status: 429,
        body: error_json("rate_limit_error", "Number of request tokens has exceeded your per-minute rate limit"),
        retry_after_ms: Some(retry_after_ms),
    }
}

/// HTTP 401 `authentication_error`.
pub fn unauthorized() -> Reply {
    Reply::Error {
        status: 401,
        body: error_json("authentication_error", "invalid x-api-key"),
        retry_after_ms: None,
    }
}

fn text(s: &str) -> Reply {
    Reply::Message {
        blocks: vec![Block::text(s, TEXT_CHUNK_BYTES)],
        stop_reason: "end_turn",
        delta_interval: None,
    }
}

fn tool_call(preface: &str, tool_id: &str, name: &str, input: Value) -> Reply {
    Reply::Message {
        blocks: vec![
            Block::text(preface, TEXT_CHUNK_BYTES),
            Block::ToolUse {
                id: tool_id.to_string(),
                name: name.to_string(),
                input,
            },
        ],
        stop_reason: "tool_use",
        delta_interval: None,
    }
}

fn clip(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// The answer for a request whose scenario does not fail it (the caller
/// handles the `overloaded` counter). `tool_id` names a new tool call.
///
/// A request that offers the `StructuredOutput` tool (the CLI's
/// `--json-schema`) gets, instead of a final text, one call of it with
/// `mock-structured-output: JSON` or a sample of its schema.
pub fn answer(req: &Value, a: &Analysis, cfg: &MockConfig, tool_id: &str) -> Reply {
    let reply = scenario_answer(req, a, cfg, tool_id);
    if !matches!(&reply, Reply::Message { stop_reason: "end_turn", .. }) {
        return reply;
    }
    match tool_schema(req, STRUCTURED_OUTPUT_TOOL) {
        Some(schema) if !has_tool_call_named(req, STRUCTURED_OUTPUT_TOOL) => {
            let input = (a.directives.structured_output.clone()).unwrap_or_else(|| crate::schema::sample(schema));
            tool_call("Here is the structured output.", tool_id, STRUCTURED_OUTPUT_TOOL, input)
        }
        _ => reply,
    }
}

/// The CLI's tool that loads deferred tools (MCP tools among them).
pub const TOOL_SEARCH: &str = "ToolSearch";

/// The MCP tool the `mcp` scenario calls: `mock-mcp-tool:`, else the first
/// `mcp__…` tool offered, else the first named as a deferred tool.
fn mcp_tool(req: &Value, d: &Directives) -> Option<String> {
    d.mcp_tool
        .clone()
        .or_else(|| tool_names(req).into_iter().find(|t| t.starts_with("mcp__")).map(String::from))
        .or_else(|| named_mcp_tools(req).into_iter().next())
}

/// The `mcp` scenario before the MCP tool's result: the tool called when it
/// is offered (or `mock-tool-anyway`); a deferred one loaded first with
/// `ToolSearch` (`select:NAME`), as a model does; else a text.
fn mcp_call(req: &Value, d: &Directives, tool_id: &str, loaded: bool) -> Reply {
    let tools = tool_names(req);
    let Some(name) = mcp_tool(req, d) else {
        return text("No MCP tool was offered (offline sample text from the mock).");
    };
    if loaded || d.tool_anyway || tools.contains(&name.as_str()) {
        let input = json!({"text": d.mcp_text.as_deref().unwrap_or(DEFAULT_MCP_TEXT)});
        return tool_call(&format!("I'll call {name}."), tool_id, &name, input);
    }
    if tools.contains(&TOOL_SEARCH) && !has_tool_call_named(req, TOOL_SEARCH) {
        let input = json!({"query": format!("select:{name}")});
        return tool_call(&format!("I'll load {name} first."), tool_id, TOOL_SEARCH, input);
    }
    text(&format!("{name} is not offered (offline sample text from the mock)."))
}

fn scenario_answer(req: &Value, a: &Analysis, cfg: &MockConfig, tool_id: &str) -> Reply {
    let d = &a.directives;
    let first_line = d.first_line.as_deref();
    let tools = tool_names(req);
    let output_path = resolve_output_path(d.output_file.as_deref(), a.cwd.as_deref());

    if a.scenario == Scenario::Unauthorized {
        return unauthorized();
    }

    // Second turn: the CLI sends back what the tool did.
    if let Some(result) = last_tool_result(req) {
        let id = result.get("tool_use_id").and_then(Value::as_str).unwrap_or("");
        if a.scenario == Scenario::Mcp && tool_use_name(req, id) == Some(TOOL_SEARCH) {
            return mcp_call(req, d, tool_id, true);
        }
        let failed = result
            .get("is_error")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let out = tool_result_text(result);
        return match (a.scenario, failed) {
            (Scenario::Write, false) => text(&format!("Wrote {output_path}")),
            (Scenario::Write, true) => text(&format!("Could not write {output_path}: {}", clip(&out, 500))),
            (Scenario::Bash, false) => text(&format!(
                "The command returned (offline sample text from the mock). Tool result:\n\n```\n{}\n```",
                clip(&out, 2000)
            )),
            (Scenario::Bash, true) => text(&format!("The command failed: {}", clip(&out, 2000))),
            (Scenario::Mcp, false) => text(&format!("The MCP tool answered: {}", clip(&out, 2000))),
            (Scenario::Mcp, true) => text(&format!("The MCP tool failed: {}", clip(&out, 2000))),
            _ => text("Done (offline sample text from the mock)."),
        };
    }

    // A later turn without a tool result, e.g. the CLI's `<task-notification>`
    // when a command it moved to the background ends: do not call the tool
    // again (that would start the command again, forever).
    if has_tool_call(req) && matches!(a.scenario, Scenario::Write | Scenario::Bash | Scenario::Mcp) {
        return text("Noted (offline sample text from the mock); nothing more to do.");
    }

    let offered = |name: &str| d.tool_anyway || tools.contains(&name);
    match a.scenario {
        Scenario::Write if offered("Write") => tool_call(
            &format!("I'll write the document to {output_path}."),
            tool_id,
            "Write",
            json!({"file_path": output_path, "content": sample_document(first_line)}),
        ),
        Scenario::Bash if offered("Bash") => tool_call(
            "I'll run the command.",
            tool_id,
            "Bash",
            json!({
                "command": d.bash_command.as_deref().unwrap_or(DEFAULT_BASH_COMMAND),
                "description": "long command",
            }),
        ),
        Scenario::Mcp => mcp_call(req, d, tool_id, false),
        Scenario::Slow => {
            let total = d.slow_seconds.unwrap_or(cfg.slow_seconds);
            let interval = cfg.slow_interval.max(Duration::from_millis(1));
            let n = ((total / interval.as_secs_f64()).ceil() as usize).max(1);
            let mut deltas = vec![format!(
                "# Slow offline sample\n\nThis is offline sample text from the mock, streamed one piece every {} ms.\n\n",
                interval.as_millis()
            )];
            deltas.extend((2..=n).map(|i| format!("- part {i} of {n}\n")));
            Reply::Message {
                blocks: vec![Block::Text { deltas }],
                stop_reason: "end_turn",
                delta_interval: Some(interval),
            }
        }
        Scenario::Large => {
            let size = d.large_bytes.unwrap_or(cfg.large_bytes);
            let mut s = String::with_capacity(size + 128);
            s.push_str(
                "# Large offline sample\n\nThis is offline sample text from the mock, about ",
            );
            s.push_str(&format!("{size} bytes long.\n\n"));
            let mut i = 0usize;
            while s.len() < size {
                i += 1;
                s.push_str(&format!(
                    "{i:>6}. Offline sample line from mock-anthropic; nothing here was written by a model.\n"
                ));
            }
            Reply::Message {
                blocks: vec![Block::text(&s, LARGE_CHUNK_BYTES)],
                stop_reason: "end_turn",
                delta_interval: None,
            }
        }
        _ => text(&sample_text(first_line)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(prompt: &str) -> Value {
        json!({
            "model": "m", "stream": true, "max_tokens": 32000,
            "messages": [
                {"role": "user", "content": [{"type": "text", "text": prompt}]},
                {"role": "system", "content": "# Environment\n - Primary working directory: /job\n"}
            ],
            "tools": [{"name": "Write"}, {"name": "Bash"}]
        })
    }

    fn tool_input(r: &Reply) -> (&str, &Value) {
        match r {
            Reply::Message {
                blocks,
                stop_reason: "tool_use",
                ..
            } => match &blocks[1] {
                Block::ToolUse { name, input, .. } => (name, input),
                b => panic!("not a tool call: {b:?}"),
            },
            r => panic!("not a tool call: {r:?}"),
        }
    }

    fn text_of(r: &Reply) -> String {
        match r {
            Reply::Message { blocks, .. } => match &blocks[0] {
                Block::Text { deltas } => deltas.concat(),
                b => panic!("not text: {b:?}"),
            },
            r => panic!("not a message: {r:?}"),
        }
    }

    #[test]
    fn write_then_final_text() {
        let cfg = MockConfig::default();
        let mut r = req("Write a brief.\nOutput file: brief.md\nmock-scenario: write");
        let a = analyze(&r, Scenario::Text);
        assert_eq!(a.scenario, Scenario::Write);
        let first = answer(&r, &a, &cfg, "toolu_1");
        let (name, input) = tool_input(&first);
        assert_eq!(name, "Write");
        assert_eq!(input["file_path"], "/job/brief.md");
        assert!(input["content"]
            .as_str()
            .unwrap()
            .contains("Write a brief."));

        let msgs = r["messages"].as_array_mut().unwrap();
        msgs.push(json!({"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_1", "name": "Write", "input": {}}]}));
        msgs.push(json!({"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "ok"}]}));
        assert_eq!(
            text_of(&answer(&r, &a, &cfg, "toolu_2")),
            "Wrote /job/brief.md"
        );

        // A later notification turn (no tool_result) must not call the tool again.
        let msgs = r["messages"].as_array_mut().unwrap();
        msgs.push(json!({"role": "assistant", "content": [{"type": "text", "text": "Wrote it"}]}));
        msgs.push(json!({"role": "user", "content": [{"type": "text", "text": "<task-notification>done</task-notification>"}]}));
        assert!(text_of(&answer(&r, &a, &cfg, "toolu_3")).starts_with("Noted"));
    }

    #[test]
    fn bash_command_override() {
        let cfg = MockConfig::default();
        let r = req("mock-scenario: bash\nmock-bash-command: echo hi; sleep 1\nRun it");
        let a = analyze(&r, Scenario::Text);
        let reply = answer(&r, &a, &cfg, "t");
        let (name, input) = tool_input(&reply);
        assert_eq!(name, "Bash");
        assert_eq!(input["command"], "echo hi; sleep 1");
        let r = req("Run it");
        let a = analyze(&r, Scenario::Bash);
        assert_eq!(
            tool_input(&answer(&r, &a, &cfg, "t")).1["command"],
            DEFAULT_BASH_COMMAND
        );
    }

    #[test]
    fn tool_scenarios_without_tools_answer_text() {
        let cfg = MockConfig::default();
        let r = json!({"messages": [{"role": "user", "content": "mock-scenario: write\nhi"}]});
        let a = analyze(&r, Scenario::Text);
        assert!(text_of(&answer(&r, &a, &cfg, "t")).contains("offline sample text"));
    }

    #[test]
    fn slow_large_unauthorized() {
        let cfg = MockConfig::default();
        let r = req("mock-scenario: slow\nmock-slow-seconds: 1");
        let a = analyze(&r, Scenario::Text);
        match answer(&r, &a, &cfg, "t") {
            Reply::Message {
                blocks,
                delta_interval: Some(iv),
                ..
            } => {
                let Block::Text { deltas } = &blocks[0] else {
                    panic!()
                };
                assert_eq!(deltas.len() as u128, 1000 / iv.as_millis());
            }
            r => panic!("{r:?}"),
        }
        let r = req("hi");
        let a = analyze(&r, Scenario::Large);
        match answer(&r, &a, &cfg, "t") {
            Reply::Message { blocks, .. } => {
                let Block::Text { deltas } = &blocks[0] else {
                    panic!()
                };
                let len: usize = deltas.iter().map(String::len).sum();
                assert!(len >= cfg.large_bytes && len < cfg.large_bytes + 200);
                assert!(deltas.len() > 900);
            }
            r => panic!("{r:?}"),
        }
        let a = analyze(&r, Scenario::Unauthorized);
        assert!(matches!(
            answer(&r, &a, &cfg, "t"),
            Reply::Error { status: 401, .. }
        ));
    }

    #[test]
    fn structured_output_tool_is_called_once() {
        let cfg = MockConfig::default();
        let schema = json!({"type": "object", "properties": {"name": {"type": "string"}}});
        let mut r = req("give me json");
        r["tools"] = json!([{"name": "StructuredOutput", "input_schema": schema}]);
        let a = analyze(&r, Scenario::Text);
        let reply = answer(&r, &a, &cfg, "t1");
        let (name, input) = tool_input(&reply);
        assert_eq!((name, input), ("StructuredOutput", &json!({"name": "sample name"})));
        let mut r2 = req("give me json\nmock-structured-output: {\"name\": \"Kettle\", \"n\": 3}");
        r2["tools"] = r["tools"].clone();
        let a2 = analyze(&r2, Scenario::Text);
        assert_eq!(tool_input(&answer(&r2, &a2, &cfg, "t1")).1, &json!({"name": "Kettle", "n": 3}));
        // Once called in this turn, a re-prompt gets text.
        let msgs = r["messages"].as_array_mut().unwrap();
        msgs.push(json!({"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "StructuredOutput", "input": {}}]}));
        msgs.push(json!({"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": "bad", "is_error": true}]}));
        assert!(text_of(&answer(&r, &a, &cfg, "t2")).contains("Done"));
    }

    #[test]
    fn mcp_tool_call_then_its_result() {
        let cfg = MockConfig::default();
        let mut r = req("mock-scenario: mcp\nmock-mcp-text: ping");
        r["tools"] = json!([{"name": "Bash"}, {"name": "mcp__echo__echo"}]);
        let a = analyze(&r, Scenario::Text);
        let reply = answer(&r, &a, &cfg, "t1");
        let (name, input) = tool_input(&reply);
        assert_eq!((name, input), ("mcp__echo__echo", &json!({"text": "ping"})));
        let msgs = r["messages"].as_array_mut().unwrap();
        msgs.push(json!({"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "mcp__echo__echo", "input": {}}]}));
        msgs.push(json!({"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": [{"type": "text", "text": "ping"}]}]}));
        assert_eq!(text_of(&answer(&r, &a, &cfg, "t2")), "The MCP tool answered: ping");
        let r = req("mock-scenario: mcp");
        assert!(text_of(&answer(&r, &analyze(&r, Scenario::Text), &cfg, "t")).contains("No MCP tool"));
        // A deferred tool (named in a system message) is loaded with ToolSearch first.
        let mut r = req("mock-scenario: mcp");
        r["messages"][1]["content"] = json!("deferred tools:\nWebFetch\nmcp__echo__echo\n");
        r["tools"] = json!([{"name": "ToolSearch"}]);
        let a = analyze(&r, Scenario::Text);
        let reply = answer(&r, &a, &cfg, "t1");
        assert_eq!(tool_input(&reply), ("ToolSearch", &json!({"query": "select:mcp__echo__echo"})));
        let msgs = r["messages"].as_array_mut().unwrap();
        msgs.push(json!({"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "ToolSearch", "input": {}}]}));
        msgs.push(json!({"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": "<functions>…</functions>"}]}));
        let reply = answer(&r, &a, &cfg, "t2");
        assert_eq!(tool_input(&reply).0, "mcp__echo__echo");
    }

    #[test]
    fn a_resumed_conversation_answers_its_latest_prompt() {
        let cfg = MockConfig::default();
        let r = json!({"messages": [
            {"role": "user", "content": [{"type": "text", "text": "first run\nmock-scenario: bash\nmock-bash-command: echo one"}]},
            {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "Bash", "input": {}}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": "interrupted", "is_error": true}]},
            {"role": "assistant", "content": [{"type": "text", "text": "No response requested."}]},
            {"role": "user", "content": [{"type": "text", "text": "<system-reminder>x</system-reminder>second run"}]}
        ], "tools": [{"name": "Bash"}]});
        let a = analyze(&r, Scenario::Text);
        assert_eq!(a.scenario, Scenario::Bash, "the first prompt's scenario carries over");
        assert_eq!(a.directives.first_line.as_deref(), Some("second run"));
        // A new turn: the tool is called again, with the earlier directives.
        assert_eq!(tool_input(&answer(&r, &a, &cfg, "t2")).1["command"], "echo one");
    }

    #[test]
    fn tool_anyway_calls_a_tool_that_is_not_offered() {
        let cfg = MockConfig::default();
        let r = json!({"messages": [{"role": "user", "content": "mock-scenario: bash\nmock-tool-anyway: yes"}],
                       "tools": [{"name": "Read"}]});
        assert_eq!(tool_input(&answer(&r, &analyze(&r, Scenario::Text), &cfg, "t")).0, "Bash");
    }
}
