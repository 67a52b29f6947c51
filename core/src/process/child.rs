//! A started CLI process: its pid, the parent's ends of its pipes, and an
//! async, cancel-safe wait (a pidfd polled by tokio; a blocking waiter thread
//! on kernels without pidfd).

use std::io;
use std::os::fd::{FromRawFd, OwnedFd};
use std::os::unix::process::ExitStatusExt;
use std::process::ExitStatus;

use tokio::io::unix::AsyncFd;
use tokio::net::unix::pipe;
use tokio::sync::oneshot;

/// How the exit is waited for.
enum Waiter {
    /// Readable when the process has exited.
    Pidfd(AsyncFd<OwnedFd>),
    /// A thread blocked in `waitpid` sends the raw status.
    Thread(oneshot::Receiver<i32>),
}

/// A child process; killed (SIGKILL) and reaped if dropped before its exit
/// was waited for.
pub(crate) struct Child {
    pid: libc::pid_t,
    pub stdin: Option<pipe::Sender>,
    pub stdout: Option<pipe::Receiver>,
    pub stderr: Option<pipe::Receiver>,
    waiter: Option<Waiter>,
    status: Option<ExitStatus>,
}

impl Child {
    /// Wraps a freshly started child (not yet reaped) and the parent's pipe
    /// ends (non-blocking). Must be called inside a tokio runtime.
    pub(super) fn new(
        pid: libc::pid_t,
        stdin: OwnedFd,
        stdout: OwnedFd,
        stderr: OwnedFd,
    ) -> io::Result<Child> {
        let mut child = Child {
            pid,
            stdin: None,
            stdout: None,
            stderr: None,
            waiter: None,
            status: None,
        };
        // From here on, an error drops `child`, which kills and reaps it.
        child.waiter = Some(waiter(pid)?);
        child.stdin = Some(pipe::Sender::from_owned_fd_unchecked(stdin)?);
        child.stdout = Some(pipe::Receiver::from_owned_fd_unchecked(stdout)?);
        child.stderr = Some(pipe::Receiver::from_owned_fd_unchecked(stderr)?);
        Ok(child)
    }

    /// The process id (also its process group id).
    pub(crate) fn id(&self) -> u32 {
        self.pid as u32
    }

    /// Waits for the process to exit and reaps it. Cancel-safe; returns the
    /// same status again once reaped.
    pub(crate) async fn wait(&mut self) -> io::Result<ExitStatus> {
        if let Some(st) = self.status {
            return Ok(st);
        }
        let raw = match self.waiter.as_mut().expect("a waiter until reaped") {
            Waiter::Pidfd(fd) => loop {
                let mut guard = fd.readable().await?;
                if let Some(raw) = try_reap(self.pid)? {
                    break raw;
                }
                guard.clear_ready();
            },
            Waiter::Thread(rx) => rx
                .await
                .map_err(|_| io::Error::other("the waiter thread ended"))?,
        };
        let st = ExitStatus::from_raw(raw);
        self.status = Some(st);
        self.waiter = None;
        Ok(st)
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        if self.status.is_some() {
            return;
        }
        let pid = self.pid;
        // SAFETY: our own unreaped child; the pid cannot have been reused.
        unsafe { libc::kill(pid, libc::SIGKILL) };
        match self.waiter.take() {
            // The waiter thread reaps it.
            Some(Waiter::Thread(_)) => {}
            _ => {
                let _ = std::thread::Builder::new()
                    .name("claude-jobs-reap".into())
                    .spawn(move || blocking_wait(pid));
            }
        }
    }
}

/// The raw wait status if the process has exited (reaping it), else `None`.
fn try_reap(pid: libc::pid_t) -> io::Result<Option<i32>> {
    let mut status = 0;
    // SAFETY: reaps our own child without blocking.
    match unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) } {
        0 => Ok(None),
        p if p == pid => Ok(Some(status)),
        _ => Err(io::Error::last_os_error()),
    }
}

fn blocking_wait(pid: libc::pid_t) -> i32 {
    let mut status = 0;
    loop {
        // SAFETY: reaps our own child.
        let r = unsafe { libc::waitpid(pid, &mut status, 0) };
        if r == pid {
            return status;
        }
        if r < 0 && io::Error::last_os_error().kind() != io::ErrorKind::Interrupted {
            // Not our child any more (reaped elsewhere): report a kill.
            return libc::SIGKILL;
        }
    }
}

fn waiter(pid: libc::pid_t) -> io::Result<Waiter> {
    // SAFETY: pidfd_open on our own unreaped child.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    if fd >= 0 {
        // SAFETY: a new descriptor, owned by the AsyncFd from here on (so
        // it stays open and the same for the AsyncFd's whole life).
        let registered = unsafe {
            AsyncFd::register_with_interest(
                OwnedFd::from_raw_fd(fd as i32),
                tokio::io::Interest::READABLE,
            )
        };
        return registered
            .map(Waiter::Pidfd)
            .map_err(|e| io::Error::other(e.to_string()));
    }
    // Kernels before 5.3: a thread blocks in waitpid for us.
    let (tx, rx) = oneshot::channel();
    std::thread::Builder::new()
        .name("claude-jobs-wait".into())
        .spawn(move || {
            let _ = tx.send(blocking_wait(pid));
        })?;
    Ok(Waiter::Thread(rx))
}
