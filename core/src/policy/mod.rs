//! [`Policy`]: what a manager lets a job spec ask for (tools, caps, models,
//! options), checked before the job is queued; and the quotas of each
//! tenant, which the store enforces when it claims.
//!
//! Loaded from YAML (every key optional; a tenant's keys override the top
//! level) or built in code. [`Policy::safe`] is what the services use when
//! no file is given: no `Bash`, nothing under `allow`, caps required.
//!
//! ```
//! use claude_jobs::Policy;
//! let p = Policy::from_yaml(r#"
//! forbidden_tools: [Bash]
//! max_memory: 2G
//! default_limits: { cpus: 1, memory: 1G, pids: 256, timeout: 15m }
//! tenants:
//!   a: { max_running: 2, max_queued: 50, daily_budget_usd: 10, max_memory: 4G }
//! "#)?;
//! assert_eq!(p.rules_for(Some("a")).max_memory, Some(4 << 30));
//! assert_eq!(p.rules_for(Some("b")).max_memory, Some(2 << 30));
//! # Ok::<(), claude_jobs::Error>(())
//! ```

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

mod check;

/// Options a spec may use only when the policy allows them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Allow {
    pub mcp_servers: bool,
    pub add_dirs: bool,
    pub settings: bool,
    pub env: bool,
    pub extra_args: bool,
    pub working_dir: bool,
    pub run_as: bool,
    pub webhook_url: bool,
}

impl Allow {
    /// Everything allowed.
    pub fn all() -> Self {
        Allow {
            mcp_servers: true,
            add_dirs: true,
            settings: true,
            env: true,
            extra_args: true,
            working_dir: true,
            run_as: true,
            webhook_url: true,
        }
    }
}

/// Caps (and a timeout) a job gets when its spec sets none.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DefaultLimits {
    pub cpus: Option<f64>,
    #[serde(with = "crate::units::opt_size")]
    pub memory: Option<u64>,
    pub pids: Option<u64>,
    #[serde(with = "crate::units::opt_duration")]
    pub timeout: Option<Duration>,
}

/// The rules of a policy (the top level, or a tenant's overrides: a key a
/// tenant sets replaces the top level's).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Rules {
    /// Tools (or rules such as `Bash(git *)`) a spec may list; a tool or
    /// rule outside it is refused. `None`: any tool not forbidden.
    pub allowed_tools: Option<Vec<String>>,
    /// Tools refused by name, rules included (`Bash` refuses `Bash(ls)`).
    pub forbidden_tools: Option<Vec<String>>,
    pub max_cpus: Option<f64>,
    #[serde(with = "crate::units::opt_size")]
    pub max_memory: Option<u64>,
    pub max_pids: Option<u64>,
    #[serde(with = "crate::units::opt_duration")]
    pub max_timeout: Option<Duration>,
    pub max_prompt_bytes: Option<u64>,
    pub default_limits: Option<DefaultLimits>,
    /// Models a spec may name.
    pub allowed_models: Option<Vec<String>>,
    pub allow: Option<Allow>,
}

impl Rules {
    /// These rules with every key `over` sets taking its place.
    fn overridden_by(&self, over: &Rules) -> Rules {
        Rules {
            allowed_tools: over.allowed_tools.clone().or_else(|| self.allowed_tools.clone()),
            forbidden_tools: over.forbidden_tools.clone().or_else(|| self.forbidden_tools.clone()),
            max_cpus: over.max_cpus.or(self.max_cpus),
            max_memory: over.max_memory.or(self.max_memory),
            max_pids: over.max_pids.or(self.max_pids),
            max_timeout: over.max_timeout.or(self.max_timeout),
            max_prompt_bytes: over.max_prompt_bytes.or(self.max_prompt_bytes),
            default_limits: over.default_limits.or(self.default_limits),
            allowed_models: over.allowed_models.clone().or_else(|| self.allowed_models.clone()),
            allow: over.allow.or(self.allow),
        }
    }
}

