//! A JS job spec (`manager.submit({...})`) → [`claude_jobs::JobSpec`].
//!
//! Every field of the core spec, camelCased; limits are flat (`cpus`,
//! `memory`, `pids`) and durations are milliseconds (`timeoutMs`). The core
//! checks the values again on submit; its errors name the same fields.

use claude_jobs::{JobSpec, OutputSpec, RunAs};
use serde_json::Value;

use crate::convert::{Fields, Result};

/// Converts `{ prompt, cpus: 0.5, memory: '512M', timeoutMs, ... }`.
pub(crate) fn job_spec(value: &Value) -> Result<JobSpec> {
    let mut f = Fields::of(value, "spec")?;
    let mut spec = JobSpec {
        prompt: f.string("prompt")?.unwrap_or_default(),
        template: f.string("template")?,
        variables: f.string_map("variables")?.unwrap_or_default(),
        working_dir: f.string("workingDir")?.map(Into::into),
        env: f.string_map("env")?.unwrap_or_default(),
        model: f.string("model")?,
        allowed_tools: f.strings("allowedTools")?.unwrap_or_default(),
        max_turns: f.integer("maxTurns", 0, u32::MAX as i64)?.map(|n| n as u32),
        max_budget_usd: f.number("maxBudgetUsd")?,
        extra_args: f.strings("extraArgs")?.unwrap_or_default(),
        timeout: f.millis("timeoutMs")?,
        idle_timeout: f.millis("idleTimeoutMs")?,
        priority: f
            .integer("priority", i32::MIN as i64, i32::MAX as i64)?
            .unwrap_or(0) as i32,
        labels: f.string_map("labels")?.unwrap_or_default(),
        depends_on: f.strings("dependsOn")?.unwrap_or_default(),
        inputs: f.string_map("inputs")?.unwrap_or_default(),
        ..JobSpec::default()
    };
    if let Some(n) = f.integer("maxAttempts", 0, u32::MAX as i64)? {
        spec.max_attempts = n as u32;
    }
    spec.limits.cpus = f.number("cpus")?;
    spec.limits.memory = f.size("memory")?;
    spec.limits.pids = f.integer("pids", 0, i64::MAX)?.map(|n| n as u64);
    if let Some(mut r) = f.nested("runAs")? {
        let uid = r.integer("uid", 0, u32::MAX as i64)?;
        let gid = r.integer("gid", 0, u32::MAX as i64)?;
        let (Some(uid), Some(gid)) = (uid, gid) else {
            return Err(crate::errors::JsError::invalid(
                "runAs",
                "needs both uid and gid",
            ));
        };
        r.finish()?;
        spec.run_as = Some(RunAs {
            uid: uid as u32,
            gid: gid as u32,
        });
    }
    if let Some(mut o) = f.nested("output")? {
        let file = o.string("file")?;
        let folder = o.string("folder")?;
        let name = o.string("name")?;
        let (Some(file), Some(folder)) = (file, folder) else {
            return Err(crate::errors::JsError::invalid(
                "output",
                "needs file and folder",
            ));
        };
        o.finish()?;
        spec.output = Some(OutputSpec { file, folder, name });
    }
    // Inputs imply dependencies, as with the core builder's `input()`.
    for id in spec.inputs.values() {
        if !spec.depends_on.contains(id) {
            spec.depends_on.push(id.clone());
        }
    }
    f.finish()?;
    Ok(spec)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_every_field() {
        let spec = job_spec(&json!({
            "prompt": "hi", "cpus": 0.5, "memory": "512M", "pids": 256, "timeoutMs": 1500,
            "idleTimeoutMs": 1000, "allowedTools": ["Read"], "labels": {"team": "x"},
            "runAs": {"uid": 1000, "gid": 1000}, "env": {"A": "1"}, "priority": -2,
            "maxAttempts": 3
        }))
        .unwrap();
        assert_eq!(spec.limits.memory, Some(512 << 20));
        assert_eq!(spec.limits.pids, Some(256));
        assert_eq!(spec.timeout, Some(std::time::Duration::from_millis(1500)));
        assert_eq!(
            spec.run_as,
            Some(RunAs {
                uid: 1000,
                gid: 1000
            })
        );
        assert_eq!(spec.priority, -2);
        assert_eq!(spec.max_attempts, 3);
    }

    #[test]
    fn memory_may_be_bytes() {
        let spec = job_spec(&json!({"prompt": "hi", "memory": 67108864})).unwrap();
        assert_eq!(spec.limits.memory, Some(64 << 20));
    }

    #[test]
    fn bad_fields_are_named_in_javascript_spelling() {
        let field = |v| job_spec(&v).unwrap_err().field.unwrap();
        assert_eq!(field(json!({"prompt": "hi", "memory": "lots"})), "memory");
        assert_eq!(field(json!({"prompt": "hi", "timeout": 5})), "timeout");
        assert_eq!(field(json!({"prompt": "hi", "maxTurns": 1.5})), "maxTurns");
        assert_eq!(field(json!({"prompt": "hi", "runAs": {"uid": 1}})), "runAs");
    }
}
