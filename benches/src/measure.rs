//! Process-level counters: CPU time (getrusage), resident memory
//! (/proc/self/status), and the 2 GB "big host" ballast.

use std::time::Duration;

/// CPU time of this process (`RUSAGE_SELF`) or of its reaped children.
#[derive(Debug, Clone, Copy, Default)]
pub struct Cpu {
    pub user: Duration,
    pub sys: Duration,
}

impl Cpu {
    pub fn total(&self) -> Duration {
        self.user + self.sys
    }
    pub fn since(&self, before: &Cpu) -> Cpu {
        Cpu {
            user: self.user.saturating_sub(before.user),
            sys: self.sys.saturating_sub(before.sys),
        }
    }
}

fn rusage(who: i32) -> Cpu {
    // SAFETY: getrusage fills the zeroed struct we own.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(who, &mut ru) };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    Cpu {
        user: tv(ru.ru_utime),
        sys: tv(ru.ru_stime),
    }
}

/// CPU time of this process, all threads.
pub fn self_cpu() -> Cpu {
    rusage(libc::RUSAGE_SELF)
}

/// CPU time of the reaped children (the fake CLIs).
pub fn children_cpu() -> Cpu {
    rusage(libc::RUSAGE_CHILDREN)
}

/// A `Vm*` line of /proc/self/status, in bytes.
pub fn status_bytes(key: &str) -> u64 {
    let text = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    text.lines()
        .find_map(|l| {
            let rest = l.strip_prefix(key)?.strip_prefix(':')?;
            let kb: u64 = rest.trim().trim_end_matches("kB").trim().parse().ok()?;
            Some(kb * 1024)
        })
        .unwrap_or(0)
}

/// Resident memory now.
pub fn rss() -> u64 {
    status_bytes("VmRSS")
}

/// Peak resident memory so far.
pub fn hwm() -> u64 {
    status_bytes("VmHWM")
}

/// `mb` MiB of anonymous memory, every page written, held until dropped.
/// Transparent huge pages are refused for it (`MADV_NOHUGEPAGE`) so it maps
/// the way a big Python or Node heap does: 4 KiB pages, which is what makes
/// `fork()` cost grow with the host's size.
pub struct Ballast {
    ptr: *mut libc::c_void,
    len: usize,
}

impl Ballast {
    pub fn new(mb: usize) -> Ballast {
        let len = mb << 20;
        if len == 0 {
            return Ballast {
                ptr: std::ptr::null_mut(),
                len: 0,
            };
        }
        // SAFETY: an anonymous private mapping we own; unmapped in Drop.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        assert!(ptr != libc::MAP_FAILED, "cannot map {mb} MiB of ballast");
        unsafe {
            libc::madvise(ptr, len, libc::MADV_NOHUGEPAGE);
            let bytes = ptr as *mut u8;
            let mut off = 0;
            while off < len {
                std::ptr::write_volatile(bytes.add(off), (off >> 12) as u8 | 1);
                off += 4096;
            }
        }
        Ballast { ptr, len }
    }
}

impl Drop for Ballast {
    fn drop(&mut self) {
        if self.len > 0 {
            // SAFETY: the mapping made in `new`.
            unsafe { libc::munmap(self.ptr, self.len) };
        }
    }
}

/// Wall-clock time since the Unix epoch, ns (CLOCK_REALTIME: comparable
/// across processes, as the fake CLI's tick stamps are).
pub fn unix_ns() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0)
}

/// [`unix_ns`] in ms.
pub fn unix_ms() -> f64 {
    unix_ns() as f64 / 1e6
}
