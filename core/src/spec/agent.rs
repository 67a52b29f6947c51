//! The agent options of a [`JobSpec`] (what the Claude Agent SDKs pass to the
//! CLI): their value types, their checks, the secrets inside `mcp_servers`,
//! and what a resumed job inherits from the job it resumes.

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::JobSpec;
use crate::error::{Error, Result};

/// Longest text passed on the command line as one argument (`--system-prompt`,
/// `--append-system-prompt`, `--json-schema`): Linux refuses an argument over
/// 128 KiB (`E2BIG`).
pub(crate) const MAX_ARG_BYTES: usize = 100 * 1024;

/// Largest `mcp_servers` or `settings` object (written to a file).
const MAX_OBJECT_BYTES: usize = 1 << 20;

/// `--permission-mode`: how the CLI decides on a tool call that no
/// `allowed_tools` / `disallowed_tools` rule settles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum PermissionMode {
    /// Ask, which in a job (nobody to ask) means deny.
    Default,
    /// File edits are allowed without asking.
    AcceptEdits,
    /// Plan only: no tool that changes anything.
    Plan,
    /// Every tool call is allowed. The CLI refuses it as root: the job must
    /// run as an unprivileged user (`run_as`, or a manager that is not root).
    BypassPermissions,
    /// Deny whatever is not allowed by a rule, without asking.
    DontAsk,
    /// The CLI's automatic mode (a classifier decides).
    Auto,
}

impl PermissionMode {
    /// The CLI's name (`acceptEdits`).
    pub fn as_str(self) -> &'static str {
        match self {
            PermissionMode::Default => "default",
            PermissionMode::AcceptEdits => "acceptEdits",
            PermissionMode::Plan => "plan",
            PermissionMode::BypassPermissions => "bypassPermissions",
            PermissionMode::DontAsk => "dontAsk",
            PermissionMode::Auto => "auto",
        }
    }
}

/// `--effort`: how hard the model thinks (the request's `output_config.effort`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Effort {
    Low,
    Medium,
    High,
    Xhigh,
    Max,
}

impl Effort {
    /// The CLI's name (`xhigh`).
    pub fn as_str(self) -> &'static str {
        match self {
            Effort::Low => "low",
            Effort::Medium => "medium",
            Effort::High => "high",
            Effort::Xhigh => "xhigh",
            Effort::Max => "max",
        }
    }
}

/// One of `--setting-sources`: which settings files the CLI loads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SettingSource {
    /// The user's settings (`CLAUDE_CONFIG_DIR/settings.json`).
    User,
    /// The project's (`.claude/settings.json` in the working dir).
    Project,
    /// The project's local ones (`.claude/settings.local.json`).
    Local,
}

impl SettingSource {
    /// The CLI's name.
    pub fn as_str(self) -> &'static str {
        match self {
            SettingSource::User => "user",
            SettingSource::Project => "project",
            SettingSource::Local => "local",
        }
    }
}

