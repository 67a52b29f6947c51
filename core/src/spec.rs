//! [`JobSpec`]: everything needed to run one job, and its builder.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::limits::{parse_size, ResourceLimits};

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
/// Build one with [`JobSpec::builder`]:
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
/// assert_eq!(spec.limits.memory, Some(512 << 20));
/// # Ok::<(), claude_jobs::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct JobSpec {
    /// The prompt, written to the CLI's stdin. Empty when `template` is set
    /// (the manager renders the template into it).
    pub prompt: String,
    /// Name of an instruction template to render into the prompt.
    pub template: Option<String>,
    /// Variables for the template.
    pub variables: BTreeMap<String, String>,
    /// Working directory of the CLI; default: a fresh directory under the data dir.
    pub working_dir: Option<PathBuf>,
    /// Extra environment variables for the CLI.
    pub env: BTreeMap<String, String>,
    /// `--model`.
    pub model: Option<String>,
    /// `--allowedTools`.
    pub allowed_tools: Vec<String>,
    /// `--max-turns`.
    pub max_turns: Option<u32>,
    /// `--max-budget-usd`.
    pub max_budget_usd: Option<f64>,
    /// Extra arguments appended to the CLI's command line.
    pub extra_args: Vec<String>,
    /// CPU, memory and process caps (unset fields take the manager's defaults).
    pub limits: ResourceLimits,
    /// Wall-clock limit for the run.
    #[serde(with = "opt_ms")]
    pub timeout: Option<Duration>,
    /// Stop the job when it prints nothing for this long.
    #[serde(with = "opt_ms")]
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
    pub output: Option<crate::templates::OutputSpec>,
    /// How many times the job may run (default 1: no retry). Failed attempts
    /// that may succeed on another try (the CLI died without a result, the
    /// API was overloaded, the node running it was lost) are queued again
    /// with exponential backoff while attempts remain.
    pub max_attempts: u32,
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
            extra_args: Vec::new(),
            limits: ResourceLimits::default(),
            timeout: None,
            idle_timeout: None,
            priority: 0,
            labels: BTreeMap::new(),
            run_as: None,
            depends_on: Vec::new(),
            inputs: BTreeMap::new(),
            output: None,
            max_attempts: 1,
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

    /// Checks every field that can be checked without the host. The manager
    /// calls this (and the host checks) again on submit.
    pub fn validate(&self) -> Result<()> {
        if self.template.is_none() && self.prompt.trim().is_empty() {
            return Err(Error::invalid("prompt", "must not be empty"));
        }
        if let Some(t) = &self.template {
            if t.trim().is_empty() {
                return Err(Error::invalid("template", "must not be empty"));
            }
        }
        for (k, v) in &self.env {
            if k.is_empty() {
                return Err(Error::invalid("env", "a variable name is empty"));
            }
            if k.contains('=') || k.contains('\0') {
                return Err(Error::invalid(
                    "env",
                    format!("variable name {k:?} must not contain '=' or NUL"),
                ));
            }
            if v.contains('\0') {
                return Err(Error::invalid("env", format!("value of {k} contains NUL")));
            }
        }
        for a in &self.extra_args {
            if a.contains('\0') {
                return Err(Error::invalid(
                    "extra_args",
                    format!("argument {a:?} contains NUL"),
                ));
            }
        }
        for t in &self.allowed_tools {
            if t.contains('\0') || t.trim().is_empty() {
                return Err(Error::invalid(
                    "allowed_tools",
                    format!("bad tool name {t:?}"),
                ));
            }
        }
        if let Some(m) = &self.model {
            if m.contains('\0') || m.trim().is_empty() {
                return Err(Error::invalid(
                    "model",
                    "must be a non-empty name without NUL",
                ));
            }
        }
        if self.timeout == Some(Duration::ZERO) {
            return Err(Error::invalid("timeout", "must be greater than zero"));
        }
        if self.idle_timeout == Some(Duration::ZERO) {
            return Err(Error::invalid("idle_timeout", "must be greater than zero"));
        }
        if self.max_attempts == 0 {
            return Err(Error::invalid("max_attempts", "must be at least 1"));
        }
        if self.max_turns == Some(0) {
            return Err(Error::invalid("max_turns", "must be at least 1"));
        }
        if let Some(b) = self.max_budget_usd {
            if !b.is_finite() || b <= 0.0 {
                return Err(Error::invalid(
                    "max_budget_usd",
                    "must be a positive amount",
                ));
            }
        }
        if let Some(dir) = &self.working_dir {
            if dir.as_os_str().is_empty() {
                return Err(Error::invalid("working_dir", "must not be empty"));
            }
        }
        for id in &self.depends_on {
            if id.trim().is_empty() {
                return Err(Error::invalid("depends_on", "a job id is empty"));
            }
        }
        for (var, id) in &self.inputs {
            if self.template.is_none() {
                return Err(Error::invalid(
                    "inputs",
                    "inputs fill template variables: set a template",
                ));
            }
            if !self.depends_on.contains(id) {
                return Err(Error::invalid(
                    "inputs",
                    format!("{var}: job {id} is not in depends_on"),
                ));
            }
        }
        Ok(())
    }
}

