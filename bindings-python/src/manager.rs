//! [`JobManager`]: the core's manager for Python. Built synchronously
//! (`JobManager(**options)` needs no event loop) or with
//! `await JobManager.create(**options)`; every other operation is a coroutine.
//!
//! Options, specs and list queries are read by the core (`wire.rs`): this
//! file knows no field of them.

use std::time::Duration;

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyType};
use serde_json::json;

use claude_jobs::wire::{from_value, Spelling, Style};
use claude_jobs::{JobSpec, ListQuery, ManagerOptions, ScheduleOptions, TenantQuota};

use crate::convert::Json;
use crate::errors::{to_py_err, CoreResult, IntoPyResult};
use crate::job::Job;
use crate::page::JobPage;
use crate::process_local::ProcessLocal;
use crate::runtime::{block_on, eager_future_into_py, future_into_py};
use crate::wire;
use crate::workflow::Workflow;

/// Default `drain_timeout` of `shutdown()` and of `async with`, in seconds.
const DEFAULT_DRAIN_SECS: u64 = 30;

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

    fn wrap(m: claude_jobs::JobManager) -> Self {
        JobManager {
            inner: ProcessLocal::new(m),
        }
    }
}

/// The options of `JobManager(**options)`, checked (errors name the option).
fn read_options(options: Option<&Bound<'_, PyDict>>) -> PyResult<ManagerOptions> {
    let (opts, spelling) = wire::read::<ManagerOptions>(options)?;
    opts.validate().map_err(|e| to_py_err(spelling.error(e)))?;
    Ok(opts)
}

#[pymethods]
impl JobManager {
    /// `JobManager(**options)`: builds a manager (prepares the data dir and
    /// the cgroups, starts the admission loop). Blocks briefly with the GIL
    /// released; needs no event loop. The options are the core's
    /// `ManagerOptions` (see the stub); durations in seconds.
    ///
    /// Raises `InvalidSpecError` naming a bad or unknown option,
    /// `IsolationError` when `isolation="required"` and cgroups cannot be used.
    #[new]
    #[pyo3(signature = (**options))]
    fn new(py: Python<'_>, options: Option<&Bound<'_, PyDict>>) -> PyResult<Self> {
        let opts = read_options(options)?;
        let manager = block_on(py, move || claude_jobs::JobManager::create(opts)).py_err()?;
        Ok(JobManager::wrap(manager))
    }

