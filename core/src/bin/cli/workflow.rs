//! `claude-jobs workflow --brand NAME`: research → brief → draft, against the
//! real API when `ANTHROPIC_API_KEY` is set, else against the bundled mock.

use std::process::ExitCode;
use std::time::Duration;

use claude_jobs::{JobInfo, JobState, WorkflowOptions};

use super::{progress, report_error, ManagerArgs};

#[derive(clap::Args, Debug)]
pub struct WorkflowArgs {
    /// The brand to research and write for.
    #[arg(long)]
    pub brand: String,
    /// Extra template variables, NAME=VALUE (website, focus, objective, channel, length).
    #[arg(long = "var", value_name = "NAME=VALUE")]
    pub vars: Vec<String>,
    /// Use the local mock API even when ANTHROPIC_API_KEY is set.
    #[arg(long)]
    pub offline: bool,
    /// Print one JSON object with the outcome on stdout.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub manager: ManagerArgs,
}

pub async fn run(a: WorkflowArgs) -> ExitCode {
    let mut opts = WorkflowOptions::default();
    for kv in &a.vars {
        match kv.split_once('=') {
            Some((k, v)) => {
                opts.variables.insert(k.to_string(), v.to_string());
            }
            None => {
                let e = claude_jobs::Error::InvalidSpec {
                    field: "var".into(),
                    reason: format!("{kv:?} is not NAME=VALUE"),
                };
                return report_error(&e, a.json);
            }
        }
    }
    let key_set = std::env::var("ANTHROPIC_API_KEY")
        .map(|k| !k.trim().is_empty())
        .unwrap_or(false);
    let mut mock = None;
    if key_set && !a.offline {
        eprintln!("claude-jobs: ANTHROPIC_API_KEY is set: running against the Anthropic API (this costs money).");
    } else {
        let config = mock_anthropic::MockConfig {
            default_scenario: mock_anthropic::Scenario::Write,
            ..Default::default()
        };
        let server = match mock_anthropic::MockServer::start(config).await {
            Ok(s) => s,
            Err(e) => {
                eprintln!("claude-jobs: cannot start the local mock API: {e}");
                return ExitCode::from(2);
            }
        };
        eprintln!(
            "claude-jobs: ANTHROPIC_API_KEY is not set: running OFFLINE against the bundled mock API at {}.\n\
             claude-jobs: the outputs are offline sample text, not real research.",
            server.base_url()
        );
        opts.env
            .insert("ANTHROPIC_BASE_URL".into(), server.base_url());
        opts.env
            .insert("ANTHROPIC_API_KEY".into(), "offline-mock-key".into());
        opts.env.insert(
            "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC".into(),
            "1".into(),
        );
        mock = Some(server);
    }
    let manager = match super::run::build_manager(&a.manager, 3).await {
        Ok(m) => m,
        Err(e) => return report_error(&e, a.json),
    };
    let wf = match manager.submit_brand_workflow(&a.brand, opts).await {
        Ok(wf) => wf,
        Err(e) => return report_error(&e, a.json),
    };
    let mut printers = Vec::new();
    for job in wf.jobs() {
        let tag = job.spec().template.clone().unwrap_or_default();
        let mut events = job.events();
        printers.push(tokio::spawn(async move {
            while let Some(rec) = events.next().await {
                progress::print(&tag, &rec);
            }
        }));
    }
    let wait_all = async {
        let mut infos = Vec::new();
        for job in wf.jobs() {
            infos.push(job.wait().await);
        }
        infos
    };
    let infos: Vec<JobInfo> = tokio::select! {
        infos = wait_all => infos,
        _ = tokio::signal::ctrl_c() => {
            eprintln!("claude-jobs: interrupted, cancelling the workflow");
            for job in wf.jobs() { let _ = job.cancel().await; }
            let mut infos = Vec::new();
            for job in wf.jobs() { infos.push(job.wait().await); }
            infos
        }
    };
    for p in printers {
        let _ = p.await;
    }
    manager.shutdown(Duration::from_secs(5)).await;
    if let Some(m) = mock {
        m.shutdown().await;
    }
    let total: f64 = infos.iter().filter_map(|i| i.cost_usd).sum();
    let offline = !key_set || a.offline;
    if a.json {
        let jobs: Vec<_> = infos
            .iter()
            .map(|i| {
                serde_json::json!({
                    "template": i.template, "id": i.id, "state": i.state, "outputs": i.outputs,
                    "cost_usd": i.cost_usd, "error": i.error, "stats": i.stats,
                })
            })
            .collect();
        println!(
            "{}",
            serde_json::json!({"brand": a.brand, "offline": offline, "jobs": jobs, "total_cost_usd": total})
        );
    } else {
        println!(
            "\nWorkflow for {}{}:",
            a.brand,
            if offline {
                " (offline sample text from the local mock)"
            } else {
                ""
            }
        );
        for i in &infos {
            let out = i
                .outputs
                .first()
                .map(|p| p.display().to_string())
                .unwrap_or_else(|| "-".into());
            println!(
                "  {:<11} {:<10} ${:<8.4} {}{}",
                i.template.as_deref().unwrap_or("?"),
                i.state.as_str(),
                i.cost_usd.unwrap_or(0.0),
                out,
                i.error
                    .as_deref()
                    .map(|e| format!("  ({e})"))
                    .unwrap_or_default()
            );
        }
        println!("  total cost: ${total:.4} (the CLI's estimate)");
    }
    if infos.iter().all(|i| i.state == JobState::Succeeded) {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
