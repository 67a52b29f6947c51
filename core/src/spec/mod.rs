//! [`JobSpec`]: everything needed to run one job. One serde definition
//! serves the builder, the bindings (through [`crate::wire`]), HTTP bodies
//! and the store.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::limits::ResourceLimits;

mod agent;
mod builder;
mod output;
mod validate;

pub use agent::{Effort, PermissionMode, SettingSource};
pub use builder::JobSpecBuilder;
pub use output::{safe_file_name, OutputSpec};

/// Run the job's processes as this user and group (the child drops privileges
/// after it has joined its cgroup, before exec).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunAs {
    pub uid: u32,
    pub gid: u32,
}

/// A job to run: the prompt (or a template and its variables), the CLI options,
/// the resource caps and the timeouts.
///
/// Build one with [`JobSpec::builder`], or read one from JSON with
/// [`crate::wire::from_value`] (what the Python and Node bindings do):
///
/// ```
/// use std::time::Duration;
/// use claude_jobs::JobSpec;
/// let spec = JobSpec::builder()
///     .prompt("Summarise the brand guidelines in README.md")
///     .cpus(0.5)
///     .memory("512M")
///     .pids(256)
///     .timeout(Duration::from_secs(600))
///     .allowed_tools(["Read", "Write"])
///     .label("team", "marketing")
///     .build()?;
/// assert_eq!(spec.memory, Some(512 << 20));
/// # Ok::<(), claude_jobs::Error>(())
/// ```
///
/// Adding a field: declare it here (with its serde helper if it is a
/// duration or a size), check it in `validate.rs`, and name it in the
/// bindings' typed names (Python `claude_jobs/types.py`, Node `index.d.ts`). Nothing else
/// converts it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct JobSpec {
    /// The prompt, written to the CLI's stdin. Empty when `template` is set
    /// (the manager renders the template into it).
    pub prompt: String,
    /// Name of an instruction template to render into the prompt.
    pub template: Option<String>,
    /// Variables for the template (numbers and booleans are taken as text).
    #[serde(deserialize_with = "crate::units::text_map::deserialize")]
    pub variables: BTreeMap<String, String>,
    /// Working directory of the CLI; default: a fresh directory under the data dir.
    pub working_dir: Option<PathBuf>,
    /// Extra environment variables for the CLI.
    pub env: BTreeMap<String, String>,
    /// `--model`.
    pub model: Option<String>,
    /// `--allowedTools`: tools (or rules such as `Bash(git log *)`) the CLI
    /// may use without asking.
    pub allowed_tools: Vec<String>,
    /// `--max-turns`.
    pub max_turns: Option<u32>,
    /// `--max-budget-usd`.
    pub max_budget_usd: Option<f64>,
    /// `--disallowedTools`: a bare tool name removes the tool; a rule
    /// (`Bash(rm *)`) denies matching calls (see `JobInfo::permission_denials`).
    pub disallowed_tools: Vec<String>,
    /// `--permission-mode`.
    pub permission_mode: Option<PermissionMode>,
    /// `--system-prompt`: replaces the CLI's default system prompt.
    pub system_prompt: Option<String>,
    /// `--append-system-prompt`: added at the end of the system prompt.
    pub append_system_prompt: Option<String>,
    /// MCP servers, the `mcpServers` object (name → `{command, args, env}`,
    /// or `{type: "sse"|"http", url, headers}`): written to a file in the
    /// job's directory, passed with `--mcp-config` and `--strict-mcp-config`.
    /// Values of `env` and `headers` are masked in logs, events and errors.
    pub mcp_servers: Option<serde_json::Map<String, serde_json::Value>>,
    /// `--add-dir`: more directories the CLI may use (each must exist).
    pub add_dirs: Vec<PathBuf>,
    /// `--settings`: a settings object, written to a file in the job's directory.
    pub settings: Option<serde_json::Map<String, serde_json::Value>>,
    /// `--setting-sources`: which settings files the CLI loads (empty: none).
    pub setting_sources: Option<Vec<SettingSource>>,
    /// `--fallback-model`: used when the model is overloaded.
    pub fallback_model: Option<String>,
    /// `--effort`.
    pub effort: Option<Effort>,
    /// `--json-schema`: the answer must be an object of this JSON Schema;
    /// it lands in `JobInfo::structured_output`.
    pub json_schema: Option<serde_json::Map<String, serde_json::Value>>,
    /// A job id: continue that job's Claude session (`--resume`), in its
    /// working dir and config dir, with its agent options unless this spec
    /// sets them (see [`JobSpec::inherit_from`]).
    pub resume: Option<String>,
    /// With `resume`: continue in a new session (`--fork-session`) that
    /// starts with the earlier one's messages.
    pub fork_session: bool,
    /// Extra arguments appended to the CLI's command line.
    pub extra_args: Vec<String>,
    /// CPU cap in cores (fractional); unset: the manager's default.
    pub cpus: Option<f64>,
    /// Memory cap in bytes (a number, or text such as `"512M"`); swap off.
    #[serde(with = "crate::units::opt_size")]
    pub memory: Option<u64>,
    /// Cap on processes and threads.
    pub pids: Option<u64>,
    /// Wall-clock limit for the run (at most 30 days).
    #[serde(with = "crate::units::opt_duration")]
    pub timeout: Option<Duration>,
    /// Stop the job when it prints nothing for this long.
    #[serde(with = "crate::units::opt_duration")]
    pub idle_timeout: Option<Duration>,
    /// Higher runs first; equal priorities run in submission order.
    pub priority: i32,
    /// Free-form labels, kept with the job.
    pub labels: BTreeMap<String, String>,
    /// Run as this uid/gid instead of the manager's user.
    pub run_as: Option<RunAs>,
    /// Ids of jobs that must succeed before this one starts.
    pub depends_on: Vec<String>,
    /// Template variables filled from other jobs' outputs: variable → job id.
    /// Each job named here is also a dependency.
    pub inputs: BTreeMap<String, String>,
    /// The output file to collect (set from the template; may be set directly).
    pub output: Option<OutputSpec>,
    /// How many times the job may run (default 1: no retry). Failed attempts
    /// that may succeed on another try (the CLI died without a result, the
    /// API was overloaded, the node running it was lost) are queued again
    /// with exponential backoff while attempts remain.
    pub max_attempts: u32,
    /// Who the job is for: quotas and policy per tenant (see [`crate::Policy`]).
    pub tenant: Option<String>,
    /// A second submit with the same key (and tenant) within 24 hours
    /// returns the first job instead of queueing another.
    pub idempotency_key: Option<String>,
    /// Where the job's final info is POSTed (signed; see the README's "Webhooks").
    pub webhook_url: Option<String>,
}

