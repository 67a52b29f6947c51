//! [`MemoryBudget`] and [`CpuBudget`]: what the running jobs' caps may add
//! up to before admission waits.

use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize, Serializer};

use crate::error::{Error, Result};

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
            size => crate::units::parse_size(size)
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
            MemoryBudget::Bytes(b) if b < crate::limits::MIN_MEMORY_BYTES => Err(Error::invalid(
                "memory_budget",
                format!(
                    "must be at least {} bytes (one job's smallest cap)",
                    crate::limits::MIN_MEMORY_BYTES
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


/// `"auto"`, `"off"`, a size (`"8G"`) or a number of bytes.
impl<'de> Deserialize<'de> for MemoryBudget {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Text(String),
            Bytes(u64),
            Float(f64),
        }
        match Raw::deserialize(d)? {
            Raw::Text(s) => s.parse().map_err(|e: Error| de::Error::custom(reason(e))),
            Raw::Bytes(b) => Ok(MemoryBudget::Bytes(b)),
            Raw::Float(f) if f.is_finite() && f >= 0.0 && f.fract() == 0.0 => Ok(MemoryBudget::Bytes(f as u64)),
            Raw::Float(f) => Err(de::Error::custom(format!("expected \"auto\", \"off\" or a size, got {f}"))),
        }
    }
}

impl Serialize for MemoryBudget {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        match self {
            MemoryBudget::Auto => s.serialize_str("auto"),
            MemoryBudget::Off => s.serialize_str("off"),
            MemoryBudget::Bytes(b) => s.serialize_u64(*b),
        }
    }
}

/// `"auto"`, `"off"`, or a number of cores (also as text: `"1.5"`).
impl<'de> Deserialize<'de> for CpuBudget {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Text(String),
            Cores(f64),
        }
        match Raw::deserialize(d)? {
            Raw::Text(s) => s.parse().map_err(|e: Error| de::Error::custom(reason(e))),
            Raw::Cores(c) => Ok(CpuBudget::Cores(c)),
        }
    }
}

impl Serialize for CpuBudget {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        match self {
            CpuBudget::Auto => s.serialize_str("auto"),
            CpuBudget::Off => s.serialize_str("off"),
            CpuBudget::Cores(c) => s.serialize_f64(*c),
        }
    }
}

/// The reason of an `InvalidSpec` (its field is the one being read).
fn reason(e: Error) -> String {
    match e {
        Error::InvalidSpec { reason, .. } => reason,
        other => other.to_string(),
    }
}
