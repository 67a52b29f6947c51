//! The child side of a spawn: `clone(CLONE_VM | CLONE_VFORK)`, as glibc's
//! `posix_spawn` does, so no page table is copied and the parent's memory is
//! never made copy-on-write, however large the embedding process (a Python or
//! Node service) is. `fork()` (what `Command::pre_exec` forces) copies the
//! page tables of the whole parent for every job.
//!
//! The child shares the parent's memory until `execve`, and the parent's
//! calling thread is suspended until then. So the child only makes raw system
//! calls on values prepared before the clone: no allocation, no lock, no
//! panic, no libc wrapper that signals other threads (`setuid` in glibc does).

use std::ffi::CString;
use std::io;
use std::os::fd::RawFd;

/// Everything the child needs, prepared by the parent.
pub(super) struct ChildArgs<'a> {
    pub path: &'a CString,
    pub argv: &'a [*const libc::c_char],
    pub envp: &'a [*const libc::c_char],
    pub cwd: &'a CString,
    /// The child's stdin, stdout and stderr (the child's ends of the pipes).
    pub stdio: [RawFd; 3],
    /// Open `cgroup.procs` files to write `0` to.
    pub attach: &'a [RawFd],
    /// The job's cgroup v2 directory, open: the child is born in it
    /// (`clone3` + `CLONE_INTO_CGROUP`), and `attach` is only the fallback
    /// where that is missing (kernel < 5.7, a seccomp filter, not x86_64).
    pub into_cgroup: Option<RawFd>,
    pub run_as: Option<(u32, u32)>,
}

/// Which step of the child failed, with its errno.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Step {
    Attach = 1,
    Stdio = 2,
    Chdir = 3,
    Credentials = 4,
    Exec = 5,
    Setpgid = 6,
}

/// A failure in the child before or at `execve`.
#[derive(Debug)]
pub(super) struct ChildError {
    pub step: Step,
    pub errno: i32,
}

impl ChildError {
    pub(super) fn into_io(self, what: &str) -> io::Error {
        let os = io::Error::from_raw_os_error(self.errno);
        match self.step {
            // Keep the errno's kind (NotFound, PermissionDenied) for exec.
            Step::Exec => os,
            Step::Attach => io::Error::other(format!("cannot join the job's cgroup: {os}")),
            Step::Stdio => io::Error::other(format!("cannot set up stdio: {os}")),
            Step::Chdir => io::Error::other(format!("cannot enter the working dir {what}: {os}")),
            Step::Credentials => {
                io::Error::other(format!("cannot switch to the job's user: {os}"))
            }
            Step::Setpgid => io::Error::other(format!("cannot make a process group: {os}")),
        }
    }
}

struct Shared<'a> {
    args: &'a ChildArgs<'a>,
    /// Written by the child before `_exit` when a step fails: (step, errno).
    failed: [i32; 2],
    /// Whether the child writes to `attach` (not when born in its cgroup).
    attach: bool,
}

const STACK_SIZE: usize = 64 * 1024;

thread_local! {
    /// One stack per thread: the thread is suspended while its child runs on
    /// it, so a stack is never used twice at once.
    static STACK: std::cell::RefCell<Vec<u8>> = std::cell::RefCell::new(vec![0u8; STACK_SIZE]);
}

/// Starts the child. Returns its pid once it has called `execve`
/// successfully; a failed step is reported (and the child reaped).
pub(super) fn clone_exec(args: &ChildArgs<'_>) -> Result<libc::pid_t, ChildError> {
    let mut shared = Shared {
        args,
        failed: [0, 0],
        attach: true,
    };
    // Block every signal so no handler of the parent runs in the child while
    // they share memory; the child resets the handlers, then unblocks.
    // SAFETY: plain signal-mask calls on local sigsets.
    let mut all: libc::sigset_t = unsafe { std::mem::zeroed() };
    let mut old: libc::sigset_t = unsafe { std::mem::zeroed() };
    unsafe {
        libc::sigfillset(&mut all);
        libc::pthread_sigmask(libc::SIG_SETMASK, &all, &mut old);
    }
    let pid = STACK.with(|s| {
        let mut s = s.borrow_mut();
        let len = s.len();
        // SAFETY: the 16-byte aligned top of this thread's child stack; the
        // child runs on it until execve while this thread is suspended, and
        // `shared` outlives that.
        unsafe {
            let base = s.as_mut_ptr();
            let top = (base.add(len) as usize & !15) as *mut libc::c_void;
            if let Some(fd) = args.into_cgroup {
                shared.attach = false;
                let arg = &mut shared as *mut Shared as *mut libc::c_void;
                let size = top as usize - base as usize;
                if let Ok(pid) = super::clone3::spawn_into(fd, base, size, child_main, arg) {
                    return pid;
                }
                // No child was made: the classic way below, attach included.
                shared.attach = true;
            }
            let arg = &mut shared as *mut Shared as *mut libc::c_void;
            libc::clone(
                child_main,
                top,
                libc::CLONE_VM | libc::CLONE_VFORK | libc::SIGCHLD,
                arg,
            )
        }
    });
    let clone_errno = io::Error::last_os_error().raw_os_error().unwrap_or(libc::EAGAIN);
    // SAFETY: restores the mask saved above.
    unsafe { libc::pthread_sigmask(libc::SIG_SETMASK, &old, std::ptr::null_mut()) };
    if pid < 0 {
        return Err(ChildError {
            step: Step::Exec,
            errno: clone_errno,
        });
    }
    // The child has exec'd or exited: CLONE_VFORK resumed us only then.
    // SAFETY: the child wrote it (or not) before exec/exit; it is gone now.
    let failed = unsafe { std::ptr::read_volatile(&shared.failed) };
    if failed[0] != 0 {
        let mut status = 0;
        // SAFETY: reaps our own child, which has exited.
        unsafe { libc::waitpid(pid, &mut status, 0) };
        let step = match failed[0] {
            1 => Step::Attach,
            2 => Step::Stdio,
            3 => Step::Chdir,
            4 => Step::Credentials,
            6 => Step::Setpgid,
            _ => Step::Exec,
        };
        return Err(ChildError {
            step,
            errno: failed[1],
        });
    }
    Ok(pid)
}

