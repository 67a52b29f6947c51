//! Resource-aware admission: besides `max_concurrent`, a job starts only
//! when the memory (and CPU) caps of the running jobs plus its own fit a
//! budget. The sum is taken by the store when it claims (see
//! [`crate::store::ClaimOptions`]), so managers sharing a SQLite file share
//! the host's budget.

use crate::error::{Error, Result};
use crate::limits::ResourceLimits;
#[cfg(test)]
use crate::options::{CpuBudget, MemoryBudget};

/// The budgets in force.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Budgets {
    pub memory: Option<u64>,
    pub cpus: Option<f64>,
}

impl Budgets {
    /// The budgets the options give on this host.
    pub fn resolve(o: &crate::options::ManagerOptions) -> Result<Budgets> {
        Ok(Budgets {
            memory: o.memory_budget.resolve(crate::host::available_memory())?,
            cpus: o.cpu_budget.resolve(crate::host::cpu_count())?,
        })
    }

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
