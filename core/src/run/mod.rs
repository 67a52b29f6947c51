//! One attempt of a job on this node, in order: the job's directories
//! (`dirs.rs`), its cgroup and process (`start.rs`), the prompt and the
//! output pipes (`io.rs`), watching and stopping it (`supervise.rs`), the
//! outcome (`outcome.rs`) and the collected output (`collect.rs`).
//!
//! An attempt never ends the job: it returns the attempt's info, and the
//! manager decides between ending the job and another try.

use std::sync::Arc;

use crate::claude::command;
use crate::events::{JobEvent, WarningKind};
use crate::isolation::Isolator;
use crate::job::JobCell;
use crate::options::ManagerOptions;
use crate::state::{JobInfo, JobState};
use crate::store::ArtifactStore;
use crate::util::now_ms;

mod collect;
mod dirs;
mod files;
mod io;
mod outcome;
mod session;
mod start;
mod supervise;
mod upload;

/// The cgroups this manager can make, or why it cannot.
#[derive(Debug, Clone)]
pub(crate) struct Isolation {
    pub isolator: Option<Arc<Isolator>>,
    pub error: Option<String>,
}

/// What one attempt needs.
pub(crate) struct Attempt {
    pub opts: Arc<ManagerOptions>,
    pub isolation: Isolation,
    pub cell: Arc<JobCell>,
    /// The job's info as claimed (attempt number, start time, caps).
    pub info: JobInfo,
    /// The prompt (rendered from the template and the dependencies'
    /// outputs), or why it could not be made.
    pub prompt: Result<String, String>,
    /// What the job may spend (its tenant's budget left at the claim).
    pub budget_cap: Option<f64>,
    /// Told when the API rate-limits the job: until when (Unix ms), and why.
    pub on_rate_limit: Option<RateLimitHook>,
    /// The `db` artifact store the logs and outputs are uploaded to.
    pub artifacts: Option<Arc<dyn ArtifactStore>>,
}

/// See [`Attempt::on_rate_limit`].
pub(crate) type RateLimitHook = Arc<dyn Fn(u64, String) + Send + Sync>;

/// Runs the attempt to its end and returns its final info.
pub(crate) async fn attempt(a: Attempt) -> JobInfo {
    let mut info = a.info.clone();
    // A stop that came before the process (shutdown, or a cancel while the
    // job was being claimed): no directory, no cgroup, no process.
    if let Some(stop) = a.cell.stop.borrow().clone() {
        let (state, error) = stop.before_start();
        return ended(info, state, error);
    }
    let prompt = match &a.prompt {
        Ok(p) => p.clone(),
        Err(e) => return ended(info, JobState::Failed, format!("cannot render the prompt: {e}")),
    };
    let ready = match prepare(&a, &info, &prompt).await {
        Ok(r) => r,
        Err(e) => return ended(info, JobState::Failed, e),
    };
    let dirs = ready.dirs;
    info.log_dir = Some(dirs.root.clone());
    info.work_dir = Some(dirs.work.clone());
    info.config_dir = dirs.config.clone();
    for message in ready.warnings {
        a.cell.emit(JobEvent::Warning { kind: WarningKind::Other, message });
    }
    let (flags, prompt) = run_flags(&a, ready.files, ready.resume, prompt);
    let mut proc = match start::start(&a, &dirs, &flags, &mut info).await {
        Ok(p) => p,
        Err(e) => return ended(info, JobState::Failed, e),
    };
    if let Some(stdin) = proc.child.stdin.take() {
        io::write_prompt(stdin, prompt);
    }
    let target = a.artifacts.clone().map(|store| upload::Target { store, job: a.cell.id.clone(), attempt: info.attempt });
    let (upload, spools) = match target.clone().map(upload::LogUpload::start) {
        Some((u, out, err)) => (Some(u), (Some(out), Some(err))),
        None => (None, (None, None)),
    };
    let readers = io::Readers::start(&mut proc.child, &dirs.root_fd, &a.cell, &proc.redactor, a.opts.line_cap, spools);
    let watched = supervise::watch(&a, &mut proc, readers.activity.clone(), &readers.pulse).await;
    let exit = supervise::stop_and_reap(&a, &mut proc, &watched).await;
    let drained = readers.drain().await;
    for message in match upload {
        Some(u) => u.finish().await,
        None => Vec::new(),
    } {
        a.cell.emit(JobEvent::Warning { kind: WarningKind::Other, message });
    }
    outcome::record(&a, &mut info, &proc, &watched, exit, &drained).await;
    let (mut state, mut error) = outcome::decide(&watched, &drained.stream, &info, &drained.stderr_tail);
    if let (JobState::Succeeded, Some(e)) = (state, &drained.log_error) {
        (state, error) = (JobState::Failed, Some(e.clone()));
    }
    info.state = state;
    info.error = error.map(|e| proc.redactor.text(&e));
    if info.state == JobState::Succeeded {
        collect_output(&a, &dirs, &mut info).await;
    }
    if let (Some(t), JobState::Succeeded) = (&target, info.state) {
        for path in &info.outputs {
            if let Err(e) = upload::upload_output(t, path).await {
                (info.state, info.error) = (JobState::Failed, Some(e));
                break;
            }
        }
    }
    info
}

