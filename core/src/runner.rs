//! One job's life: cgroup, spawn, stdout/stderr, timeouts, stop, reap,
//! stats and outcome. Each step is here, in order.

use std::io::Write;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::ExitStatus;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::sync::watch;
use tokio::time::{sleep_until, timeout, Instant};

use crate::claude::command;
use crate::claude::lines::{Frame, LineReader};
use crate::claude::stream::{parse_line, StreamState};
use crate::events::{JobEvent, WarningKind};
use crate::isolation::{IsolationMode, Isolator, JobGroup};
use crate::job::{JobShared, StopReason};
use crate::manager::Config;
use crate::monitor::PressureWatch;
use crate::process::{self, SpawnPlan};
use crate::redact::Redactor;
use crate::state::{IsolationKind, JobInfo, JobState};
use crate::util::{now_ms, tail};

/// How long to wait for stdout/stderr to close after the process tree is gone.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(3);
const STDERR_TAIL: usize = 2000;

pub(crate) struct RunContext {
    pub cfg: Arc<Config>,
    pub isolator: Option<Arc<Isolator>>,
    pub isolation_error: Option<String>,
    pub shared: Arc<JobShared>,
    pub info: JobInfo,
    /// The prompt to send (rendered from the template and the dependencies'
    /// outputs), or why it could not be made.
    pub prompt: Result<String, String>,
}

#[derive(Debug, Clone)]
enum Stop {
    Cancel(String),
    Shutdown,
    LeaseLost,
    Timeout(Duration),
    Idle(Duration),
    AfterResult,
    Pressure(Duration),
}

impl Stop {
    fn describe(&self) -> String {
        match self {
            Stop::Cancel(r) => r.clone(),
            Stop::Shutdown => "the manager is shutting down".into(),
            Stop::LeaseLost => "this node lost the job's lease (another node may run it)".into(),
            Stop::Timeout(d) => format!("timed out after {}", humantime::format_duration(*d)),
            Stop::Idle(d) => format!(
                "no output for {} (idle timeout)",
                humantime::format_duration(*d)
            ),
            Stop::AfterResult => "the CLI printed its result but did not exit".into(),
            Stop::Pressure(d) => format!(
                "stopped after {} under memory pressure",
                humantime::format_duration(*d)
            ),
        }
    }
}

#[derive(Debug, Default, Clone, Copy)]
struct Activity {
    result: bool,
}

