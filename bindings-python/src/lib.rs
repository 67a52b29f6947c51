//! `claude_jobs._native`: the Python binding of the `claude-jobs` crate.
//!
//! Thin wrappers, one file per core concept, each holding the core handle
//! and cloning it into the future it returns:
//!
//! - `manager.rs`  `JobManager` (constructor, create, submit, get, list, cancel,
//!   status, templates, workflows, submit_workflow, set_tenant, tenant_usage,
//!   metrics, shutdown, `async with`)
//! - `job.rs`      `Job` (id, state, info, spec, wait, cancel, events)
//! - `events.rs`   `JobEvent`, `EventStream` (async iterator), `EventBatches`
//! - `info.rs`     `JobInfo`, `Usage`, `ResourceStats`, `ResourceLimits`
//! - `page.rs`     `JobPage`; `workflow.rs` `Workflow`
//! - `wire.rs`     keyword arguments → JSON, read by the core (`claude_jobs::wire`)
//! - `errors.rs`   core `Error` → `claude_jobs.errors` classes, by `ErrorKind`
//! - `convert.rs`  JSON → Python
//! - `records.rs`  attribute + mapping access shared by the result classes
//! - `runtime.rs`  the tokio runtime, rebuilt in the child after `fork()`
//! - `process_local.rs` handles inherited across `fork()` refuse to work
//!
//! Async methods return asyncio futures (`pyo3_async_runtimes`); the Rust
//! side runs on tokio without the GIL, so the event loop never blocks.
//! `submit`, `get` and `wait` are polled once on the calling thread first
//! and come back already done when they can (`runtime::eager_future_into_py`).

use pyo3::prelude::*;

mod convert;
mod errors;
mod events;
mod info;
mod job;
mod manager;
mod page;
mod process_local;
mod records;
mod runtime;
mod wire;
mod workflow;

/// Parses a size such as `"512M"` or `"1.5G"` (powers of 1024) into bytes.
/// Raises `InvalidSpecError` (field `"size"`) when it cannot.
#[pyfunction]
fn parse_size(text: &str) -> PyResult<u64> {
    claude_jobs::parse_size(text).map_err(|e| errors::invalid("size", e))
}

/// Parses a duration such as `"30s"`, `"10m"` or `"1h 30m"` into seconds.
/// Raises `InvalidSpecError` (field `"duration"`) when it cannot.
#[pyfunction]
fn parse_duration(text: &str) -> PyResult<f64> {
    claude_jobs::parse_duration(text)
        .map(|d| d.as_secs_f64())
        .map_err(|e| errors::invalid("duration", e))
}

#[pymodule]
#[pyo3(name = "_native")]
fn native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    runtime::install_fork_handler();
    m.add_class::<manager::JobManager>()?;
    m.add_class::<job::Job>()?;
    m.add_class::<events::JobEvent>()?;
    m.add_class::<events::EventStream>()?;
    m.add_class::<events::EventBatches>()?;
    m.add_class::<info::JobInfo>()?;
    m.add_class::<info::Usage>()?;
    m.add_class::<info::ResourceStats>()?;
    m.add_class::<info::ResourceLimits>()?;
    m.add_class::<page::JobPage>()?;
    m.add_class::<workflow::Workflow>()?;
    m.add_function(wrap_pyfunction!(parse_size, m)?)?;
    m.add_function(wrap_pyfunction!(parse_duration, m)?)?;
    m.add_function(wrap_pyfunction!(runtime::drain_at_exit, m)?)?;
    let states = claude_jobs::JobState::ALL;
    m.add("JOB_STATES", states.iter().map(|s| s.as_str()).collect::<Vec<_>>())?;
    let finals = states.iter().filter(|s| s.is_final()).map(|s| s.as_str());
    m.add("FINAL_STATES", finals.collect::<Vec<_>>())?;
    let codes = claude_jobs::ErrorKind::ALL.iter().map(|k| k.code());
    m.add("ERROR_CODES", codes.collect::<Vec<_>>())?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