/// The flags of the attempt's files and session, and the prompt it sends
/// (with a `resuming` event when it continues a session).
fn run_flags(a: &Attempt, files: files::AgentFiles, resume: Option<session::Plan>, prompt: String) -> (command::RunFlags, String) {
    let mut flags = command::RunFlags {
        mcp_config: files.mcp_config,
        settings: files.settings,
        budget_cap: a.budget_cap,
        ..Default::default()
    };
    let Some(plan) = resume else {
        return (flags, prompt);
    };
    a.cell.emit(JobEvent::Resuming {
        session_id: plan.session_id.clone(),
        from_job: plan.from_job,
        fork: plan.fork,
    });
    flags.resume = Some(plan.session_id);
    flags.fork = plan.fork;
    (flags, plan.prompt.unwrap_or(prompt))
}

/// What an attempt needs before its process: its directories, the files
/// the manager writes for it, the session it continues.
struct Ready {
    dirs: dirs::JobDirs,
    files: files::AgentFiles,
    resume: Option<session::Plan>,
    warnings: Vec<String>,
}

/// Makes the job's directories and files and decides the session to
/// resume, on a blocking thread.
async fn prepare(a: &Attempt, info: &JobInfo, prompt: &str) -> Result<Ready, String> {
    let (opts, cell, info, prompt) = (a.opts.clone(), a.cell.clone(), info.clone(), prompt.to_string());
    tokio::task::spawn_blocking(move || {
        let resumed = info.resumed_session.as_ref().and(info.work_dir.as_deref());
        let dirs = dirs::prepare(&dirs::Layout {
            data_dir: &opts.data_dir,
            id: &cell.id,
            working_dir: cell.spec.working_dir.as_deref(),
            run_as: cell.spec.run_as,
            config_dir: opts.per_job_config_dir,
            resumed: resumed.map(|w| (w, info.config_dir.as_deref())),
        })?;
        let files = files::write(&dirs.root, &dirs.root_fd, &cell.spec)?;
        let mut warnings = Vec::new();
        let resume = session::plan(&cell.id, &cell.spec, &info, dirs.config.as_deref(), &prompt, &mut warnings)?;
        Ok(Ready { dirs, files, resume, warnings })
    })
    .await
    .map_err(|e| format!("cannot prepare the job's directory: {e}"))?
}

/// Copies the output file; a job whose output cannot be collected fails.
async fn collect_output(a: &Attempt, dirs: &dirs::JobDirs, info: &mut JobInfo) {
    let Some(out) = a.cell.spec.output.clone() else {
        return;
    };
    let src = collect::Source {
        data_dir: a.opts.data_dir.clone(),
        work_fd: dirs.work_fd.clone(),
        work: dirs.work.clone(),
        id: a.cell.id.clone(),
        max_bytes: a.opts.max_output_bytes,
    };
    match collect::collect(src, out, info.result.clone()).await {
        Ok(c) => {
            for message in c.warnings {
                a.cell.emit(JobEvent::Warning {
                    kind: WarningKind::Other,
                    message,
                });
            }
            info.outputs.push(c.path);
        }
        Err(e) => {
            info.state = JobState::Failed;
            info.error = Some(e);
        }
    }
}

fn ended(mut info: JobInfo, state: JobState, error: String) -> JobInfo {
    info.state = state;
    info.error = Some(error);
    info.finished_at = Some(now_ms());
    info
}
