//! The job-spec flags of `claude-jobs run` and `claude-jobs schedule add`,
//! read into the spec's JSON object for the library to check.

use std::path::PathBuf;

use claude_jobs::wire::{from_value, Style};
use claude_jobs::{Error, JobSpec};
use serde_json::{Map, Value};

use super::text_or_number;

#[derive(clap::Args, Debug)]
#[command(group(clap::ArgGroup::new("input").required(true).args(["prompt", "prompt_file"])))]
pub struct SpecArgs {
    /// The prompt.
    #[arg(long)]
    pub prompt: Option<String>,
    /// Read the prompt from a file.
    #[arg(long, value_name = "FILE")]
    pub prompt_file: Option<PathBuf>,
    /// CPU cap in cores (e.g. 0.5).
    #[arg(long, allow_hyphen_values = true)]
    pub cpus: Option<String>,
    /// Memory cap (e.g. 512M, 1.5G).
    #[arg(long, value_name = "SIZE", allow_hyphen_values = true)]
    pub memory: Option<String>,
    /// Process cap.
    #[arg(long, allow_hyphen_values = true)]
    pub pids: Option<String>,
    /// Wall-clock timeout (e.g. 30s, 10m).
    #[arg(long, value_name = "DUR", allow_hyphen_values = true)]
    pub timeout: Option<String>,
    /// Stop the job after this long without output.
    #[arg(long, value_name = "DUR", allow_hyphen_values = true)]
    pub idle_timeout: Option<String>,
    /// `--model` for the CLI.
    #[arg(long)]
    pub model: Option<String>,
    /// Tools the CLI may use, comma-separated (e.g. "Read,Write,Bash(git log *)").
    #[arg(long, value_name = "LIST", allow_hyphen_values = true)]
    pub allowed_tools: Option<String>,
    /// `--max-turns` for the CLI.
    #[arg(long, allow_hyphen_values = true)]
    pub max_turns: Option<String>,
    /// `--max-budget-usd` for the CLI.
    #[arg(long, allow_hyphen_values = true)]
    pub max_budget_usd: Option<String>,
    /// Extra environment for the CLI, NAME=VALUE (repeatable).
    #[arg(long = "env", value_name = "NAME=VALUE")]
    pub env: Vec<String>,
    /// Extra argument for the CLI (repeatable).
    #[arg(long = "arg", value_name = "ARG", allow_hyphen_values = true)]
    pub args: Vec<String>,
    #[command(flatten)]
    pub agent: super::agent::AgentArgs,
}

/// The spec the flags give, read and checked by the library.
pub fn spec(a: &SpecArgs) -> Result<JobSpec, Error> {
    let prompt = match (&a.prompt, &a.prompt_file) {
        (Some(p), _) => p.clone(),
        (None, Some(f)) => std::fs::read_to_string(f)
            .map_err(|e| Error::InvalidSpec { field: "prompt_file".into(), reason: format!("cannot read {}: {e}", f.display()) })?,
        (None, None) => String::new(),
    };
    let mut m = Map::new();
    m.insert("prompt".into(), prompt.into());
    for (key, v) in [
        ("cpus", &a.cpus),
        ("pids", &a.pids),
        ("max_turns", &a.max_turns),
        ("max_budget_usd", &a.max_budget_usd),
        ("timeout", &a.timeout),
        ("idle_timeout", &a.idle_timeout),
    ] {
        if let Some(v) = v {
            m.insert(key.into(), text_or_number(v));
        }
    }
    if let Some(mem) = &a.memory {
        m.insert("memory".into(), mem.clone().into());
    }
    if let Some(model) = &a.model {
        m.insert("model".into(), model.clone().into());
    }
    if let Some(t) = &a.allowed_tools {
        m.insert("allowed_tools".into(), super::agent::split_list(t).into());
    }
    a.agent.insert(&mut m)?;
    let mut env = Map::new();
    for kv in &a.env {
        let (k, v) = kv
            .split_once('=')
            .ok_or_else(|| Error::InvalidSpec { field: "env".into(), reason: format!("{kv:?} is not NAME=VALUE") })?;
        env.insert(k.into(), v.into());
    }
    m.insert("env".into(), env.into());
    m.insert("extra_args".into(), a.args.clone().into());
    let spec: JobSpec = from_value(Value::Object(m), Style::Snake)?;
    spec.validate()?;
    Ok(spec)
}
