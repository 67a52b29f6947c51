//! Job events: [`JobEvent`] (one record), [`EventStream`], the async
//! iterator `job.events()` returns (past events replayed, then live ones,
//! until the job's `finished` event), and [`EventBatches`], the same events
//! in lists (`job.event_batches()`).

use std::sync::Arc;

use pyo3::exceptions::{PyAttributeError, PyKeyError, PyStopAsyncIteration};
use pyo3::prelude::*;
use pyo3::types::PyDict;
use tokio::sync::Mutex;

use crate::convert::json_to_py;
use crate::process_local::ProcessLocal;
use crate::runtime::future_into_py;

/// One thing that happened to a job.
///
/// `type` is the snake_case tag (`queued`, `started`, `resuming`,
/// `permission_denied`, `init`, `assistant_text`, `tool_use`, `tool_result`,
/// `api_retry`, `rate_limit`, `result`, `memory_pressure`, `stopping`,
/// `finished`, `warning`, `retrying`, `budget_wait`, `other`: the core's
/// `JobEvent`; `claude_jobs.JOB_EVENT_TYPES` lists them),
/// `seq` its number in the job's stream (from 1; pass it to
/// `job.events(after=seq)` to resume), `at_ms` the Unix time in ms. The
/// event's own fields (`pid`, `text`, `name`, `state`, …) are attributes
/// too, and every key works as `event["key"]`.
#[pyclass(frozen, module = "claude_jobs", name = "JobEvent")]
pub struct JobEvent {
    kind: String,
    seq: u64,
    at_ms: u64,
    fields: serde_json::Map<String, serde_json::Value>,
}

impl From<claude_jobs::EventRecord> for JobEvent {
    fn from(rec: claude_jobs::EventRecord) -> Self {
        let mut fields = match serde_json::to_value(&rec.event) {
            Ok(serde_json::Value::Object(m)) => m,
            _ => serde_json::Map::new(),
        };
        let kind = match fields.remove("type") {
            Some(serde_json::Value::String(s)) => s,
            _ => "other".to_string(),
        };
        JobEvent {
            kind,
            seq: rec.seq,
            at_ms: rec.at_ms,
            fields,
        }
    }
}

impl JobEvent {
    fn keys_vec(&self) -> Vec<String> {
        let mut k = vec!["type".to_string(), "seq".to_string(), "at_ms".to_string()];
        k.extend(self.fields.keys().cloned());
        k
    }

    fn lookup<'py>(&self, py: Python<'py>, key: &str) -> PyResult<Option<Bound<'py, PyAny>>> {
        Ok(match key {
            "type" => Some(self.kind.clone().into_pyobject(py)?.into_any()),
            "seq" => Some(self.seq.into_pyobject(py)?.into_any()),
            "at_ms" => Some(self.at_ms.into_pyobject(py)?.into_any()),
            _ => match self.fields.get(key) {
                Some(v) => Some(json_to_py(py, v)?),
                None => None,
            },
        })
    }
}

#[pymethods]
impl JobEvent {
    /// The snake_case event type.
    #[getter(r#type)]
    fn kind(&self) -> &str {
        &self.kind
    }

    /// Sequence number in the job's stream, from 1.
    #[getter]
    fn seq(&self) -> u64 {
        self.seq
    }

    /// When it happened, Unix milliseconds.
    #[getter]
    fn at_ms(&self) -> u64 {
        self.at_ms
    }

