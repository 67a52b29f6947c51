//! Node binding of `claude-jobs` (napi-rs v3): the native addon behind the
//! npm package `claude-jobs`.
//!
//! The addon is deliberately thin and one to one with the core:
//! [`manager::NativeJobManager`] wraps `JobManager`, [`job::NativeJob`] wraps
//! `Job`, [`events::NativeEventStream`] wraps `EventStream`. Every async
//! method runs on napi's tokio runtime and returns a Promise, so the JS event
//! loop never blocks; `submit`, `get` and `wait` return their value instead
//! when it is there on the first poll (`now.rs`). Values cross as plain objects (camelCase keys, see
//! `info.rs` and `events.rs`); errors cross as a JSON payload (`errors.rs`)
//! that `index.js` turns into `ClaudeJobsError`s with `code`, `field`, `jobId`.
//!
//! The public JS API (`index.js`, `index.mjs`, `index.d.ts`) is hand-written
//! on top of this module; the generated `native.js`/`native.d.ts` are private.

mod convert;
mod errors;
mod events;
mod info;
mod job;
mod manager;
mod now;
mod options;
mod registry;
mod spec;

use napi_derive::napi;

/// The stable error codes, in the core's order (`ErrorKind::code()`).
#[napi]
pub fn error_codes() -> Vec<&'static str> {
    claude_jobs::ErrorKind::ALL
        .iter()
        .map(|k| k.code())
        .collect()
}

/// Every job state, in the core's order (`JobState::as_str()`).
#[napi]
pub fn job_states() -> Vec<&'static str> {
    claude_jobs::JobState::ALL
        .iter()
        .map(|s| s.as_str())
        .collect()
}

/// The prefix of a native error message that carries a JSON payload.
#[napi]
pub fn error_prefix() -> &'static str {
    errors::PREFIX
}

/// SIGKILLs the process group of every job still running in this process;
/// returns how many. `index.js` calls it on `process.on('exit')`.
#[napi]
pub fn kill_running_jobs() -> u32 {
    registry::kill_running()
}