    /// `await JobManager.create(**options)`: the same, without blocking the
    /// event loop. Bad options raise at the call.
    #[classmethod]
    #[pyo3(signature = (**options))]
    fn create<'py>(
        _cls: &Bound<'py, PyType>,
        py: Python<'py>,
        options: Option<&Bound<'py, PyDict>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let opts = read_options(options)?;
        future_into_py(py, async move {
            // The start's future is not `Send` (SQLite): it runs on a blocking thread.
            let built = tokio::task::spawn_blocking(move || {
                tokio::runtime::Handle::current().block_on(claude_jobs::JobManager::create(opts))
            })
            .await
            .map_err(|e| crate::errors::plain(format!("the manager's start failed: {e}")))?;
            Ok(CoreResult(built.map(JobManager::wrap)))
        })
    }

    /// `job = await manager.submit(prompt, **spec)`: validates and queues a
    /// job; returns its `Job` at once. The spec's fields are the core's
    /// `JobSpec` (see the stub); durations in seconds, `memory` in bytes or
    /// text (`"512M"`); `depends_on` and `inputs` take `Job`s or ids.
    ///
    /// Raises `InvalidSpecError` naming the bad or unknown field (at the
    /// call, or when awaited for host checks), `TemplateError`,
    /// `CapacityExceededError`, `SpawnError` when the CLI cannot be found,
    /// `ShuttingDownError` after `shutdown()`.
    #[pyo3(signature = (prompt=None, **spec))]
    fn submit<'py>(
        &self,
        py: Python<'py>,
        prompt: Option<&Bound<'py, PyAny>>,
        spec: Option<&Bound<'py, PyDict>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let manager = self.core()?.clone();
        let (spec, spelling) = spec_args(py, prompt, spec)?;
        eager_future_into_py(py, async move {
            let job = manager.submit(spec).await.map_err(|e| spelling.error(e));
            Ok(CoreResult(job.map(Job::new)))
        })
    }

    /// `await manager.get(id)`: the job with this id (queued, running or
    /// finished). Raises `JobNotFoundError` (also a `KeyError`).
    fn get<'py>(&self, py: Python<'py>, id: String) -> PyResult<Bound<'py, PyAny>> {
        let manager = self.core()?.clone();
        eager_future_into_py(py, async move { Ok(CoreResult(manager.get(&id).await.map(Job::new))) })
    }

    /// `await manager.list(state=, template=, label="k=v", limit=100,
    /// cursor=)`: one `JobPage` of jobs, newest first, filtered in the
    /// store; pass `page.next_cursor` as `cursor` for the next page.
    #[pyo3(signature = (**query))]
    fn list<'py>(&self, py: Python<'py>, query: Option<&Bound<'py, PyDict>>) -> PyResult<Bound<'py, PyAny>> {
        let manager = self.core()?.clone();
        let (query, spelling) = wire::read::<ListQuery>(query)?;
        future_into_py(py, async move {
            let page = manager.list(&query).await.map_err(|e| spelling.error(e));
            Ok(CoreResult(page.map(JobPage::from)))
        })
    }

    /// `await manager.cancel(id)`: `Job.cancel` by id. Raises `JobNotFoundError`.
    fn cancel<'py>(&self, py: Python<'py>, id: String) -> PyResult<Bound<'py, PyAny>> {
        let manager = self.core()?.clone();
        future_into_py(py, async move { Ok(CoreResult(manager.cancel(&id).await)) })
    }

    /// `await manager.status()`: a `ManagerStatus` dict: running, queued,
    /// max_concurrent, isolation, isolation_error, store_url, store_health,
    /// node_id, memory_budget, cpu_budget, data_dir, shutting_down.
    fn status<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let manager = self.core()?.clone();
        future_into_py(py, async move { Ok(CoreResult(manager.status().await.map(|s| Json::of(&s)))) })
    }

    /// `await manager.templates()`: the instruction templates this manager
    /// knows (built-in and from `templates_dir`), as `TemplateInfo` dicts.
    fn templates<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let manager = self.core()?.clone();
        future_into_py(py, async move {
            Ok(Json(manager.templates().await.iter().map(template_json).collect()))
        })
    }

    /// `await manager.workflows()`: the workflows this manager knows, as
    /// dicts (name, description, steps, source).
    fn workflows<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let manager = self.core()?.clone();
        future_into_py(py, async move { Ok(Json::of(&manager.workflows().await)) })
    }

    /// `await manager.submit_workflow("brand", {"brand": "ACME"})`: every
    /// step of the workflow as a chain of jobs; a `Workflow`. Raises
    /// `TemplateError` for an unknown workflow or variables that do not fit.
    #[pyo3(signature = (name, variables=None))]
    fn submit_workflow<'py>(
        &self,
        py: Python<'py>,
        name: String,
        variables: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let manager = self.core()?.clone();
        let vars = match variables {
            Some(v) => wire::to_json(v, "variables")?,
            None => json!({}),
        };
        // The variables are read as a spec's `variables` (numbers as text).
        let vars = from_value::<JobSpec>(json!({ "variables": vars }), Style::Snake).py_err()?.variables;
        future_into_py(py, async move {
            let wf = manager.submit_workflow(&name, &vars).await;
            Ok(CoreResult(wf.map(Workflow::from)))
        })
    }

    /// `await manager.set_tenant("team-a", max_running=2, max_queued=50,
    /// daily_budget_usd=10.0)`: sets the tenant's quota in the store, for
    /// every manager sharing it (a quota not given is no limit; a raised
    /// budget lets waiting jobs start). A quota dict works as
    /// `set_tenant(name, **quota)`. Raises `InvalidSpecError` naming a bad
    /// or unknown quota key, or `tenant` for a bad name.
    #[pyo3(signature = (name, **quota))]
    fn set_tenant<'py>(
        &self,
        py: Python<'py>,
        name: String,
        quota: Option<&Bound<'py, PyDict>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let manager = self.core()?.clone();
        let (quota, _) = wire::read::<TenantQuota>(quota)?;
        future_into_py(py, async move { Ok(CoreResult(manager.set_tenant(&name, quota).await)) })
    }

    /// `await manager.tenant_usage("team-a")`: a `TenantUsage` dict: name,
    /// quota (max_running, max_queued, daily_budget_usd; None when unset),
    /// running, queued, spent_today_usd, reserved_usd and budget_left_usd
    /// (None without a daily budget). An unknown tenant has no quota and
    /// uses nothing.
    fn tenant_usage<'py>(&self, py: Python<'py>, name: String) -> PyResult<Bound<'py, PyAny>> {
        let manager = self.core()?.clone();
        future_into_py(py, async move {
            let usage = manager.tenant_usage(&name).await.map(|u| {
                let mut v = serde_json::to_value(&u).unwrap_or_else(|_| json!({}));
                v["budget_left_usd"] = json!(u.budget_left());
                Json(v)
            });
            Ok(CoreResult(usage))
        })
    }

    /// `await manager.schedule("nightly", "0 2 * * *", prompt, timezone=,
    /// catch_up=, **spec)`: stores the schedule (replacing one of that
    /// name); each tick of `cron` (5 fields, or 6 with leading seconds)
    /// submits one job of the spec, labelled `schedule=<name>`, once across
    /// every manager on the store. A `Schedule` dict (`spec` as `submit`'s
    /// keywords). Raises `InvalidSpecError` naming `name`, `cron`,
    /// `timezone`, `catch_up` or the bad spec field.
    #[pyo3(signature = (name, cron, prompt=None, *, timezone=None, catch_up=None, **spec))]
    #[allow(clippy::too_many_arguments)]
    fn schedule<'py>(
        &self,
        py: Python<'py>,
        name: String,
        cron: String,
        prompt: Option<&Bound<'py, PyAny>>,
        timezone: Option<&Bound<'py, PyAny>>,
        catch_up: Option<&Bound<'py, PyAny>>,
        spec: Option<&Bound<'py, PyDict>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let manager = self.core()?.clone();
        let (spec, spelling) = spec_args(py, prompt, spec)?;
        let options = PyDict::new(py);
        options.set_item("timezone", timezone)?;
        options.set_item("catch_up", catch_up)?;
        let (options, _) = wire::read::<ScheduleOptions>(Some(&options))?;
        future_into_py(py, async move {
            let made = manager.schedule_with(&name, &cron, spec, options).await;
            Ok(CoreResult(made.map(|s| schedule_json(&s)).map_err(|e| spelling.error(e))))
        })
    }

    /// `await manager.unschedule("nightly")`: removes the schedule; False
    /// if there was none. Jobs it already submitted are left alone.
    fn unschedule<'py>(&self, py: Python<'py>, name: String) -> PyResult<Bound<'py, PyAny>> {
        let manager = self.core()?.clone();
        future_into_py(py, async move { Ok(CoreResult(manager.unschedule(&name).await)) })
    }

    /// `await manager.schedules()`: every schedule in the store, by name,
    /// as `Schedule` dicts.
    fn schedules<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let manager = self.core()?.clone();
        future_into_py(py, async move {
            let all = manager.schedules().await;
            Ok(CoreResult(all.map(|v| Json(v.iter().map(|s| schedule_json(s).0).collect()))))
        })
    }

    /// `await manager.outputs(job_id)`: the job's collected outputs as
    /// `OutputFile` dicts (`name`, `size`, `sha256`), from whichever machine
    /// ran it with `artifact_store="db"`.
    fn outputs<'py>(&self, py: Python<'py>, job_id: String) -> PyResult<Bound<'py, PyAny>> {
        let manager = self.core()?.clone();
        future_into_py(py, async move { Ok(CoreResult(manager.outputs(&job_id).await.map(|v| Json::of(&v)))) })
    }

    /// `await manager.read_output(job_id, name)`: the output file's bytes,
    /// or None when the job has no output of that name.
    fn read_output<'py>(&self, py: Python<'py>, job_id: String, name: String) -> PyResult<Bound<'py, PyAny>> {
        let manager = self.core()?.clone();
        future_into_py(py, async move {
            Ok(CoreResult(manager.read_output(&job_id, &name).await.map(|b| b.map(std::borrow::Cow::<[u8]>::Owned))))
        })
    }

    /// `await manager.read_log(job_id, "stdout", tail_bytes=None)`: the
    /// job's `"stdout"` or `"stderr"` log as bytes (the end of it with
    /// `tail_bytes`).
    #[pyo3(signature = (job_id, stream, tail_bytes=None))]
    fn read_log<'py>(&self, py: Python<'py>, job_id: String, stream: String, tail_bytes: Option<u64>) -> PyResult<Bound<'py, PyAny>> {
        let manager = self.core()?.clone();
        future_into_py(py, async move {
            Ok(CoreResult(manager.read_log(&job_id, &stream, tail_bytes).await.map(std::borrow::Cow::<[u8]>::Owned)))
        })
    }

    /// `await manager.metrics()`: the Prometheus text exposition (jobs by
    /// state, queue length, durations, cost, tokens, peak memory, CPU time,
    /// OOM kills, cgroup failures), for a `/metrics` endpoint.
    fn metrics<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let manager = self.core()?.clone();
        future_into_py(py, async move { Ok(CoreResult(manager.metrics().await)) })
    }

    /// `await manager.shutdown(drain_timeout=30)`: stops taking work, lets
    /// running jobs finish for up to `drain_timeout` seconds, then stops the
    /// rest (they end `interrupted`). Queued jobs stay queued in a durable
    /// store (SQLite, PostgreSQL) for the next manager; with
    /// `store_url="memory"` they end `interrupted`. Idempotent.
    #[pyo3(signature = (drain_timeout=None))]
    fn shutdown<'py>(&self, py: Python<'py>, drain_timeout: Option<&Bound<'py, PyAny>>) -> PyResult<Bound<'py, PyAny>> {
        let manager = self.core()?.clone();
        let drain = match drain_timeout {
            Some(d) if !d.is_none() => wire::duration_arg(d, "drain_timeout")?,
            _ => Duration::from_secs(DEFAULT_DRAIN_SECS),
        };
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
            manager.shutdown(Duration::from_secs(DEFAULT_DRAIN_SECS)).await;
            Ok(())
        })
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

