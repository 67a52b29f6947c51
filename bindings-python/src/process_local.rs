//! [`ProcessLocal`]: a core handle that only works in the process that made it.
//!
//! After `fork()` the child holds copies of the parent's `JobManager`, `Job`
//! and event-stream objects, but not the threads and tasks behind them (the
//! admission loop, the job runners). Using them would hang; dropping them
//! could touch locks held by threads that no longer exist. So in another
//! process every use raises `ClaudeJobsError` and dropping leaks the value.

use std::mem::ManuallyDrop;

use pyo3::PyResult;

use crate::errors;
use crate::runtime::current_pid;

/// A value usable only in the process that created it.
pub struct ProcessLocal<T> {
    pid: u32,
    value: ManuallyDrop<T>,
}

impl<T> ProcessLocal<T> {
    /// Wraps `value`, owned by the current process.
    pub fn new(value: T) -> Self {
        ProcessLocal {
            pid: current_pid(),
            value: ManuallyDrop::new(value),
        }
    }

    /// The value, or a `ClaudeJobsError` in a forked child. `what` names the
    /// object in the message (`"JobManager"`).
    pub fn get(&self, what: &str) -> PyResult<&T> {
        if self.pid == current_pid() {
            Ok(&self.value)
        } else {
            Err(errors::plain(format!(
                "this {what} was created in process {} before a fork and cannot be used in process {}; \
                 create a new JobManager in this process",
                self.pid,
                current_pid()
            )))
        }
    }
}

impl<T> Drop for ProcessLocal<T> {
    fn drop(&mut self) {
        if self.pid == current_pid() {
            // SAFETY: dropped once, here; never used again.
            unsafe { ManuallyDrop::drop(&mut self.value) }
        }
    }
}
