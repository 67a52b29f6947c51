//! Scenarios and the prompt directives that select and tune them.
//!
//! A request's scenario is the server default unless the conversation's first
//! user message contains a line `mock-scenario: NAME`. Other directives:
//! `Output file: PATH` (write), `mock-bash-command: CMD` (bash),
//! `mock-slow-seconds: N` (slow), `mock-overloaded-count: N` (overloaded),
//! `mock-large-bytes: N` (large), `mock-mcp-tool: NAME` and `mock-mcp-text: TEXT`
//! (mcp), `mock-structured-output: JSON` (any request that offers the
//! `StructuredOutput` tool), `mock-tool-anyway: yes` (call the scenario's tool
//! even when the request does not offer it).
//!
//! A resumed conversation holds several prompts (one per run): directives are
//! read from all of them, a later prompt's overriding an earlier one's, and
//! a tool is called once per turn (since the latest prompt).

use std::fmt;
use std::str::FromStr;

use serde_json::Value;

/// What the mock answers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Scenario {
    /// Plain markdown text, `stop_reason: end_turn`.
    #[default]
    Text,
    /// A `Write` tool call, then `Wrote PATH`.
    Write,
    /// A `Bash` tool call (`sleep 300` unless overridden), then a short text.
    Bash,
    /// HTTP 529 `overloaded_error` for the first N requests, then text.
    Overloaded,
    /// HTTP 401 `authentication_error`.
    Unauthorized,
    /// Text streamed slowly (one delta per interval).
    Slow,
    /// About 1 MB of text in many deltas.
    Large,
    /// A call of an MCP tool (the first `mcp__…` tool offered, or
    /// `mock-mcp-tool: NAME`), then a text quoting its result.
    Mcp,
}

impl Scenario {
    pub const ALL: [Scenario; 8] = [
        Scenario::Text,
        Scenario::Write,
        Scenario::Bash,
        Scenario::Overloaded,
        Scenario::Unauthorized,
        Scenario::Slow,
        Scenario::Large,
        Scenario::Mcp,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Scenario::Text => "text",
            Scenario::Write => "write",
            Scenario::Bash => "bash",
            Scenario::Overloaded => "overloaded",
            Scenario::Unauthorized => "unauthorized",
            Scenario::Slow => "slow",
            Scenario::Large => "large",
            Scenario::Mcp => "mcp",
        }
    }
}

impl fmt::Display for Scenario {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Error for an unknown scenario name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownScenario(pub String);

impl fmt::Display for UnknownScenario {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = Scenario::ALL.iter().map(|s| s.as_str()).collect();
        write!(
            f,
            "unknown scenario {:?} (expected one of: {})",
            self.0,
            names.join(", ")
        )
    }
}

impl std::error::Error for UnknownScenario {}

impl FromStr for Scenario {
    type Err = UnknownScenario;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        Scenario::ALL
            .into_iter()
            .find(|sc| sc.as_str().eq_ignore_ascii_case(t))
            .ok_or_else(|| UnknownScenario(t.to_string()))
    }
}

/// Directives found in the prompt (the first user message's text).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Directives {
    pub scenario: Option<Scenario>,
    /// `Output file: PATH`, as written (may be relative).
    pub output_file: Option<String>,
    /// `mock-bash-command: CMD`.
    pub bash_command: Option<String>,
    /// `mock-slow-seconds: N`.
    pub slow_seconds: Option<f64>,
    /// `mock-overloaded-count: N`.
    pub overloaded_count: Option<u32>,
    /// `mock-large-bytes: N`.
    pub large_bytes: Option<usize>,
    /// `mock-mcp-tool: NAME` (mcp): the tool to call.
    pub mcp_tool: Option<String>,
    /// `mock-mcp-text: TEXT` (mcp): the `text` argument of the call.
    pub mcp_text: Option<String>,
    /// `mock-structured-output: JSON`: the `StructuredOutput` call's input.
    pub structured_output: Option<Value>,
    /// `mock-tool-anyway: yes`: call the scenario's tool even when the
    /// request does not offer it (to see what the CLI does then).
    pub tool_anyway: bool,
    /// First non-empty line of the prompt that is not a `mock-` directive.
    pub first_line: Option<String>,
}

/// Value after `key` (case-insensitive) anywhere in `line`, trimmed.
fn after_key<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    let pos = line.to_ascii_lowercase().find(&key.to_ascii_lowercase())?;
    Some(line[pos + key.len()..].trim())
}

