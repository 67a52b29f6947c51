//! A Rust program on claude-jobs: one capped job, then the brand research →
//! brief → draft workflow, printing each outcome, its cost and peak memory.
//!
//! ```sh
//! cargo run -p claude-jobs-example -- [CLAUDE_BIN] [BRAND]
//! ```
//!
//! Needs `ANTHROPIC_API_KEY` for the real API (or `ANTHROPIC_BASE_URL` pointing
//! at a mock; `make demo` does the whole thing with the bundled mock).

use std::process::ExitCode;
use std::time::Duration;

use claude_jobs::{IsolationMode, JobInfo, JobManager, JobSpec, JobState};

fn report(step: &str, info: &JobInfo) {
    println!(
        "{step:<9} {:<11} cost ${:.4}  peak {:.1} MiB of {}  {}",
        info.state.as_str(),
        info.cost_usd.unwrap_or(0.0),
        info.stats.peak_memory_bytes as f64 / (1 << 20) as f64,
        info.limits
            .memory
            .map(|m| format!("{} MiB", m >> 20))
            .unwrap_or_else(|| "no cap".into()),
        info.outputs
            .first()
            .map(|p| p.display().to_string())
            .unwrap_or_default(),
    );
    if let Some(e) = &info.error {
        println!("          error: {e}");
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let claude_bin = args.next().unwrap_or_else(|| "claude".into());
    let brand = args.next().unwrap_or_else(|| "ACME Coffee".into());
    let data_dir = std::env::temp_dir().join(format!("claude-jobs-example-{}", std::process::id()));

    let manager = match JobManager::builder()
        .claude_bin(&claude_bin)
        .data_dir(&data_dir)
        .max_concurrent(3)
        .isolation(IsolationMode::Auto)
        .build()
        .await
    {
        Ok(m) => m,
        Err(e) => {
            eprintln!("cannot start the manager: {e} ({})", e.kind().code());
            return ExitCode::from(2);
        }
    };
    println!(
        "isolation: {}, data in {}",
        manager.isolation().as_str(),
        data_dir.display()
    );

    // One job with its own caps: half a core, 512 MiB, 256 processes, 10 minutes.
    let spec = JobSpec::builder()
        .prompt("Write one sentence about coffee.")
        .cpus(0.5)
        .memory("512M")
        .pids(256)
        .timeout(Duration::from_secs(600))
        .build();
    let job = match spec {
        Ok(spec) => manager.submit(spec).await,
        Err(e) => Err(e),
    };
    let mut ok = true;
    match job {
        Ok(job) => {
            let info = job.wait().await;
            report("prompt", &info);
            ok &= info.state == JobState::Succeeded;
        }
        Err(e) => {
            eprintln!("submit failed: {e} (field {:?})", e.field());
            ok = false;
        }
    }

    // The workflow: each step gets the previous one's output file.
    let vars = [("brand".to_string(), brand.clone())].into();
    match manager.submit_workflow("brand", &vars).await {
        Ok(wf) => {
            for (step, job) in &wf.steps {
                let info = job.wait().await;
                report(step, &info);
                ok &= info.state == JobState::Succeeded;
            }
        }
        Err(e) => {
            eprintln!("workflow failed to start: {e}");
            ok = false;
        }
    }
    manager.shutdown(Duration::from_secs(30)).await;
    let _ = std::fs::remove_dir_all(&data_dir);
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
