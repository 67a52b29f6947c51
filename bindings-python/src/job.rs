//! [`Job`]: the handle `JobManager.submit` and `JobManager.get` return.

use pyo3::prelude::*;
use pyo3::types::PyString;

use crate::convert::json_to_py;
use crate::errors::CoreResult;
use crate::events::{EventBatches, EventStream};
use crate::info::JobInfo;
use crate::process_local::ProcessLocal;
use crate::runtime::{eager_future_into_py, future_into_py};

/// The most events one `event_batches()` list holds.
const MAX_EVENT_BATCH: i64 = 10_000;

/// A handle to one job. Any number of handles may refer to the same job;
/// they compare equal by id.
#[pyclass(frozen, module = "claude_jobs", name = "Job")]
pub struct Job {
    inner: ProcessLocal<claude_jobs::Job>,
}

impl Job {
    pub fn new(job: claude_jobs::Job) -> Self {
        Job {
            inner: ProcessLocal::new(job),
        }
    }

    fn core(&self) -> PyResult<&claude_jobs::Job> {
        self.inner.get("Job")
    }

    /// The id, for other Rust modules.
    pub fn id_str(&self) -> PyResult<&str> {
        Ok(self.core()?.id())
    }
}

#[pymethods]
impl Job {
    /// The job's id (a UUIDv7 string, sortable by submission time).
    #[getter]
    fn id(&self) -> PyResult<&str> {
        self.id_str()
    }

    /// The current state (`"queued"`, `"running"`, `"succeeded"`, …).
    #[getter]
    fn state(&self) -> PyResult<&'static str> {
        Ok(self.core()?.state().as_str())
    }

    /// A snapshot of the job now (synchronous).
    fn info(&self) -> PyResult<JobInfo> {
        Ok(self.core()?.info().into())
    }

    /// The spec the job runs with (template rendered, the manager's default
    /// caps applied), as a dict of `submit`'s keyword arguments: durations
    /// in seconds, `memory` in bytes.
    fn spec<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        json_to_py(py, &crate::wire::spec_to_json(self.core()?.spec()))
    }

    /// `await job.wait()`: waits until the job reaches a final state and
    /// returns its `JobInfo`. Returns at once for a finished job; any number
    /// of tasks may wait. Cancelling the await does not cancel the job.
    fn wait<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let job = self.core()?.clone();
        eager_future_into_py(py, async move { Ok(JobInfo::from(job.wait().await)) })
    }

    /// `await job.cancel()`: a queued job ends `cancelled` at once; a running
    /// one gets SIGTERM, then after the manager's `kill_grace` its whole
    /// cgroup is killed. Returns False when the job had already finished.
    fn cancel<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let job = self.core()?.clone();
        future_into_py(py, async move { Ok(CoreResult(job.cancel().await)) })
    }

    /// `async for event in job.events()`: past events replayed, then live
    /// ones, until the job has finished. `after=seq` resumes after the event
    /// with that sequence number.
    #[pyo3(signature = (after=0))]
    fn events(&self, after: u64) -> PyResult<EventStream> {
        Ok(EventStream::new(self.core()?.events(after)))
    }

    /// `async for batch in job.event_batches()`: the events of `events()` in
    /// lists; each waits for one event, then takes those already there, up to
    /// `max` (1 to 10 000) in all.
    #[pyo3(signature = (after=0, max=256))]
    fn event_batches(&self, after: u64, max: i64) -> PyResult<EventBatches> {
        if !(1..=MAX_EVENT_BATCH).contains(&max) {
            return Err(crate::errors::invalid("max", format!("must be a whole number from 1 to {MAX_EVENT_BATCH}, got {max}")));
        }
        Ok(EventBatches::new(self.core()?.events(after), max as usize))
    }

    fn __repr__(&self) -> PyResult<String> {
        let job = self.core()?;
        Ok(format!("Job(id={:?}, state={:?})", job.id(), job.state().as_str()))
    }

    fn __eq__(&self, other: &Bound<'_, PyAny>) -> PyResult<bool> {
        match other.cast::<Job>() {
            Ok(o) => Ok(o.get().id_str()? == self.id_str()?),
            Err(_) => Ok(false),
        }
    }

    fn __hash__(&self, py: Python<'_>) -> PyResult<isize> {
        PyString::new(py, self.id_str()?).hash()
    }
}