/// First token of `s`: a quoted/backticked string, or up to whitespace, with
/// trailing sentence punctuation removed.
fn first_token(s: &str) -> Option<String> {
    let s = s.trim();
    let first = s.chars().next()?;
    if matches!(first, '"' | '\'' | '`') {
        let rest = &s[1..];
        let end = rest.find(first).unwrap_or(rest.len());
        let v = &rest[..end];
        return (!v.is_empty()).then(|| v.to_string());
    }
    let tok = s.split_whitespace().next()?;
    let tok = tok.trim_end_matches(['.', ',', ';', ':', ')', '!', '?']);
    (!tok.is_empty()).then(|| tok.to_string())
}

impl Directives {
    /// Parses directives from prompt text.
    pub fn parse(prompt: &str) -> Directives {
        let mut d = Directives::default();
        for raw in prompt.lines() {
            let line = raw.trim();
            if line.is_empty() {
                continue;
            }
            let is_directive = line.to_ascii_lowercase().starts_with("mock-");
            if d.first_line.is_none() && !is_directive {
                d.first_line = Some(line.to_string());
            }
            if let Some(v) = after_key(line, "mock-scenario:") {
                if let Some(Ok(sc)) = first_token(v).map(|t| t.parse()) {
                    d.scenario.get_or_insert(sc);
                }
            }
            if let Some(v) = after_key(line, "mock-bash-command:") {
                if !v.is_empty() && d.bash_command.is_none() {
                    d.bash_command = Some(v.to_string());
                }
            }
            if let Some(v) = after_key(line, "mock-slow-seconds:") {
                if let Some(n) = first_token(v).and_then(|t| t.parse::<f64>().ok()) {
                    if n.is_finite() && n >= 0.0 {
                        d.slow_seconds.get_or_insert(n);
                    }
                }
            }
            if let Some(v) = after_key(line, "mock-overloaded-count:") {
                if let Some(n) = first_token(v).and_then(|t| t.parse::<u32>().ok()) {
                    d.overloaded_count.get_or_insert(n);
                }
            }
            if let Some(v) = after_key(line, "mock-large-bytes:") {
                if let Some(n) = first_token(v).and_then(|t| t.parse::<usize>().ok()) {
                    d.large_bytes.get_or_insert(n);
                }
            }
            if let Some(v) = after_key(line, "output file:") {
                if d.output_file.is_none() {
                    d.output_file = first_token(v);
                }
            }
            d.parse_agent_directives(line);
        }
        d
    }

    /// The directives of the agent-option scenarios (mcp, structured output).
    fn parse_agent_directives(&mut self, line: &str) {
        if let Some(v) = after_key(line, "mock-mcp-tool:") {
            self.mcp_tool = self.mcp_tool.take().or_else(|| first_token(v));
        }
        if let Some(v) = after_key(line, "mock-mcp-text:") {
            if !v.is_empty() && self.mcp_text.is_none() {
                self.mcp_text = Some(v.to_string());
            }
        }
        if let Some(v) = after_key(line, "mock-structured-output:") {
            if let Ok(json) = serde_json::from_str::<Value>(v) {
                self.structured_output.get_or_insert(json);
            }
        }
        if let Some(v) = after_key(line, "mock-tool-anyway:") {
            self.tool_anyway |= matches!(
                first_token(v).as_deref().map(str::to_ascii_lowercase).as_deref(),
                Some("yes" | "true" | "1")
            );
        }
    }

    /// These directives with `later`'s where it sets them (a resumed
    /// conversation: the latest prompt wins, earlier ones fill the gaps).
    pub fn overridden_by(self, later: Directives) -> Directives {
        Directives {
            scenario: later.scenario.or(self.scenario),
            output_file: later.output_file.or(self.output_file),
            bash_command: later.bash_command.or(self.bash_command),
            slow_seconds: later.slow_seconds.or(self.slow_seconds),
            overloaded_count: later.overloaded_count.or(self.overloaded_count),
            large_bytes: later.large_bytes.or(self.large_bytes),
            mcp_tool: later.mcp_tool.or(self.mcp_tool),
            mcp_text: later.mcp_text.or(self.mcp_text),
            structured_output: later.structured_output.or(self.structured_output),
            tool_anyway: later.tool_anyway || self.tool_anyway,
            first_line: later.first_line.or(self.first_line),
        }
    }

