//! `claude-jobs run`: one job, progress on stderr, the outcome on stdout.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use claude_jobs::{Error, IsolationMode, JobManager, JobSpec, JobState};

use super::{dur, progress, report_error, ManagerArgs};

#[derive(clap::Args, Debug)]
#[command(group(clap::ArgGroup::new("input").required(true).args(["prompt", "prompt_file"])))]
pub struct RunArgs {
    /// The prompt.
    #[arg(long)]
    pub prompt: Option<String>,
    /// Read the prompt from a file.
    #[arg(long, value_name = "FILE")]
    pub prompt_file: Option<PathBuf>,
    /// CPU cap in cores (e.g. 0.5).
    #[arg(long)]
    pub cpus: Option<f64>,
    /// Memory cap (e.g. 512M, 1.5G).
    #[arg(long, value_name = "SIZE")]
    pub memory: Option<String>,
    /// Process cap.
    #[arg(long)]
    pub pids: Option<u64>,
    /// Wall-clock timeout (e.g. 30s, 10m).
    #[arg(long, value_name = "DUR", value_parser = dur)]
    pub timeout: Option<Duration>,
    /// Stop the job after this long without output.
    #[arg(long, value_name = "DUR", value_parser = dur)]
    pub idle_timeout: Option<Duration>,
    /// `--model` for the CLI.
    #[arg(long)]
    pub model: Option<String>,
    /// Tools the CLI may use, comma-separated (e.g. Read,Write).
    #[arg(long, value_name = "LIST")]
    pub allowed_tools: Option<String>,
    /// `--max-turns` for the CLI.
    #[arg(long)]
    pub max_turns: Option<u32>,
    /// `--max-budget-usd` for the CLI.
    #[arg(long)]
    pub max_budget_usd: Option<f64>,
    /// Extra environment for the CLI, NAME=VALUE (repeatable).
    #[arg(long = "env", value_name = "NAME=VALUE")]
    pub env: Vec<String>,
    /// Extra argument for the CLI (repeatable).
    #[arg(long = "arg", value_name = "ARG", allow_hyphen_values = true)]
    pub args: Vec<String>,
    /// Print one JSON object with the outcome on stdout.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub manager: ManagerArgs,
}

fn spec(a: &RunArgs) -> Result<JobSpec, Error> {
    let prompt = match (&a.prompt, &a.prompt_file) {
        (Some(p), _) => p.clone(),
        (None, Some(f)) => std::fs::read_to_string(f).map_err(|e| Error::InvalidSpec {
            field: "prompt_file".into(),
            reason: format!("cannot read {}: {e}", f.display()),
        })?,
        (None, None) => String::new(),
    };
    let mut b = JobSpec::builder().prompt(prompt);
    if let Some(c) = a.cpus {
        b = b.cpus(c);
    }
    if let Some(m) = &a.memory {
        b = b.memory(m);
    }
    if let Some(p) = a.pids {
        b = b.pids(p);
    }
    if let Some(t) = a.timeout {
        b = b.timeout(t);
    }
    if let Some(t) = a.idle_timeout {
        b = b.idle_timeout(t);
    }
    if let Some(m) = &a.model {
        b = b.model(m);
    }
    if let Some(t) = &a.allowed_tools {
        b = b.allowed_tools(t.split(',').map(str::trim).filter(|s| !s.is_empty()));
    }
    if let Some(t) = a.max_turns {
        b = b.max_turns(t);
    }
    if let Some(u) = a.max_budget_usd {
        b = b.max_budget_usd(u);
    }
    for kv in &a.env {
        let (k, v) = kv.split_once('=').ok_or_else(|| Error::InvalidSpec {
            field: "env".into(),
            reason: format!("{kv:?} is not NAME=VALUE"),
        })?;
        b = b.env(k, v);
    }
    b.extra_args(a.args.iter().cloned()).build()
}

pub(crate) async fn build_manager(m: &ManagerArgs, max: usize) -> Result<JobManager, Error> {
    let mut b = JobManager::builder()
        .max_concurrent(max)
        .data_dir(&m.data_dir)
        .isolation(m.isolation.parse::<IsolationMode>()?)
        .kill_grace(m.kill_grace)
        .memory_budget(m.memory_budget.parse()?)
        .cpu_budget(m.cpu_budget.parse()?);
    if let Some(bin) = &m.claude_bin {
        b = b.claude_bin(bin);
    }
    if let Some(url) = &m.store {
        b = b.store_url(url);
    }
    b.build().await
}

pub async fn run(a: RunArgs) -> ExitCode {
    let spec = match spec(&a) {
        Ok(s) => s,
        Err(e) => return report_error(&e, a.json),
    };
    let manager = match build_manager(&a.manager, 1).await {
        Ok(m) => m,
        Err(e) => return report_error(&e, a.json),
    };
    let job = match manager.submit(spec).await {
        Ok(j) => j,
        Err(e) => return report_error(&e, a.json),
    };
    let tag = job.id()[..8.min(job.id().len())].to_string();
    let mut events = job.events();
    let printer = tokio::spawn(async move {
        while let Some(rec) = events.next().await {
            progress::print(&tag, &rec);
        }
    });
    let info = tokio::select! {
        info = job.wait() => info,
        _ = tokio::signal::ctrl_c() => {
            eprintln!("claude-jobs: interrupted, cancelling the job");
            let _ = job.cancel().await;
            job.wait().await
        }
    };
    let _ = printer.await;
    manager.shutdown(Duration::from_secs(5)).await;
    if a.json {
        println!(
            "{}",
            serde_json::to_string(&info).expect("JobInfo serializes")
        );
    } else {
        if let Some(r) = &info.result {
            println!("{r}");
        }
        eprintln!(
            "state: {}  cost: ${:.4}  peak memory: {} MiB  logs: {}",
            info.state,
            info.cost_usd.unwrap_or(0.0),
            info.stats.peak_memory_bytes >> 20,
            info.log_dir
                .as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_default()
        );
    }
    if info.state == JobState::Succeeded {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
