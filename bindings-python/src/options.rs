//! The `JobManager(...)` keyword arguments → the core's [`JobManagerBuilder`].

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString};

use claude_jobs::{
    Concurrency, CpuBudget, IsolationMode, JobManagerBuilder, MemoryBudget, RecoveryPolicy, RetentionPolicy,
};

use crate::convert::{bool_arg, duration_arg, float_arg, int_arg, path_arg, size_arg, str_arg, str_list_arg, str_map_arg};
use crate::errors::{invalid, IntoPyResult};
use crate::info::ResourceLimits;

/// The keyword arguments of `JobManager(...)`, as Python gave them.
pub struct ManagerArgs<'a, 'py> {
    pub claude_bin: Option<&'a Bound<'py, PyAny>>,
    pub data_dir: Option<&'a Bound<'py, PyAny>>,
    pub max_concurrent: Option<&'a Bound<'py, PyAny>>,
    pub isolation: Option<&'a Bound<'py, PyAny>>,
    pub kill_grace: Option<&'a Bound<'py, PyAny>>,
    pub result_grace: Option<&'a Bound<'py, PyAny>>,
    pub line_cap: Option<&'a Bound<'py, PyAny>>,
    pub cpus: Option<&'a Bound<'py, PyAny>>,
    pub memory: Option<&'a Bound<'py, PyAny>>,
    pub pids: Option<&'a Bound<'py, PyAny>>,
    pub default_limits: Option<&'a Bound<'py, PyAny>>,
    pub default_timeout: Option<&'a Bound<'py, PyAny>>,
    pub default_idle_timeout: Option<&'a Bound<'py, PyAny>>,
    pub env: Option<&'a Bound<'py, PyAny>>,
    pub pass_env: Option<&'a Bound<'py, PyAny>>,
    pub memory_pressure_limit: Option<&'a Bound<'py, PyAny>>,
    pub monitor_interval: Option<&'a Bound<'py, PyAny>>,
    pub per_job_config_dir: Option<&'a Bound<'py, PyAny>>,
    pub event_buffer: Option<&'a Bound<'py, PyAny>>,
    pub event_buffer_bytes: Option<&'a Bound<'py, PyAny>>,
    pub poll_interval: Option<&'a Bound<'py, PyAny>>,
    pub child_subreaper: Option<&'a Bound<'py, PyAny>>,
    pub templates_dir: Option<&'a Bound<'py, PyAny>>,
    pub store_url: Option<&'a Bound<'py, PyAny>>,
    pub recovery: Option<&'a Bound<'py, PyAny>>,
    pub lease_ttl: Option<&'a Bound<'py, PyAny>>,
    pub heartbeat_interval: Option<&'a Bound<'py, PyAny>>,
    pub rescue_interval: Option<&'a Bound<'py, PyAny>>,
    pub event_flush_interval: Option<&'a Bound<'py, PyAny>>,
    pub retry_backoff: Option<&'a Bound<'py, PyAny>>,
    pub retention: Option<&'a Bound<'py, PyAny>>,
    pub node_id: Option<&'a Bound<'py, PyAny>>,
    pub memory_budget: Option<&'a Bound<'py, PyAny>>,
    pub cpu_budget: Option<&'a Bound<'py, PyAny>>,
}