impl fmt::Display for PermissionMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The CLI rejects a server configuration of these types (an SDK server
/// lives in the SDK's own process).
const MCP_TYPES: &[&str] = &["stdio", "sse", "http"];

impl JobSpec {
    /// Checks of the agent options that need no host (called by `validate`).
    pub(super) fn check_agent_options(&self) -> Result<()> {
        check_tools("disallowed_tools", &self.disallowed_tools)?;
        for (field, v) in [
            ("fallback_model", &self.fallback_model),
            ("resume", &self.resume),
        ] {
            if let Some(v) = v {
                if v.trim().is_empty() || v.contains('\0') {
                    return Err(Error::invalid(field, "must be a non-empty name without NUL"));
                }
            }
        }
        for (field, v) in [
            ("system_prompt", &self.system_prompt),
            ("append_system_prompt", &self.append_system_prompt),
        ] {
            if let Some(v) = v {
                check_arg(field, v)?;
            }
        }
        if self.fork_session && self.resume.is_none() {
            return Err(Error::invalid("fork_session", "forks the session of `resume`: set resume"));
        }
        if let Some(d) = self.add_dirs.iter().find(|d| d.as_os_str().is_empty() || d.to_string_lossy().contains('\0')) {
            return Err(Error::invalid("add_dirs", format!("bad directory {d:?}")));
        }
        if let Some(schema) = &self.json_schema {
            check_object("json_schema", schema, MAX_ARG_BYTES)?;
        }
        if let Some(settings) = &self.settings {
            check_object("settings", settings, MAX_OBJECT_BYTES)?;
        }
        if let Some(servers) = &self.mcp_servers {
            check_mcp_servers(servers)?;
        }
        Ok(())
    }

    /// The values in `mcp_servers` that are secrets: every value of a
    /// server's `env` and `headers` (and the token of a `Bearer …` header),
    /// masked in the job's logs, events and errors like the API key.
    pub(crate) fn mcp_secrets(&self) -> Vec<String> {
        let mut out = Vec::new();
        for server in self.mcp_servers.iter().flat_map(|s| s.values()) {
            for key in ["env", "headers"] {
                for v in server.get(key).and_then(Value::as_object).into_iter().flat_map(|m| m.values()) {
                    if let Some(s) = v.as_str() {
                        out.push(s.to_string());
                        if let Some((_, token)) = s.split_once(' ') {
                            out.push(token.trim().to_string());
                        }
                    }
                }
            }
        }
        out
    }

    /// Fills what this (resuming) spec leaves unset from the spec of the job
    /// it resumes: the CLI does not carry options over to a resumed run.
    ///
    /// Inherited: `model`, `fallback_model`, `effort`, `permission_mode`,
    /// `allowed_tools`, `disallowed_tools`, `system_prompt`,
    /// `append_system_prompt`, `mcp_servers`, `settings`, `setting_sources`,
    /// `add_dirs`, `max_turns`, `max_budget_usd`, `cpus`, `memory`, `pids`
    /// and `run_as`. A list counts as unset when it is empty. Not inherited:
    /// the prompt and template, `json_schema` (a schema belongs to one
    /// answer), `env`, `extra_args`, timeouts, labels, priority, retries and
    /// dependencies.
    pub fn inherit_from(&mut self, earlier: &JobSpec) {
        fn opt<T: Clone>(mine: &mut Option<T>, theirs: &Option<T>) {
            if mine.is_none() {
                mine.clone_from(theirs);
            }
        }
        fn list<T: Clone>(mine: &mut Vec<T>, theirs: &[T]) {
            if mine.is_empty() {
                *mine = theirs.to_vec();
            }
        }
        opt(&mut self.model, &earlier.model);
        opt(&mut self.fallback_model, &earlier.fallback_model);
        opt(&mut self.effort, &earlier.effort);
        opt(&mut self.permission_mode, &earlier.permission_mode);
        opt(&mut self.system_prompt, &earlier.system_prompt);
        opt(&mut self.append_system_prompt, &earlier.append_system_prompt);
        opt(&mut self.mcp_servers, &earlier.mcp_servers);
        opt(&mut self.settings, &earlier.settings);
        opt(&mut self.setting_sources, &earlier.setting_sources);
        opt(&mut self.max_turns, &earlier.max_turns);
        opt(&mut self.max_budget_usd, &earlier.max_budget_usd);
        opt(&mut self.cpus, &earlier.cpus);
        opt(&mut self.memory, &earlier.memory);
        opt(&mut self.pids, &earlier.pids);
        opt(&mut self.run_as, &earlier.run_as);
        list(&mut self.allowed_tools, &earlier.allowed_tools);
        list(&mut self.disallowed_tools, &earlier.disallowed_tools);
        list(&mut self.add_dirs, &earlier.add_dirs);
    }
}

/// Tool names or rules (`Bash`, `Bash(git log *)`, `mcp__srv__tool`).
pub(super) fn check_tools(field: &str, tools: &[String]) -> Result<()> {
    match tools.iter().find(|t| t.contains('\0') || t.trim().is_empty()) {
        Some(t) => Err(Error::invalid(field, format!("bad tool name {t:?}"))),
        None => Ok(()),
    }
}

/// A text passed as one command-line argument.
fn check_arg(field: &str, v: &str) -> Result<()> {
    if v.contains('\0') {
        return Err(Error::invalid(field, "must not contain NUL"));
    }
    if v.len() > MAX_ARG_BYTES {
        return Err(Error::invalid(
            field,
            format!("is {} bytes; at most {MAX_ARG_BYTES} (it is one command-line argument)", v.len()),
        ));
    }
    Ok(())
}

/// A JSON object: no NUL in any key or string, at most `max` bytes as JSON.
fn check_object(field: &str, obj: &Map<String, Value>, max: usize) -> Result<()> {
    if let Some(path) = nul_path(&Value::Object(obj.clone()), String::new()) {
        return Err(Error::invalid(field, format!("NUL in the text at {}", if path.is_empty() { "the top" } else { &path })));
    }
    let len = serde_json::to_string(obj).map(|s| s.len()).unwrap_or(usize::MAX);
    if len > max {
        return Err(Error::invalid(field, format!("is {len} bytes as JSON; at most {max}")));
    }
    Ok(())
}

/// Where a NUL sits in a JSON value's keys or strings (`a.b[2]`).
fn nul_path(v: &Value, at: String) -> Option<String> {
    match v {
        Value::String(s) => s.contains('\0').then_some(at),
        Value::Array(items) => items.iter().enumerate().find_map(|(i, x)| nul_path(x, format!("{at}[{i}]"))),
        Value::Object(m) => m.iter().find_map(|(k, x)| {
            let here = if at.is_empty() { k.clone() } else { format!("{at}.{k}") };
            if k.contains('\0') {
                Some(here)
            } else {
                nul_path(x, here)
            }
        }),
        _ => None,
    }
}

/// The `mcpServers` object: name → a server's configuration (an object
/// with a `command`, or a `url` for the `sse`/`http` types).
fn check_mcp_servers(servers: &Map<String, Value>) -> Result<()> {
    check_object("mcp_servers", servers, MAX_OBJECT_BYTES)?;
    for (name, cfg) in servers {
        let bad = |why: String| Err(Error::invalid("mcp_servers", format!("server {name:?}: {why}")));
        if name.trim().is_empty() || name.chars().any(char::is_control) {
            return Err(Error::invalid("mcp_servers", format!("bad server name {name:?}")));
        }
        let Some(cfg) = cfg.as_object() else {
            return bad(format!("must be an object (its configuration), not {}", kind(cfg)));
        };
        let ty = match cfg.get("type") {
            None => "stdio",
            Some(Value::String(t)) if MCP_TYPES.contains(&t.as_str()) => t.as_str(),
            Some(other) => return bad(format!("type must be one of {}, not {other}", MCP_TYPES.join(", "))),
        };
        let key = if ty == "stdio" { "command" } else { "url" };
        if cfg.get(key).and_then(Value::as_str).is_none_or(|s| s.trim().is_empty()) {
            let hint = if name == "mcpServers" { " (give the servers themselves, not {\"mcpServers\": …})" } else { "" };
            return bad(format!("a {ty} server needs a `{key}` (text){hint}"));
        }
        for list in ["args"] {
            if let Some(v) = cfg.get(list) {
                if !v.as_array().is_some_and(|a| a.iter().all(Value::is_string)) {
                    return bad(format!("`{list}` must be a list of text"));
                }
            }
        }
        for map in ["env", "headers"] {
            if let Some(v) = cfg.get(map) {
                if !v.as_object().is_some_and(|m| m.values().all(Value::is_string)) {
                    return bad(format!("`{map}` must be an object of text values"));
                }
            }
        }
    }
    Ok(())
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "text",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}