/// Runs the job to its end and returns its final info.
pub(crate) async fn run(ctx: RunContext) -> JobInfo {
    let mut info = ctx.info.clone();
    let shared = ctx.shared.clone();
    let spec = shared.spec.clone();
    let cfg = ctx.cfg.clone();
    let job_dir = cfg.data_dir.join("jobs").join(&shared.id);

    // A stop that came before the process (the manager shut down, or the job
    // was cancelled, while it was being claimed): no process, no cgroup.
    let early = shared.stop.borrow().clone();
    if let Some(reason) = early {
        let (state, error) = match reason {
            StopReason::Cancel(r) => (JobState::Cancelled, r),
            StopReason::Shutdown => (
                JobState::Interrupted,
                "the manager shut down before the job started".into(),
            ),
            r @ StopReason::LeaseLost => (JobState::Interrupted, Stop::from(r).describe()),
        };
        info.state = state;
        info.error = Some(error);
        info.finished_at = Some(now_ms());
        return info;
    }
    info.log_dir = Some(job_dir.clone());
    let prompt = match ctx.prompt {
        Ok(p) => p,
        Err(e) => return failed(info, format!("cannot render the prompt: {e}")),
    };
    let dirs = match prepare_dirs(&cfg, &job_dir, spec.working_dir.as_deref(), spec.run_as) {
        Ok(d) => d,
        Err(e) => return failed(info, e),
    };

    // 1. The cgroup, limits written and read back.
    let group: Option<Arc<dyn JobGroup>> = match (cfg.isolation, &ctx.isolator) {
        (IsolationMode::Off, _) => None,
        (_, Some(iso)) => match iso.create(&shared.id, &info.limits) {
            Ok(g) => Some(Arc::from(g)),
            Err(e) if cfg.isolation == IsolationMode::Required => {
                return failed(info, format!("cgroup isolation failed: {e}"));
            }
            Err(e) => {
                warn_uncapped(&shared, &e);
                None
            }
        },
        (IsolationMode::Required, None) => {
            let why = ctx.isolation_error.clone().unwrap_or_default();
            return failed(
                info,
                format!("cgroup isolation is required but unavailable: {why}"),
            );
        }
        (IsolationMode::Auto, None) => {
            warn_uncapped(
                &shared,
                ctx.isolation_error.as_deref().unwrap_or("unavailable"),
            );
            None
        }
    };
    info.isolation = group
        .as_ref()
        .map(|g| g.kind())
        .unwrap_or(IsolationKind::None);

    // 2. The process, inside the cgroup before exec.
    let env = command::env(
        &cfg.pass_env,
        &cfg.env,
        &spec,
        dirs.config.as_deref(),
        spec.run_as.map(|_| job_dir.as_path()),
    );
    let redactor = Redactor::from_env(env.iter());
    let args = command::args(&spec);
    let spawned = process::spawn(SpawnPlan {
        program: &cfg.claude_bin,
        args: &args,
        env: &env,
        cwd: &dirs.work,
        attach: group.as_ref().map(|g| g.attach_paths()).unwrap_or_default(),
        run_as: spec.run_as,
    });
    let mut child = match spawned {
        Ok(c) => c,
        Err(e) => {
            if let Some(g) = &group {
                destroy(g.clone()).await;
            }
            let msg = match e.kind() {
                std::io::ErrorKind::NotFound => {
                    format!("Claude CLI not found: {}", cfg.claude_bin.display())
                }
                std::io::ErrorKind::PermissionDenied => format!(
                    "cannot start the Claude CLI {}: permission denied",
                    cfg.claude_bin.display()
                ),
                _ => format!(
                    "cannot start the Claude CLI {}: {e}",
                    cfg.claude_bin.display()
                ),
            };
            return failed(info, redactor.text(&msg));
        }
    };
    let pid = child.id();
    info.pid = Some(pid);
    *shared.info.lock().unwrap() = info.clone();
    shared.emit(JobEvent::Started {
        pid,
        isolation: info.isolation,
        attempt: info.attempt,
    });
    tracing::info!(job_id = %shared.id, pid, isolation = %info.isolation, "job started");

    // 3. Prompt on stdin; stdout and stderr read concurrently.
    if let Some(stdin) = child.stdin.take() {
        write_prompt(stdin, prompt);
    }
    let (act_tx, mut act_rx) = watch::channel(Activity::default());
    let act_tx = Arc::new(act_tx);
    let stdout_task = tokio::spawn(read_stdout(
        child.stdout.take().expect("piped stdout"),
        job_dir.join("stdout.log"),
        cfg.line_cap,
        redactor.clone(),
        shared.clone(),
        act_tx.clone(),
    ));
    let stderr_task = tokio::spawn(read_stderr(
        child.stderr.take().expect("piped stderr"),
        job_dir.join("stderr.log"),
        redactor.clone(),
        act_tx.clone(),
    ));
    drop(act_tx);

    // 4. Wait for the end, a stop request, a timeout or memory trouble.
    let started = Instant::now();
    let limit_timeout = spec.timeout.or(cfg.default_timeout);
    let idle = spec.idle_timeout.or(cfg.default_idle_timeout);
    let deadline = limit_timeout.map(|t| started + t);
    let mut last_activity = started;
    let mut result_at: Option<Instant> = None;
    let mut activity_open = true;
    let mut stop: Option<Stop> = None;
    let mut exit: Option<ExitStatus> = None;
    let mut stop_rx = shared.stop.subscribe();
    // The first sample one interval in (an interval's first tick is at once).
    let mut ticker = tokio::time::interval_at(started + cfg.monitor_interval, cfg.monitor_interval);
    let mut watch = PressureWatch::new(info.limits.memory);
    if let Some(r) = stop_rx.borrow_and_update().clone() {
        stop = Some(r.into());
    }
    while exit.is_none() && stop.is_none() {
        let idle_deadline = idle.map(|d| last_activity + d);
        let grace_deadline = result_at.map(|t| t + cfg.result_grace);
        tokio::select! {
            st = child.wait() => exit = Some(st.unwrap_or_else(|_| ExitStatus::from_raw(0xff00))),
            r = stop_rx.changed() => {
                if r.is_ok() {
                    if let Some(reason) = stop_rx.borrow_and_update().clone() { stop = Some(reason.into()); }
                }
            }
            _ = sleep_opt(deadline) => stop = Some(Stop::Timeout(limit_timeout.unwrap_or_default())),
            _ = sleep_opt(idle_deadline) => stop = Some(Stop::Idle(idle.unwrap_or_default())),
            _ = sleep_opt(grace_deadline) => stop = Some(Stop::AfterResult),
            r = act_rx.changed(), if activity_open => {
                if r.is_ok() {
                    last_activity = Instant::now();
                    if act_rx.borrow_and_update().result && result_at.is_none() {
                        result_at = Some(last_activity);
                    }
                } else {
                    activity_open = false;
                }
            }
            _ = ticker.tick(), if group.is_some() => {
                let sample = group.as_ref().unwrap().sample();
                let now = std::time::Instant::now();
                if let Some(ev) = watch.observe(sample, now) {
                    shared.emit(ev);
                }
                if let Some(limit) = cfg.memory_pressure_limit {
                    if watch.under_pressure_for(now) >= limit {
                        stop = Some(Stop::Pressure(limit));
                    }
                }
            }
        }
    }

    // 5. Stop: SIGTERM to the process group, a grace period, then kill the tree.
    if let (Some(reason), None) = (&stop, exit) {
        shared.emit(JobEvent::Stopping {
            reason: reason.describe(),
        });
        tracing::info!(job_id = %shared.id, reason = %reason.describe(), "stopping job");
        process::signal_group(pid, libc::SIGTERM);
        exit = match timeout(cfg.kill_grace, child.wait()).await {
            Ok(st) => st.ok(),
            Err(_) => {
                kill_tree(group.clone(), pid).await;
                child.wait().await.ok()
            }
        };
    }
    // Whatever the CLI left behind (background shells, tool processes) goes too.
    kill_tree(group.clone(), pid).await;

    // 6. Drain the readers, read the counters, remove the cgroup.
    let stream = match timeout(DRAIN_TIMEOUT, stdout_task).await {
        Ok(Ok(st)) => st,
        _ => StreamState::default(),
    };
    let stderr_tail = match timeout(DRAIN_TIMEOUT, stderr_task).await {
        Ok(Ok(t)) => t,
        _ => String::new(),
    };
    let mut oom_kills = 0;
    if let Some(g) = &group {
        info.stats = g.stats();
        info.stats.peak_processes = info.stats.peak_processes.max(watch.peak_processes);
        oom_kills = info.stats.oom_kills;
        if !destroy(g.clone()).await {
            shared.emit(JobEvent::Warning {
                kind: WarningKind::Other,
                message: format!("could not remove the job's cgroup {:?}", g.paths()),
            });
        }
    }

    // 7. The outcome.
    let status = exit.unwrap_or_else(|| ExitStatus::from_raw(0xff00));
    info.exit_code = status.code();
    info.signal = status.signal();
    info.finished_at = Some(now_ms());
    info.session_id = stream.session_id.clone();
    info.model = stream.model.clone();
    info.cli_version = stream.cli_version.clone();
    if let Some(r) = &stream.result {
        info.result = r.text.clone();
        info.cost_usd = r.total_cost_usd;
        info.usage = r.usage.clone();
        info.num_turns = r.num_turns;
        info.api_error_status = r.api_error_status;
        if r.session_id.is_some() {
            info.session_id = r.session_id.clone();
        }
    }
    let (state, error) = decide(&stop, &stream, &info, oom_kills, &watch, &stderr_tail);
    info.state = state;
    info.error = error.map(|e| redactor.text(&e));
    if info.state == JobState::Succeeded {
        if let Some(out) = &spec.output {
            match collect_output(
                &cfg.data_dir,
                &dirs.work,
                out,
                &shared.id,
                info.result.as_deref(),
            ) {
                Ok((path, from_text)) => {
                    if from_text {
                        shared.emit(JobEvent::Warning {
                            kind: WarningKind::Other,
                            message: format!(
                                "the job did not write {}; its result text was saved instead",
                                out.file
                            ),
                        });
                    }
                    info.outputs.push(path);
                }
                Err(e) => {
                    info.state = JobState::Failed;
                    info.error = Some(e);
                }
            }
        }
    }
    info
}

