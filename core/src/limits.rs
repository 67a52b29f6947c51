//! Resource limits of a job and how many jobs run at once.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::units::parse_size;

/// The smallest memory cap accepted: below this even a tiny process cannot start.
pub const MIN_MEMORY_BYTES: u64 = 8 * 1024 * 1024;

/// The most processes a cap may allow: the kernel's `PID_MAX_LIMIT` on 64-bit
/// (a larger `pids.max` is refused by the kernel).
pub const MAX_PIDS: u64 = 4 * 1024 * 1024;

/// CPU, memory and process caps for one job. `None` means "no cap".
///
/// ```
/// use claude_jobs::ResourceLimits;
/// let limits = ResourceLimits::default().with_cpus(0.5).with_memory_str("512M").unwrap().with_pids(256);
/// assert_eq!(limits.memory, Some(512 * 1024 * 1024));
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ResourceLimits {
    /// CPU cores (fractional): `0.5` is half a core, enforced by CFS bandwidth.
    pub cpus: Option<f64>,
    /// Memory cap in bytes (swap disabled for the job); text such as
    /// `"512M"` is read too.
    #[serde(with = "crate::units::opt_size")]
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

    /// Checks the values that need no host: positive and finite CPUs, at
    /// least [`MIN_MEMORY_BYTES`], processes from 1 to the kernel's most.
    pub fn check(&self) -> Result<()> {
        if let Some(c) = self.cpus {
            if !c.is_finite() || c <= 0.0 {
                return Err(Error::invalid(
                    "cpus",
                    format!("must be a positive number of cores, got {c}"),
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
        match self.pids {
            Some(0) => return Err(Error::invalid("pids", "must be at least 1")),
            Some(p) if p > MAX_PIDS => {
                return Err(Error::invalid(
                    "pids",
                    format!("{p} is more than the kernel allows ({MAX_PIDS})"),
                ))
            }
            _ => {}
        }
        Ok(())
    }

    /// Checks the values against the host: [`check`](Self::check), no more
    /// CPUs than `host_cpus` and no more memory than the host has.
    pub fn validate(&self, host_cpus: f64) -> Result<()> {
        self.check()?;
        if let Some(c) = self.cpus {
            if c > host_cpus {
                return Err(Error::invalid(
                    "cpus",
                    format!("{c} is more than the {host_cpus} CPUs of this host"),
                ));
            }
        }
        if let (Some(m), Some(total)) = (self.memory, crate::host::total_memory()) {
            if m > total {
                return Err(Error::invalid(
                    "memory",
                    format!("{m} bytes is more than this host's {total} bytes of memory"),
                ));
            }
        }
        Ok(())
    }
}

/// How many jobs may run at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Concurrency {
    /// A fixed number.
    Fixed(usize),
    /// `floor((available RAM − 2 GiB) / 1.2 GiB)`, at least 1.
    Auto,
}

impl Default for Concurrency {
    fn default() -> Self {
        Concurrency::Fixed(3)
    }
}

/// A whole number, or `"auto"`.
impl<'de> Deserialize<'de> for Concurrency {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Text(String),
            Number(f64),
        }
        let bad = |what: String| {
            serde::de::Error::custom(format!("expected a whole number of jobs or \"auto\", got {what}"))
        };
        match Raw::deserialize(d).map_err(|_| bad("another type".into()))? {
            Raw::Text(s) if s.trim() == "auto" => Ok(Concurrency::Auto),
            Raw::Text(s) => s.trim().parse::<usize>().map(Concurrency::Fixed).map_err(|_| bad(format!("{s:?}"))),
            Raw::Number(n) if n.is_finite() && n >= 0.0 && n.fract() == 0.0 && n <= 1e6 => {
                Ok(Concurrency::Fixed(n as usize))
            }
            Raw::Number(n) => Err(bad(n.to_string())),
        }
    }
}

impl Serialize for Concurrency {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        match self {
            Concurrency::Fixed(n) => s.serialize_u64(*n as u64),
            Concurrency::Auto => s.serialize_str("auto"),
        }
    }
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