    /// The event's own fields (everything but type, seq, at_ms) as a dict.
    #[getter]
    fn data<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        json_to_py(py, &serde_json::Value::Object(self.fields.clone()))
    }

    fn __getattr__<'py>(&self, py: Python<'py>, name: &str) -> PyResult<Bound<'py, PyAny>> {
        match self.fields.get(name) {
            Some(v) => json_to_py(py, v),
            None => Err(PyAttributeError::new_err(format!(
                "{} event has no field {name:?}",
                self.kind
            ))),
        }
    }

    fn __getitem__<'py>(&self, py: Python<'py>, key: &str) -> PyResult<Bound<'py, PyAny>> {
        self.lookup(py, key)?
            .ok_or_else(|| PyKeyError::new_err(key.to_owned()))
    }

    /// The value of `key`, or `default`.
    #[pyo3(signature = (key, default=None))]
    fn get<'py>(&self, py: Python<'py>, key: &str, default: Option<Bound<'py, PyAny>>) -> PyResult<Bound<'py, PyAny>> {
        Ok(self
            .lookup(py, key)?
            .unwrap_or_else(|| default.unwrap_or_else(|| py.None().into_bound(py))))
    }

    fn __contains__(&self, key: &str) -> bool {
        matches!(key, "type" | "seq" | "at_ms") || self.fields.contains_key(key)
    }

    /// `type`, `seq`, `at_ms`, then the event's fields.
    fn keys(&self) -> Vec<String> {
        self.keys_vec()
    }

    /// A plain, JSON-ready dict: `{"type": ..., "seq": ..., "at_ms": ..., **fields}`.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        d.set_item("type", &self.kind)?;
        d.set_item("seq", self.seq)?;
        d.set_item("at_ms", self.at_ms)?;
        for (k, v) in &self.fields {
            d.set_item(k, json_to_py(py, v)?)?;
        }
        Ok(d)
    }

    /// The event as one line of JSON (for server-sent events and logs).
    fn to_json(&self) -> String {
        let mut m = serde_json::Map::new();
        m.insert("type".into(), self.kind.clone().into());
        m.insert("seq".into(), self.seq.into());
        m.insert("at_ms".into(), self.at_ms.into());
        m.extend(self.fields.clone());
        serde_json::Value::Object(m).to_string()
    }

    fn __repr__(&self) -> String {
        let fields = serde_json::Value::Object(self.fields.clone());
        format!("JobEvent(type={:?}, seq={}, at_ms={}, data={fields})", self.kind, self.seq, self.at_ms)
    }

    fn __eq__(&self, other: &Bound<'_, PyAny>) -> bool {
        match other.cast::<JobEvent>() {
            Ok(o) => {
                let o = o.get();
                o.kind == self.kind && o.seq == self.seq && o.at_ms == self.at_ms && o.fields == self.fields
            }
            Err(_) => false,
        }
    }
}

/// `async for event in job.events()`: past events first, then live ones;
/// ends after the job's `finished` event. Each call of `job.events()` is an
/// independent stream. Safe to abandon (break, cancel) at any point.
#[pyclass(frozen, module = "claude_jobs", name = "EventStream")]
pub struct EventStream {
    inner: ProcessLocal<Arc<Mutex<claude_jobs::EventStream>>>,
    /// Last `seq` handed out, kept here so `position` needs no lock.
    position: Arc<std::sync::atomic::AtomicU64>,
}

impl EventStream {
    pub fn new(stream: claude_jobs::EventStream) -> Self {
        let pos = stream.position();
        EventStream {
            inner: ProcessLocal::new(Arc::new(Mutex::new(stream))),
            position: Arc::new(std::sync::atomic::AtomicU64::new(pos)),
        }
    }
}

#[pymethods]
impl EventStream {
    fn __aiter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    fn __anext__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let stream = self.inner.get("event stream")?.clone();
        let position = self.position.clone();
        future_into_py(py, async move {
            let mut s = stream.lock().await;
            match s.next().await {
                Some(rec) => {
                    position.store(rec.seq, std::sync::atomic::Ordering::SeqCst);
                    Ok(JobEvent::from(rec))
                }
                None => Err(PyStopAsyncIteration::new_err(())),
            }
        })
    }

    /// The `seq` of the last event returned (the `after` value that resumes
    /// this stream where it is); 0 before the first.
    #[getter]
    fn position(&self) -> u64 {
        self.position.load(std::sync::atomic::Ordering::SeqCst)
    }

    fn __repr__(&self) -> String {
        format!("EventStream(position={})", self.position())
    }
}

/// `async for batch in job.event_batches()`: the events of `job.events()` in
/// lists; each waits for one event, then takes those already there, up to
/// `max` in all. One await for a burst of events, for a consumer that writes
/// them out together (an SSE response).
#[pyclass(frozen, module = "claude_jobs", name = "EventBatches")]
pub struct EventBatches {
    stream: EventStream,
    max: usize,
}

impl EventBatches {
    pub fn new(stream: claude_jobs::EventStream, max: usize) -> Self {
        EventBatches {
            stream: EventStream::new(stream),
            max,
        }
    }
}

#[pymethods]
impl EventBatches {
    fn __aiter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    fn __anext__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let stream = self.stream.inner.get("event stream")?.clone();
        let position = self.stream.position.clone();
        let max = self.max;
        future_into_py(py, async move {
            let batch = stream.lock().await.next_batch(max).await;
            let Some(last) = batch.last() else {
                return Err(PyStopAsyncIteration::new_err(()));
            };
            position.store(last.seq, std::sync::atomic::Ordering::SeqCst);
            Ok(batch.into_iter().map(JobEvent::from).collect::<Vec<_>>())
        })
    }

    /// The `seq` of the last event returned (the `after` value that resumes
    /// here); 0 before the first.
    #[getter]
    fn position(&self) -> u64 {
        self.stream.position()
    }

    fn __repr__(&self) -> String {
        format!("EventBatches(position={}, max={})", self.position(), self.max)
    }
}
