//! [`JobSpecBuilder`]: a [`JobSpec`] field by field.

use std::path::PathBuf;
use std::time::Duration;

use serde_json::{Map, Value};

use super::{Effort, JobSpec, PermissionMode, RunAs, SettingSource};
use crate::error::{Error, Result};
use crate::limits::ResourceLimits;
use crate::units::parse_size;

/// Builder for [`JobSpec`]; errors in setters (an unparsable size, say) are
/// reported by [`JobSpecBuilder::build`].
#[derive(Debug, Default, Clone)]
pub struct JobSpecBuilder {
    spec: JobSpec,
    /// The first setter error: the field and why.
    error: Option<(&'static str, String)>,
}

impl JobSpecBuilder {
    /// The prompt (written to the CLI's stdin).
    pub fn prompt(mut self, prompt: impl Into<String>) -> Self {
        self.spec.prompt = prompt.into();
        self
    }
    /// An instruction template to render into the prompt.
    pub fn template(mut self, name: impl Into<String>) -> Self {
        self.spec.template = Some(name.into());
        self
    }
    /// One template variable.
    pub fn variable(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.spec.variables.insert(name.into(), value.into());
        self
    }
    /// The CLI's working directory.
    pub fn working_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.spec.working_dir = Some(dir.into());
        self
    }
    /// One extra environment variable.
    pub fn env(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.spec.env.insert(name.into(), value.into());
        self
    }
    /// `--model`.
    pub fn model(mut self, model: impl Into<String>) -> Self {
        self.spec.model = Some(model.into());
        self
    }
    /// `--allowedTools`.
    pub fn allowed_tools<I, S>(mut self, tools: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.spec.allowed_tools = tools.into_iter().map(Into::into).collect();
        self
    }
    /// `--max-turns`.
    pub fn max_turns(mut self, turns: u32) -> Self {
        self.spec.max_turns = Some(turns);
        self
    }
    /// `--max-budget-usd`.
    pub fn max_budget_usd(mut self, usd: f64) -> Self {
        self.spec.max_budget_usd = Some(usd);
        self
    }
    /// `--disallowedTools`: tools to remove, or rules (`Bash(rm *)`) to deny.
    pub fn disallowed_tools<I, S>(mut self, tools: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.spec.disallowed_tools = tools.into_iter().map(Into::into).collect();
        self
    }
    /// `--permission-mode`.
    pub fn permission_mode(mut self, mode: PermissionMode) -> Self {
        self.spec.permission_mode = Some(mode);
        self
    }
    /// `--system-prompt`: replaces the default system prompt.
    pub fn system_prompt(mut self, text: impl Into<String>) -> Self {
        self.spec.system_prompt = Some(text.into());
        self
    }
    /// `--append-system-prompt`.
    pub fn append_system_prompt(mut self, text: impl Into<String>) -> Self {
        self.spec.append_system_prompt = Some(text.into());
        self
    }
    /// The MCP servers: the `mcpServers` object (name → configuration).
    pub fn mcp_servers(mut self, servers: Value) -> Self {
        self.spec.mcp_servers = self.object("mcp_servers", servers);
        self
    }
    /// One MCP server (`{"command": …, "args": […], "env": {…}}`).
    pub fn mcp_server(mut self, name: impl Into<String>, config: Value) -> Self {
        self.spec.mcp_servers.get_or_insert_with(Map::new).insert(name.into(), config);
        self
    }
    /// `--add-dir` (repeatable): another directory the CLI may use.
    pub fn add_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.spec.add_dirs.push(dir.into());
        self
    }
    /// `--settings`: a settings object.
    pub fn settings(mut self, settings: Value) -> Self {
        self.spec.settings = self.object("settings", settings);
        self
    }
    /// `--setting-sources` (an empty list: no settings files).
    pub fn setting_sources(mut self, sources: impl IntoIterator<Item = SettingSource>) -> Self {
        self.spec.setting_sources = Some(sources.into_iter().collect());
        self
    }
    /// `--fallback-model`.
    pub fn fallback_model(mut self, model: impl Into<String>) -> Self {
        self.spec.fallback_model = Some(model.into());
        self
    }
    /// `--effort`.
    pub fn effort(mut self, effort: Effort) -> Self {
        self.spec.effort = Some(effort);
        self
    }
    /// `--json-schema`: the JSON Schema (an object) of the structured answer.
    pub fn json_schema(mut self, schema: Value) -> Self {
        self.spec.json_schema = self.object("json_schema", schema);
        self
    }
    /// The tenant the job is for: its quotas apply, its policy rules too.
    pub fn tenant(mut self, name: impl Into<String>) -> Self {
        self.spec.tenant = Some(name.into());
        self
    }
    /// A second submit with the same key (same tenant, within 24 h)
    /// returns the first job instead of a new one.
    pub fn idempotency_key(mut self, key: impl Into<String>) -> Self {
        self.spec.idempotency_key = Some(key.into());
        self
    }
    /// Where to POST the job's info when it ends (signed with the
    /// manager's `webhook_secret`).
    pub fn webhook_url(mut self, url: impl Into<String>) -> Self {
        self.spec.webhook_url = Some(url.into());
        self
    }
    /// Continue the Claude session of job `job_id`.
    pub fn resume(mut self, job_id: impl Into<String>) -> Self {
        self.spec.resume = Some(job_id.into());
        self
    }
    /// With `resume`: continue in a new session (`--fork-session`).
    pub fn fork_session(mut self, fork: bool) -> Self {
        self.spec.fork_session = fork;
        self
    }
    /// The object a setter was given, or an error for `build`.
    fn object(&mut self, field: &'static str, v: Value) -> Option<Map<String, Value>> {
        match v {
            Value::Object(m) => Some(m),
            other => {
                let text = other.to_string();
                let why = format!("must be a JSON object, not {}", crate::util::truncate(&text, 60));
                self.error = self.error.take().or(Some((field, why)));
                None
            }
        }
    }
    /// Extra CLI arguments.
    pub fn extra_args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.spec
            .extra_args
            .extend(args.into_iter().map(Into::into));
        self
    }
    /// CPU cap in cores.
    pub fn cpus(mut self, cpus: f64) -> Self {
        self.spec.cpus = Some(cpus);
        self
    }
    /// Memory cap from a size string (`"512M"`, `"1.5G"`).
    pub fn memory(mut self, size: &str) -> Self {
        match parse_size(size) {
            Ok(b) => self.spec.memory = Some(b),
            Err(e) => self.error = self.error.or(Some(("memory", e))),
        }
        self
    }
    /// Memory cap in bytes.
    pub fn memory_bytes(mut self, bytes: u64) -> Self {
        self.spec.memory = Some(bytes);
        self
    }
    /// Process cap.
    pub fn pids(mut self, pids: u64) -> Self {
        self.spec.pids = Some(pids);
        self
    }
    /// All limits at once.
    pub fn limits(mut self, limits: ResourceLimits) -> Self {
        self.spec.set_limits(limits);
        self
    }
    /// Wall-clock timeout.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.spec.timeout = Some(timeout);
        self
    }
    /// Idle timeout (no output).
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.spec.idle_timeout = Some(timeout);
        self
    }
    /// Priority: higher runs first.
    pub fn priority(mut self, priority: i32) -> Self {
        self.spec.priority = priority;
        self
    }
    /// One label.
    pub fn label(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.spec.labels.insert(key.into(), value.into());
        self
    }
    /// Run the job as another user.
    pub fn run_as(mut self, uid: u32, gid: u32) -> Self {
        self.spec.run_as = Some(RunAs { uid, gid });
        self
    }
    /// A job that must succeed first.
    pub fn depends_on(mut self, job_id: impl Into<String>) -> Self {
        let id = job_id.into();
        if !self.spec.depends_on.contains(&id) {
            self.spec.depends_on.push(id);
        }
        self
    }
    /// Fill template variable `variable` with the output of job `job_id`
    /// (which becomes a dependency).
    pub fn input(mut self, variable: impl Into<String>, job_id: impl Into<String>) -> Self {
        self.spec.inputs.insert(variable.into(), job_id.into());
        self
    }
    /// How many times the job may run (default 1: no retry).
    pub fn max_attempts(mut self, n: u32) -> Self {
        self.spec.max_attempts = n;
        self
    }
    /// Validates and returns the spec.
    pub fn build(self) -> Result<JobSpec> {
        if let Some((field, e)) = self.error {
            return Err(Error::invalid(field, e));
        }
        self.spec.validate()?;
        Ok(self.spec)
    }
}
