//! Thin libc wrappers: fork, pipes, sleeping, signals, CPU time.

use std::time::Duration;

/// fork(2). Returns 0 in the child, the child's pid in the parent.
/// The fake CLI is single-threaded, so the child may keep using std.
pub fn fork() -> libc::pid_t {
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        fail("fork");
    }
    pid
}

/// pipe(2) with O_CLOEXEC; returns (read end, write end).
pub fn pipe() -> (libc::c_int, libc::c_int) {
    let mut fds = [0; 2];
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        fail("pipe2");
    }
    (fds[0], fds[1])
}

pub fn close(fd: libc::c_int) {
    unsafe { libc::close(fd) };
}

pub fn setsid() {
    if unsafe { libc::setsid() } < 0 {
        fail("setsid");
    }
}

pub fn getpid() -> libc::pid_t {
    unsafe { libc::getpid() }
}

/// Writes a pid to a pipe as 4 native-endian bytes.
pub fn write_pid(fd: libc::c_int, pid: libc::pid_t) {
    let b = pid.to_ne_bytes();
    unsafe { libc::write(fd, b.as_ptr().cast(), b.len()) };
}

/// Reads a pid written by `write_pid`; None on EOF/short read.
pub fn read_pid(fd: libc::c_int) -> Option<libc::pid_t> {
    let mut b = [0u8; 4];
    let mut got = 0;
    while got < b.len() {
        let n = unsafe { libc::read(fd, b[got..].as_mut_ptr().cast(), b.len() - got) };
        if n < 0 && std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted {
            continue;
        }
        if n <= 0 {
            return None;
        }
        got += n as usize;
    }
    Some(libc::pid_t::from_ne_bytes(b))
}

/// Reaps one child (blocking).
pub fn wait(pid: libc::pid_t) {
    let mut status = 0;
    while unsafe { libc::waitpid(pid, &mut status, 0) } < 0
        && std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted
    {}
}

/// Sets the process name shown in /proc/<pid>/comm and `ps` (max 15 bytes).
pub fn set_comm(name: &std::ffi::CStr) {
    unsafe { libc::prctl(libc::PR_SET_NAME, name.as_ptr() as libc::c_ulong, 0, 0, 0) };
}

/// Sleeps `secs` seconds even if signals interrupt the sleep.
pub fn sleep_secs(secs: u64) {
    let end = std::time::Instant::now() + Duration::from_secs(secs);
    loop {
        let now = std::time::Instant::now();
        if now >= end {
            return;
        }
        std::thread::sleep(end - now);
    }
}

pub fn sleep_forever() -> ! {
    loop {
        unsafe { libc::pause() };
    }
}

/// _exit(2): no atexit handlers, no stdio flushing (for forked children).
pub fn exit_now(code: i32) -> ! {
    unsafe { libc::_exit(code) }
}

pub fn ignore_sigterm() {
    unsafe { libc::signal(libc::SIGTERM, libc::SIG_IGN) };
}

pub fn stdin_is_tty() -> bool {
    unsafe { libc::isatty(0) == 1 }
}

/// CPU time (user + system) consumed by the whole process so far.
pub fn process_cpu_time() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

fn fail(what: &str) -> ! {
    crate::out::err(&format!(
        "fake-claude: {what} failed: {}\n",
        std::io::Error::last_os_error()
    ));
    std::process::exit(1);
}
