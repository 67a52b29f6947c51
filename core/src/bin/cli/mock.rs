//! The offline demo's API: the `mock-anthropic` program (`testing/mock-anthropic`),
//! run as a child process on 127.0.0.1.
//!
//! The published crate does not depend on the mock (it is a test tool, not
//! published): `claude-jobs workflow` without `ANTHROPIC_API_KEY` looks for
//! the program, in this order: `--mock-api-bin PATH`, `$CLAUDE_JOBS_MOCK_API_BIN`,
//! `mock-anthropic` next to this program's own executable (where
//! `cargo build -p mock-anthropic` puts it), then `mock-anthropic` on `PATH`.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// The program's name, as `cargo build -p mock-anthropic` names it.
const PROGRAM: &str = "mock-anthropic";
/// How long the mock may take to print its address.
const START_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(clap::Args, Debug, Clone)]
pub struct MockArgs {
    /// The mock Messages API program used when ANTHROPIC_API_KEY is not set
    /// (default: mock-anthropic next to this program, then on PATH).
    #[arg(long, value_name = "PATH", env = "CLAUDE_JOBS_MOCK_API_BIN")]
    pub mock_api_bin: Option<PathBuf>,
}

/// A running `mock-anthropic`; killed when dropped.
pub struct MockApi {
    child: Child,
    base_url: String,
    // Kept open so that the mock never writes to a closed pipe.
    _stdout: BufReader<ChildStdout>,
}

impl MockApi {
    /// Finds the program, starts it with the `write` scenario on a free port
    /// and waits for its `listening on http://127.0.0.1:PORT` line.
    pub async fn start(args: &MockArgs) -> Result<MockApi, String> {
        let program = find(args.mock_api_bin.as_deref())?;
        tokio::task::spawn_blocking(move || spawn(&program))
            .await
            .map_err(|e| format!("starting the mock API: {e}"))?
    }

    /// `http://127.0.0.1:PORT`, for `ANTHROPIC_BASE_URL`.
    pub fn base_url(&self) -> String {
        self.base_url.clone()
    }

    /// SIGTERM, then SIGKILL if it has not exited after 5 s.
    pub async fn shutdown(mut self) {
        let _ = tokio::task::spawn_blocking(move || {
            // SAFETY: kill(2) on our own child, which is not reaped yet.
            unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM) };
            let deadline = Instant::now() + Duration::from_secs(5);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = self.child.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = self.child.kill();
            let _ = self.child.wait();
        })
        .await;
    }
}

impl Drop for MockApi {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The program to run, or why there is none.
fn find(explicit: Option<&Path>) -> Result<PathBuf, String> {
    if let Some(p) = explicit {
        return if p.is_file() {
            Ok(p.to_path_buf())
        } else {
            Err(format!(
                "the mock API program {} (--mock-api-bin or CLAUDE_JOBS_MOCK_API_BIN) does not exist",
                p.display()
            ))
        };
    }
    let beside = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|dir| dir.join(PROGRAM)));
    let on_path = std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|dir| dir.join(PROGRAM))
            .find(|p| is_executable(p))
    });
    beside
        .filter(|p| is_executable(p))
        .or(on_path)
        .ok_or_else(|| {
            format!(
                "ANTHROPIC_API_KEY is not set and the offline mock API program `{PROGRAM}` was not found \
                 (next to this program or on PATH): build it with `cargo build -p mock-anthropic`, \
                 pass --mock-api-bin PATH (or set CLAUDE_JOBS_MOCK_API_BIN), or set ANTHROPIC_API_KEY"
            )
        })
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p)
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

fn spawn(program: &Path) -> Result<MockApi, String> {
    use std::os::unix::process::CommandExt;
    let mut cmd = Command::new(program);
    cmd.args(["--scenario", "write", "--port", "0"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    // Its per-request log lines would drown the workflow's progress.
    if std::env::var_os("RUST_LOG").is_none() {
        cmd.env("RUST_LOG", "mock_anthropic=warn");
    }
    // SAFETY: prctl is async-signal-safe; the mock dies with this program.
    unsafe {
        cmd.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
            Ok(())
        });
    }
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("cannot run the mock API {}: {e}", program.display()))?;
    let stdout = child.stdout.take().expect("piped stdout");
    // The first line, read on a thread so that a silent mock times out.
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut reader = BufReader::new(stdout);
        let mut line = String::new();
        let res = reader.read_line(&mut line).map(|_| line);
        let _ = tx.send((res, reader));
    });
    let fail = |mut child: Child, why: String| {
        let _ = child.kill();
        let _ = child.wait();
        Err(format!("the mock API {} {why}", program.display()))
    };
    match rx.recv_timeout(START_TIMEOUT) {
        Ok((Ok(line), reader)) => match line.trim().strip_prefix("listening on ") {
            Some(url) if url.starts_with("http://127.0.0.1:") => Ok(MockApi {
                child,
                base_url: url.to_string(),
                _stdout: reader,
            }),
            _ => fail(
                child,
                format!("printed {:?}, not `listening on http://127.0.0.1:PORT`", line.trim()),
            ),
        },
        Ok((Err(e), _)) => fail(child, format!("could not be read: {e}")),
        Err(_) => fail(
            child,
            format!("did not print its address within {}s", START_TIMEOUT.as_secs()),
        ),
    }
}
