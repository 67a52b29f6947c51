//! [`NativeJobManager`]: the native half of the JS `JobManager`.
//!
//! The constructor reads the options (the core reads them: `wire.rs`) and
//! checks them synchronously, then starts the core manager on the addon's
//! tokio runtime without waiting: the JS event loop never blocks. Every
//! method waits for that start (and reports its error, e.g.
//! `ISOLATION_FAILED` with `isolation: 'required'`).

use std::collections::BTreeMap;
use std::time::Duration;

use claude_jobs::wire::{from_value, Style};
use claude_jobs::store::TenantUsage;
use claude_jobs::{JobManager, JobSpec, ListQuery, ManagerOptions, Schedule, ScheduleOptions, TenantQuota};
use napi::bindgen_prelude::{Buffer, Either, PromiseRaw};
use napi::Env;
use napi_derive::napi;
use serde_json::{json, Value};
use tokio::sync::watch;

use crate::errors::{self, JsError};
use crate::info::{job_info, template};
use crate::job::NativeJob;
use crate::now::now_or_promise;
use crate::wire;
use crate::workflow::NativeWorkflow;

type Started = Option<Result<JobManager, JsError>>;

/// A job manager: submit, get, list, cancel, status, shutdown.
#[napi]
pub struct NativeJobManager {
    started: watch::Receiver<Started>,
}

#[napi]
impl NativeJobManager {
    /// Reads and checks `options` (throws `INVALID_SPEC` naming the option)
    /// and starts the manager in the background.
    #[napi(constructor)]
    pub fn new(
        #[napi(ts_arg_type = "Record<string, unknown> | undefined | null")] options: Option<Value>,
    ) -> napi::Result<Self> {
        let (opts, spelling) = wire::read::<ManagerOptions>(options, "options")?;
        opts.validate().map_err(|e| errors::spelled(e, &spelling))?;
        let (tx, rx) = watch::channel(None);
        // `create()`'s future is not `Send` (the SQLite store's), so it cannot be
        // spawned on a worker: it runs to completion on a blocking-pool thread
        // instead. What it starts (the admission loop, the jobs) is spawned
        // onto the runtime's workers as usual.
        napi::bindgen_prelude::spawn_blocking(move || {
            let runtime = tokio::runtime::Handle::current();
            let result = runtime.block_on(JobManager::create(opts));
            tx.send_replace(Some(result.map_err(|e| errors::spelled(e, &spelling))));
        });
        Ok(NativeJobManager { started: rx })
    }

    /// Resolves once the manager has started.
    #[napi]
    pub async fn ready(&self) -> napi::Result<()> {
        self.manager().await.map(|_| ())
    }

    /// The core's `ManagerStatus`, keys in camelCase.
    #[napi(ts_return_type = "Promise<Record<string, unknown>>")]
    pub async fn status(&self) -> napi::Result<Value> {
        let status = self.manager().await?.status().await.map_err(errors::core)?;
        Ok(wire::camel_keys(serde_json::to_value(status).unwrap_or_default()))
    }

    /// The instruction templates this manager knows (built-in and loaded).
    #[napi(ts_return_type = "Promise<Array<Record<string, unknown>>>")]
    pub async fn templates(&self) -> napi::Result<Vec<Value>> {
        Ok(self.manager().await?.templates().await.iter().map(template).collect())
    }

    /// The workflows this manager knows (built-in and loaded).
    #[napi(ts_return_type = "Promise<Array<Record<string, unknown>>>")]
    pub async fn workflows(&self) -> napi::Result<Vec<Value>> {
        let defs = self.manager().await?.workflows().await;
        Ok(defs.iter().map(wire::to_js).collect())
    }

    /// The Prometheus text exposition of the manager's metrics.
    #[napi]
    pub async fn metrics(&self) -> napi::Result<String> {
        self.manager().await?.metrics().await.map_err(errors::core)
    }

