//! JS manager options (`new JobManager({...})`) → [`JobManagerBuilder`].
//!
//! Checked synchronously, so a bad option throws from the constructor; only
//! what needs the host at start-up (cgroups, the data dir, template folders)
//! is reported later, by `ready()` and every call that needs the manager.

use claude_jobs::{
    Concurrency, CpuBudget, IsolationMode, JobManager, JobManagerBuilder, MemoryBudget,
    RecoveryPolicy, ResourceLimits, RetentionPolicy,
};
use serde_json::Value;

use crate::convert::{Fields, Result};
use crate::errors::JsError;

/// Converts `{ claudeBin, dataDir, maxConcurrent: 3 | 'auto', isolation, ... }`.
pub(crate) fn manager_builder(value: Option<&Value>) -> Result<JobManagerBuilder> {
    let empty = Value::Object(Default::default());
    let mut f = Fields::of(value.unwrap_or(&empty), "options")?;
    let mut b = JobManager::builder();
    if let Some(bin) = f.string("claudeBin")? {
        b = b.claude_bin(bin);
    }
    if let Some(dir) = f.string("dataDir")? {
        b = b.data_dir(dir);
    }
    if let Some(c) = concurrency(&mut f)? {
        b = b.max_concurrent(c);
    }
    if let Some(mode) = f.string("isolation")? {
        let mode: IsolationMode = mode.parse().map_err(JsError::from)?;
        b = b.isolation(mode);
    }
    if let Some(d) = f.millis("killGraceMs")? {
        b = b.kill_grace(d);
    }
    if let Some(d) = f.millis("resultGraceMs")? {
        b = b.result_grace(d);
    }
    if let Some(n) = f.integer("lineCap", 1024, i64::MAX)? {
        b = b.line_cap(n as usize);
    }
    if let Some(budget) = memory_budget(&mut f)? {
        b = b.memory_budget(budget);
    }
    if let Some(budget) = cpu_budget(&mut f)? {
        b = b.cpu_budget(budget);
    }
    if let Some(limits) = default_limits(&mut f)? {
        b = b.default_limits(limits);
    }
    if let Some(d) = positive_ms(&mut f, "defaultTimeoutMs")? {
        b = b.default_timeout(d);
    }
    if let Some(d) = positive_ms(&mut f, "defaultIdleTimeoutMs")? {
        b = b.default_idle_timeout(d);
    }
    for (k, v) in f.string_map("env")?.unwrap_or_default() {
        b = b.env(k, v);
    }
    for name in f.strings("passEnv")?.unwrap_or_default() {
        b = b.pass_env(name);
    }
    if let Some(d) = positive_ms(&mut f, "memoryPressureLimitMs")? {
        b = b.memory_pressure_limit(d);
    }
    if let Some(d) = positive_ms(&mut f, "monitorIntervalMs")? {
        b = b.monitor_interval(d);
    }
    if let Some(d) = positive_ms(&mut f, "pollIntervalMs")? {
        b = b.poll_interval(d);
    }
    if let Some(yes) = f.boolean("perJobConfigDir")? {
        b = b.per_job_config_dir(yes);
    }
    if let Some(n) = f.integer("eventBuffer", 16, i64::MAX)? {
        b = b.event_buffer(n as usize);
    }
    if let Some(n) = f.integer("eventBufferBytes", 0, i64::MAX)? {
        b = b.event_buffer_bytes(n as usize);
    }
    if let Some(yes) = f.boolean("childSubreaper")? {
        b = b.child_subreaper(yes);
    }
    for dir in templates_dirs(&mut f)? {
        b = b.templates_dir(dir);
    }
    b = durable_store(&mut f, b)?;
    f.finish()?;
    Ok(b)
}

