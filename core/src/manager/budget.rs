//! Resource-aware admission: besides `max_concurrent`, a job starts only
//! when the memory (and CPU) caps of the running jobs plus its own fit a
//! budget. The sum is taken by the store when it claims (see
//! [`crate::store::ClaimOptions`]), so managers sharing a SQLite file share
//! the host's budget.

use crate::error::{Error, Result};
use crate::limits::ResourceLimits;

/// What the manager keeps back from the host's available memory for itself,
/// the embedding service and the system (the seed's rule: RAM − 2 GB).
pub const MEMORY_RESERVE_BYTES: u64 = 2 << 30;

/// The memory budget of a manager.
///
/// ```
/// use claude_jobs::{JobManager, MemoryBudget};
/// let b = JobManager::builder().memory_budget(MemoryBudget::Bytes(8 << 30));
/// # let _ = b;
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum MemoryBudget {
    /// The host's available memory at start-up minus [`MEMORY_RESERVE_BYTES`]
    /// (at least half of what is available). The default.
    #[default]
    Auto,
    /// This many bytes.
    Bytes(u64),
    /// No memory budget: only `max_concurrent` limits admission.
    Off,
}

/// The CPU budget of a manager, in cores.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum CpuBudget {
    /// No CPU budget (the default): CPU caps are ceilings that CFS shares
    /// out, so overcommitting them only slows jobs down.
    #[default]
    Off,
    /// The host's CPUs.
    Auto,
    /// This many cores.
    Cores(f64),
}

impl std::str::FromStr for MemoryBudget {
    type Err = Error;
    /// `"auto"`, `"off"` or a size (`"16G"`, `"512M"`, bytes).
    ///
    /// ```
    /// use claude_jobs::MemoryBudget;
    /// assert_eq!("8G".parse::<MemoryBudget>().unwrap(), MemoryBudget::Bytes(8 << 30));
    /// assert_eq!("off".parse::<MemoryBudget>().unwrap(), MemoryBudget::Off);
    /// ```
    fn from_str(s: &str) -> Result<Self> {
        match s.trim() {
            "auto" => Ok(MemoryBudget::Auto),
            "off" | "none" => Ok(MemoryBudget::Off),
            size => crate::limits::parse_size(size)
                .map(MemoryBudget::Bytes)
                .map_err(|r| {
                    Error::invalid(
                        "memory_budget",
                        format!("expected \"auto\", \"off\" or a size: {r}"),
                    )
                }),
        }
    }
}

impl std::str::FromStr for CpuBudget {
    type Err = Error;
    /// `"auto"` (the host's CPUs), `"off"` or a number of cores (`"1.5"`).
    fn from_str(s: &str) -> Result<Self> {
        match s.trim() {
            "auto" => Ok(CpuBudget::Auto),
            "off" | "none" => Ok(CpuBudget::Off),
            n => n.parse::<f64>().map(CpuBudget::Cores).map_err(|_| {
                Error::invalid(
                    "cpu_budget",
                    format!("expected \"auto\", \"off\" or a number of cores, got {n:?}"),
                )
            }),
        }
    }
}

impl MemoryBudget {
    /// `InvalidSpec` (field `memory_budget`) for a budget smaller than one
    /// job's smallest cap; what `build` checks, for bindings that check early.
    pub fn validate(self) -> Result<()> {
        match self {
            MemoryBudget::Bytes(b) if b < crate::MIN_MEMORY_BYTES => Err(Error::invalid(
                "memory_budget",
                format!(
                    "must be at least {} bytes (one job's smallest cap)",
                    crate::MIN_MEMORY_BYTES
                ),
            )),
            _ => Ok(()),
        }
    }

    /// The budget in bytes, or `None` for no budget.
    pub(crate) fn resolve(self, available: u64) -> Result<Option<u64>> {
        self.validate()?;
        Ok(match self {
            MemoryBudget::Off => None,
            MemoryBudget::Auto => Some(
                available
                    .saturating_sub(MEMORY_RESERVE_BYTES)
                    .max(available / 2),
            ),
            MemoryBudget::Bytes(b) => Some(b),
        })
    }
}

impl CpuBudget {
    /// `InvalidSpec` (field `cpu_budget`) for a number of cores that is not
    /// positive and finite.
    pub fn validate(self) -> Result<()> {
        match self {
            CpuBudget::Cores(c) if !c.is_finite() || c <= 0.0 => Err(Error::invalid(
                "cpu_budget",
                format!("must be a positive number of cores, got {c}"),
            )),
            _ => Ok(()),
        }
    }

