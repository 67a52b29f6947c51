//! The CLI's pipes: the prompt written to stdin, stdout parsed into events
//! and kept in `stdout.log`, stderr drained into `stderr.log` and a tail for
//! the error report. Both logs are created fresh for each attempt in the
//! manager's own directory (`O_EXCL`, no link followed), with secrets masked.

use std::io::Write;
use std::os::fd::OwnedFd;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::{timeout, Instant};

use crate::claude::lines::{Frame, LineReader};
use crate::claude::stream::{parse_line, StreamState};
use crate::events::{JobEvent, WarningKind};
use crate::job::JobCell;
use crate::process::Child;
use crate::redact::Redactor;
use crate::util::tail;

use super::upload::{Log, Spool};

/// How long to wait for stdout/stderr to close after the process tree is gone.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(3);
const STDERR_TAIL: usize = 2000;

/// What the supervisor must act on at once: a result seen (the result
/// grace starts), a log that could not be written (the job is stopped), a
/// rate limit. It changes a few times a run, not with every line: plain
/// signs of life go to the [`Pulse`].
#[derive(Debug, Default, Clone)]
pub(super) struct Activity {
    pub result: bool,
    pub log_error: Option<String>,
    /// The API rate-limited the job: until when (Unix ms), and why.
    pub rate_limited: Option<(u64, String)>,
}

/// When the CLI last wrote a line (stdout or stderr). Each line stores the
/// time; the idle timeout reads it only when its deadline comes. A line
/// costs no wake-up of the supervisor (it cost one per line through
/// [`Activity`]: a context switch and three timers rebuilt).
#[derive(Debug, Clone)]
pub(super) struct Pulse {
    base: Instant,
    /// Microseconds from `base` to the last line.
    last_us: Arc<AtomicU64>,
}

impl Pulse {
    pub(super) fn new() -> Pulse {
        Pulse {
            base: Instant::now(),
            last_us: Arc::new(AtomicU64::new(0)),
        }
    }

    /// A line now.
    fn beat(&self) {
        let us = u64::try_from(self.base.elapsed().as_micros()).unwrap_or(u64::MAX);
        self.last_us.fetch_max(us, Ordering::Relaxed);
    }

    /// The time of the last line (the start when there was none).
    pub(super) fn last(&self) -> Instant {
        self.base + Duration::from_micros(self.last_us.load(Ordering::Relaxed))
    }
}

/// A 429 retried by the CLI, or a rejected rate-limit notice: until when
/// (Unix ms) the API asks for quiet.
fn rate_limit(e: &JobEvent) -> Option<(u64, String)> {
    let now = crate::util::now_ms();
    match e {
        JobEvent::ApiRetry { status: Some(429), delay_ms, .. } => {
            Some((now + delay_ms.unwrap_or(1000), "the API answered 429 (rate limited)".into()))
        }
        JobEvent::RateLimit { status, resets_at, .. } if status == "rejected" => {
            let at = resets_at.map(|t| if t > 100_000_000_000 { t as u64 } else { t as u64 * 1000 });
            Some((at.unwrap_or(now + 60_000).max(now), "the API rejected a request (rate limit)".into()))
        }
        _ => None,
    }
}

/// The two readers of one attempt.
pub(super) struct Readers {
    stdout: JoinHandle<StreamState>,
    stderr: JoinHandle<String>,
    pub activity: watch::Receiver<Activity>,
    pub pulse: Pulse,
}

/// What the readers saw once the pipes closed.
pub(super) struct Drained {
    pub stream: StreamState,
    pub stderr_tail: String,
    /// A log that could not be written.
    pub log_error: Option<String>,
}

impl Readers {
    /// Starts reading the child's stdout and stderr.
    pub(super) fn start(
        child: &mut Child,
        dir: &Arc<OwnedFd>,
        cell: &Arc<JobCell>,
        redactor: &Redactor,
        line_cap: usize,
        spools: (Option<Spool>, Option<Spool>),
    ) -> Readers {
        let (tx, activity) = watch::channel(Activity::default());
        let tx = Arc::new(tx);
        let pulse = Pulse::new();
        let out = child.stdout.take().expect("piped stdout");
        let err = child.stderr.take().expect("piped stderr");
        let out_log = open_log(dir, "stdout.log", cell, spools.0);
        let err_log = open_log(dir, "stderr.log", cell, spools.1);
        let stdout = tokio::spawn(read_stdout(
            out,
            out_log,
            line_cap,
            redactor.clone(),
            cell.clone(),
            (tx.clone(), pulse.clone()),
        ));
        let stderr = tokio::spawn(read_stderr(err, err_log, redactor.clone(), (tx, pulse.clone())));
        Readers {
            stdout,
            stderr,
            activity,
            pulse,
        }
    }

    /// Waits (a little) for both pipes to close.
    pub(super) async fn drain(self) -> Drained {
        let stream = match timeout(DRAIN_TIMEOUT, self.stdout).await {
            Ok(Ok(st)) => st,
            _ => StreamState::default(),
        };
        let stderr_tail = match timeout(DRAIN_TIMEOUT, self.stderr).await {
            Ok(Ok(t)) => t,
            _ => String::new(),
        };
        Drained {
            stream,
            stderr_tail,
            log_error: self.activity.borrow().log_error.clone(),
        }
    }
}


