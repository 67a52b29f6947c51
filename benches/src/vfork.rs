//! A spawn that joins cgroups before exec without `fork()`: the child is made
//! with `clone(CLONE_VM | CLONE_VFORK)`, as glibc's `posix_spawn` does, so no
//! page table is copied and the parent's memory is never made copy-on-write,
//! whatever the parent's size. In the child, only raw system calls on values
//! prepared before the clone: the `cgroup.procs` writes, `dup2` of the pipes,
//! the signal mask, `execve`.
//!
//! This is the diagnostic "cgroup floor (vfork)" of items 1 and 2: what the
//! manager's spawn could cost if it did the same.

use std::ffi::CString;
use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::FromRawFd;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use crate::floor::{CLI_ARGS, PROMPT};

struct ChildArgs {
    path: *const libc::c_char,
    argv: *const *const libc::c_char,
    envp: *const *const libc::c_char,
    stdio: [i32; 3],
    attach: *const i32,
    n_attach: usize,
    mask: *const libc::sigset_t,
}

extern "C" fn child_main(arg: *mut libc::c_void) -> libc::c_int {
    // SAFETY: `arg` points to a ChildArgs that outlives the child's exec
    // (CLONE_VFORK suspends the parent until then); only system calls here.
    unsafe {
        let a = &*(arg as *const ChildArgs);
        // The parent ignores SIGPIPE (Rust does); the CLI gets the default.
        let dfl: libc::sigaction = std::mem::zeroed();
        libc::sigaction(libc::SIGPIPE, &dfl, std::ptr::null_mut());
        for i in 0..a.n_attach {
            if libc::write(*a.attach.add(i), b"0".as_ptr().cast(), 1) != 1 {
                libc::_exit(126);
            }
        }
        for (target, fd) in a.stdio.iter().enumerate() {
            if libc::dup2(*fd, target as i32) < 0 {
                libc::_exit(126);
            }
        }
        libc::sigprocmask(libc::SIG_SETMASK, a.mask, std::ptr::null_mut());
        libc::execve(a.path, a.argv, a.envp);
        libc::_exit(127)
    }
}

fn pipe() -> Option<(i32, i32)> {
    let mut fds = [0i32; 2];
    // SAFETY: pipe2 fills the array.
    (unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } == 0).then_some((fds[0], fds[1]))
}

thread_local! {
    static STACK: std::cell::RefCell<Vec<u8>> = std::cell::RefCell::new(vec![0u8; 128 * 1024]);
}

/// Runs the trivial job with the child joining the cgroups of `attach`
/// (`cgroup.procs` fds, opened O_CLOEXEC) before exec. False when it failed.
pub fn run_trivial(bin: &Path, attach: &[i32]) -> bool {
    let path = CString::new(bin.as_os_str().as_bytes()).unwrap();
    let argv_c: Vec<CString> = std::iter::once(path.clone())
        .chain(CLI_ARGS.iter().map(|a| CString::new(*a).unwrap()))
        .collect();
    let env_c: Vec<CString> = vec![
        CString::new(format!(
            "PATH={}",
            std::env::var("PATH").unwrap_or_default()
        ))
        .unwrap(),
        CString::new("FAKE_CLAUDE_SCENARIO=trivial").unwrap(),
    ];
    let mut argv: Vec<*const libc::c_char> = argv_c.iter().map(|c| c.as_ptr()).collect();
    argv.push(std::ptr::null());
    let mut envp: Vec<*const libc::c_char> = env_c.iter().map(|c| c.as_ptr()).collect();
    envp.push(std::ptr::null());
    let (Some((in_r, in_w)), Some((out_r, out_w)), Some((err_r, err_w))) = (pipe(), pipe(), pipe())
    else {
        return false;
    };
    // SAFETY: plain sigset manipulation.
    let mut all: libc::sigset_t = unsafe { std::mem::zeroed() };
    let mut old: libc::sigset_t = unsafe { std::mem::zeroed() };
    unsafe {
        libc::sigfillset(&mut all);
        libc::pthread_sigmask(libc::SIG_SETMASK, &all, &mut old);
    }
    let args = ChildArgs {
        path: path.as_ptr(),
        argv: argv.as_ptr(),
        envp: envp.as_ptr(),
        stdio: [in_r, out_w, err_w],
        attach: attach.as_ptr(),
        n_attach: attach.len(),
        mask: &old,
    };
    let pid = STACK.with(|s| {
        let mut s = s.borrow_mut();
        let len = s.len();
        // SAFETY: the top of our own stack buffer, 16-byte aligned; the child
        // runs on it until execve while this thread is suspended.
        unsafe {
            let top = (s.as_mut_ptr().add(len) as usize & !15) as *mut libc::c_void;
            libc::clone(
                child_main,
                top,
                libc::CLONE_VM | libc::CLONE_VFORK | libc::SIGCHLD,
                &args as *const ChildArgs as *mut libc::c_void,
            )
        }
    });
    // SAFETY: restoring the mask saved above; closing the child's ends.
    unsafe {
        libc::pthread_sigmask(libc::SIG_SETMASK, &old, std::ptr::null_mut());
        libc::close(in_r);
        libc::close(out_w);
        libc::close(err_w);
    }
    // SAFETY: the parent's ends, owned from here on.
    let (mut stdin, mut stdout, mut stderr) = unsafe {
        (
            File::from_raw_fd(in_w),
            File::from_raw_fd(out_r),
            File::from_raw_fd(err_r),
        )
    };
    if pid < 0 {
        return false;
    }
    let _ = stdin.write_all(PROMPT.as_bytes());
    drop(stdin);
    let mut out = Vec::with_capacity(1024);
    let mut err = Vec::new();
    let _ = stdout.read_to_end(&mut out);
    let _ = stderr.read_to_end(&mut err);
    let mut status = 0;
    // SAFETY: reaping our own child.
    let reaped = unsafe { libc::waitpid(pid, &mut status, 0) } == pid;
    reaped
        && libc::WIFEXITED(status)
        && libc::WEXITSTATUS(status) == 0
        && out.windows(14).any(|w| w == b"\"type\":\"result")
}
