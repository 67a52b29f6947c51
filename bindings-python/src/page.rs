//! [`JobPage`]: one page of `await manager.list(...)`.

use pyo3::prelude::*;

use crate::info::JobInfo;

/// Jobs newest first, and the cursor of the next page (`None` on the last).
#[pyclass(frozen, get_all, module = "claude_jobs", name = "JobPage")]
pub struct JobPage {
    jobs: Vec<JobInfo>,
    next_cursor: Option<String>,
}

impl From<claude_jobs::JobPage> for JobPage {
    fn from(p: claude_jobs::JobPage) -> Self {
        JobPage {
            jobs: p.jobs.into_iter().map(JobInfo::from).collect(),
            next_cursor: p.next_cursor,
        }
    }
}

#[pymethods]
impl JobPage {
    fn __len__(&self) -> usize {
        self.jobs.len()
    }

    fn __repr__(&self) -> String {
        format!("JobPage(jobs=<{} jobs>, next_cursor={:?})", self.jobs.len(), self.next_cursor)
    }
}
