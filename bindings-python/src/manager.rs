//! [`JobManager`]: the core's manager for Python. Built synchronously (the
//! constructor needs no event loop); every other operation is a coroutine.

use std::time::Duration;

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString};

use claude_jobs::{Concurrency, IsolationMode, JobManagerBuilder};

use crate::convert::{bool_arg, duration_arg, float_arg, int_arg, path_arg, size_arg, str_list_arg, str_map_arg};
use crate::errors::{invalid, CoreResult, IntoPyResult};
use crate::info::{JobInfo, ResourceLimits};
use crate::job::Job;
use crate::process_local::ProcessLocal;
use crate::runtime::{block_on, future_into_py};
use crate::spec::SpecArgs;

/// Default `drain_timeout` of `shutdown()` and of `async with`, in seconds.
const DEFAULT_DRAIN_SECS: f64 = 30.0;

/// Runs Claude CLI jobs: at most `max_concurrent` at once, each in its own
/// cgroup, the rest queued by priority then submission order.
#[pyclass(frozen, module = "claude_jobs", name = "JobManager")]
pub struct JobManager {
    inner: ProcessLocal<claude_jobs::JobManager>,
}

impl JobManager {
    fn core(&self) -> PyResult<&claude_jobs::JobManager> {
        self.inner.get("JobManager")
    }
}