    /// Validates and queues a job: the job, or a Promise of it when the
    /// store answers later (see `now.rs`).
    #[napi(ts_return_type = "NativeJob | Promise<NativeJob>")]
    pub fn submit<'env>(
        &self,
        env: &'env Env,
        #[napi(ts_arg_type = "Record<string, unknown>")] spec: Value,
    ) -> napi::Result<Either<NativeJob, PromiseRaw<'env, NativeJob>>> {
        let (spec, spelling) = wire::read::<JobSpec>(Some(spec), "spec")?;
        spec.validate().map_err(|e| errors::spelled(e, &spelling))?;
        let started = self.started.clone();
        now_or_promise(env, async move {
            let m = manager(started).await?;
            let job = m.submit(spec).await.map_err(|e| errors::spelled(e, &spelling))?;
            Ok(NativeJob::new(job))
        })
    }

    /// The job with this id (or a Promise of it); `JOB_NOT_FOUND` (with
    /// `jobId`) if unknown.
    #[napi(ts_return_type = "NativeJob | Promise<NativeJob>")]
    pub fn get<'env>(&self, env: &'env Env, id: String) -> napi::Result<Either<NativeJob, PromiseRaw<'env, NativeJob>>> {
        let started = self.started.clone();
        now_or_promise(env, async move {
            let job = manager(started).await?.get(&id).await.map_err(errors::core)?;
            Ok(NativeJob::new(job))
        })
    }

    /// One page of jobs, newest first: `{ jobs, nextCursor }`.
    #[napi(ts_return_type = "Promise<{ jobs: Array<Record<string, unknown>>, nextCursor: string | null }>")]
    pub async fn list(&self, #[napi(ts_arg_type = "Record<string, unknown> | undefined | null")] query: Option<Value>) -> napi::Result<Value> {
        let (query, spelling) = wire::read::<ListQuery>(query, "query")?;
        let m = self.manager().await?;
        let page = m.list(&query).await.map_err(|e| errors::spelled(e, &spelling))?;
        Ok(json!({ "jobs": page.jobs.iter().map(job_info).collect::<Vec<_>>(), "nextCursor": page.next_cursor }))
    }

    /// Cancels a job by id; `false` when it had already ended.
    #[napi]
    pub async fn cancel(&self, id: String) -> napi::Result<bool> {
        self.manager().await?.cancel(&id).await.map_err(errors::core)
    }

    /// Sets a tenant's quota in the store (every manager sharing it applies
    /// it): `{ maxRunning, maxQueued, dailyBudgetUsd }`, each optional.
    #[napi]
    pub async fn set_tenant(
        &self,
        name: String,
        #[napi(ts_arg_type = "Record<string, unknown> | undefined | null")] quota: Option<Value>,
    ) -> napi::Result<()> {
        let quota = tenant_quota(quota)?;
        self.manager().await?.set_tenant(&name, quota).await.map_err(errors::core)
    }

    /// A tenant's quota and what it uses now (`TenantUsage` in index.d.ts).
    #[napi(ts_return_type = "Promise<Record<string, unknown>>")]
    pub async fn tenant_usage(&self, name: String) -> napi::Result<Value> {
        let usage = self.manager().await?.tenant_usage(&name).await.map_err(errors::core)?;
        Ok(tenant_usage(&usage))
    }

    /// Creates or replaces schedule `name`: every tick of `cron` (5 fields,
    /// or 6 with seconds first) submits `spec` once, labelled
    /// `schedule=<name>`. `options`: `{ timezone, catchUp }`. Errors name
    /// `name`, `cron`, `timezone`, `catchUp` or the spec field as spelled.
    #[napi(ts_return_type = "Promise<Record<string, unknown>>")]
    pub async fn schedule(
        &self,
        #[napi(ts_arg_type = "unknown")] name: Option<Value>,
        #[napi(ts_arg_type = "unknown")] cron: Option<Value>,
        #[napi(ts_arg_type = "Record<string, unknown>")] spec: Value,
        #[napi(ts_arg_type = "Record<string, unknown> | undefined | null")] options: Option<Value>,
    ) -> napi::Result<Value> {
        let name = text(name, "name")?;
        let cron = text(cron, "cron")?;
        let (spec, spelling) = wire::read::<JobSpec>(Some(spec), "spec")?;
        let (opts, opts_spelling) = wire::read::<ScheduleOptions>(options, "options")?;
        let m = self.manager().await?;
        let schedule = m.schedule_with(&name, &cron, spec, opts).await.map_err(|e| {
            // `catch_up` is the options' (`catchUp`); every other field is the spec's.
            match e.field() {
                Some("catch_up") => errors::spelled(e, &opts_spelling),
                _ => errors::spelled(e, &spelling),
            }
        })?;
        Ok(schedule_js(&schedule))
    }

    /// Removes schedule `name`; `false` when there was none.
    #[napi]
    pub async fn unschedule(&self, #[napi(ts_arg_type = "unknown")] name: Option<Value>) -> napi::Result<bool> {
        let name = text(name, "name")?;
        self.manager().await?.unschedule(&name).await.map_err(errors::core)
    }

    /// Every schedule in the store, sorted by name (`Schedule` in index.d.ts).
    #[napi(ts_return_type = "Promise<Array<Record<string, unknown>>>")]
    pub async fn schedules(&self) -> napi::Result<Vec<Value>> {
        let all = self.manager().await?.schedules().await.map_err(errors::core)?;
        Ok(all.iter().map(schedule_js).collect())
    }

    /// The job's collected outputs (`OutputFile` in index.d.ts: `name`,
    /// `size`, `sha256`), wherever it ran with `artifactStore: 'db'`.
    #[napi(ts_return_type = "Promise<Array<Record<string, unknown>>>")]
    pub async fn outputs(&self, id: String) -> napi::Result<Vec<Value>> {
        let files = self.manager().await?.outputs(&id).await.map_err(errors::core)?;
        Ok(files.iter().map(|f| serde_json::to_value(f).unwrap_or_default()).collect())
    }

    /// The bytes of the job's output `name` (a name from `outputs`, never a
    /// path); `null` when the job has no such output.
    #[napi]
    pub async fn read_output(&self, id: String, name: String) -> napi::Result<Option<Buffer>> {
        let bytes = self.manager().await?.read_output(&id, &name).await.map_err(errors::core)?;
        Ok(bytes.map(Buffer::from))
    }

    /// The job's `'stdout'` or `'stderr'` log (its current attempt's), the
    /// last `tailBytes` of it when given. Errors name `stream`, `tailBytes`
    /// or an unknown option key.
    #[napi]
    pub async fn read_log(
        &self,
        id: String,
        #[napi(ts_arg_type = "unknown")] stream: Option<Value>,
        #[napi(ts_arg_type = "Record<string, unknown> | undefined | null")] options: Option<Value>,
    ) -> napi::Result<Buffer> {
        let stream = text(stream, "stream")?;
        let tail_bytes = tail_bytes(options)?;
        let bytes = self.manager().await?.read_log(&id, &stream, tail_bytes).await.map_err(errors::core)?;
        Ok(Buffer::from(bytes))
    }

    /// Submits every step of workflow `name` as a chain of jobs.
    #[napi]
    pub async fn submit_workflow(
        &self,
        name: String,
        #[napi(ts_arg_type = "Record<string, unknown> | undefined | null")] variables: Option<Value>,
    ) -> napi::Result<NativeWorkflow> {
        // The variables are read as a spec's `variables` (numbers as text).
        let vars = json!({ "variables": variables.unwrap_or_else(|| json!({})) });
        let vars: BTreeMap<String, String> = from_value::<JobSpec>(vars, Style::Camel).map_err(JsError::from)?.variables;
        let wf = self.manager().await?.submit_workflow(&name, &vars).await.map_err(errors::core)?;
        Ok(NativeWorkflow::new(wf))
    }

    /// SIGKILLs every process of every job running in this manager, at once
    /// (for `process.on('exit')`); how many jobs were running. 0 before the
    /// manager has started.
    #[napi]
    pub fn kill_running_now(&self) -> u32 {
        match self.started.borrow().as_ref() {
            Some(Ok(m)) => m.kill_running_now() as u32,
            _ => 0,
        }
    }

    /// Stops taking work, lets running jobs finish for up to `drainTimeoutMs`,
    /// then stops the rest. Idempotent.
    #[napi]
    pub async fn shutdown(&self, drain_timeout_ms: f64) -> napi::Result<()> {
        let m = self.manager().await?;
        let ms = if drain_timeout_ms.is_finite() { drain_timeout_ms.max(0.0) } else { 0.0 };
        m.shutdown(Duration::from_millis(ms as u64)).await;
        Ok(())
    }
}

