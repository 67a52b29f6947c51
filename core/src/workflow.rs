//! The research → brief → draft workflow for one brand: three template jobs,
//! each fed the previous one's output.

use std::collections::BTreeMap;

use crate::error::Result;
use crate::job::Job;
use crate::manager::JobManager;
use crate::spec::JobSpec;

/// Options for [`JobManager::submit_brand_workflow`].
#[derive(Debug, Clone, Default)]
pub struct WorkflowOptions {
    /// Extra variables; each step takes those its template declares
    /// (`website`, `focus`, `objective`, `channel`, `length`).
    pub variables: BTreeMap<String, String>,
    /// Extra environment for every step's CLI.
    pub env: BTreeMap<String, String>,
    /// Labels for every step (a `workflow` label with the brand is added).
    pub labels: BTreeMap<String, String>,
    /// Priority of every step.
    pub priority: i32,
}

/// The three jobs of a brand workflow.
#[derive(Debug, Clone)]
pub struct BrandWorkflow {
    pub research: Job,
    pub brief: Job,
    pub draft: Job,
}

impl BrandWorkflow {
    /// The jobs in order.
    pub fn jobs(&self) -> [&Job; 3] {
        [&self.research, &self.brief, &self.draft]
    }
}

impl JobManager {
    /// Submits `brand-data` → `brief` → `draft` for `brand`: the brief gets
    /// the research as its `research` variable, the draft gets the brief as
    /// `brief`. If a step fails or is cancelled, the later ones are cancelled
    /// with that reason.
    ///
    /// ```no_run
    /// # async fn demo(manager: claude_jobs::JobManager) -> claude_jobs::Result<()> {
    /// let wf = manager.submit_brand_workflow("ACME", Default::default()).await?;
    /// let draft = wf.draft.wait().await;
    /// println!("{:?} {:?}", draft.state, draft.outputs);
    /// # Ok(()) }
    /// ```
    pub async fn submit_brand_workflow(
        &self,
        brand: &str,
        opts: WorkflowOptions,
    ) -> Result<BrandWorkflow> {
        let step = |template: &str| -> Result<crate::spec::JobSpecBuilder> {
            let t = self.templates().get(template)?;
            let mut b = JobSpec::builder()
                .template(template)
                .variable("brand", brand)
                .priority(opts.priority);
            for (k, v) in &opts.variables {
                if t.variables.contains_key(k) && k != "brand" {
                    b = b.variable(k.clone(), v.clone());
                }
            }
            for (k, v) in &opts.env {
                b = b.env(k.clone(), v.clone());
            }
            for (k, v) in &opts.labels {
                b = b.label(k.clone(), v.clone());
            }
            Ok(b.label("workflow", brand))
        };
        let research = self.submit(step("brand-data")?.build()?).await?;
        let brief = self
            .submit(step("brief")?.input("research", research.id()).build()?)
            .await?;
        let draft = self
            .submit(step("draft")?.input("brief", brief.id()).build()?)
            .await?;
        Ok(BrandWorkflow {
            research,
            brief,
            draft,
        })
    }
}