/// One path or a list of paths.
fn paths_arg(field: &str, obj: Option<&Bound<'_, PyAny>>) -> PyResult<Vec<std::path::PathBuf>> {
    let Some(o) = obj.filter(|o| !o.is_none()) else { return Ok(Vec::new()) };
    if let Some(p) = o.extract::<std::path::PathBuf>().ok() {
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

#[pymethods]
impl JobManager {
    /// Builds a manager: prepares the data dir and the cgroups and starts
    /// the admission loop. Blocks briefly (GIL released); needs no event loop.
    ///
    /// Raises `InvalidSpecError` naming a bad option, `IsolationError` when
    /// `isolation="required"` and cgroups cannot be used.
    #[new]
    #[pyo3(signature = (
        *,
        claude_bin=None,
        data_dir=None,
        max_concurrent=None,
        isolation=None,
        kill_grace=None,
        result_grace=None,
        line_cap=None,
        cpus=None,
        memory=None,
        pids=None,
        default_limits=None,
        default_timeout=None,
        default_idle_timeout=None,
        env=None,
        pass_env=None,
        memory_pressure_limit=None,
        monitor_interval=None,
        per_job_config_dir=None,
        event_buffer=None,
        poll_interval=None,
        child_subreaper=None,
        templates_dir=None,
    ))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        claude_bin: Option<&Bound<'_, PyAny>>,
        data_dir: Option<&Bound<'_, PyAny>>,
        max_concurrent: Option<&Bound<'_, PyAny>>,
        isolation: Option<&Bound<'_, PyAny>>,
        kill_grace: Option<&Bound<'_, PyAny>>,
        result_grace: Option<&Bound<'_, PyAny>>,
        line_cap: Option<&Bound<'_, PyAny>>,
        cpus: Option<&Bound<'_, PyAny>>,
        memory: Option<&Bound<'_, PyAny>>,
        pids: Option<&Bound<'_, PyAny>>,
        default_limits: Option<&Bound<'_, PyAny>>,
        default_timeout: Option<&Bound<'_, PyAny>>,
        default_idle_timeout: Option<&Bound<'_, PyAny>>,
        env: Option<&Bound<'_, PyAny>>,
        pass_env: Option<&Bound<'_, PyAny>>,
        memory_pressure_limit: Option<&Bound<'_, PyAny>>,
        monitor_interval: Option<&Bound<'_, PyAny>>,
        per_job_config_dir: Option<&Bound<'_, PyAny>>,
        event_buffer: Option<&Bound<'_, PyAny>>,
        poll_interval: Option<&Bound<'_, PyAny>>,
        child_subreaper: Option<&Bound<'_, PyAny>>,
        templates_dir: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let mut b: JobManagerBuilder = claude_jobs::JobManager::builder();
        if let Some(p) = path_arg("claude_bin", claude_bin)? {
            b = b.claude_bin(p);
        }
        if let Some(p) = path_arg("data_dir", data_dir)? {
            b = b.data_dir(p);
        }
        if let Some(c) = concurrency_arg(max_concurrent)? {
            b = b.max_concurrent(c);
        }
        if let Some(m) = isolation_arg(isolation)? {
            b = b.isolation(m);
        }
        if let Some(d) = duration_arg("kill_grace", kill_grace)? {
            b = b.kill_grace(d);
        }
        if let Some(d) = duration_arg("result_grace", result_grace)? {
            b = b.result_grace(d);
        }
        if let Some(n) = int_arg::<usize>("line_cap", line_cap, "a number of bytes")? {
            b = b.line_cap(n);
        }
        let mut limits = limits_arg(default_limits)?;
        if let Some(c) = float_arg("cpus", cpus, "a number of cores")? {
            limits.cpus = Some(c);
        }
        if let Some(m) = size_arg("memory", memory)? {
            limits.memory = Some(m);
        }
        if let Some(p) = int_arg::<u64>("pids", pids, "a number of processes")? {
            limits.pids = Some(p);
        }
        b = b.default_limits(limits);
        if let Some(d) = duration_arg("default_timeout", default_timeout)? {
            b = b.default_timeout(d);
        }
        if let Some(d) = duration_arg("default_idle_timeout", default_idle_timeout)? {
            b = b.default_idle_timeout(d);
        }
        for (k, v) in str_map_arg("env", env, false)?.unwrap_or_default() {
            b = b.env(k, v);
        }
        for name in str_list_arg("pass_env", pass_env)?.unwrap_or_default() {
            b = b.pass_env(name);
        }
        if let Some(d) = duration_arg("memory_pressure_limit", memory_pressure_limit)? {
            b = b.memory_pressure_limit(d);
        }
        if let Some(d) = duration_arg("monitor_interval", monitor_interval)? {
            b = b.monitor_interval(d);
        }
        if let Some(yes) = bool_arg("per_job_config_dir", per_job_config_dir)? {
            b = b.per_job_config_dir(yes);
        }
        if let Some(n) = int_arg::<usize>("event_buffer", event_buffer, "a number of events")? {
            b = b.event_buffer(n);
        }
        if let Some(d) = duration_arg("poll_interval", poll_interval)? {
            b = b.poll_interval(d);
        }
        if let Some(yes) = bool_arg("child_subreaper", child_subreaper)? {
            b = b.child_subreaper(yes);
        }
        for dir in paths_arg("templates_dir", templates_dir)? {
            b = b.templates_dir(dir);
        }
        let manager = block_on(py, move || b.build()).py_err()?;
        Ok(JobManager {
            inner: ProcessLocal::new(manager),
        })
    }

    /// `job = await manager.submit(prompt=..., cpus=0.5, memory="512M", ...)`:
    /// validates and queues a job; returns its `Job` at once.
    ///
    /// Raises `InvalidSpecError` naming the bad field (at the call for bad
    /// types, when awaited for host checks), `TemplateError`, `SpawnError`
    /// when the CLI cannot be found, `ShuttingDownError` after `shutdown()`.
    #[pyo3(signature = (
        prompt=None,
        *,
        template=None,
        variables=None,
        working_dir=None,
        env=None,
        model=None,
        allowed_tools=None,
        max_turns=None,
        max_budget_usd=None,
        extra_args=None,
        cpus=None,
        memory=None,
        pids=None,
        timeout=None,
        idle_timeout=None,
        priority=None,
        labels=None,
        run_as=None,
        depends_on=None,
        inputs=None,
        output=None,
    ))]
    #[allow(clippy::too_many_arguments)]
    fn submit<'py>(
        &self,
        py: Python<'py>,
        prompt: Option<&Bound<'py, PyAny>>,
        template: Option<&Bound<'py, PyAny>>,
        variables: Option<&Bound<'py, PyAny>>,
        working_dir: Option<&Bound<'py, PyAny>>,
        env: Option<&Bound<'py, PyAny>>,
        model: Option<&Bound<'py, PyAny>>,
        allowed_tools: Option<&Bound<'py, PyAny>>,
        max_turns: Option<&Bound<'py, PyAny>>,
        max_budget_usd: Option<&Bound<'py, PyAny>>,
        extra_args: Option<&Bound<'py, PyAny>>,
        cpus: Option<&Bound<'py, PyAny>>,
        memory: Option<&Bound<'py, PyAny>>,
        pids: Option<&Bound<'py, PyAny>>,
        timeout: Option<&Bound<'py, PyAny>>,
        idle_timeout: Option<&Bound<'py, PyAny>>,
        priority: Option<&Bound<'py, PyAny>>,
        labels: Option<&Bound<'py, PyAny>>,
        run_as: Option<&Bound<'py, PyAny>>,
        depends_on: Option<&Bound<'py, PyAny>>,
        inputs: Option<&Bound<'py, PyAny>>,
        output: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let manager = self.core()?.clone();
        let spec = SpecArgs {
            prompt,
            template,
            variables,
            working_dir,
            env,
            model,
            allowed_tools,
            max_turns,
            max_budget_usd,
            extra_args,
            cpus,
            memory,
            pids,
            timeout,
            idle_timeout,
            priority,
            labels,
            run_as,
            depends_on,
            inputs,
            output,
        }
        .to_spec()?;
        future_into_py(py, async move { Ok(CoreResult(manager.submit(spec).await.map(Job::new))) })
    }

    /// `await manager.get(id)`: the job with this id (queued, running or
    /// finished). A coroutine because the store may be a database.
    /// Raises `JobNotFoundError` (also a `KeyError`) with `job_id` set.
    fn get<'py>(&self, py: Python<'py>, id: String) -> PyResult<Bound<'py, PyAny>> {
        let manager = self.core()?.clone();
        future_into_py(py, async move { Ok(CoreResult(manager.get(&id).await.map(Job::new))) })
    }

    /// `await manager.list()`: every job known to the store, oldest first,
    /// as `JobInfo` snapshots. A coroutine for the same reason as `get`.
    fn list<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let manager = self.core()?.clone();
        future_into_py(py, async move {
            let infos = manager.list().await;
            Ok(CoreResult(infos.map(|v| v.into_iter().map(JobInfo::from).collect::<Vec<_>>())))
        })
    }

    /// `await manager.cancel(id)`: `Job.cancel` by id. Raises `JobNotFoundError`.
    fn cancel<'py>(&self, py: Python<'py>, id: String) -> PyResult<Bound<'py, PyAny>> {
        let manager = self.core()?.clone();
        future_into_py(py, async move { Ok(CoreResult(manager.cancel(&id).await)) })
    }

    /// `await manager.shutdown(drain_timeout=30.0)`: stops taking work, lets
    /// running jobs finish for up to `drain_timeout` seconds, then stops the
    /// rest (they end `interrupted`); queued jobs end `interrupted`.
    /// Idempotent.
    #[pyo3(signature = (drain_timeout=None))]
    fn shutdown<'py>(&self, py: Python<'py>, drain_timeout: Option<&Bound<'py, PyAny>>) -> PyResult<Bound<'py, PyAny>> {
        let manager = self.core()?.clone();
        let drain = duration_arg("drain_timeout", drain_timeout)?
            .unwrap_or(Duration::from_secs_f64(DEFAULT_DRAIN_SECS));
        future_into_py(py, async move {
            manager.shutdown(drain).await;
            Ok(())
        })
    }

    /// `async with JobManager(...) as manager:` gives the manager itself.
    fn __aenter__<'py>(slf: Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        slf.get().core()?;
        let py = slf.py();
        let me: Py<Self> = slf.unbind();
        future_into_py(py, async move { Ok(me) })
    }

    /// Leaving `async with` shuts down (30 s drain); exceptions propagate.
    fn __aexit__<'py>(
        &self,
        py: Python<'py>,
        _exc_type: Bound<'py, PyAny>,
        _exc: Bound<'py, PyAny>,
        _tb: Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let manager = self.core()?.clone();
        future_into_py(py, async move {
            manager.shutdown(Duration::from_secs_f64(DEFAULT_DRAIN_SECS)).await;
            Ok(())
        })
    }

    /// The instruction templates this manager knows (built-in `brand-data`,
    /// `brief`, `draft`, plus those of `templates_dir`), as dicts: name,
    /// description, variables ({name: {required, description, default}}),
    /// allowed_tools, model, limits, timeout / idle_timeout (seconds), output, source.
    fn templates<'py>(&self, py: Python<'py>) -> PyResult<Vec<Bound<'py, PyAny>>> {
        self.core()?
            .templates()
            .iter()
            .map(|t| crate::convert::json_to_py(py, &template_json(t)))
            .collect()
    }

    /// Number of jobs running now.
    #[getter]
    fn running(&self) -> PyResult<usize> {
        Ok(self.core()?.running())
    }

    /// The concurrency limit in force (`"auto"` resolved to a number).
    #[getter]
    fn max_concurrent(&self) -> PyResult<usize> {
        Ok(self.core()?.max_concurrent())
    }

    /// How jobs are isolated here: `"cgroup-v1"`, `"cgroup-v2"` or `"none"`.
    #[getter]
    fn isolation(&self) -> PyResult<&'static str> {
        Ok(self.core()?.isolation().as_str())
    }

    /// Why cgroups are not used, when they are not.
    #[getter]
    fn isolation_error(&self) -> PyResult<Option<String>> {
        Ok(self.core()?.isolation_error().map(str::to_owned))
    }

    /// The data directory (absolute).
    #[getter]
    fn data_dir(&self) -> PyResult<std::path::PathBuf> {
        Ok(self.core()?.data_dir().to_path_buf())
    }

    fn __repr__(&self) -> PyResult<String> {
        let m = self.core()?;
        Ok(format!(
            "JobManager(data_dir={:?}, max_concurrent={}, running={}, isolation={:?})",
            m.data_dir().display().to_string(),
            m.max_concurrent(),
            m.running(),
            m.isolation().as_str()
        ))
    }
}

/// A template as JSON (the core's `Template` is not `Serialize`).
fn template_json(t: &claude_jobs::Template) -> serde_json::Value {
    serde_json::json!({
        "name": t.name,
        "description": t.description,
        "variables": t.variables,
        "allowed_tools": t.allowed_tools,
        "model": t.model,
        "limits": t.limits,
        "timeout": t.timeout.map(|d| d.as_secs_f64()),
        "idle_timeout": t.idle_timeout.map(|d| d.as_secs_f64()),
        "output": t.output,
        "source": t.source,
    })
}
