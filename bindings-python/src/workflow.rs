//! [`Workflow`]: the jobs of one `await manager.submit_workflow(...)`.

use pyo3::prelude::*;

use crate::job::Job;
use crate::process_local::ProcessLocal;

/// The jobs of one workflow run, in step order.
#[pyclass(frozen, module = "claude_jobs", name = "Workflow")]
pub struct Workflow {
    inner: ProcessLocal<claude_jobs::Workflow>,
}

impl From<claude_jobs::Workflow> for Workflow {
    fn from(w: claude_jobs::Workflow) -> Self {
        Workflow {
            inner: ProcessLocal::new(w),
        }
    }
}

impl Workflow {
    fn core(&self) -> PyResult<&claude_jobs::Workflow> {
        self.inner.get("Workflow")
    }
}

#[pymethods]
impl Workflow {
    /// The workflow's name (`"brand"`).
    #[getter]
    fn name(&self) -> PyResult<String> {
        Ok(self.core()?.name.clone())
    }

    /// `(step name, Job)` pairs, in the workflow file's order.
    #[getter]
    fn steps(&self) -> PyResult<Vec<(String, Job)>> {
        Ok(self.core()?.steps.iter().map(|(s, j)| (s.clone(), Job::new(j.clone()))).collect())
    }

    /// The job of step `step`, or None when the workflow has no such step.
    fn job(&self, step: &str) -> PyResult<Option<Job>> {
        Ok(self.core()?.job(step).cloned().map(Job::new))
    }

    /// The last step's job (its output is the workflow's result).
    fn last(&self) -> PyResult<Job> {
        Ok(Job::new(self.core()?.last().clone()))
    }

    fn __repr__(&self) -> PyResult<String> {
        let w = self.core()?;
        let steps: Vec<String> = w.steps.iter().map(|(s, j)| format!("{s}={}", j.id())).collect();
        Ok(format!("Workflow(name={:?}, steps=[{}])", w.name, steps.join(", ")))
    }
}