    /// The budget in cores, or `None` for no budget.
    pub(crate) fn resolve(self, host_cpus: f64) -> Result<Option<f64>> {
        self.validate()?;
        Ok(match self {
            CpuBudget::Off => None,
            CpuBudget::Auto => Some(host_cpus),
            CpuBudget::Cores(c) => Some(c),
        })
    }
}

/// The budgets in force.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Budgets {
    pub memory: Option<u64>,
    pub cpus: Option<f64>,
}

impl Budgets {
    /// `CapacityExceeded` when a job with these caps could never start.
    pub fn check(&self, limits: &ResourceLimits) -> Result<()> {
        if let (Some(b), Some(m)) = (self.memory, limits.memory) {
            if m > b {
                return Err(Error::CapacityExceeded {
                    field: "memory".into(),
                    reason: format!(
                        "cap of {} is more than the manager's memory budget of {}: the job could never start \
                         (lower the cap, or raise memory_budget)",
                        gib(m),
                        gib(b)
                    ),
                });
            }
        }
        if let (Some(b), Some(c)) = (self.cpus, limits.cpus) {
            if c > b + 1e-9 {
                return Err(Error::CapacityExceeded {
                    field: "cpus".into(),
                    reason: format!(
                        "cap of {c} cores is more than the manager's CPU budget of {b} cores: the job could never \
                         start (lower the cap, or raise cpu_budget)"
                    ),
                });
            }
        }
        Ok(())
    }
}

fn gib(bytes: u64) -> String {
    if bytes >= 1 << 30 {
        format!("{:.2} GiB", bytes as f64 / (1u64 << 30) as f64)
    } else {
        format!("{:.0} MiB", bytes as f64 / (1u64 << 20) as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::ClaimOptions;
    use std::time::Duration;

    #[test]
    fn auto_memory_keeps_a_reserve() {
        assert_eq!(MemoryBudget::Auto.resolve(10 << 30).unwrap(), Some(8 << 30));
        // A small host keeps half.
        assert_eq!(MemoryBudget::Auto.resolve(3 << 30).unwrap(), Some(3 << 29));
        assert_eq!(MemoryBudget::Off.resolve(10 << 30).unwrap(), None);
        let e = MemoryBudget::Bytes(1024).resolve(10 << 30).unwrap_err();
        assert_eq!(e.field(), Some("memory_budget"));
        let e = CpuBudget::Cores(0.0).resolve(2.0).unwrap_err();
        assert_eq!(e.field(), Some("cpu_budget"));
        assert_eq!(CpuBudget::Auto.resolve(2.0).unwrap(), Some(2.0));
    }

    #[test]
    fn never_fitting_caps_are_named() {
        let b = Budgets {
            memory: Some(1 << 30),
            cpus: Some(1.0),
        };
        let e = b
            .check(&ResourceLimits::default().with_memory(2 << 30))
            .unwrap_err();
        assert_eq!(e.kind(), crate::ErrorKind::CapacityExceeded);
        assert_eq!(e.field(), Some("memory"));
        assert!(e.to_string().contains("memory budget of 1.00 GiB"), "{e}");
        let e = b
            .check(&ResourceLimits::default().with_cpus(1.5))
            .unwrap_err();
        assert_eq!(e.field(), Some("cpus"));
        b.check(
            &ResourceLimits::default()
                .with_memory(1 << 30)
                .with_cpus(1.0),
        )
        .unwrap();
        b.check(&ResourceLimits::default()).unwrap();
    }

    #[test]
    fn the_longest_fitting_prefix_is_claimed() {
        let mut o = ClaimOptions::new(Duration::from_secs(1));
        o.memory_budget = Some(300);
        let q = [(100, 0.0), (100, 0.0), (200, 0.0), (10, 0.0)];
        assert_eq!(o.fitting((0, 0.0), &q), 2);
        // The 200 does not fit: the 10 behind it waits too.
        assert_eq!(o.fitting((50, 0.0), &q), 2);
        assert_eq!(o.fitting((150, 0.0), &q), 1);
        assert_eq!(o.fitting((300, 0.0), &q), 0);
        o.cpu_budget = Some(0.3);
        assert_eq!(o.fitting((0, 0.1), &[(0, 0.2), (0, 0.1)]), 1);
        o.memory_budget = None;
        o.cpu_budget = None;
        assert_eq!(o.fitting((u64::MAX, 1e9), &q), 4);
    }
}
