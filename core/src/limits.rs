//! Resource limits of a job and the parsers for the sizes and durations people
//! write by hand (`"512M"`, `"1.5G"`, `"30s"`, `"10m"`).

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The smallest memory cap accepted: below this even a tiny process cannot start.
pub const MIN_MEMORY_BYTES: u64 = 8 * 1024 * 1024;

/// CPU, memory and process caps for one job. `None` means "no cap".
///
/// ```
/// use claude_jobs::ResourceLimits;
/// let limits = ResourceLimits::default().with_cpus(0.5).with_memory_str("512M").unwrap().with_pids(256);
/// assert_eq!(limits.memory, Some(512 * 1024 * 1024));
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct ResourceLimits {
    /// CPU cores (fractional): `0.5` is half a core, enforced by CFS bandwidth.
    pub cpus: Option<f64>,
    /// Memory cap in bytes (swap disabled for the job).
    pub memory: Option<u64>,
    /// Maximum number of processes and threads.
    pub pids: Option<u64>,
}

impl ResourceLimits {
    /// Sets the CPU cap.
    pub fn with_cpus(mut self, cpus: f64) -> Self {
        self.cpus = Some(cpus);
        self
    }
    /// Sets the memory cap in bytes.
    pub fn with_memory(mut self, bytes: u64) -> Self {
        self.memory = Some(bytes);
        self
    }
    /// Sets the memory cap from a size string such as `"512M"`.
    pub fn with_memory_str(mut self, size: &str) -> Result<Self> {
        self.memory = Some(parse_size(size).map_err(|r| Error::invalid("memory", r))?);
        Ok(self)
    }
    /// Sets the process cap.
    pub fn with_pids(mut self, pids: u64) -> Self {
        self.pids = Some(pids);
        self
    }
    /// Fills every unset field from `defaults`.
    pub fn or(self, defaults: ResourceLimits) -> Self {
        ResourceLimits {
            cpus: self.cpus.or(defaults.cpus),
            memory: self.memory.or(defaults.memory),
            pids: self.pids.or(defaults.pids),
        }
    }
    /// True when no cap is set.
    pub fn is_empty(&self) -> bool {
        self.cpus.is_none() && self.memory.is_none() && self.pids.is_none()
    }

    /// Checks the values against the host. `host_cpus` is the number of CPUs.
    pub fn validate(&self, host_cpus: f64) -> Result<()> {
        if let Some(c) = self.cpus {
            if !c.is_finite() || c <= 0.0 {
                return Err(Error::invalid(
                    "cpus",
                    format!("must be a positive number of cores, got {c}"),
                ));
            }
            if c > host_cpus {
                return Err(Error::invalid(
                    "cpus",
                    format!("{c} is more than the {host_cpus} CPUs of this host"),
                ));
            }
        }
        if let Some(m) = self.memory {
            if m < MIN_MEMORY_BYTES {
                return Err(Error::invalid(
                    "memory",
                    format!("{m} bytes is below the minimum of 8 MiB"),
                ));
            }
        }
        if self.pids == Some(0) {
            return Err(Error::invalid("pids", "must be at least 1"));
        }
        Ok(())
    }
}

/// Parses a byte size: a plain number of bytes, or a number with a binary unit
/// `K`, `M`, `G`, `T` (also `KB`/`KiB`, …; all powers of 1024). Fractions are
/// allowed: `"1.5G"`.
///
/// ```
/// assert_eq!(claude_jobs::parse_size("512M").unwrap(), 512 << 20);
/// assert_eq!(claude_jobs::parse_size("1.5G").unwrap(), 3 << 29);
/// assert!(claude_jobs::parse_size("lots").is_err());
/// ```
pub fn parse_size(s: &str) -> std::result::Result<u64, String> {
    let t = s.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let value: f64 = num
        .parse()
        .map_err(|_| format!("cannot parse {s:?} as a size (examples: 512M, 1.5G, 1048576)"))?;
    let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        "t" | "tb" | "tib" => 1 << 40,
        other => {
            return Err(format!(
                "unknown size unit {other:?} in {s:?} (use K, M, G or T)"
            ))
        }
    };
    let bytes = value * mult as f64;
    if !bytes.is_finite() || bytes >= u64::MAX as f64 {
        return Err(format!("size {s:?} is too large"));
    }
    Ok(bytes.round() as u64)
}