/// Writes a line to the log; on an error the log is dropped and the error
/// reported through `activity` (a full disk must not go unnoticed).
fn log_line(log: &mut Option<Log>, name: &str, line: &[u8], activity: &watch::Sender<Activity>) {
    let Some(l) = log.as_mut() else { return };
    if let Err(e) = l.write_all(line).and_then(|_| l.write_all(b"\n")) {
        *log = None;
        let why = if crate::error::says_disk_full(&e.to_string()) {
            format!("the disk is full: cannot write {name} ({e})")
        } else {
            format!("cannot write {name}: {e}")
        };
        activity.send_modify(|a| {
            a.log_error.get_or_insert(why);
        });
    }
}

/// Flushes a log at the end; an error is reported like [`log_line`]'s.
fn finish_log(log: Option<Log>, name: &str, activity: &watch::Sender<Activity>) {
    if let Some(mut l) = log {
        if let Err(e) = l.flush() {
            activity.send_modify(|a| {
                a.log_error.get_or_insert(format!("cannot write {name}: {e}"));
            });
        }
    }
}

/// A new log file in the job's directory. A log that cannot be made is a
/// warning: the job runs on, its events still recorded.
fn open_log(dir: &OwnedFd, name: &str, cell: &JobCell, spool: Option<Spool>) -> Option<Log> {
    match crate::safe_fs::create_new(dir, name, 0o640) {
        Ok(f) => Some(Log::new(f, spool)),
        Err(e) => {
            cell.emit(JobEvent::Warning {
                kind: WarningKind::Other,
                message: format!("cannot create {name}: {e}"),
            });
            None
        }
    }
}

/// Writes the prompt and closes stdin: at once when the pipe takes it all
/// (a prompt within the pipe's buffer, 64 KiB on Linux), else from a task
/// that waits for the CLI to read. The first writes go straight to the
/// (non-blocking) pipe: tokio's `try_write` would refuse until its reactor
/// has seen the new pipe writable.
pub(super) fn write_prompt(mut stdin: tokio::net::unix::pipe::Sender, prompt: String) {
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

async fn read_stdout(
    out: tokio::net::unix::pipe::Receiver,
    mut log: Option<Log>,
    cap: usize,
    redactor: Redactor,
    cell: Arc<JobCell>,
    (activity, pulse): (Arc<watch::Sender<Activity>>, Pulse),
) -> StreamState {
    let mut reader = LineReader::new(out, cap);
    let mut st = StreamState::default();
    let mut events = Vec::new();
    let mut escaped = false;
    loop {
        match reader.next().await {
            Ok(Some(Frame::Line(line))) => {
                pulse.beat();
                let line = redactor.bytes(line);
                log_line(&mut log, "stdout.log", &line, &activity);
                // A secret written with JSON escapes (`\u0073k-…`) is only
                // seen once the line is parsed.
                escaped = memchr::memchr_iter(b'\\', &line).any(|i| line.get(i + 1) == Some(&b'u'));
                parse_line(&line, &mut st, &mut events);
            }
            Ok(Some(Frame::TooLong(n))) => {
                pulse.beat();
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
            if let Some(limited) = rate_limit(&e) {
                activity.send_modify(|a| a.rate_limited = Some(limited));
            }
            if let JobEvent::Init { session_id: Some(s), .. } = &e {
                // Stored with the info at the next flush: a later attempt
                // (here or on another node) resumes this session.
                cell.info.lock().unwrap().session_id = Some(s.clone());
            }
            cell.emit(if escaped { redactor.value(e) } else { e });
        }
        let result = st.result.is_some();
        activity.send_if_modified(|a| std::mem::replace(&mut a.result, result) != result);
    }
    finish_log(log, "stdout.log", &activity);
    st
}

async fn read_stderr(
    err: tokio::net::unix::pipe::Receiver,
    mut log: Option<Log>,
    redactor: Redactor,
    (activity, pulse): (Arc<watch::Sender<Activity>>, Pulse),
) -> String {
    let mut reader = LineReader::new(err, 1 << 20);
    let mut last = String::new();
    loop {
        match reader.next().await {
            Ok(Some(Frame::Line(line))) => {
                pulse.beat();
                let line = redactor.bytes(line);
                log_line(&mut log, "stderr.log", &line, &activity);
                last.push_str(&String::from_utf8_lossy(&line));
                last.push('\n');
                if last.len() > 4 * STDERR_TAIL {
                    last = tail(&last, STDERR_TAIL).to_string();
                }
            }
            Ok(Some(Frame::TooLong(n))) => {
                pulse.beat();
                if let Some(l) = log.as_mut() {
                    let _ = writeln!(l, "[claude-jobs: a stderr line of {n} bytes was skipped]");
                }
            }
            Ok(None) | Err(_) => break,
        }
    }
    finish_log(log, "stderr.log", &activity);
    tail(&last, STDERR_TAIL).to_string()
}