impl Default for JobSpec {
    fn default() -> Self {
        JobSpec {
            prompt: String::new(),
            template: None,
            variables: BTreeMap::new(),
            working_dir: None,
            env: BTreeMap::new(),
            model: None,
            allowed_tools: Vec::new(),
            max_turns: None,
            max_budget_usd: None,
            disallowed_tools: Vec::new(),
            permission_mode: None,
            system_prompt: None,
            append_system_prompt: None,
            mcp_servers: None,
            add_dirs: Vec::new(),
            settings: None,
            setting_sources: None,
            fallback_model: None,
            effort: None,
            json_schema: None,
            resume: None,
            fork_session: false,
            extra_args: Vec::new(),
            cpus: None,
            memory: None,
            pids: None,
            timeout: None,
            idle_timeout: None,
            priority: 0,
            labels: BTreeMap::new(),
            run_as: None,
            depends_on: Vec::new(),
            inputs: BTreeMap::new(),
            output: None,
            max_attempts: 1,
            tenant: None,
            idempotency_key: None,
            webhook_url: None,
        }
    }
}

impl JobSpec {
    /// Starts a builder.
    pub fn builder() -> JobSpecBuilder {
        JobSpecBuilder::default()
    }

    /// A spec with just a prompt.
    pub fn from_prompt(prompt: impl Into<String>) -> Self {
        JobSpec {
            prompt: prompt.into(),
            ..Default::default()
        }
    }

    /// The caps as one value.
    pub fn limits(&self) -> ResourceLimits {
        ResourceLimits {
            cpus: self.cpus,
            memory: self.memory,
            pids: self.pids,
        }
    }

    /// Sets the three caps at once.
    pub fn set_limits(&mut self, l: ResourceLimits) {
        self.cpus = l.cpus;
        self.memory = l.memory;
        self.pids = l.pids;
    }

    /// The jobs this one waits for: `depends_on` and the jobs of `inputs`.
    pub fn dependencies(&self) -> Vec<String> {
        let mut deps = self.depends_on.clone();
        for id in self.inputs.values() {
            if !deps.contains(id) {
                deps.push(id.clone());
            }
        }
        deps
    }
}

#[cfg(test)]
mod tests;