/// A tenant's quotas, enforced by the store (across every manager sharing it).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TenantQuota {
    /// Jobs of the tenant running at once.
    pub max_running: Option<u32>,
    /// Jobs of the tenant queued at once: a submit beyond is refused.
    pub max_queued: Option<u32>,
    /// Spend per UTC day: finished jobs' cost plus running jobs' budget caps.
    pub daily_budget_usd: Option<f64>,
}

/// A tenant in a policy: its quotas and its overrides of the rules.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TenantPolicy {
    pub quota: TenantQuota,
    pub rules: Rules,
}

/// A policy: rules for every spec, and per tenant quotas and overrides.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Policy {
    pub rules: Rules,
    pub tenants: BTreeMap<String, TenantPolicy>,
}

const QUOTA_KEYS: [&str; 3] = ["max_running", "max_queued", "daily_budget_usd"];

impl Policy {
    /// The services' default: no `Bash`, nothing under `allow`, caps
    /// required (1 CPU, 1 GiB, 256 processes, 15 minutes by default; at most
    /// 2 CPUs, 2 GiB, 512 processes, 30 minutes), prompts up to 1 MiB.
    pub fn safe() -> Policy {
        Policy::from_yaml(include_str!("safe.yaml")).expect("the built-in policy parses")
    }

    /// Parses a policy file's text (snake_case keys, as in the README).
    ///
    /// Errors: `InvalidSpec` naming the key (`policy.tenants.a.max_memory`).
    pub fn from_yaml(text: &str) -> Result<Policy> {
        let bad = |field: String, e: String| Error::invalid(field, e);
        let mut top: serde_yaml_ng::Mapping = match serde_yaml_ng::from_str(text) {
            Ok(serde_yaml_ng::Value::Null) => Default::default(),
            Ok(serde_yaml_ng::Value::Mapping(m)) => m,
            Ok(_) => return Err(bad("policy".into(), "must be a mapping".into())),
            Err(e) => return Err(bad("policy".into(), e.to_string())),
        };
        let tenants = top.remove("tenants").unwrap_or(serde_yaml_ng::Value::Null);
        let rules: Rules = serde_yaml_ng::from_value(top.into()).map_err(|e| bad("policy".into(), e.to_string()))?;
        let mut out = Policy { rules, tenants: BTreeMap::new() };
        let tenants: BTreeMap<String, serde_yaml_ng::Mapping> = match tenants {
            serde_yaml_ng::Value::Null => BTreeMap::new(),
            v => serde_yaml_ng::from_value(v).map_err(|e| bad("policy.tenants".into(), e.to_string()))?,
        };
        for (name, mut m) in tenants {
            let field = format!("policy.tenants.{name}");
            let mut q = serde_yaml_ng::Mapping::new();
            for k in QUOTA_KEYS {
                if let Some(v) = m.remove(k) {
                    q.insert(k.into(), v);
                }
            }
            let quota: TenantQuota = serde_yaml_ng::from_value(q.into()).map_err(|e| bad(field.clone(), e.to_string()))?;
            let rules: Rules = serde_yaml_ng::from_value(m.into()).map_err(|e| bad(field.clone(), e.to_string()))?;
            out.tenants.insert(name, TenantPolicy { quota, rules });
        }
        out.validate()?;
        Ok(out)
    }

    /// Reads a policy file.
    pub fn from_file(path: &std::path::Path) -> Result<Policy> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::invalid("policy", format!("cannot read {}: {e}", path.display())))?;
        Policy::from_yaml(&text)
    }

    /// The rules for a spec of `tenant` (its overrides over the top level).
    pub fn rules_for(&self, tenant: Option<&str>) -> Rules {
        match tenant.and_then(|t| self.tenants.get(t)) {
            Some(t) => self.rules.overridden_by(&t.rules),
            None => self.rules.clone(),
        }
    }

    fn validate(&self) -> Result<()> {
        for (name, t) in &self.tenants {
            let field = format!("policy.tenants.{name}.daily_budget_usd");
            if t.quota.daily_budget_usd.is_some_and(|b| !b.is_finite() || b < 0.0) {
                return Err(Error::invalid(field, "must be a non-negative amount"));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