impl NativeJobManager {
    /// The started manager, or the error that stopped it from starting.
    async fn manager(&self) -> napi::Result<JobManager> {
        manager(self.started.clone()).await
    }
}

/// A `TenantQuota` from JS (camelCase keys), errors naming `quota.<key>`.
fn tenant_quota(quota: Option<Value>) -> Result<TenantQuota, JsError> {
    let in_quota = |mut e: JsError| {
        e.field = Some(match e.field.as_deref() {
            None | Some("quota") => "quota".to_string(),
            Some(f) => format!("quota.{f}"),
        });
        e
    };
    let (quota, _) = wire::read::<TenantQuota>(quota, "quota").map_err(in_quota)?;
    if quota.daily_budget_usd.is_some_and(|b| b < 0.0) {
        return Err(JsError::invalid("quota.dailyBudgetUsd", "must be 0 or more (US dollars per UTC day)"));
    }
    Ok(quota)
}

/// The JS view of a `TenantUsage`, with `budgetLeftUsd` (`null`: no budget).
fn tenant_usage(u: &TenantUsage) -> Value {
    json!({
        "name": u.name,
        "quota": {
            "maxRunning": u.quota.max_running,
            "maxQueued": u.quota.max_queued,
            "dailyBudgetUsd": u.quota.daily_budget_usd,
        },
        "running": u.running,
        "queued": u.queued,
        "spentTodayUsd": u.spent_today_usd,
        "reservedUsd": u.reserved_usd,
        "budgetLeftUsd": u.budget_left(),
    })
}