/// Copies the job's output file (or, failing that, its result text) into
/// `data_dir/<folder>/<safe name>`. Returns the path and whether the result
/// text was used.
fn collect_output(
    data_dir: &Path,
    work: &Path,
    out: &crate::templates::OutputSpec,
    id: &str,
    result: Option<&str>,
) -> Result<(PathBuf, bool), String> {
    use crate::templates::safe_file_name;
    let folder = data_dir.join(safe_file_name(&out.folder));
    std::fs::create_dir_all(&folder)
        .map_err(|e| format!("cannot create {}: {e}", folder.display()))?;
    let name = safe_file_name(out.name.as_deref().unwrap_or(&out.file));
    let mut dest = folder.join(&name);
    if dest.exists() {
        let short = &id[id.len().saturating_sub(8)..];
        let (stem, ext) = match name.rsplit_once('.') {
            Some((s, e)) => (s.to_string(), format!(".{e}")),
            None => (name.clone(), String::new()),
        };
        dest = folder.join(format!("{stem}-{short}{ext}"));
    }
    // The job writes in its own working dir; only a plain file inside it counts.
    let src = work.join(safe_file_name(&out.file));
    let meta = std::fs::symlink_metadata(&src);
    if meta.map(|m| m.is_file()).unwrap_or(false) {
        std::fs::copy(&src, &dest).map_err(|e| format!("cannot collect {}: {e}", src.display()))?;
        return Ok((dest, false));
    }
    match result {
        Some(text) if !text.trim().is_empty() => {
            std::fs::write(&dest, text)
                .map_err(|e| format!("cannot write {}: {e}", dest.display()))?;
            Ok((dest, true))
        }
        _ => Err(format!(
            "the job wrote no {} and returned no text",
            out.file
        )),
    }
}

