//! `claude-jobs run`: one job, progress on stderr, the outcome on stdout.

use std::process::ExitCode;
use std::time::Duration;

use claude_jobs::{JobInfo, JobState};

use super::spec::{spec, SpecArgs};
use super::{progress, report_error, ManagerArgs};

#[derive(clap::Args, Debug)]
pub struct RunArgs {
    #[command(flatten)]
    pub spec: SpecArgs,
    /// Print one JSON object with the outcome on stdout.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub manager: ManagerArgs,
}

pub async fn run(a: RunArgs) -> ExitCode {
    let spec = match spec(&a.spec) {
        Ok(s) => s,
        Err(e) => return report_error(&e, a.json),
    };
    let manager = match a.manager.build(1, &[]).await {
        Ok(m) => m,
        Err(e) => return report_error(&e, a.json),
    };
    let job = match manager.submit(spec).await {
        Ok(j) => j,
        Err(e) => {
            // The manager's cgroup directory goes too.
            manager.shutdown(Duration::from_secs(5)).await;
            return report_error(&e, a.json);
        }
    };
    let tag = job.id()[..8.min(job.id().len())].to_string();
    let mut events = job.events(0);
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
    print_outcome(&info, a.json);
    if info.state == JobState::Succeeded {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

fn print_outcome(info: &JobInfo, json: bool) {
    if json {
        println!("{}", serde_json::to_string(info).expect("JobInfo serializes"));
        return;
    }
    if let Some(r) = &info.result {
        println!("{r}");
    }
    eprintln!(
        "state: {}  cost: ${:.4}  peak memory: {} MiB  logs: {}",
        info.state,
        info.cost_usd.unwrap_or(0.0),
        info.stats.peak_memory_bytes >> 20,
        info.log_dir.as_ref().map(|p| p.display().to_string()).unwrap_or_default()
    );
}
