//! [`NativeJobManager`]: the native half of the JS `JobManager`.
//!
//! The constructor checks the options synchronously and starts the core
//! manager on the addon's tokio runtime without waiting: the JS event loop
//! never blocks. Every method waits for that start (and reports its error,
//! e.g. `ISOLATION_FAILED` with `isolation: 'required'`).

use std::time::Duration;

use claude_jobs::{JobManager, JobState};
use napi::bindgen_prelude::{Either, PromiseRaw};
use napi::Env;
use napi_derive::napi;
use serde_json::{json, Value};
use tokio::sync::watch;

use crate::errors::{self, JsError};
use crate::info::job_info;
use crate::job::NativeJob;
use crate::now::now_or_promise;

type Started = Option<Result<JobManager, JsError>>;

/// A job manager: submit, get, list, cancel, shutdown.
#[napi]
pub struct NativeJobManager {
    started: watch::Receiver<Started>,
}

#[napi]
impl NativeJobManager {
    /// Checks `options` (throws `INVALID_SPEC` naming the option) and starts
    /// the manager in the background.
    #[napi(constructor)]
    pub fn new(
        #[napi(ts_arg_type = "Record<string, unknown> | undefined | null")] options: Option<Value>,
    ) -> napi::Result<Self> {
        let builder = crate::options::manager_builder(options.as_ref())?;
        let (tx, rx) = watch::channel(None);
        // `build()`'s future is not `Send` (the SQLite store's), so it cannot be
        // spawned on a worker: it runs to completion on a blocking-pool thread
        // instead. What it starts (the admission loop, the jobs) is spawned
        // onto the runtime's workers as usual.
        napi::bindgen_prelude::spawn_blocking(move || {
            let runtime = tokio::runtime::Handle::current();
            let result = runtime.block_on(builder.build()).map_err(JsError::from);
            tx.send_replace(Some(result));
        });
        Ok(NativeJobManager { started: rx })
    }

    /// Resolves once the manager has started.
    #[napi]
    pub async fn ready(&self) -> napi::Result<()> {
        self.manager().await.map(|_| ())
    }

    /// What the manager runs with: `{ isolation, isolationError, maxConcurrent,
    /// running, memoryBudget, cpuBudget, dataDir, templates, storeUrl, nodeId,
    /// storeHealth }`.
    #[napi(ts_return_type = "Promise<Record<string, unknown>>")]
    pub async fn status(&self) -> napi::Result<Value> {
        let m = self.manager().await?;
        Ok(json!({
            "isolation": m.isolation().as_str(),
            "isolationError": m.isolation_error(),
            "maxConcurrent": m.max_concurrent(),
            "running": m.running(),
            "memoryBudget": m.memory_budget(),
            "cpuBudget": m.cpu_budget(),
            "dataDir": m.data_dir().display().to_string(),
            "templates": m.templates().iter().map(|t| t.name.clone()).collect::<Vec<_>>(),
            "storeUrl": m.store_url(),
            "nodeId": m.node_id(),
            "storeHealth": crate::info::store_health(&m.store_health()),
        }))
    }

    /// The instruction templates this manager knows (built-in and loaded).
    #[napi(ts_return_type = "Promise<Array<Record<string, unknown>>>")]
    pub async fn templates(&self) -> napi::Result<Vec<Value>> {
        let m = self.manager().await?;
        Ok(m.templates().iter().map(crate::info::template).collect())
    }

    /// The Prometheus text exposition of the manager's metrics (jobs by state,
    /// queue length, running jobs, durations, cost, tokens, peak memory, CPU
    /// time, OOM kills, cgroup failures), for a `/metrics` endpoint.
    #[napi]
    pub async fn metrics(&self) -> napi::Result<String> {
        let m = self.manager().await?;
        m.metrics().await.map_err(errors::core)
    }

    /// Validates and queues a job: the job, or a Promise of it when the
    /// store answers later (see `now.rs`).
    #[napi(ts_return_type = "NativeJob | Promise<NativeJob>")]
    pub fn submit<'env>(
        &self,
        env: &'env Env,
        #[napi(ts_arg_type = "Record<string, unknown>")] spec: Value,
    ) -> napi::Result<Either<NativeJob, PromiseRaw<'env, NativeJob>>> {
        let spec = crate::spec::job_spec(&spec)?;
        let started = self.started.clone();
        now_or_promise(env, async move {
            let m = manager(started).await?;
            let job = m.submit(spec).await.map_err(errors::core)?;
            Ok(NativeJob::new(job))
        })
    }

    /// The job with this id (or a Promise of it); `JOB_NOT_FOUND` (with
    /// `jobId`) if unknown.
    #[napi(ts_return_type = "NativeJob | Promise<NativeJob>")]
    pub fn get<'env>(
        &self,
        env: &'env Env,
        id: String,
    ) -> napi::Result<Either<NativeJob, PromiseRaw<'env, NativeJob>>> {
        let started = self.started.clone();
        now_or_promise(env, async move {
            let m = manager(started).await?;
            let job = m.get(&id).await.map_err(errors::core)?;
            Ok(NativeJob::new(job))
        })
    }

    /// Every job known to the store, oldest first. Running jobs are shown as
    /// their handles see them: the store's row of a running job lacks what
    /// the runner learnt since the claim (`pid`, `isolation`).
    #[napi(ts_return_type = "Promise<Array<Record<string, unknown>>>")]
    pub async fn list(&self) -> napi::Result<Vec<Value>> {
        let m = self.manager().await?;
        let infos = m.list().await.map_err(errors::core)?;
        let mut out = Vec::with_capacity(infos.len());
        for info in infos {
            let live = match info.state {
                JobState::Running => m.get(&info.id).await.ok().map(|job| job.info()),
                _ => None,
            };
            out.push(job_info(live.as_ref().unwrap_or(&info)));
        }
        Ok(out)
    }

    /// Cancels a job by id; `false` when it had already ended.
    #[napi]
    pub async fn cancel(&self, id: String) -> napi::Result<bool> {
        let m = self.manager().await?;
        m.cancel(&id).await.map_err(errors::core)
    }

    /// Stops taking work, lets running jobs finish for up to `drainTimeoutMs`,
    /// then stops the rest. Idempotent.
    #[napi]
    pub async fn shutdown(&self, drain_timeout_ms: f64) -> napi::Result<()> {
        let m = self.manager().await?;
        let ms = if drain_timeout_ms.is_finite() {
            drain_timeout_ms.max(0.0)
        } else {
            0.0
        };
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