fn decide(
    stop: &Option<Stop>,
    stream: &StreamState,
    info: &JobInfo,
    oom_kills: u64,
    watch: &PressureWatch,
    stderr_tail: &str,
) -> (JobState, Option<String>) {
    let ok_result = stream.result.as_ref().map(|r| !r.is_error).unwrap_or(false);
    let pressure_note = || {
        if watch.seen {
            format!(
                "; the job was under memory pressure at its {} memory cap (thrashing: {} pages evicted and re-read): raise its memory cap",
                human_bytes(info.limits.memory.unwrap_or(0)),
                info.stats.memory_refaults
            )
        } else {
            String::new()
        }
    };
    match stop {
        Some(Stop::Cancel(r)) => return (JobState::Cancelled, Some(r.clone())),
        Some(Stop::Shutdown) => {
            return (
                JobState::Interrupted,
                Some("the manager shut down while the job ran".into()),
            )
        }
        Some(s @ Stop::LeaseLost) => return (JobState::Interrupted, Some(s.describe())),
        Some(s @ (Stop::Timeout(_) | Stop::Idle(_))) => {
            return (
                JobState::TimedOut,
                Some(format!("{}{}", s.describe(), pressure_note())),
            )
        }
        Some(s @ Stop::Pressure(_)) => {
            return (
                JobState::TimedOut,
                Some(format!("{}{}", s.describe(), pressure_note())),
            )
        }
        Some(Stop::AfterResult) if ok_result => return (JobState::Succeeded, None),
        _ => {}
    }
    if oom_kills > 0 && !(ok_result && info.exit_code == Some(0)) {
        return (
            JobState::OomKilled,
            Some(format!(
                "killed by the kernel: out of memory at its {} memory cap (peak {})",
                human_bytes(info.limits.memory.unwrap_or(0)),
                human_bytes(info.stats.peak_memory_bytes)
            )),
        );
    }
    if ok_result && info.exit_code == Some(0) {
        return (JobState::Succeeded, None);
    }
    let exit = match (info.exit_code, info.signal) {
        (Some(c), _) => format!("exited with code {c}"),
        (None, Some(s)) => format!("was killed by {}", process::signal_name(s)),
        _ => "ended".to_string(),
    };
    let stderr_note = if stderr_tail.trim().is_empty() {
        String::new()
    } else {
        format!("; stderr: {}", tail(stderr_tail.trim(), 500))
    };
    let msg = match &stream.result {
        Some(r) if r.is_error => {
            let text = r.text.clone().unwrap_or_default();
            match r.api_error_status {
                Some(401) => format!(
                    "API error 401 (authentication failed: check ANTHROPIC_API_KEY): {text}"
                ),
                Some(429) => format!("API error 429 (rate limited): {text}"),
                Some(529) => format!("API error 529 (the API is overloaded): {text}"),
                Some(s) => format!("API error {s}: {text}"),
                None => format!(
                    "the CLI reported an error ({}): {text}",
                    r.subtype
                        .clone()
                        .or(r.terminal_reason.clone())
                        .unwrap_or_default()
                ),
            }
        }
        Some(_) => format!("the CLI printed a successful result but {exit}"),
        None => format!("the CLI {exit} without printing a result{stderr_note}"),
    };
    (JobState::Failed, Some(msg))
}