impl ManagerArgs<'_, '_> {
    /// The builder with every given option applied; the first bad one
    /// raises `InvalidSpecError` naming it. (The core checks the rest in `build`.)
    pub fn builder(&self) -> PyResult<JobManagerBuilder> {
        let mut b = claude_jobs::JobManager::builder();
        if let Some(p) = path_arg("claude_bin", self.claude_bin)? {
            b = b.claude_bin(p);
        }
        if let Some(p) = path_arg("data_dir", self.data_dir)? {
            b = b.data_dir(p);
        }
        if let Some(c) = concurrency_arg(self.max_concurrent)? {
            b = b.max_concurrent(c);
        }
        if let Some(m) = isolation_arg(self.isolation)? {
            b = b.isolation(m);
        }
        if let Some(n) = int_arg::<usize>("line_cap", self.line_cap, "a number of bytes")? {
            b = b.line_cap(n);
        }
        let mut limits = limits_arg(self.default_limits)?;
        if let Some(c) = float_arg("cpus", self.cpus, "a number of cores")? {
            limits.cpus = Some(c);
        }
        if let Some(m) = size_arg("memory", self.memory)? {
            limits.memory = Some(m);
        }
        if let Some(p) = int_arg::<u64>("pids", self.pids, "a number of processes")? {
            limits.pids = Some(p);
        }
        b = b.default_limits(limits);
        for (k, v) in str_map_arg("env", self.env, false)?.unwrap_or_default() {
            b = b.env(k, v);
        }
        for name in str_list_arg("pass_env", self.pass_env)?.unwrap_or_default() {
            b = b.pass_env(name);
        }
        if let Some(yes) = bool_arg("per_job_config_dir", self.per_job_config_dir)? {
            b = b.per_job_config_dir(yes);
        }
        if let Some(n) = int_arg::<usize>("event_buffer", self.event_buffer, "a number of events")? {
            b = b.event_buffer(n);
        }
        if let Some(n) = int_arg::<usize>("event_buffer_bytes", self.event_buffer_bytes, "a number of bytes")? {
            b = b.event_buffer_bytes(n);
        }
        if let Some(yes) = bool_arg("child_subreaper", self.child_subreaper)? {
            b = b.child_subreaper(yes);
        }
        for dir in paths_arg("templates_dir", self.templates_dir)? {
            b = b.templates_dir(dir);
        }
        if let Some(url) = str_arg("store_url", self.store_url)? {
            b = b.store_url(url);
        }
        if let Some(p) = recovery_arg(self.recovery)? {
            b = b.recovery(p);
        }
        if let Some((base, max)) = backoff_arg(self.retry_backoff)? {
            b = b.retry_backoff(base, max);
        }
        if let Some(r) = retention_arg(self.retention)? {
            b = b.retention(r);
        }
        if let Some(id) = str_arg("node_id", self.node_id)? {
            b = b.node_id(id);
        }
        if let Some(m) = memory_budget_arg(self.memory_budget)? {
            b = b.memory_budget(m);
        }
        if let Some(c) = cpu_budget_arg(self.cpu_budget)? {
            b = b.cpu_budget(c);
        }
        type Setter = fn(JobManagerBuilder, std::time::Duration) -> JobManagerBuilder;
        let durations: [(&str, Option<&Bound<'_, PyAny>>, Setter); 11] = [
            ("kill_grace", self.kill_grace, JobManagerBuilder::kill_grace),
            ("result_grace", self.result_grace, JobManagerBuilder::result_grace),
            ("default_timeout", self.default_timeout, JobManagerBuilder::default_timeout),
            ("default_idle_timeout", self.default_idle_timeout, JobManagerBuilder::default_idle_timeout),
            ("memory_pressure_limit", self.memory_pressure_limit, JobManagerBuilder::memory_pressure_limit),
            ("monitor_interval", self.monitor_interval, JobManagerBuilder::monitor_interval),
            ("poll_interval", self.poll_interval, JobManagerBuilder::poll_interval),
            ("lease_ttl", self.lease_ttl, JobManagerBuilder::lease_ttl),
            ("heartbeat_interval", self.heartbeat_interval, JobManagerBuilder::heartbeat_interval),
            ("rescue_interval", self.rescue_interval, JobManagerBuilder::rescue_interval),
            ("event_flush_interval", self.event_flush_interval, JobManagerBuilder::event_flush_interval),
        ];
        for (name, value, set) in durations {
            if let Some(d) = duration_arg(name, value)? {
                b = set(b, d);
            }
        }
        Ok(b)
    }
}

/// One path or a list of paths.
fn paths_arg(field: &str, obj: Option<&Bound<'_, PyAny>>) -> PyResult<Vec<std::path::PathBuf>> {
    let Some(o) = obj.filter(|o| !o.is_none()) else { return Ok(Vec::new()) };
    if let Ok(p) = o.extract::<std::path::PathBuf>() {
        return Ok(vec![p]);
    }
    let iter = o
        .try_iter()
        .map_err(|_| invalid(field, "expected a path or a list of paths"))?;
    let mut out = Vec::new();
    for item in iter {
        let item = item?;
        out.push(path_arg(field, Some(&item))?.unwrap_or_default());
    }
    Ok(out)
}

/// `max_concurrent`: an int ≥ 1 or `"auto"`.
fn concurrency_arg(obj: Option<&Bound<'_, PyAny>>) -> PyResult<Option<Concurrency>> {
    let Some(o) = obj.filter(|o| !o.is_none()) else { return Ok(None) };
    if let Ok(s) = o.cast::<PyString>() {
        return match &*s.to_cow()? {
            "auto" => Ok(Some(Concurrency::Auto)),
            other => Err(invalid("max_concurrent", format!("expected an int or \"auto\", got {other:?}"))),
        };
    }
    let n = int_arg::<usize>("max_concurrent", Some(o), "an int or \"auto\"")?.unwrap_or(0);
    Ok(Some(Concurrency::Fixed(n)))
}

/// `memory_budget`: `"auto"`, `"off"`, a size string or a number of bytes.
fn memory_budget_arg(obj: Option<&Bound<'_, PyAny>>) -> PyResult<Option<MemoryBudget>> {
    let Some(o) = obj.filter(|o| !o.is_none()) else { return Ok(None) };
    if let Ok(s) = o.cast::<PyString>() {
        return s.to_cow()?.parse::<MemoryBudget>().py_err().map(Some);
    }
    let n = int_arg::<u64>("memory_budget", Some(o), "\"auto\", \"off\", a size string or a number of bytes")?;
    Ok(n.map(MemoryBudget::Bytes))
}

/// `cpu_budget`: `"auto"`, `"off"` or a number of cores.
fn cpu_budget_arg(obj: Option<&Bound<'_, PyAny>>) -> PyResult<Option<CpuBudget>> {
    let Some(o) = obj.filter(|o| !o.is_none()) else { return Ok(None) };
    if let Ok(s) = o.cast::<PyString>() {
        return s.to_cow()?.parse::<CpuBudget>().py_err().map(Some);
    }
    let c = float_arg("cpu_budget", Some(o), "\"auto\", \"off\" or a number of cores")?;
    Ok(c.map(CpuBudget::Cores))
}

/// `isolation`: `"required"`, `"auto"` or `"off"`.
fn isolation_arg(obj: Option<&Bound<'_, PyAny>>) -> PyResult<Option<IsolationMode>> {
    let Some(o) = obj.filter(|o| !o.is_none()) else { return Ok(None) };
    let s = o
        .cast::<PyString>()
        .map_err(|_| invalid("isolation", "expected \"required\", \"auto\" or \"off\""))?;
    s.to_cow()?.parse::<IsolationMode>().py_err().map(Some)
}

/// `default_limits`: a `ResourceLimits` or a dict with cpus/memory/pids.
fn limits_arg(obj: Option<&Bound<'_, PyAny>>) -> PyResult<claude_jobs::ResourceLimits> {
    let Some(o) = obj.filter(|o| !o.is_none()) else { return Ok(Default::default()) };
    if let Ok(l) = o.cast::<ResourceLimits>() {
        return Ok(l.get().to_core());
    }
    let d = o
        .cast::<PyDict>()
        .map_err(|_| invalid("default_limits", "expected a ResourceLimits or a dict with cpus, memory, pids"))?;
    for k in d.keys() {
        let k: String = k.extract().unwrap_or_default();
        if !matches!(k.as_str(), "cpus" | "memory" | "pids") {
            return Err(invalid("default_limits", format!("unknown key {k:?} (expected cpus, memory, pids)")));
        }
    }
    Ok(claude_jobs::ResourceLimits {
        cpus: float_arg("cpus", d.get_item("cpus")?.as_ref(), "a number of cores")?,
        memory: size_arg("memory", d.get_item("memory")?.as_ref())?,
        pids: int_arg::<u64>("pids", d.get_item("pids")?.as_ref(), "a number of processes")?,
    })
}

/// `recovery`: `"interrupt"` or `"requeue"`.
fn recovery_arg(obj: Option<&Bound<'_, PyAny>>) -> PyResult<Option<RecoveryPolicy>> {
    match str_arg("recovery", obj)?.as_deref() {
        None => Ok(None),
        Some("interrupt") => Ok(Some(RecoveryPolicy::Interrupt)),
        Some("requeue") => Ok(Some(RecoveryPolicy::Requeue)),
        Some(other) => Err(invalid("recovery", format!("{other:?} is not one of interrupt, requeue"))),
    }
}

/// `retry_backoff`: `(base, max)` durations.
fn backoff_arg(obj: Option<&Bound<'_, PyAny>>) -> PyResult<Option<(std::time::Duration, std::time::Duration)>> {
    let Some(o) = obj.filter(|o| !o.is_none()) else { return Ok(None) };
    let (base, max): (Bound<'_, PyAny>, Bound<'_, PyAny>) = o
        .extract()
        .map_err(|_| invalid("retry_backoff", "expected a (base, max) pair of durations"))?;
    let base = duration_arg("retry_backoff", Some(&base))?.unwrap_or_default();
    let max = duration_arg("retry_backoff", Some(&max))?.unwrap_or_default();
    Ok(Some((base, max)))
}

/// `retention`: a dict with `jobs_days`, `logs_days`, `outputs_days`
/// (0 or None: keep); unset keys keep the core's defaults.
fn retention_arg(obj: Option<&Bound<'_, PyAny>>) -> PyResult<Option<RetentionPolicy>> {
    let Some(o) = obj.filter(|o| !o.is_none()) else { return Ok(None) };
    let d = o
        .cast::<PyDict>()
        .map_err(|_| invalid("retention", "expected a dict with jobs_days, logs_days, outputs_days"))?;
    let mut r = RetentionPolicy::default();
    for (k, v) in d.iter() {
        let key: String = k.extract().map_err(|_| invalid("retention", "keys must be strings"))?;
        let days = int_arg::<u32>("retention", Some(&v), "a number of days")?;
        match key.as_str() {
            "jobs_days" => r.jobs_days = days.unwrap_or(0),
            "logs_days" => r.logs_days = days.unwrap_or(0),
            "outputs_days" => r.outputs_days = days.filter(|d| *d > 0),
            other => return Err(invalid("retention", format!("unknown key {other:?}"))),
        }
    }
    Ok(Some(r))
}
