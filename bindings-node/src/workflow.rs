//! [`NativeWorkflow`]: the native half of the JS `Workflow` (the jobs of one
//! `manager.submitWorkflow(...)`); `index.js` builds `steps` from it.

use claude_jobs::Workflow;
use napi_derive::napi;

use crate::job::NativeJob;

/// The jobs of one workflow run, in step order.
#[napi]
pub struct NativeWorkflow {
    wf: Workflow,
}

impl NativeWorkflow {
    pub(crate) fn new(wf: Workflow) -> Self {
        NativeWorkflow { wf }
    }
}

#[napi]
impl NativeWorkflow {
    /// The workflow's name.
    #[napi(getter)]
    pub fn name(&self) -> String {
        self.wf.name.clone()
    }

    /// The step names, in order.
    #[napi]
    pub fn step_names(&self) -> Vec<String> {
        self.wf.steps.iter().map(|(s, _)| s.clone()).collect()
    }

    /// The job of the step at `index` (in `stepNames()` order).
    #[napi]
    pub fn job_at(&self, index: u32) -> Option<NativeJob> {
        self.wf.steps.get(index as usize).map(|(_, j)| NativeJob::new(j.clone()))
    }
}
