//! `clone3(CLONE_VM | CLONE_VFORK | CLONE_INTO_CGROUP)`: the child is born
//! in the job's cgroup v2 group (Linux ≥ 5.7), so nothing is migrated. A
//! migration (writing `cgroup.procs`) takes the kernel's global
//! `cgroup_threadgroup_rwsem` for writing, which waits for an RCU grace
//! period whenever no other migration ran just before: about 6.5 ms on this
//! project's machines for the first job after a pause (0.1 ms right after
//! another). glibc has no `clone3` wrapper that runs a function on a new
//! stack, hence the few instructions below (x86_64; elsewhere the caller
//! falls back to `clone` + attach).

use std::sync::atomic::{AtomicBool, Ordering};

/// `CLONE_INTO_CGROUP` (include/uapi/linux/sched.h).
const CLONE_INTO_CGROUP: u64 = 0x2_0000_0000;

/// `struct clone_args` up to `cgroup` (`CLONE_ARGS_SIZE_VER2`, 88 bytes).
#[repr(C)]
#[derive(Default)]
struct CloneArgs {
    flags: u64,
    pidfd: u64,
    child_tid: u64,
    parent_tid: u64,
    exit_signal: u64,
    stack: u64,
    stack_size: u64,
    tls: u64,
    set_tid: u64,
    set_tid_size: u64,
    cgroup: u64,
}

/// Set once the kernel (or a seccomp filter) answered ENOSYS: no more tries.
static MISSING: AtomicBool = AtomicBool::new(false);

/// The child's function: `child_main` of the caller.
pub(super) type ChildFn = extern "C" fn(*mut libc::c_void) -> libc::c_int;

/// Starts `f(arg)` on `stack` (its lowest address and length) in a child
/// that shares our memory (this thread is suspended until it execs or
/// exits) and is born in the cgroup v2 directory open as `cgroup_fd`.
/// Returns the child's pid, or the errno when no child was made (the caller
/// then falls back to `clone` + attach).
///
/// # Safety
/// As for `clone(CLONE_VM | CLONE_VFORK)`: `f` only makes raw system calls
/// on values prepared before, and `arg` and `stack` outlive the child's exec.
pub(super) unsafe fn spawn_into(
    cgroup_fd: libc::c_int,
    stack: *mut u8,
    stack_len: usize,
    f: ChildFn,
    arg: *mut libc::c_void,
) -> Result<libc::pid_t, i32> {
    if MISSING.load(Ordering::Relaxed) {
        return Err(libc::ENOSYS);
    }
    let mut args = CloneArgs {
        flags: (libc::CLONE_VM | libc::CLONE_VFORK) as u64 | CLONE_INTO_CGROUP,
        exit_signal: libc::SIGCHLD as u64,
        stack: stack as u64,
        stack_size: stack_len as u64,
        cgroup: cgroup_fd as u64,
        ..Default::default()
    };
    let r = raw(&mut args, f, arg);
    if r >= 0 {
        return Ok(r as libc::pid_t);
    }
    let errno = (-r) as i32;
    if errno == libc::ENOSYS {
        MISSING.store(true, Ordering::Relaxed);
    }
    Err(errno)
}

#[cfg(target_arch = "x86_64")]
unsafe fn raw(args: &mut CloneArgs, f: ChildFn, arg: *mut libc::c_void) -> i64 {
    trampoline(args, std::mem::size_of::<CloneArgs>(), f, arg)
}

#[cfg(not(target_arch = "x86_64"))]
unsafe fn raw(_: &mut CloneArgs, _: ChildFn, _: *mut libc::c_void) -> i64 {
    -(libc::ENOSYS as i64)
}

/// `clone3(args, size)`; in the child (on the new stack, every register but
/// rax, rcx, r11 and rsp as the parent left them): `exit(f(arg))`. Returns the
/// syscall's result (pid, or -errno) in the parent.
#[cfg(target_arch = "x86_64")]
#[unsafe(naked)]
unsafe extern "C" fn trampoline(args: *mut CloneArgs, size: usize, f: ChildFn, arg: *mut libc::c_void) -> i64 {
    // rdi = args, rsi = size (the syscall's own arguments); rdx = f, rcx = arg.
    std::arch::naked_asm!(
        "mov r8, rdx",
        "mov r9, rcx",
        "mov eax, 435", // SYS_clone3
        "syscall",
        "test rax, rax",
        "jnz 2f",
        // The child: a fresh 16-byte aligned stack; no frame to return to.
        "xor ebp, ebp",
        "mov rdi, r9",
        "call r8",
        "mov edi, eax",
        "mov eax, 60", // SYS_exit
        "syscall",
        "ud2",
        "2:",
        "ret",
    )
}
