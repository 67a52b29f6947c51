//! [`NativeJob`]: the native half of the JS `Job` handle, one to one with
//! [`claude_jobs::Job`].

use claude_jobs::Job;
use napi::bindgen_prelude::{Either, PromiseRaw};
use napi::Env;
use napi_derive::napi;
use serde_json::Value;

use crate::errors;
use crate::events::NativeEventStream;
use crate::info::job_info;
use crate::now::now_or_promise;

/// A handle to one job; every handle of the same id sees the same job.
#[napi]
pub struct NativeJob {
    job: Job,
}

impl NativeJob {
    pub(crate) fn new(job: Job) -> Self {
        NativeJob { job }
    }
}

#[napi]
impl NativeJob {
    /// The job's id (a UUIDv7 string).
    #[napi(getter)]
    pub fn id(&self) -> String {
        self.job.id().to_string()
    }

    /// The current state (`queued`, `running`, `succeeded`, …).
    #[napi(getter)]
    pub fn state(&self) -> String {
        self.job.state().as_str().to_string()
    }

    /// A snapshot of the job now.
    #[napi(ts_return_type = "Record<string, unknown>")]
    pub fn info(&self) -> Value {
        job_info(&self.job.info())
    }

    /// The spec the job runs with (template rendered, the manager's default
    /// caps applied), in the input's spelling (`timeoutMs`, `maxTurns`).
    #[napi(ts_return_type = "Record<string, unknown>")]
    pub fn spec(&self) -> Value {
        crate::wire::to_js(self.job.spec())
    }

    /// The final info once the job has ended: at once if it has, else a
    /// Promise of it (see `now.rs`).
    #[napi(ts_return_type = "Record<string, unknown> | Promise<Record<string, unknown>>")]
    pub fn wait<'env>(
        &self,
        env: &'env Env,
    ) -> napi::Result<Either<Value, PromiseRaw<'env, Value>>> {
        let job = self.job.clone();
        now_or_promise(env, async move { Ok(job_info(&job.wait().await)) })
    }

    /// Cancels the job; `false` when it had already ended.
    #[napi]
    pub async fn cancel(&self) -> napi::Result<bool> {
        let job = self.job.clone();
        job.cancel().await.map_err(errors::core)
    }

    /// The job's events after sequence number `after` (0: from the first).
    #[napi]
    pub fn events(&self, after: Option<f64>) -> napi::Result<NativeEventStream> {
        let after = match after {
            None => 0,
            Some(a) if a.is_finite() && a >= 0.0 && a.fract() == 0.0 => a as u64,
            Some(_) => {
                return Err(errors::JsError::invalid(
                    "after",
                    "must be a whole number ≥ 0 (an event seq)",
                )
                .into())
            }
        };
        Ok(NativeEventStream::new(self.job.events(after)))
    }
}