    /// The directives of a whole conversation: every prompt's, in order.
    pub fn of_request(req: &Value) -> Directives {
        prompt_texts(req)
            .into_iter()
            .map(|(_, text)| Directives::parse(&text))
            .fold(Directives::default(), Directives::overridden_by)
    }
}

/// Removes the `<system-reminder>…</system-reminder>` sections the CLI
/// prepends, and its `<task-notification>…</task-notification>` turns.
fn strip_reminders(text: &str) -> String {
    let text = strip_sections(text, "<system-reminder>", "</system-reminder>");
    strip_sections(&text, "<task-notification>", "</task-notification>")
}

fn strip_sections(text: &str, open: &str, close: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find(open) {
        out.push_str(&rest[..start]);
        match rest[start..].find(close) {
            Some(end) => rest = &rest[start + end + close.len()..],
            None => {
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// Text blocks of a message's `content` (a string or an array of blocks).
fn content_texts(content: &Value) -> Vec<&str> {
    match content {
        Value::String(s) => vec![s.as_str()],
        Value::Array(blocks) => blocks
            .iter()
            .filter(|b| b.get("type").and_then(Value::as_str) == Some("text"))
            .filter_map(|b| b.get("text").and_then(Value::as_str))
            .collect(),
        _ => Vec::new(),
    }
}

fn messages(req: &Value) -> &[Value] {
    req.get("messages")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

/// The prompts of a conversation: `(index in messages, text)` of each
/// `user` message with text besides the CLI's `<system-reminder>` sections
/// and `<task-notification>` turns. One per run of a resumed session.
pub fn prompt_texts(req: &Value) -> Vec<(usize, String)> {
    messages(req)
        .iter()
        .enumerate()
        .filter(|(_, m)| m.get("role").and_then(Value::as_str) == Some("user"))
        .filter_map(|(i, m)| {
            let texts: Vec<String> = m
                .get("content")
                .map(content_texts)
                .unwrap_or_default()
                .into_iter()
                .map(strip_reminders)
                .filter(|t| !t.trim().is_empty())
                .collect();
            (!texts.is_empty()).then(|| (i, texts.join("\n")))
        })
        .collect()
}

/// The prompt of the current turn: the latest prompt (see [`prompt_texts`]).
pub fn prompt_text(req: &Value) -> String {
    prompt_texts(req).pop().map(|(_, t)| t).unwrap_or_default()
}

/// The messages of the current turn: those after the latest prompt.
pub fn current_turn(req: &Value) -> &[Value] {
    let all = messages(req);
    match prompt_texts(req).last() {
        Some((i, _)) => &all[i + 1..],
        None => all,
    }
}

/// The CLI's working directory as announced in its environment section
/// (`Primary working directory: /x` in a system-role message in 2.1.x,
/// `Working directory: /x` in the system prompt of older versions).
pub fn working_directory(req: &Value) -> Option<String> {
    let mut texts: Vec<&str> = Vec::new();
    if let Some(sys) = req.get("system") {
        texts.extend(content_texts(sys));
    }
    for m in messages(req) {
        if let Some(c) = m.get("content") {
            texts.extend(content_texts(c));
        }
    }
    for text in texts {
        for line in text.lines() {
            let line = line.trim().trim_start_matches(['-', '*']).trim();
            for key in ["Primary working directory:", "Working directory:"] {
                if let Some(v) = line.strip_prefix(key) {
                    let v = v.trim();
                    if v.starts_with('/') {
                        return Some(v.to_string());
                    }
                }
            }
        }
    }
    None
}

/// A `tool_result` block in the last user message, if any.
pub fn last_tool_result(req: &Value) -> Option<&Value> {
    let last_user = messages(req)
        .iter()
        .rev()
        .find(|m| m.get("role").and_then(Value::as_str) == Some("user"))?;
    last_user
        .get("content")?
        .as_array()?
        .iter()
        .find(|b| b.get("type").and_then(Value::as_str) == Some("tool_result"))
}

/// Whether an assistant message of the current turn called a tool.
pub fn has_tool_call(req: &Value) -> bool {
    turn_tool_calls(req).next().is_some()
}

/// Whether an assistant message of the current turn called the tool `name`.
pub fn has_tool_call_named(req: &Value, name: &str) -> bool {
    turn_tool_calls(req).any(|b| b.get("name").and_then(Value::as_str) == Some(name))
}

fn turn_tool_calls(req: &Value) -> impl Iterator<Item = &Value> {
    current_turn(req)
        .iter()
        .filter(|m| m.get("role").and_then(Value::as_str) == Some("assistant"))
        .filter_map(|m| m.get("content").and_then(Value::as_array))
        .flatten()
        .filter(|b| b.get("type").and_then(Value::as_str) == Some("tool_use"))
}

/// MCP tools named in the request's texts: CLI 2.1.332 offers MCP tools as
/// "deferred" tools, listed by name in its environment message, to be
/// loaded with its `ToolSearch` tool (`select:NAME`) before they are called.
pub fn named_mcp_tools(req: &Value) -> Vec<String> {
    let mut texts: Vec<&str> = req.get("system").map(content_texts).unwrap_or_default();
    for m in messages(req) {
        if let Some(c) = m.get("content") {
            texts.extend(content_texts(c));
        }
    }
    let mut out: Vec<String> = Vec::new();
    for t in texts {
        for tok in t.split(|c: char| c.is_whitespace() || matches!(c, ',' | '"' | '`' | '\'' | '(' | ')')) {
            let tok = tok.trim_end_matches(['.', ':', ';']);
            if tok.starts_with("mcp__") && tok.len() > 5 && !out.iter().any(|o| o == tok) {
                out.push(tok.to_string());
            }
        }
    }
    out
}

/// The name of the tool the `tool_use` block `id` called.
pub fn tool_use_name<'a>(req: &'a Value, id: &str) -> Option<&'a str> {
    messages(req)
        .iter()
        .filter_map(|m| m.get("content").and_then(Value::as_array))
        .flatten()
        .find(|b| b.get("type").and_then(Value::as_str) == Some("tool_use") && b.get("id").and_then(Value::as_str) == Some(id))?
        .get("name")?
        .as_str()
}

/// The request's system text (its `system` blocks joined by newlines).
pub fn system_text(req: &Value) -> String {
    req.get("system").map(|s| content_texts(s).join("\n")).unwrap_or_default()
}

/// The `input_schema` of the offered tool `name`.
pub fn tool_schema<'a>(req: &'a Value, name: &str) -> Option<&'a Value> {
    req.get("tools")?
        .as_array()?
        .iter()
        .find(|t| t.get("name").and_then(Value::as_str) == Some(name))?
        .get("input_schema")
}

/// Text of a `tool_result` block's content (string or text blocks).
pub fn tool_result_text(block: &Value) -> String {
    block
        .get("content")
        .map(|c| content_texts(c).join("\n"))
        .unwrap_or_default()
}

/// Names of the tools the request offers.
pub fn tool_names(req: &Value) -> Vec<&str> {
    req.get("tools")
        .and_then(Value::as_array)
        .map(|ts| {
            ts.iter()
                .filter_map(|t| t.get("name").and_then(Value::as_str))
                .collect()
        })
        .unwrap_or_default()
}

/// Resolves the `Output file:` path against the CLI's working directory.
pub fn resolve_output_path(output_file: Option<&str>, cwd: Option<&str>) -> String {
    let p = output_file.unwrap_or("output.md");
    if p.starts_with('/') {
        return p.to_string();
    }
    match cwd {
        Some(dir) => format!(
            "{}/{}",
            dir.trim_end_matches('/'),
            p.trim_start_matches("./")
        ),
        None => p.to_string(),
    }
}

/// Sample markdown for the text-like scenarios.
pub fn sample_text(first_line: Option<&str>) -> String {
    let topic = first_line.unwrap_or("(empty prompt)");
    format!(
        "# Offline sample answer\n\n\
         **This is offline sample text from mock-anthropic**, a loopback mock of the \
         Anthropic Messages API. No model was called.\n\n\
         You asked:\n\n> {topic}\n\n\
         - The request reached the mock and was answered locally.\n\
         - Usage and cost figures in this run are made up by the mock.\n"
    )
}

/// Sample markdown written to the output file by the `write` scenario.
pub fn sample_document(first_line: Option<&str>) -> String {
    let topic = first_line.unwrap_or("(empty prompt)");
    format!(
        "# {topic}\n\n\
         _Offline sample text written by mock-anthropic (a loopback mock of the Anthropic \
         Messages API); no model was called._\n\n\
         ## Summary\n\n\
         This document stands in for what a real model would have written for the prompt \
         above. It exists so that demos and tests can check that a job ran end to end: the \
         CLI received a `Write` tool call and executed it.\n\n\
         ## Key points\n\n\
         1. The prompt was received and parsed.\n\
         2. The file was written by the real CLI's `Write` tool.\n\
         3. Replace the mock with the real API to get real content.\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_all_scenario_names() {
        for sc in Scenario::ALL {
            assert_eq!(sc.as_str().parse::<Scenario>(), Ok(sc));
            assert_eq!(sc.to_string().to_uppercase().parse::<Scenario>(), Ok(sc));
        }
        assert_eq!(" write ".parse::<Scenario>(), Ok(Scenario::Write));
        assert!("nope".parse::<Scenario>().is_err());
        assert_eq!(Scenario::default(), Scenario::Text);
    }

    #[test]
    fn parses_directives() {
        let d = Directives::parse(
            "mock-scenario: write\n\nWrite a brief. Output file: docs/brief.md\n\
             mock-bash-command: echo hi && sleep 1\nmock-slow-seconds: 1.5\n\
             mock-overloaded-count: 3\nmock-large-bytes: 2000\n",
        );
        assert_eq!(d.scenario, Some(Scenario::Write));
        assert_eq!(d.output_file.as_deref(), Some("docs/brief.md"));
        assert_eq!(d.bash_command.as_deref(), Some("echo hi && sleep 1"));
        assert_eq!(d.slow_seconds, Some(1.5));
        assert_eq!(d.overloaded_count, Some(3));
        assert_eq!(d.large_bytes, Some(2000));
        assert_eq!(
            d.first_line.as_deref(),
            Some("Write a brief. Output file: docs/brief.md")
        );
    }

    #[test]
    fn output_file_forms() {
        let d = Directives::parse("Output file: `my file.md`.");
        assert_eq!(d.output_file.as_deref(), Some("my file.md"));
        let d = Directives::parse("Output file: brief.md.");
        assert_eq!(d.output_file.as_deref(), Some("brief.md"));
        let d = Directives::parse("mock-scenario: bogus\nhello");
        assert_eq!(d.scenario, None);
        assert_eq!(d.first_line.as_deref(), Some("hello"));
    }

    #[test]
    fn resolves_paths() {
        assert_eq!(resolve_output_path(Some("a.md"), Some("/w/")), "/w/a.md");
        assert_eq!(resolve_output_path(Some("./a.md"), Some("/w")), "/w/a.md");
        assert_eq!(resolve_output_path(Some("/x/a.md"), Some("/w")), "/x/a.md");
        assert_eq!(resolve_output_path(None, Some("/w")), "/w/output.md");
        assert_eq!(resolve_output_path(None, None), "output.md");
    }

    #[test]
    fn reads_cli_request_shape() {
        let req = json!({
            "system": [{"type": "text", "text": "You are Claude."}],
            "messages": [
                {"role": "user", "content": [
                    {"type": "text", "text": "<system-reminder>\nmock-scenario: bash\n</system-reminder>\n"},
                    {"type": "text", "text": "Do it.\nmock-scenario: write\n"}
                ]},
                {"role": "system", "content": [{"type": "text",
                    "text": "# Environment\n - Primary working directory: /tmp/job\n - Platform: linux"}]},
                {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "Write", "input": {}}]},
                {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1",
                    "content": [{"type": "text", "text": "File created"}]}]}
            ],
            "tools": [{"name": "Write"}, {"name": "Bash"}]
        });
        assert_eq!(prompt_text(&req), "Do it.\nmock-scenario: write\n");
        assert_eq!(working_directory(&req).as_deref(), Some("/tmp/job"));
        assert!(has_tool_call(&req));
        let tr = last_tool_result(&req).expect("tool result");
        assert_eq!(tool_result_text(tr), "File created");
        assert_eq!(tool_names(&req), vec!["Write", "Bash"]);

        let old = json!({"system": "env\nWorking directory: /old\n", "messages": [{"role": "user", "content": "hi"}]});
        assert_eq!(working_directory(&old).as_deref(), Some("/old"));
        assert_eq!(prompt_text(&old), "hi");
        assert!(last_tool_result(&old).is_none());
        assert!(!has_tool_call(&old));
    }

    #[test]
    fn sample_texts_say_offline() {
        assert!(sample_text(Some("Topic")).contains("offline sample text"));
        let doc = sample_document(Some("Write a brief."));
        assert!(doc.starts_with("# Write a brief.\n"));
        assert!(doc.contains("Offline sample text"));
    }
}
