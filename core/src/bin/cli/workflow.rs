//! `claude-jobs workflow --name brand --var brand=ACME` (`--brand ACME` for
//! short): every step of a workflow file, against the real API when
//! `ANTHROPIC_API_KEY` is set, else against the bundled mock.

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::time::Duration;

use claude_jobs::{Error, JobInfo, JobState, Workflow};

use super::{progress, report_error, ManagerArgs};

#[derive(clap::Args, Debug)]
pub struct WorkflowArgs {
    /// The workflow (a built-in one, or one in a `--templates-dir`'s `workflows/`).
    #[arg(long, default_value = "brand")]
    pub name: String,
    /// Short for `--var brand=NAME`.
    #[arg(long)]
    pub brand: Option<String>,
    /// A variable for the steps, NAME=VALUE (repeatable): each step takes
    /// those its template declares (brand: brand, website, focus, objective,
    /// channel, length).
    #[arg(long = "var", value_name = "NAME=VALUE")]
    pub vars: Vec<String>,
    /// Use the local mock API even when ANTHROPIC_API_KEY is set.
    #[arg(long)]
    pub offline: bool,
    /// Print one JSON object with the outcome on stdout.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub mock: super::mock::MockArgs,
    #[command(flatten)]
    pub manager: ManagerArgs,
}

fn variables(a: &WorkflowArgs) -> Result<BTreeMap<String, String>, Error> {
    let mut vars = BTreeMap::new();
    for kv in &a.vars {
        let (k, v) = kv
            .split_once('=')
            .ok_or_else(|| Error::InvalidSpec { field: "var".into(), reason: format!("{kv:?} is not NAME=VALUE") })?;
        vars.insert(k.to_string(), v.to_string());
    }
    if let Some(b) = &a.brand {
        vars.insert("brand".into(), b.clone());
    }
    Ok(vars)
}

/// The local mock API, when the run is offline.
struct Offline {
    server: super::mock::MockApi,
}

impl Offline {
    async fn start(args: &super::mock::MockArgs) -> Result<Offline, String> {
        let server = super::mock::MockApi::start(args).await?;
        eprintln!(
            "claude-jobs: ANTHROPIC_API_KEY is not set: running OFFLINE against the bundled mock API at {}.\n\
             claude-jobs: the outputs are offline sample text, not real research.",
            server.base_url()
        );
        Ok(Offline { server })
    }

    fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("ANTHROPIC_BASE_URL", self.server.base_url()),
            ("ANTHROPIC_API_KEY", "offline-mock-key".into()),
            ("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1".into()),
        ]
    }
}

pub async fn run(a: WorkflowArgs) -> ExitCode {
    let vars = match variables(&a) {
        Ok(v) => v,
        Err(e) => return report_error(&e, a.json),
    };
    let key_set = std::env::var("ANTHROPIC_API_KEY").is_ok_and(|k| !k.trim().is_empty());
    let offline = if key_set && !a.offline {
        eprintln!("claude-jobs: ANTHROPIC_API_KEY is set: running against the Anthropic API (this costs money).");
        None
    } else {
        match Offline::start(&a.mock).await {
            Ok(o) => Some(o),
            Err(e) => {
                eprintln!("claude-jobs: cannot start the local mock API: {e}");
                return ExitCode::from(2);
            }
        }
    };
    let env = offline.as_ref().map(Offline::env).unwrap_or_default();
    let manager = match a.manager.build(3, &env).await {
        Ok(m) => m,
        Err(e) => return report_error(&e, a.json),
    };
    let infos = match manager.submit_workflow(&a.name, &vars).await {
        Ok(wf) => follow(&wf).await,
        Err(e) => {
            manager.shutdown(Duration::from_secs(5)).await;
            return report_error(&e, a.json);
        }
    };
    manager.shutdown(Duration::from_secs(5)).await;
    if let Some(o) = offline {
        o.server.shutdown().await;
    }
    report(&a, &infos, !key_set || a.offline);
    if infos.iter().all(|(_, i)| i.state == JobState::Succeeded) {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// Prints every step's progress until all have ended (Ctrl-C cancels them).
async fn follow(wf: &Workflow) -> Vec<(String, JobInfo)> {
    let mut printers = Vec::new();
    for (step, job) in &wf.steps {
        let (tag, mut events) = (step.clone(), job.events(0));
        printers.push(tokio::spawn(async move {
            while let Some(rec) = events.next().await {
                progress::print(&tag, &rec);
            }
        }));
    }
    let wait_all = async {
        let mut infos = Vec::new();
        for (step, job) in &wf.steps {
            infos.push((step.clone(), job.wait().await));
        }
        infos
    };
    let infos = tokio::select! {
        infos = wait_all => infos,
        _ = tokio::signal::ctrl_c() => {
            eprintln!("claude-jobs: interrupted, cancelling the workflow");
            let mut infos = Vec::new();
            for (step, job) in &wf.steps {
                let _ = job.cancel().await;
                infos.push((step.clone(), job.wait().await));
            }
            infos
        }
    };
    for p in printers {
        let _ = p.await;
    }
    infos
}

fn report(a: &WorkflowArgs, infos: &[(String, JobInfo)], offline: bool) {
    let total: f64 = infos.iter().filter_map(|(_, i)| i.cost_usd).sum();
    if a.json {
        let jobs: Vec<_> = infos
            .iter()
            .map(|(step, i)| {
                serde_json::json!({
                    "step": step, "template": i.template, "id": i.id, "state": i.state, "outputs": i.outputs,
                    "cost_usd": i.cost_usd, "error": i.error, "stats": i.stats,
                })
            })
            .collect();
        let brand = variables(a).ok().and_then(|v| v.get("brand").cloned());
        let v = serde_json::json!({"workflow": a.name, "brand": brand, "offline": offline,
                                   "jobs": jobs, "total_cost_usd": total});
        println!("{v}");
        return;
    }
    let note = if offline { " (offline sample text from the local mock)" } else { "" };
    println!("\nWorkflow {}{note}:", a.name);
    for (step, i) in infos {
        let out = i.outputs.first().map(|p| p.display().to_string()).unwrap_or_else(|| "-".into());
        let err = i.error.as_deref().map(|e| format!("  ({e})")).unwrap_or_default();
        println!("  {step:<11} {:<10} ${:<8.4} {out}{err}", i.state.as_str(), i.cost_usd.unwrap_or(0.0));
    }
    println!("  total cost: ${total:.4} (the CLI's estimate)");
}
