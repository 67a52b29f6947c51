//! `claude-jobs serve`: a worker. Runs the store's queued jobs and fires its
//! schedules until SIGTERM or SIGINT, then shuts down (running jobs get the
//! drain time to finish; queued ones stay queued in a durable store).

use std::process::ExitCode;
use std::time::Duration;

use tokio::signal::unix::{signal, SignalKind};

use super::{report_error, ManagerArgs};

#[derive(clap::Args, Debug)]
pub struct ServeArgs {
    /// Jobs run at once by this worker.
    #[arg(long, default_value_t = 2)]
    pub max_concurrent: usize,
    /// How long running jobs may go on after SIGTERM/SIGINT before they are stopped.
    #[arg(long, value_name = "DUR", default_value = "30s")]
    pub drain_timeout: String,
    #[command(flatten)]
    pub manager: ManagerArgs,
}

pub async fn run(a: ServeArgs) -> ExitCode {
    let drain = match claude_jobs::parse_duration(&a.drain_timeout) {
        Ok(d) => d,
        Err(e) => return report_error(&claude_jobs::Error::InvalidSpec { field: "drain_timeout".into(), reason: e }, false),
    };
    let manager = match a.manager.build(a.max_concurrent, &[]).await {
        Ok(m) => m,
        Err(e) => return report_error(&e, false),
    };
    let (Ok(mut term), Ok(mut int)) = (signal(SignalKind::terminate()), signal(SignalKind::interrupt())) else {
        eprintln!("claude-jobs: cannot install the signal handlers");
        manager.shutdown(Duration::ZERO).await;
        return ExitCode::from(1);
    };
    eprintln!(
        "claude-jobs serve: node {}, store {}, {} at once; SIGTERM or Ctrl-C stops",
        manager.node_id(),
        manager.store_url(),
        manager.max_concurrent()
    );
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
    eprintln!("claude-jobs serve: stopping (drain {drain:?})");
    manager.shutdown(drain).await;
    ExitCode::SUCCESS
}