impl From<StopReason> for Stop {
    fn from(r: StopReason) -> Self {
        match r {
            StopReason::Cancel(why) => Stop::Cancel(why),
            StopReason::Shutdown => Stop::Shutdown,
            StopReason::LeaseLost => Stop::LeaseLost,
        }
    }
}

struct Dirs {
    work: PathBuf,
    config: Option<PathBuf>,
}

fn prepare_dirs(
    cfg: &Config,
    job_dir: &Path,
    working_dir: Option<&Path>,
    run_as: Option<crate::spec::RunAs>,
) -> Result<Dirs, String> {
    let mk = |d: &Path| {
        std::fs::create_dir_all(d).map_err(|e| format!("cannot create {}: {e}", d.display()))
    };
    mk(job_dir)?;
    let work = match working_dir {
        Some(w) => w.to_path_buf(),
        None => {
            let w = job_dir.join("work");
            mk(&w)?;
            w
        }
    };
    let config = if cfg.per_job_config_dir {
        let c = job_dir.join("claude-config");
        mk(&c)?;
        Some(c)
    } else {
        None
    };
    if let Some(ids) = run_as {
        let mut owned = vec![job_dir.to_path_buf()];
        if working_dir.is_none() {
            owned.push(work.clone());
        }
        owned.extend(config.clone());
        for d in owned {
            std::os::unix::fs::chown(&d, Some(ids.uid), Some(ids.gid))
                .map_err(|e| format!("cannot give {} to uid {}: {e}", d.display(), ids.uid))?;
        }
    }
    Ok(Dirs { work, config })
}

fn failed(mut info: JobInfo, error: String) -> JobInfo {
    info.state = JobState::Failed;
    info.error = Some(error);
    info.finished_at = Some(now_ms());
    info
}

fn warn_uncapped(shared: &JobShared, why: &str) {
    shared.emit(JobEvent::Warning {
        kind: WarningKind::IsolationUnavailable,
        message: format!("running without cgroup limits: {why}"),
    });
}

/// Kills what is left in the job's group (on a blocking thread: the kill
/// loop sleeps); an empty group, the usual case at a job's end, costs one
/// read of its process list here.
async fn kill_tree(group: Option<Arc<dyn JobGroup>>, pid: u32) {
    match group {
        Some(g) if g.is_empty() => {}
        Some(g) => {
            let _ = tokio::task::spawn_blocking(move || g.kill_all(pid as i32)).await;
        }
        None => process::signal_group(pid, libc::SIGKILL),
    }
}

/// Removes the job's group, killing what is still in it first. An empty
/// group is removed here (an rmdir per hierarchy: it fails while processes
/// remain); else on a blocking thread.
async fn destroy(g: Arc<dyn JobGroup>) -> bool {
    if g.try_destroy() {
        return true;
    }
    tokio::task::spawn_blocking(move || {
        g.kill_all(0);
        g.destroy()
    })
    .await
    .unwrap_or(false)
}

