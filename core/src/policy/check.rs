//! [`Policy::check`]: a spec against the rules of its tenant.

use super::{Allow, Policy, Rules};
use crate::error::{Error, Result};
use crate::spec::JobSpec;

fn violation(field: &str, reason: impl Into<String>) -> Error {
    Error::PolicyViolation {
        field: field.to_string(),
        reason: reason.into(),
    }
}

/// `Bash(git *)` → `Bash`.
fn tool_name(rule: &str) -> &str {
    rule.split('(').next().unwrap_or(rule).trim()
}

impl Policy {
    /// Fills the spec's unset caps and timeout from the rules' defaults,
    /// then checks it; the first violation is a `PolicyViolation` naming the
    /// field. Run after the template's defaults are applied.
    pub fn check(&self, spec: &mut JobSpec) -> Result<()> {
        let r = self.rules_for(spec.tenant.as_deref());
        if let Some(d) = r.default_limits {
            spec.cpus = spec.cpus.or(d.cpus);
            spec.memory = spec.memory.or(d.memory);
            spec.pids = spec.pids.or(d.pids);
            spec.timeout = spec.timeout.or(d.timeout);
        }
        check_caps(&r, spec)?;
        check_tools(&r, spec)?;
        if let (Some(models), Some(m)) = (&r.allowed_models, &spec.model) {
            if !models.contains(m) {
                return Err(violation("model", format!("{m} is not one of {}", models.join(", "))));
            }
        }
        check_allowed(r.allow.unwrap_or_default(), spec)
    }
}

fn check_caps(r: &Rules, spec: &JobSpec) -> Result<()> {
    let over = |field: &str, got: String, max: String| {
        violation(field, format!("{got} is more than the policy's {max}"))
    };
    let missing = |field: &str| violation(field, "must be set: the policy caps it");
    if let Some(max) = r.max_cpus {
        match spec.cpus {
            Some(c) if c > max => return Err(over("cpus", c.to_string(), max.to_string())),
            None => return Err(missing("cpus")),
            _ => {}
        }
    }
    if let Some(max) = r.max_memory {
        match spec.memory {
            Some(m) if m > max => return Err(over("memory", format!("{m} bytes"), format!("{max} bytes"))),
            None => return Err(missing("memory")),
            _ => {}
        }
    }
    if let Some(max) = r.max_pids {
        match spec.pids {
            Some(p) if p > max => return Err(over("pids", p.to_string(), max.to_string())),
            None => return Err(missing("pids")),
            _ => {}
        }
    }
    if let Some(max) = r.max_timeout {
        let h = |d: std::time::Duration| humantime::format_duration(d).to_string();
        match spec.timeout {
            Some(t) if t > max => return Err(over("timeout", h(t), h(max))),
            None => return Err(missing("timeout")),
            _ => {}
        }
    }
    if let Some(max) = r.max_prompt_bytes {
        if spec.prompt.len() as u64 > max {
            return Err(over("prompt", format!("{} bytes", spec.prompt.len()), format!("{max} bytes")));
        }
    }
    Ok(())
}

/// The spec's tools against the policy's lists; then the forbidden tools
/// join its `disallowed_tools`, so that the CLI itself refuses them whatever
/// the permission mode, and `bypassPermissions` (which would run any tool
/// without asking) is refused while the policy restricts tools.
fn check_tools(r: &Rules, spec: &mut JobSpec) -> Result<()> {
    check_allowed_tools(r, spec)?;
    let restricted = r.allowed_tools.is_some() || r.forbidden_tools.as_ref().is_some_and(|f| !f.is_empty());
    if restricted && spec.permission_mode == Some(crate::spec::PermissionMode::BypassPermissions) {
        return Err(violation(
            "permission_mode",
            "bypassPermissions is not allowed: the policy restricts the tools a job may use",
        ));
    }
    for f in r.forbidden_tools.iter().flatten() {
        if !spec.disallowed_tools.contains(f) {
            spec.disallowed_tools.push(f.clone());
        }
    }
    Ok(())
}

fn check_allowed_tools(r: &Rules, spec: &JobSpec) -> Result<()> {
    let forbidden = r.forbidden_tools.as_deref().unwrap_or_default();
    for t in &spec.allowed_tools {
        let name = tool_name(t);
        if forbidden.iter().any(|f| f == t || tool_name(f) == name && !f.contains('(')) {
            return Err(violation("allowed_tools", format!("{t} is forbidden by the policy")));
        }
        if let Some(allowed) = &r.allowed_tools {
            if !allowed.iter().any(|a| a == t || a == name) {
                return Err(violation(
                    "allowed_tools",
                    format!("{t} is not among the tools the policy allows ({})", allowed.join(", ")),
                ));
            }
        }
    }
    Ok(())
}

fn check_allowed(allow: Allow, spec: &JobSpec) -> Result<()> {
    let used = [
        ("mcp_servers", spec.mcp_servers.as_ref().is_some_and(|m| !m.is_empty()), allow.mcp_servers),
        ("add_dirs", !spec.add_dirs.is_empty(), allow.add_dirs),
        ("settings", spec.settings.is_some(), allow.settings),
        ("env", !spec.env.is_empty(), allow.env),
        ("extra_args", !spec.extra_args.is_empty(), allow.extra_args),
        ("working_dir", spec.working_dir.is_some(), allow.working_dir),
        ("run_as", spec.run_as.is_some(), allow.run_as),
        ("webhook_url", spec.webhook_url.is_some(), allow.webhook_url),
    ];
    for (field, set, allowed) in used {
        if set && !allowed {
            return Err(violation(field, "is not allowed by the policy"));
        }
    }
    Ok(())
}