/// A string argument, or `INVALID_SPEC` naming it.
fn text(value: Option<Value>, what: &str) -> Result<String, JsError> {
    match value {
        Some(Value::String(s)) => Ok(s),
        _ => Err(JsError::invalid(what, "must be a string")),
    }
}

/// `readLog`'s `{ tailBytes }`: a whole number of bytes, 0 or more
/// (`null`/absent: the whole log); any other key is refused, named.
fn tail_bytes(options: Option<Value>) -> Result<Option<u64>, JsError> {
    let map = match options {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Object(map)) => map,
        Some(_) => return Err(JsError::invalid("options", "must be an object")),
    };
    let mut tail = None;
    for (key, value) in map {
        match (key.as_str(), value) {
            ("tailBytes", Value::Null) => {}
            ("tailBytes", Value::Number(n)) if n.as_u64().is_some() => tail = n.as_u64(),
            // 1e3 arrives as a float: whole floats are taken.
            ("tailBytes", Value::Number(n))
                if n.as_f64().is_some_and(|f| f >= 0.0 && f.fract() == 0.0 && f <= u64::MAX as f64) =>
            {
                tail = n.as_f64().map(|f| f as u64)
            }
            ("tailBytes", _) => return Err(JsError::invalid("tailBytes", "must be a whole number of bytes, 0 or more")),
            (other, _) => return Err(JsError::invalid(other, "unknown option of readLog (known: tailBytes)")),
        }
    }
    Ok(tail)
}

/// The JS view of a `Schedule` (`Schedule` in index.d.ts): its spec as
/// `submit` takes it.
fn schedule_js(s: &Schedule) -> Value {
    json!({
        "name": s.name,
        "cron": s.cron,
        "timezone": s.timezone,
        "catchUp": s.catch_up,
        "spec": wire::to_js(&s.spec),
        "lastTickMs": s.last_tick_ms,
        "nextTickMs": s.next_tick_ms,
        "createdMs": s.created_ms,
        "updatedMs": s.updated_ms,
    })
}

/// The manager once `started` is set, or the error that stopped it from starting.
async fn manager(mut started: watch::Receiver<Started>) -> napi::Result<JobManager> {
    let started = started
        .wait_for(Option::is_some)
        .await
        .map_err(|_| napi::Error::from_reason("the manager's start-up task was lost"))?;
    match started.as_ref() {
        Some(Ok(m)) => Ok(m.clone()),
        Some(Err(e)) => Err(e.clone().into_napi()),
        None => unreachable!("wait_for returned an unset value"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tail_bytes_is_a_whole_number_or_absent() {
        assert_eq!(tail_bytes(None).unwrap(), None);
        assert_eq!(tail_bytes(Some(json!({}))).unwrap(), None);
        assert_eq!(tail_bytes(Some(json!({"tailBytes": null}))).unwrap(), None);
        assert_eq!(tail_bytes(Some(json!({"tailBytes": 100}))).unwrap(), Some(100));
        assert_eq!(tail_bytes(Some(json!({"tailBytes": 0}))).unwrap(), Some(0));
        assert_eq!(tail_bytes(Some(json!({"tailBytes": 4096.0}))).unwrap(), Some(4096));
        for (bad, field) in [
            (json!({"tailBytes": -1}), "tailBytes"),
            (json!({"tailBytes": 1.5}), "tailBytes"),
            (json!({"tailBytes": "10"}), "tailBytes"),
            (json!({"tailByte": 10}), "tailByte"),
            (json!(10), "options"),
        ] {
            let e = tail_bytes(Some(bad.clone())).unwrap_err();
            assert_eq!((e.code, e.field.as_deref()), ("INVALID_SPEC", Some(field)), "{bad}");
        }
    }
}