/// Writes the prompt and closes stdin: at once when the pipe takes it all
/// (a prompt within the pipe's buffer, 64 KiB on Linux), else from a task
/// that waits for the CLI to read. The first writes go straight to the
/// (non-blocking) pipe: tokio's `try_write` would refuse until its reactor
/// has seen the new pipe writable.
fn write_prompt(mut stdin: tokio::net::unix::pipe::Sender, prompt: String) {
    use std::os::fd::AsRawFd;
    let mut done = 0;
    while done < prompt.len() {
        let rest = &prompt.as_bytes()[done..];
        // SAFETY: a valid buffer of `rest.len()` bytes and an open fd we own.
        let n = unsafe { libc::write(stdin.as_raw_fd(), rest.as_ptr().cast(), rest.len()) };
        if n >= 0 {
            done += n as usize;
            continue;
        }
        match std::io::Error::last_os_error().kind() {
            std::io::ErrorKind::Interrupted => {}
            std::io::ErrorKind::WouldBlock => break,
            // The CLI is gone (EPIPE) or the pipe broke: nothing more to send.
            _ => return,
        }
    }
    if done < prompt.len() {
        tokio::spawn(async move {
            let _ = stdin.write_all(&prompt.as_bytes()[done..]).await;
            let _ = stdin.shutdown().await;
        });
    }
}

async fn sleep_opt(at: Option<Instant>) {
    match at {
        Some(t) => sleep_until(t).await,
        None => std::future::pending().await,
    }
}

fn open_log(path: &Path) -> Option<std::io::BufWriter<std::fs::File>> {
    std::fs::File::create(path)
        .ok()
        .map(|f| std::io::BufWriter::with_capacity(256 * 1024, f))
}

async fn read_stdout(
    out: tokio::net::unix::pipe::Receiver,
    log_path: PathBuf,
    cap: usize,
    redactor: Redactor,
    shared: Arc<JobShared>,
    activity: Arc<watch::Sender<Activity>>,
) -> StreamState {
    let mut log = open_log(&log_path);
    let mut reader = LineReader::new(out, cap);
    let mut st = StreamState::default();
    let mut events = Vec::new();
    loop {
        match reader.next().await {
            Ok(Some(Frame::Line(line))) => {
                let line = redactor.bytes(line);
                if let Some(l) = log.as_mut() {
                    let _ = l.write_all(&line).and_then(|_| l.write_all(b"\n"));
                }
                parse_line(&line, &mut st, &mut events);
            }
            Ok(Some(Frame::TooLong(n))) => {
                if let Some(l) = log.as_mut() {
                    let _ = writeln!(l, "[claude-jobs: a line of {n} bytes over the {cap}-byte line cap was skipped]");
                }
                events.push(JobEvent::Warning {
                    kind: WarningKind::LineTooLong,
                    message: format!("skipped a stdout line of {n} bytes (line cap {cap} bytes)"),
                });
            }
            Ok(None) | Err(_) => break,
        }
        for e in events.drain(..) {
            shared.emit(e);
        }
        let result = st.result.is_some();
        activity.send_modify(|a| a.result = result);
    }
    if let Some(mut l) = log {
        let _ = l.flush();
    }
    st
}

async fn read_stderr(
    err: tokio::net::unix::pipe::Receiver,
    log_path: PathBuf,
    redactor: Redactor,
    activity: Arc<watch::Sender<Activity>>,
) -> String {
    let mut log = open_log(&log_path);
    let mut reader = LineReader::new(err, 1 << 20);
    let mut last = String::new();
    loop {
        match reader.next().await {
            Ok(Some(Frame::Line(line))) => {
                let line = redactor.bytes(line);
                if let Some(l) = log.as_mut() {
                    let _ = l.write_all(&line).and_then(|_| l.write_all(b"\n"));
                }
                last.push_str(&String::from_utf8_lossy(&line));
                last.push('\n');
                if last.len() > 4 * STDERR_TAIL {
                    last = tail(&last, STDERR_TAIL).to_string();
                }
            }
            Ok(Some(Frame::TooLong(n))) => {
                if let Some(l) = log.as_mut() {
                    let _ = writeln!(l, "[claude-jobs: a stderr line of {n} bytes was skipped]");
                }
            }
            Ok(None) | Err(_) => break,
        }
        activity.send_modify(|_| {});
    }
    if let Some(mut l) = log {
        let _ = l.flush();
    }
    tail(&last, STDERR_TAIL).to_string()
}

fn human_bytes(b: u64) -> String {
    const MIB: f64 = (1 << 20) as f64;
    if b >= 1 << 30 {
        format!("{:.1} GiB", b as f64 / (MIB * 1024.0))
    } else {
        format!("{:.0} MiB", b as f64 / MIB)
    }
}