/// The job store and what the core does with it: `storeUrl`, `recovery`,
/// leases, retries, retention, `nodeId`.
fn durable_store(f: &mut Fields<'_>, mut b: JobManagerBuilder) -> Result<JobManagerBuilder> {
    if let Some(url) = f.string("storeUrl")? {
        b = b.store_url(url);
    }
    match f.string("recovery")?.as_deref() {
        None => {}
        Some("interrupt") => b = b.recovery(RecoveryPolicy::Interrupt),
        Some("requeue") => b = b.recovery(RecoveryPolicy::Requeue),
        Some(other) => {
            return Err(JsError::invalid(
                "recovery",
                format!("{other:?} is not one of interrupt, requeue"),
            ))
        }
    }
    if let Some(d) = positive_ms(f, "leaseTtlMs")? {
        b = b.lease_ttl(d);
    }
    if let Some(d) = positive_ms(f, "heartbeatIntervalMs")? {
        b = b.heartbeat_interval(d);
    }
    if let Some(d) = positive_ms(f, "rescueIntervalMs")? {
        b = b.rescue_interval(d);
    }
    if let Some(d) = positive_ms(f, "eventFlushIntervalMs")? {
        b = b.event_flush_interval(d);
    }
    if let Some(mut r) = f.nested("retryBackoff")? {
        let base = positive_ms(&mut r, "baseMs")?;
        let max = positive_ms(&mut r, "maxMs")?;
        r.finish()?;
        let (Some(base), Some(max)) = (base, max) else {
            return Err(JsError::invalid("retryBackoff", "needs baseMs and maxMs"));
        };
        b = b.retry_backoff(base, max);
    }
    if let Some(mut r) = f.nested("retention")? {
        let defaults = RetentionPolicy::default();
        let days = |r: &mut Fields<'_>, key| {
            r.integer(key, 0, u32::MAX as i64)
                .map(|d| d.map(|d| d as u32))
        };
        let policy = RetentionPolicy {
            jobs_days: days(&mut r, "jobsDays")?.unwrap_or(defaults.jobs_days),
            logs_days: days(&mut r, "logsDays")?.unwrap_or(defaults.logs_days),
            outputs_days: days(&mut r, "outputsDays")?.or(defaults.outputs_days),
        };
        r.finish()?;
        b = b.retention(policy);
    }
    if let Some(id) = f.string("nodeId")? {
        b = b.node_id(id);
    }
    Ok(b)
}

/// `maxConcurrent`: a whole number ≥ 1 or `'auto'`.
fn concurrency(f: &mut Fields<'_>) -> Result<Option<Concurrency>> {
    match f.raw("maxConcurrent") {
        None => Ok(None),
        Some(Value::String(s)) if s == "auto" => Ok(Some(Concurrency::Auto)),
        Some(Value::Number(_)) => Ok(f
            .integer("maxConcurrent", 1, 1 << 20)?
            .map(|n| Concurrency::Fixed(n as usize))),
        Some(_) => Err(JsError::invalid(
            "maxConcurrent",
            "must be a whole number ≥ 1 or 'auto'",
        )),
    }
}

/// `memoryBudget`: `'auto'`, `'off'`, or a size (bytes, `'8G'`) of at least
/// one job's smallest cap. Checked here so that a bad value throws from the
/// constructor rather than failing the start.
fn memory_budget(f: &mut Fields<'_>) -> Result<Option<MemoryBudget>> {
    const KEY: &str = "memoryBudget";
    let bytes = match f.raw(KEY) {
        None => return Ok(None),
        Some(Value::String(s)) if matches!(s.trim(), "auto" | "off" | "none") => {
            return s.parse::<MemoryBudget>().map(Some).map_err(JsError::from);
        }
        Some(Value::String(_) | Value::Number(_)) => f.size(KEY)?,
        Some(_) => None,
    };
    match bytes {
        Some(b) => {
            let budget = MemoryBudget::Bytes(b);
            budget.validate().map_err(JsError::from)?;
            Ok(Some(budget))
        }
        None => Err(JsError::invalid(
            KEY,
            "must be 'auto', 'off', a number of bytes or a size such as '8G'",
        )),
    }
}

/// `cpuBudget`: `'auto'` (the host's CPUs), `'off'` or a number of cores > 0
/// (a number, or a string of one as read from the environment).
fn cpu_budget(f: &mut Fields<'_>) -> Result<Option<CpuBudget>> {
    const KEY: &str = "cpuBudget";
    let budget = match f.raw(KEY) {
        None => return Ok(None),
        Some(Value::String(s)) => s.parse::<CpuBudget>().map_err(JsError::from)?,
        Some(Value::Number(_)) => match f.number(KEY)? {
            Some(c) => CpuBudget::Cores(c),
            None => return Ok(None),
        },
        Some(_) => {
            return Err(JsError::invalid(
                KEY,
                "must be 'auto', 'off' or a number of cores",
            ))
        }
    };
    budget.validate().map_err(JsError::from)?;
    Ok(Some(budget))
}