/// Parses a duration such as `"30s"`, `"10m"`, `"1h 30m"`, `"250ms"`; a bare
/// number means seconds.
///
/// ```
/// use std::time::Duration;
/// assert_eq!(claude_jobs::parse_duration("10m").unwrap(), Duration::from_secs(600));
/// assert_eq!(claude_jobs::parse_duration("2").unwrap(), Duration::from_secs(2));
/// ```
pub fn parse_duration(s: &str) -> std::result::Result<Duration, String> {
    let t = s.trim();
    if let Ok(secs) = t.parse::<f64>() {
        if secs.is_finite() && secs >= 0.0 {
            return Ok(Duration::from_secs_f64(secs));
        }
    }
    humantime::parse_duration(t)
        .map_err(|e| format!("cannot parse {s:?} as a duration ({e}; examples: 30s, 10m, 1h)"))
}

/// How many jobs may run at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Concurrency {
    /// A fixed number.
    Fixed(usize),
    /// `floor((available RAM − 2 GiB) / 1.2 GiB)`, at least 1.
    Auto,
}

impl From<usize> for Concurrency {
    fn from(n: usize) -> Self {
        Concurrency::Fixed(n)
    }
}

impl Concurrency {
    /// The number this resolves to on this host.
    pub fn resolve(self) -> usize {
        match self {
            Concurrency::Fixed(n) => n,
            Concurrency::Auto => auto_concurrency(crate::host::available_memory()),
        }
    }
}

/// The seed's rule: `floor((available − 2 GiB) / 1.2 GiB)`, at least 1.
pub fn auto_concurrency(available_bytes: u64) -> usize {
    let gib = (1u64 << 30) as f64;
    let jobs = ((available_bytes as f64 - 2.0 * gib) / (1.2 * gib)).floor();
    if jobs.is_finite() && jobs >= 1.0 {
        jobs as usize
    } else {
        1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("64M").unwrap(), 64 << 20);
        assert_eq!(parse_size("1G").unwrap(), 1 << 30);
        assert_eq!(parse_size("800MiB").unwrap(), 800 << 20);
        assert_eq!(parse_size("4096").unwrap(), 4096);
        assert!(parse_size("").is_err());
        assert!(parse_size("12X").is_err());
        assert!(parse_size("-5M").is_err());
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30s").unwrap(), Duration::from_secs(30));
        assert_eq!(parse_duration("1.5").unwrap(), Duration::from_millis(1500));
        assert!(parse_duration("soon").is_err());
    }

    #[test]
    fn auto_rule_matches_the_seed() {
        let gib = 1u64 << 30;
        assert_eq!(auto_concurrency(4 * gib), 1);
        assert_eq!(auto_concurrency(8 * gib), 5);
        assert_eq!(auto_concurrency(16 * gib), 11);
        assert_eq!(auto_concurrency(gib), 1);
    }

    #[test]
    fn limits_validation_names_the_field() {
        let e = ResourceLimits::default()
            .with_cpus(0.0)
            .validate(2.0)
            .unwrap_err();
        assert_eq!(e.field(), Some("cpus"));
        let e = ResourceLimits::default()
            .with_cpus(3.0)
            .validate(2.0)
            .unwrap_err();
        assert_eq!(e.field(), Some("cpus"));
        let e = ResourceLimits::default()
            .with_memory(1 << 20)
            .validate(2.0)
            .unwrap_err();
        assert_eq!(e.field(), Some("memory"));
        let e = ResourceLimits::default()
            .with_pids(0)
            .validate(2.0)
            .unwrap_err();
        assert_eq!(e.field(), Some("pids"));
    }
}
