//! Facts about the host the manager runs on.

/// Bytes of memory available for new work: `MemAvailable` from
/// `/proc/meminfo` (falls back to 4 GiB where it cannot be read).
pub fn available_memory() -> u64 {
    meminfo("MemAvailable:").unwrap_or(4 << 30)
}

/// A `/proc/meminfo` line's value in bytes.
fn meminfo(key: &str) -> Option<u64> {
    std::fs::read_to_string("/proc/meminfo")
        .ok()?
        .lines()
        .find(|l| l.starts_with(key))?
        .split_whitespace()
        .nth(1)?
        .parse::<u64>()
        .ok()
        .map(|kb| kb * 1024)
}

/// The host's total memory (`MemTotal`), if it can be read.
pub fn total_memory() -> Option<u64> {
    meminfo("MemTotal:")
}

/// Number of CPUs usable by this process.
pub fn cpu_count() -> f64 {
    std::thread::available_parallelism()
        .map(|n| n.get() as f64)
        .unwrap_or(1.0)
}

/// The host name, the first part of node ids.
pub(crate) fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "host".into())
}