/// Records the failed step and this task's `errno` for the parent, then
/// exits the child.
///
/// # Safety
/// Only in the child. `errno` lives in the suspended parent thread's TLS,
/// which that thread never reads before it next writes it.
unsafe fn fail(shared: &mut Shared, step: Step) -> ! {
    let errno = *libc::__errno_location();
    std::ptr::write_volatile(&mut shared.failed, [step as i32, errno]);
    libc::_exit(127)
}

extern "C" fn child_main(arg: *mut libc::c_void) -> libc::c_int {
    // SAFETY: `arg` is the parent's `Shared`, alive until we exec or exit
    // (CLONE_VFORK). Only system calls on prepared values below.
    unsafe {
        let shared = &mut *(arg as *mut Shared);
        let a = shared.args;
        reset_signal_handlers();
        if libc::setpgid(0, 0) != 0 {
            fail(shared, Step::Setpgid);
        }
        if shared.attach {
            for &fd in a.attach {
                if libc::write(fd, b"0".as_ptr().cast(), 1) != 1 {
                    fail(shared, Step::Attach);
                }
            }
        }
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
        // Move any of our pipe ends that sit on 0..=2 out of the way first.
        let mut stdio = a.stdio;
        for fd in stdio.iter_mut() {
            if *fd <= 2 {
                let moved = libc::fcntl(*fd, libc::F_DUPFD_CLOEXEC, 3);
                if moved < 0 {
                    fail(shared, Step::Stdio);
                }
                *fd = moved;
            }
        }
        for (target, &fd) in stdio.iter().enumerate() {
            if libc::dup2(fd, target as i32) < 0 {
                fail(shared, Step::Stdio);
            }
        }
        if libc::chdir(a.cwd.as_ptr()) != 0 {
            fail(shared, Step::Chdir);
        }
        if let Some((uid, gid)) = a.run_as {
            // Raw system calls: they change this task's credentials only
            // (glibc's wrappers would try to change every thread's).
            if libc::syscall(libc::SYS_setgroups, 0usize, std::ptr::null::<libc::gid_t>()) != 0
                || libc::syscall(libc::SYS_setgid, gid as libc::c_long) != 0
                || libc::syscall(libc::SYS_setuid, uid as libc::c_long) != 0
            {
                fail(shared, Step::Credentials);
            }
        }
        let mut empty: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut empty);
        libc::pthread_sigmask(libc::SIG_SETMASK, &empty, std::ptr::null_mut());
        libc::execve(a.path.as_ptr(), a.argv.as_ptr(), a.envp.as_ptr());
        fail(shared, Step::Exec)
    }
}

/// Every caught signal back to its default action (a handler of the parent
/// must never run in the child), and SIGPIPE to the default too (Rust, Node
/// and Python processes ignore it; the CLI should not inherit that).
///
/// # Safety
/// Only `sigaction` calls; meant for the child before exec.
unsafe fn reset_signal_handlers() {
    let mut dfl: libc::sigaction = std::mem::zeroed();
    dfl.sa_sigaction = libc::SIG_DFL;
    for sig in 1..libc::SIGRTMAX() {
        if sig == libc::SIGKILL || sig == libc::SIGSTOP {
            continue;
        }
        let mut cur: libc::sigaction = std::mem::zeroed();
        if libc::sigaction(sig, std::ptr::null(), &mut cur) != 0 {
            continue;
        }
        let caught = cur.sa_sigaction != libc::SIG_DFL && cur.sa_sigaction != libc::SIG_IGN;
        if caught || sig == libc::SIGPIPE {
            libc::sigaction(sig, &dfl, std::ptr::null_mut());
        }
    }
}