/// Builder for [`JobSpec`]; errors in setters (an unparsable size, say) are
/// reported by [`JobSpecBuilder::build`].
#[derive(Debug, Default, Clone)]
pub struct JobSpecBuilder {
    spec: JobSpec,
    error: Option<String>,
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
        self.spec.limits.cpus = Some(cpus);
        self
    }
    /// Memory cap from a size string (`"512M"`, `"1.5G"`).
    pub fn memory(mut self, size: &str) -> Self {
        match parse_size(size) {
            Ok(b) => self.spec.limits.memory = Some(b),
            Err(e) => self.error = self.error.or(Some(e)),
        }
        self
    }
    /// Memory cap in bytes.
    pub fn memory_bytes(mut self, bytes: u64) -> Self {
        self.spec.limits.memory = Some(bytes);
        self
    }
    /// Process cap.
    pub fn pids(mut self, pids: u64) -> Self {
        self.spec.limits.pids = Some(pids);
        self
    }
    /// All limits at once.
    pub fn limits(mut self, limits: ResourceLimits) -> Self {
        self.spec.limits = limits;
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
        let id = job_id.into();
        self.spec.inputs.insert(variable.into(), id.clone());
        self.depends_on(id)
    }
    /// How many times the job may run (default 1: no retry).
    pub fn max_attempts(mut self, n: u32) -> Self {
        self.spec.max_attempts = n;
        self
    }
    /// Validates and returns the spec.
    pub fn build(self) -> Result<JobSpec> {
        if let Some(e) = self.error {
            return Err(Error::invalid("memory", e));
        }
        self.spec.validate()?;
        Ok(self.spec)
    }
}

pub(crate) mod opt_ms {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;

    pub fn serialize<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => s.serialize_some(&(d.as_millis() as u64)),
            None => s.serialize_none(),
        }
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        Ok(Option::<u64>::deserialize(d)?.map(Duration::from_millis))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field_of(b: JobSpecBuilder) -> String {
        b.build().unwrap_err().field().unwrap().to_string()
    }

    #[test]
    fn bad_fields_are_named() {
        let p = || JobSpec::builder().prompt("hi");
        assert_eq!(field_of(JobSpec::builder().prompt("  ")), "prompt");
        assert_eq!(field_of(p().memory("lots")), "memory");
        assert_eq!(field_of(p().env("A=B", "x")), "env");
        assert_eq!(field_of(p().env("A\0", "x")), "env");
        assert_eq!(field_of(p().extra_args(["a\0b"])), "extra_args");
        assert_eq!(field_of(p().timeout(Duration::ZERO)), "timeout");
        assert_eq!(field_of(p().idle_timeout(Duration::ZERO)), "idle_timeout");
        assert_eq!(field_of(p().max_turns(0)), "max_turns");
    }

    #[test]
    fn spec_round_trips_through_json() {
        let spec = JobSpec::builder()
            .prompt("hi")
            .timeout(Duration::from_millis(1500))
            .memory("64M")
            .build()
            .unwrap();
        let json = serde_json::to_string(&spec).unwrap();
        let back: JobSpec = serde_json::from_str(&json).unwrap();
        assert_eq!(spec, back);
    }
}
