//! [`Workflow`]: the jobs of one run of a workflow file (see
//! [`crate::templates::WorkflowDef`]), submitted as a chain of dependent jobs.

use std::collections::BTreeMap;

use super::JobManager;
use crate::error::{Error, Result};
use crate::job::Job;
use crate::spec::JobSpec;
use crate::templates::{TemplateSet, WorkflowDef};

/// The jobs of one workflow run, in step order.
#[derive(Debug, Clone)]
pub struct Workflow {
    /// The workflow's name.
    pub name: String,
    /// `(step name, job)` in the file's order.
    pub steps: Vec<(String, Job)>,
}

impl Workflow {
    /// The job of step `name`.
    pub fn job(&self, name: &str) -> Option<&Job> {
        self.steps.iter().find(|(s, _)| s == name).map(|(_, j)| j)
    }

    /// The last step's job (its output is the workflow's result).
    pub fn last(&self) -> &Job {
        &self.steps.last().expect("a workflow has steps").1
    }
}

impl JobManager {
    /// Submits every step of workflow `name`: each step's template gets the
    /// variables it declares and, for its `inputs`, the output of the
    /// earlier step; a step that fails or is cancelled cancels the later
    /// ones. Every job gets the labels `workflow=<name>` and `step=<step>`.
    ///
    /// Errors: `Template` naming an unknown workflow (field `workflow`), a
    /// missing required variable, or a variable no step declares; then as
    /// [`JobManager::submit`]. Nothing is submitted when the variables do
    /// not fit.
    ///
    /// ```no_run
    /// # async fn demo(manager: claude_jobs::JobManager) -> claude_jobs::Result<()> {
    /// let vars = [("brand".to_string(), "ACME".to_string())].into();
    /// let wf = manager.submit_workflow("brand", &vars).await?;
    /// let draft = wf.last().wait().await;
    /// println!("{:?} {:?}", draft.state, draft.outputs);
    /// # Ok(()) }
    /// ```
    pub async fn submit_workflow(&self, name: &str, variables: &BTreeMap<String, String>) -> Result<Workflow> {
        let templates = &self.inner.templates;
        let def = templates.workflow(name)?;
        let specs = step_specs(def, templates, variables)?;
        let mut steps: Vec<(String, Job)> = Vec::with_capacity(specs.len());
        for (step, mut spec) in specs {
            let inputs = std::mem::take(&mut spec.inputs);
            for (var, from) in inputs {
                let id = steps.iter().find(|(s, _)| *s == from).map(|(_, j)| j.id().to_string());
                spec.inputs.insert(var, id.expect("inputs name earlier steps"));
            }
            match self.submit(spec).await {
                Ok(job) => steps.push((step, job)),
                Err(e) => {
                    for (_, j) in &steps {
                        let _ = j.cancel().await;
                    }
                    return Err(e);
                }
            }
        }
        Ok(Workflow {
            name: def.name.clone(),
            steps,
        })
    }

    /// The workflows this manager knows (built-in and loaded).
    pub async fn workflows(&self) -> Vec<WorkflowDef> {
        self.inner.templates.workflows().cloned().collect()
    }
}

/// Each step's spec, its `inputs` naming steps (not jobs yet); the
/// variables checked against every step first.
fn step_specs(def: &WorkflowDef, templates: &TemplateSet, vars: &BTreeMap<String, String>) -> Result<Vec<(String, JobSpec)>> {
    let declared = def.variables(templates);
    if let Some(k) = vars.keys().find(|k| !declared.contains_key(*k)) {
        return Err(Error::Template {
            template: def.name.clone(),
            field: Some(k.clone()),
            reason: format!(
                "unknown variable {k:?} (the workflow's steps declare: {})",
                declared.keys().cloned().collect::<Vec<_>>().join(", ")
            ),
        });
    }
    let mut out = Vec::with_capacity(def.steps.len());
    for step in &def.steps {
        let t = templates.get(&step.template)?;
        let mine: BTreeMap<String, String> = vars
            .iter()
            .filter(|(k, _)| t.variables.contains_key(*k) && !step.inputs.contains_key(*k))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let pending: Vec<&str> = step.inputs.keys().map(String::as_str).collect();
        t.check_variables(&mine, &pending)?;
        let spec = JobSpec {
            template: Some(step.template.clone()),
            variables: mine,
            inputs: step.inputs.clone(),
            labels: [("workflow".to_string(), def.name.clone()), ("step".to_string(), step.name.clone())].into(),
            ..JobSpec::default()
        };
        out.push((step.name.clone(), spec));
    }
    Ok(out)
}
