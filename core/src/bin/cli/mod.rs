//! Arguments and dispatch of the `claude-jobs` program.

mod progress;
mod run;
mod workflow;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

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
    /// Run brand research → brief → draft for one brand.
    Workflow(workflow::WorkflowArgs),
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
    /// Time between SIGTERM and killing the job's whole process tree.
    #[arg(long, value_name = "DUR", default_value = "10s", value_parser = dur)]
    pub kill_grace: std::time::Duration,
    /// Memory budget for admission: auto (available memory − 2 GiB), off, or a size.
    #[arg(long, value_name = "SIZE", default_value = "auto")]
    pub memory_budget: String,
    /// CPU budget for admission: off, auto (the host's CPUs) or a number of cores.
    #[arg(long, value_name = "CORES", default_value = "off")]
    pub cpu_budget: String,
}

pub(crate) fn dur(s: &str) -> Result<std::time::Duration, String> {
    claude_jobs::parse_duration(s)
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
    }
}
