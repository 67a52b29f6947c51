//! Decides what to answer to one `/v1/messages` request.

use std::time::Duration;

use serde_json::{json, Value};

use crate::scenario::{
    has_tool_call, last_tool_result, prompt_text, resolve_output_path, sample_document,
    sample_text, tool_names, tool_result_text, working_directory, Directives, Scenario,
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

/// Reads the scenario and directives from a request body.
pub fn analyze(req: &Value, default: Scenario) -> Analysis {
    let directives = Directives::parse(&prompt_text(req));
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
pub fn answer(req: &Value, a: &Analysis, cfg: &MockConfig, tool_id: &str) -> Reply {
    let d = &a.directives;
    let first_line = d.first_line.as_deref();
    let tools = tool_names(req);
    let output_path = resolve_output_path(d.output_file.as_deref(), a.cwd.as_deref());

    if a.scenario == Scenario::Unauthorized {
        return unauthorized();
    }

    // Second turn: the CLI sends back what the tool did.
    if let Some(result) = last_tool_result(req) {
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
            _ => text("Done (offline sample text from the mock)."),
        };
    }

    // A later turn without a tool result, e.g. the CLI's `<task-notification>`
    // when a command it moved to the background ends: do not call the tool
    // again (that would start the command again, forever).
    if has_tool_call(req) && matches!(a.scenario, Scenario::Write | Scenario::Bash) {
        return text("Noted (offline sample text from the mock); nothing more to do.");
    }

    match a.scenario {
        Scenario::Write if tools.contains(&"Write") => tool_call(
            &format!("I'll write the document to {output_path}."),
            tool_id,
            "Write",
            json!({"file_path": output_path, "content": sample_document(first_line)}),
        ),
        Scenario::Bash if tools.contains(&"Bash") => tool_call(
            "I'll run the command.",
            tool_id,
            "Bash",
            json!({
                "command": d.bash_command.as_deref().unwrap_or(DEFAULT_BASH_COMMAND),
                "description": "long command",
            }),
        ),
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
}