/// `submit`'s and `schedule`'s `prompt` and `**spec` read as the core's
/// `JobSpec`, checked (errors name the field as the caller spelled it).
fn spec_args<'py>(
    py: Python<'py>,
    prompt: Option<&Bound<'py, PyAny>>,
    spec: Option<&Bound<'py, PyDict>>,
) -> PyResult<(JobSpec, Spelling)> {
    let args = PyDict::new(py);
    if let Some(spec) = spec {
        args.update(spec.as_mapping())?;
    }
    if let Some(p) = prompt {
        args.set_item("prompt", p)?;
    }
    let (spec, spelling) = wire::read::<JobSpec>(Some(&args))?;
    spec.validate().map_err(|e| to_py_err(spelling.error(e)))?;
    Ok((spec, spelling))
}

/// A schedule as JSON, its spec as `submit`'s keywords (durations in
/// seconds, as `Job.spec()` gives them).
fn schedule_json(s: &claude_jobs::Schedule) -> Json {
    let mut v = serde_json::to_value(s).unwrap_or_else(|_| json!({}));
    v["spec"] = wire::spec_to_json(&s.spec);
    Json(v)
}

/// A template as JSON (the core's `Template` is not `Serialize`); durations
/// in seconds, as everywhere in Python.
fn template_json(t: &claude_jobs::Template) -> serde_json::Value {
    json!({
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
