//! The job's cgroup (caps written and read back) and its process, started
//! inside the cgroup before exec.

use std::sync::Arc;

use super::dirs::JobDirs;
use super::Attempt;
use crate::claude::command;
use crate::events::{JobEvent, WarningKind};
use crate::isolation::{GroupError, IsolationMode, JobGroup};
use crate::job::Running;
use crate::process::{self, Child, SpawnPlan};
use crate::redact::Redactor;
use crate::state::{IsolationKind, JobInfo};

/// The started CLI.
pub(super) struct Proc {
    pub child: Child,
    pub pid: u32,
    pub group: Option<Arc<dyn JobGroup>>,
    pub redactor: Redactor,
}

/// Makes the cgroup, starts the CLI in it and records the start (info,
/// `started` event, the cell's running process). The error is the job's.
pub(super) async fn start(a: &Attempt, dirs: &JobDirs, flags: &command::RunFlags, info: &mut JobInfo) -> Result<Proc, String> {
    let group = cgroup(a, info)?;
    info.isolation = group.as_ref().map(|g| g.kind()).unwrap_or(IsolationKind::None);
    let spec = &a.cell.spec;
    let env = command::env(
        a.opts.passed_env(),
        &a.opts.env,
        spec,
        dirs.config.as_deref(),
        dirs.home.as_deref(),
    );
    let redactor = Redactor::from_env(env.iter()).with_secrets(spec.mcp_secrets());
    let args = command::args(spec, flags);
    let spawned = process::spawn(spawn_hooked(a, SpawnPlan {
        program: &a.opts.claude_bin,
        args: &args,
        env: &env,
        cwd: &dirs.work,
        attach: group.as_ref().map(|g| g.attach_paths()).unwrap_or_default(),
        into_cgroup: group.as_ref().and_then(|g| g.spawn_fd()),
        run_as: spec.run_as,
    }));
    let child = match spawned {
        Ok(c) => c,
        Err(e) => {
            if let Some(g) = group {
                super::outcome::destroy(g).await;
            }
            return Err(redactor.text(&spawn_error(a, &e)));
        }
    };
    let pid = child.id();
    info.pid = Some(pid);
    info.pid_start_time = crate::isolation::process_start_time(pid);
    *a.cell.info.lock().unwrap() = info.clone();
    a.cell.set_running(Some(Running {
        pid,
        group: group.clone(),
    }));
    a.cell.emit(JobEvent::Started {
        pid,
        isolation: info.isolation,
        attempt: info.attempt,
    });
    tracing::info!(job_id = %a.cell.id, pid, isolation = %info.isolation, "job started");
    Ok(Proc {
        child,
        pid,
        group,
        redactor,
    })
}

/// The job's cgroup by the isolation mode. Under `auto`, a host where no
/// cgroup can be made runs the job uncapped (with a warning); a cap the
/// kernel refuses fails the job, naming the field, under every mode.
fn cgroup(a: &Attempt, info: &JobInfo) -> Result<Option<Arc<dyn JobGroup>>, String> {
    let mode = a.opts.isolation;
    match (mode, &a.isolation.isolator) {
        (IsolationMode::Off, _) => Ok(None),
        (_, Some(iso)) => match iso.create(&a.cell.id, &hooked(a, info.limits)) {
            Ok(g) => Ok(Some(Arc::from(g))),
            Err(e @ GroupError::Refused { .. }) => Err(format!("invalid {e}")),
            Err(e) if mode == IsolationMode::Required => Err(format!("cgroup isolation failed: {e}")),
            Err(e) => {
                warn_uncapped(a, &e.to_string());
                Ok(None)
            }
        },
        (IsolationMode::Required, None) => Err(format!(
            "cgroup isolation is required but unavailable: {}",
            a.isolation.error.as_deref().unwrap_or_default()
        )),
        (IsolationMode::Auto, None) => {
            warn_uncapped(a, a.isolation.error.as_deref().unwrap_or("unavailable"));
            Ok(None)
        }
    }
}

/// The caps as written to the kernel. With the `test-hooks` feature, the
/// label `claude_jobs.test_hook=kernel-refuses-pids` asks for 5 000 000
/// pids, past what validation lets through, so that the tests see the
/// kernel itself refuse a cap.
#[cfg(feature = "test-hooks")]
fn hooked(a: &Attempt, limits: crate::limits::ResourceLimits) -> crate::limits::ResourceLimits {
    match a.cell.spec.labels.get("claude_jobs.test_hook").map(String::as_str) {
        Some("kernel-refuses-pids") => crate::limits::ResourceLimits { pids: Some(5_000_000), ..limits },
        _ => limits,
    }
}

#[cfg(not(feature = "test-hooks"))]
fn hooked(_: &Attempt, limits: crate::limits::ResourceLimits) -> crate::limits::ResourceLimits {
    limits
}

/// How the CLI joins its cgroup. With the `test-hooks` feature, the label
/// `claude_jobs.test_hook=spawn-into-cgroup-only` leaves out the attach (so
/// a CLI outside its cgroup shows that `clone3` did not put it there) and
/// `spawn-attach-only` leaves out `clone3` (the fallback).
#[cfg(feature = "test-hooks")]
fn spawn_hooked<'a>(a: &Attempt, plan: SpawnPlan<'a>) -> SpawnPlan<'a> {
    match a.cell.spec.labels.get("claude_jobs.test_hook").map(String::as_str) {
        Some("spawn-into-cgroup-only") => SpawnPlan { attach: Vec::new(), ..plan },
        Some("spawn-attach-only") => SpawnPlan { into_cgroup: None, ..plan },
        _ => plan,
    }
}

#[cfg(not(feature = "test-hooks"))]
fn spawn_hooked<'a>(_: &Attempt, plan: SpawnPlan<'a>) -> SpawnPlan<'a> {
    plan
}

fn warn_uncapped(a: &Attempt, why: &str) {
    a.cell.emit(JobEvent::Warning {
        kind: WarningKind::IsolationUnavailable,
        message: format!("running without cgroup limits: {why}"),
    });
}

fn spawn_error(a: &Attempt, e: &std::io::Error) -> String {
    let bin = a.opts.claude_bin.display();
    match e.kind() {
        std::io::ErrorKind::NotFound => format!("Claude CLI not found: {bin}"),
        std::io::ErrorKind::PermissionDenied => {
            format!("cannot start the Claude CLI {bin}: permission denied")
        }
        _ => format!("cannot start the Claude CLI {bin}: {e}"),
    }
}