/// `defaultLimits: { cpus, memory, pids }`, checked against this host.
fn default_limits(f: &mut Fields<'_>) -> Result<Option<ResourceLimits>> {
    let Some(mut l) = f.nested("defaultLimits")? else {
        return Ok(None);
    };
    let limits = ResourceLimits {
        cpus: l.number("cpus")?,
        memory: l.size("memory")?,
        pids: l.integer("pids", 0, i64::MAX)?.map(|n| n as u64),
    };
    l.finish()?;
    limits
        .validate(claude_jobs::cpu_count())
        .map_err(|e| match e {
            claude_jobs::Error::InvalidSpec { field, reason, .. } => {
                JsError::invalid(format!("defaultLimits.{field}"), reason)
            }
            other => JsError::from(other),
        })?;
    Ok(Some(limits))
}

/// A duration that must be more than zero (`key` as the JS name).
fn positive_ms(f: &mut Fields<'_>, key: &'static str) -> Result<Option<std::time::Duration>> {
    match f.millis(key)? {
        Some(d) if d.is_zero() => Err(JsError::invalid(f.name(key), "must be greater than zero")),
        other => Ok(other),
    }
}

/// `templatesDir`: one folder or a list of folders.
fn templates_dirs(f: &mut Fields<'_>) -> Result<Vec<String>> {
    match f.raw("templatesDir") {
        None => Ok(Vec::new()),
        Some(Value::String(s)) => Ok(vec![s.clone()]),
        Some(_) => f.strings("templatesDir").map(Option::unwrap_or_default),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn field(v: Value) -> String {
        manager_builder(Some(&v)).unwrap_err().field.unwrap()
    }

    #[test]
    fn bad_options_are_named() {
        assert_eq!(field(json!({"maxConcurrent": 0})), "maxConcurrent");
        assert_eq!(field(json!({"maxConcurrent": "many"})), "maxConcurrent");
        assert_eq!(field(json!({"isolation": "maybe"})), "isolation");
        assert_eq!(
            field(json!({"defaultLimits": {"memory": "1K"}})),
            "defaultLimits.memory"
        );
        assert_eq!(field(json!({"lineCap": 10})), "lineCap");
        assert_eq!(field(json!({"claudeBinary": "x"})), "claudeBinary");
        assert_eq!(field(json!({"recovery": "retry"})), "recovery");
        assert_eq!(
            field(json!({"retryBackoff": {"baseMs": 0, "maxMs": 1}})),
            "retryBackoff.baseMs"
        );
        assert_eq!(
            field(json!({"retention": {"jobsDays": -1}})),
            "retention.jobsDays"
        );
        for bad in [
            json!("lots"),
            json!(-1),
            json!(1024),
            json!("1K"),
            json!(true),
            json!(""),
        ] {
            assert_eq!(field(json!({ "memoryBudget": bad })), "memoryBudget");
        }
        for bad in [
            json!("many"),
            json!(0),
            json!(-1.5),
            json!("0"),
            json!("NaN"),
            json!([]),
        ] {
            assert_eq!(field(json!({ "cpuBudget": bad })), "cpuBudget");
        }
    }

    #[test]
    fn budgets_accept_sizes_numbers_auto_and_off() {
        for ok in [
            json!("auto"),
            json!("off"),
            json!("8G"),
            json!(512 << 20),
            json!("300M"),
        ] {
            manager_builder(Some(&json!({ "memoryBudget": ok }))).unwrap();
        }
        for ok in [
            json!("auto"),
            json!("off"),
            json!(1.5),
            json!(2),
            json!("0.5"),
        ] {
            manager_builder(Some(&json!({ "cpuBudget": ok }))).unwrap();
        }
    }

    #[test]
    fn accepts_the_documented_options() {
        manager_builder(Some(&json!({
            "claudeBin": "/bin/true", "dataDir": "/tmp/x", "maxConcurrent": "auto",
            "isolation": "off", "killGraceMs": 100, "resultGraceMs": 100, "lineCap": 4096,
            "defaultLimits": {"cpus": 0.5, "memory": "512M", "pids": 64},
            "defaultTimeoutMs": 1000, "env": {"A": "b"}, "memoryPressureLimitMs": 5000,
            "storeUrl": "memory", "recovery": "requeue", "leaseTtlMs": 30000, "heartbeatIntervalMs": 5000,
            "retryBackoff": {"baseMs": 100, "maxMs": 1000}, "retention": {"jobsDays": 1}, "nodeId": "n1"
        })))
        .unwrap();
        manager_builder(None).unwrap();
    }
}
