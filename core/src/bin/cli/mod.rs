//! Arguments and dispatch of the `claude-jobs` program. Flags are read
//! into the core's own definitions of the spec and the options (through
//! `claude_jobs::wire`), so a bad value is reported as the library reports
//! it: `InvalidSpec`, naming the field, exit status 2.

mod agent;
mod backup;
mod mock;
mod progress;
mod run;
mod schedule;
mod serve;
mod spec;
mod workflow;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use claude_jobs::wire::{from_value, Style};
use claude_jobs::{JobManager, ManagerOptions};
use serde_json::{Map, Value};

/// Run Claude Code CLI jobs in per-job cgroups.
#[derive(Parser, Debug)]
#[command(name = "claude-jobs", version, about)]
pub struct Args {
    #[command(subcommand)]
    pub command: Command,
}

// Parsed once per process: the variants' sizes do not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run one job and print its outcome.
    Run(run::RunArgs),
    /// Run a workflow (default: brand research → brief → draft).
    Workflow(workflow::WorkflowArgs),
    /// Copy the SQLite job store, safely while managers run.
    Backup(backup::BackupArgs),
    /// Add, list or remove the store's schedules.
    Schedule(schedule::ScheduleArgs),
    /// Run queued jobs and fire schedules until SIGTERM or SIGINT.
    Serve(serve::ServeArgs),
}

/// Options shared by the subcommands that build a manager.
#[derive(clap::Args, Debug, Clone)]
pub struct ManagerArgs {
    /// The Claude CLI executable (default: `claude` on PATH).
    #[arg(long, value_name = "PATH")]
    pub claude_bin: Option<PathBuf>,
    /// Where logs, working dirs and the store live.
    #[arg(long, value_name = "DIR", default_value = "claude-jobs-data")]
    pub data_dir: PathBuf,
    /// cgroup isolation: required, auto or off.
    #[arg(long, default_value = "auto")]
    pub isolation: String,
    /// The job store: sqlite:///path/file.db, postgres://user:pass@host/db or
    /// memory (default: sqlite in the data dir). Also $CLAUDE_JOBS_STORE.
    #[arg(long, value_name = "URL", env = "CLAUDE_JOBS_STORE")]
    pub store: Option<String>,
    /// Where logs and outputs are kept: local (the data dir) or db (the job
    /// store, served by every machine on it). Also $CLAUDE_JOBS_ARTIFACT_STORE.
    #[arg(long, value_name = "AT", env = "CLAUDE_JOBS_ARTIFACT_STORE")]
    pub artifact_store: Option<String>,
    /// Time between SIGTERM and killing the job's whole process tree.
    #[arg(long, value_name = "DUR", default_value = "10s", allow_hyphen_values = true)]
    pub kill_grace: String,
    /// Memory budget for admission: auto (available memory − 2 GiB), off, or a size.
    #[arg(long, value_name = "SIZE", default_value = "auto", allow_hyphen_values = true)]
    pub memory_budget: String,
    /// CPU budget for admission: off, auto (the host's CPUs) or a number of cores.
    #[arg(long, value_name = "CORES", default_value = "off", allow_hyphen_values = true)]
    pub cpu_budget: String,
    /// Extra template folder (its `*.md` templates and `workflows/*.yaml`).
    #[arg(long, value_name = "DIR")]
    pub templates_dir: Vec<PathBuf>,
}

impl ManagerArgs {
    /// The manager's options as the flags give them.
    fn options(&self, max_concurrent: usize) -> claude_jobs::Result<ManagerOptions> {
        let mut m = Map::new();
        m.insert("max_concurrent".into(), max_concurrent.into());
        m.insert("data_dir".into(), self.data_dir.display().to_string().into());
        m.insert("isolation".into(), self.isolation.clone().into());
        m.insert("kill_grace".into(), text_or_number(&self.kill_grace));
        m.insert("memory_budget".into(), self.memory_budget.clone().into());
        m.insert("cpu_budget".into(), self.cpu_budget.clone().into());
        if let Some(b) = &self.claude_bin {
            m.insert("claude_bin".into(), b.display().to_string().into());
        }
        if let Some(s) = &self.store {
            m.insert("store_url".into(), s.clone().into());
        }
        if let Some(a) = &self.artifact_store {
            m.insert("artifact_store".into(), a.clone().into());
        }
        let dirs: Vec<Value> = self.templates_dir.iter().map(|d| d.display().to_string().into()).collect();
        m.insert("templates_dir".into(), dirs.into());
        let opts: ManagerOptions = from_value(Value::Object(m), Style::Snake)?;
        opts.validate()?;
        Ok(opts)
    }

    /// A manager with these options, `max_concurrent` slots and `env` for
    /// every job's CLI.
    pub async fn build(&self, max_concurrent: usize, env: &[(&str, String)]) -> claude_jobs::Result<JobManager> {
        let mut opts = self.options(max_concurrent)?;
        for (k, v) in env {
            opts.env.insert(k.to_string(), v.clone());
        }
        JobManager::create(opts).await
    }
}

/// A flag's value as JSON: a number when it reads as one (`-1`, `0.5`),
/// else text, for the library to check and name.
pub(crate) fn text_or_number(s: &str) -> Value {
    match s.trim().parse::<f64>() {
        Ok(n) if n.is_finite() => serde_json::Number::from_f64(n).map(Value::Number).unwrap_or_else(|| s.into()),
        _ => Value::String(s.to_string()),
    }
}

/// One JSON error object on stdout (with `--json`) or a line on stderr; exit 2.
pub(crate) fn report_error(err: &claude_jobs::Error, json: bool) -> ExitCode {
    if json {
        let v = serde_json::json!({
            "id": null,
            "state": null,
            "error": err.to_string(),
            "error_code": err.kind().code(),
            "field": err.field(),
        });
        println!("{v}");
    }
    eprintln!("claude-jobs: {err}");
    ExitCode::from(2)
}

pub async fn main(args: Args) -> ExitCode {
    match args.command {
        Command::Run(a) => run::run(a).await,
        Command::Workflow(a) => workflow::run(a).await,
        Command::Backup(a) => backup::run(a).await,
        Command::Schedule(a) => schedule::run(a).await,
        Command::Serve(a) => serve::run(a).await,
    }
}
