//! The agent-option flags of `claude-jobs run` (resume, structured output,
//! tools, prompts, MCP, settings), read into the spec's JSON object for the
//! library to check: a bad value is an `InvalidSpec` naming the field.

use std::path::{Path, PathBuf};

use claude_jobs::Error;
use serde_json::{Map, Value};

#[derive(clap::Args, Debug, Default)]
pub struct AgentArgs {
    /// Continue the Claude session of this (ended) job: same working dir and
    /// config dir, its options unless set here.
    #[arg(long, value_name = "JOB_ID")]
    pub resume: Option<String>,
    /// With --resume: continue in a new session.
    #[arg(long)]
    pub fork_session: bool,
    /// JSON Schema (an object, as JSON text) of a structured answer
    /// (`structured_output` in the --json output).
    #[arg(long, value_name = "JSON", allow_hyphen_values = true)]
    pub json_schema: Option<String>,
    /// default, acceptEdits, plan, bypassPermissions, dontAsk or auto.
    #[arg(long, value_name = "MODE")]
    pub permission_mode: Option<String>,
    /// Tools or rules the CLI must not use, comma-separated (e.g. "Bash(rm *),WebFetch").
    #[arg(long, value_name = "LIST", allow_hyphen_values = true)]
    pub disallowed_tools: Option<String>,
    /// Replace the CLI's system prompt.
    #[arg(long, value_name = "TEXT", allow_hyphen_values = true)]
    pub system_prompt: Option<String>,
    /// Add to the end of the CLI's system prompt.
    #[arg(long, value_name = "TEXT", allow_hyphen_values = true)]
    pub append_system_prompt: Option<String>,
    /// MCP servers: a file in the Claude CLI's format, {"mcpServers": {...}}.
    #[arg(long, value_name = "FILE")]
    pub mcp_config: Option<PathBuf>,
    /// Another directory the CLI may use (repeatable).
    #[arg(long = "add-dir", value_name = "DIR")]
    pub add_dirs: Vec<PathBuf>,
    /// Settings: a JSON file, or a JSON object as text.
    #[arg(long, value_name = "FILE")]
    pub settings: Option<String>,
    /// Settings files the CLI loads, comma-separated (user, project, local; "" for none).
    #[arg(long, value_name = "LIST")]
    pub setting_sources: Option<String>,
    /// The model to use when the main one is overloaded.
    #[arg(long, value_name = "MODEL")]
    pub fallback_model: Option<String>,
    /// low, medium, high, xhigh or max.
    #[arg(long, value_name = "LEVEL")]
    pub effort: Option<String>,
}

fn invalid(field: &str, reason: String) -> Error {
    Error::InvalidSpec { field: field.into(), reason }
}

/// A JSON file (or, for `settings`, JSON text) as a value.
fn read_json(field: &str, path: &Path) -> Result<Value, Error> {
    let text = std::fs::read_to_string(path).map_err(|e| invalid(field, format!("cannot read {}: {e}", path.display())))?;
    serde_json::from_str(&text).map_err(|e| invalid(field, format!("{} is not JSON: {e}", path.display())))
}

/// A comma-separated list, commas inside parentheses kept (`Bash(a,b)`).
pub fn split_list(s: &str) -> Vec<Value> {
    let mut out = Vec::new();
    let (mut depth, mut cur) = (0usize, String::new());
    for c in s.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                out.push(std::mem::take(&mut cur));
                continue;
            }
            _ => {}
        }
        cur.push(c);
    }
    out.push(cur);
    out.into_iter()
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty())
        .map(Value::from)
        .collect()
}

impl AgentArgs {
    /// Puts the flags that were given into the spec's JSON object.
    pub fn insert(&self, m: &mut Map<String, Value>) -> Result<(), Error> {
        let text = [
            ("resume", &self.resume),
            ("permission_mode", &self.permission_mode),
            ("system_prompt", &self.system_prompt),
            ("append_system_prompt", &self.append_system_prompt),
            ("fallback_model", &self.fallback_model),
            ("effort", &self.effort),
        ];
        for (key, v) in text {
            if let Some(v) = v {
                m.insert(key.into(), v.clone().into());
            }
        }
        if self.fork_session {
            m.insert("fork_session".into(), true.into());
        }
        if let Some(s) = &self.json_schema {
            let v = serde_json::from_str(s).map_err(|e| invalid("json_schema", format!("is not JSON: {e}")))?;
            m.insert("json_schema".into(), v);
        }
        if let Some(t) = &self.disallowed_tools {
            m.insert("disallowed_tools".into(), split_list(t).into());
        }
        if let Some(path) = &self.mcp_config {
            let v = read_json("mcp_servers", path)?;
            let servers = v.get("mcpServers").cloned().ok_or_else(|| {
                invalid("mcp_servers", format!("{} must hold {{\"mcpServers\": {{…}}}} (the Claude CLI's --mcp-config format)", path.display()))
            })?;
            m.insert("mcp_servers".into(), servers);
        }
        if !self.add_dirs.is_empty() {
            let dirs: Vec<Value> = self.add_dirs.iter().map(|d| d.display().to_string().into()).collect();
            m.insert("add_dirs".into(), dirs.into());
        }
        if let Some(s) = &self.settings {
            let v = if s.trim_start().starts_with('{') {
                serde_json::from_str(s).map_err(|e| invalid("settings", format!("is not JSON: {e}")))?
            } else {
                read_json("settings", Path::new(s))?
            };
            m.insert("settings".into(), v);
        }
        if let Some(s) = &self.setting_sources {
            m.insert("setting_sources".into(), split_list(s).into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_keep_rules_whole() {
        assert_eq!(split_list("Read, Bash(git log:*,x) ,,WebFetch"), ["Read", "Bash(git log:*,x)", "WebFetch"]);
        assert!(split_list("").is_empty());
    }
}
