//! Node binding of `claude-jobs` (napi-rs v3): the native addon behind the
//! npm package `claude-jobs`.
//!
//! The addon is deliberately thin and one to one with the core:
//! [`manager::NativeJobManager`] wraps `JobManager`, [`job::NativeJob`] wraps
//! `Job`, [`events::NativeEventStream`] wraps `EventStream`,
//! [`workflow::NativeWorkflow`] wraps `Workflow`. Options, specs and list
//! queries are read by the core in the JavaScript spelling (`wire.rs`: the
//! addon converts names and units only). Every async method runs on napi's
//! tokio runtime and returns a Promise, so the JS event loop never blocks;
//! `submit`, `get` and `wait` return their value instead when it is there on
//! the first poll (`now.rs`). Values cross as plain objects (camelCase keys,
//! see `info.rs` and `events.rs`); errors cross as a JSON payload
//! (`errors.rs`) that `index.js` turns into `ClaudeJobsError`s with `code`,
//! `field`, `jobId`.
//!
//! The public JS API (`index.js`, `index.mjs`, `index.d.ts`) is hand-written
//! on top of this module; the generated `native.js`/`native.d.ts` are private.

mod errors;
mod events;
mod info;
mod job;
mod manager;
mod now;
mod wire;
mod workflow;

use napi_derive::napi;

/// The stable error codes, in the core's order (`ErrorKind::code()`).
#[napi]
pub fn error_codes() -> Vec<&'static str> {
    claude_jobs::ErrorKind::ALL.iter().map(|k| k.code()).collect()
}

/// Every job state, in the core's order (`JobState::as_str()`).
#[napi]
pub fn job_states() -> Vec<&'static str> {
    claude_jobs::JobState::ALL.iter().map(|s| s.as_str()).collect()
}

/// The states a job never leaves (`JobState::is_final()`).
#[napi]
pub fn final_states() -> Vec<&'static str> {
    claude_jobs::JobState::ALL
        .iter()
        .filter(|s| s.is_final())
        .map(|s| s.as_str())
        .collect()
}

/// The prefix of a native error message that carries a JSON payload.
#[napi]
pub fn error_prefix() -> &'static str {
    errors::PREFIX
}

/// A size such as `'512M'` or `'1.5G'` (powers of 1024) in bytes.
#[napi]
pub fn parse_size(text: String) -> napi::Result<f64> {
    claude_jobs::parse_size(&text)
        .map(|b| b as f64)
        .map_err(|e| errors::JsError::invalid("size", e).into_napi())
}

/// A duration such as `'30s'`, `'10m'` or `'1h 30m'` in milliseconds.
#[napi]
pub fn parse_duration(text: String) -> napi::Result<f64> {
    claude_jobs::parse_duration(&text)
        .map(|d| d.as_millis() as f64)
        .map_err(|e| errors::JsError::invalid("duration", e).into_napi())
}
