//! [`JobManager`]: the core's manager for Python. Built synchronously (the
//! constructor needs no event loop); every other operation is a coroutine.

use std::time::Duration;

use pyo3::prelude::*;

use crate::convert::duration_arg;
use crate::errors::{CoreResult, IntoPyResult};
use crate::info::JobInfo;
use crate::job::Job;
use crate::options::ManagerArgs;
use crate::process_local::ProcessLocal;
use crate::runtime::{block_on, eager_future_into_py, future_into_py};
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
        event_buffer_bytes=None,
        poll_interval=None,
        child_subreaper=None,
        templates_dir=None,
        store_url=None,
        recovery=None,
        lease_ttl=None,
        heartbeat_interval=None,
        rescue_interval=None,
        event_flush_interval=None,
        retry_backoff=None,
        retention=None,
        node_id=None,
        memory_budget=None,
        cpu_budget=None,
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
        event_buffer_bytes: Option<&Bound<'_, PyAny>>,
        poll_interval: Option<&Bound<'_, PyAny>>,
        child_subreaper: Option<&Bound<'_, PyAny>>,
        templates_dir: Option<&Bound<'_, PyAny>>,
        store_url: Option<&Bound<'_, PyAny>>,
        recovery: Option<&Bound<'_, PyAny>>,
        lease_ttl: Option<&Bound<'_, PyAny>>,
        heartbeat_interval: Option<&Bound<'_, PyAny>>,
        rescue_interval: Option<&Bound<'_, PyAny>>,
        event_flush_interval: Option<&Bound<'_, PyAny>>,
        retry_backoff: Option<&Bound<'_, PyAny>>,
        retention: Option<&Bound<'_, PyAny>>,
        node_id: Option<&Bound<'_, PyAny>>,
        memory_budget: Option<&Bound<'_, PyAny>>,
        cpu_budget: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let b = ManagerArgs {
            claude_bin,
            data_dir,
            max_concurrent,
            isolation,
            kill_grace,
            result_grace,
            line_cap,
            cpus,
            memory,
            pids,
            default_limits,
            default_timeout,
            default_idle_timeout,
            env,
            pass_env,
            memory_pressure_limit,
            monitor_interval,
            per_job_config_dir,
            event_buffer,
            event_buffer_bytes,
            poll_interval,
            child_subreaper,
            templates_dir,
            store_url,
            recovery,
            lease_ttl,
            heartbeat_interval,
            rescue_interval,
            event_flush_interval,
            retry_backoff,
            retention,
            node_id,
            memory_budget,
            cpu_budget,
        }
        .builder()?;
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
        max_attempts=None,
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
        max_attempts: Option<&Bound<'py, PyAny>>,
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
            max_attempts,
        }
        .to_spec()?;
        eager_future_into_py(py, async move { Ok(CoreResult(manager.submit(spec).await.map(Job::new))) })
    }

    /// `await manager.get(id)`: the job with this id (queued, running or
    /// finished). A coroutine because the store may be a database.
    /// Raises `JobNotFoundError` (also a `KeyError`) with `job_id` set.
    fn get<'py>(&self, py: Python<'py>, id: String) -> PyResult<Bound<'py, PyAny>> {
        let manager = self.core()?.clone();
        eager_future_into_py(py, async move { Ok(CoreResult(manager.get(&id).await.map(Job::new))) })
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

    /// The job store's URL (`sqlite://…`, `postgres://…` without the
    /// password, or `memory`).
    #[getter]
    fn store_url(&self) -> PyResult<String> {
        Ok(self.core()?.store_url().to_owned())
    }

    /// This manager's name in the store.
    #[getter]
    fn node_id(&self) -> PyResult<String> {
        Ok(self.core()?.node_id().to_owned())
    }

    /// The memory budget in bytes (`None`: no budget): jobs start only when
    /// the memory caps of the running jobs plus theirs fit.
    #[getter]
    fn memory_budget(&self) -> PyResult<Option<u64>> {
        Ok(self.core()?.memory_budget())
    }

    /// The CPU budget in cores (`None`: no budget).
    #[getter]
    fn cpu_budget(&self) -> PyResult<Option<f64>> {
        Ok(self.core()?.cpu_budget())
    }

    /// `await manager.metrics()`: the Prometheus text exposition (jobs by
    /// state, queue length, durations, cost, tokens, peak memory, CPU time,
    /// OOM kills, cgroup failures), for a `/metrics` endpoint.
    fn metrics<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let manager = self.core()?.clone();
        future_into_py(py, async move { Ok(CoreResult(manager.metrics().await)) })
    }

    /// Whether the last store calls worked: a dict with `healthy`,
    /// `last_error`, `since_ms`, `outages`.
    fn store_health<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let h = self.core()?.store_health();
        let d = pyo3::types::PyDict::new(py);
        d.set_item("healthy", h.healthy)?;
        d.set_item("last_error", h.last_error)?;
        d.set_item("since_ms", h.since_ms)?;
        d.set_item("outages", h.outages)?;
        Ok(d.into_any())
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
