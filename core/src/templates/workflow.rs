//! Workflows as data: a YAML file (built in under `instructions/workflows/`,
//! or in a templates dir's `workflows/` folder) names its steps, the
//! template each runs, and which earlier step's output fills which variable.
//!
//! ```text
//! name: brand
//! description: Research, then a brief, then a draft.
//! steps:
//!   - { name: research, template: brand-data }
//!   - { name: brief, template: brief, inputs: { research: research } }
//!   - { name: draft, template: draft, inputs: { brief: brief } }
//! ```

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::TemplateSet;
use crate::error::{Error, Result};

/// One step of a workflow.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkflowStep {
    /// The step's name, unique in its workflow.
    pub name: String,
    /// The template it runs.
    pub template: String,
    /// Template variable → the earlier step whose output fills it.
    #[serde(default)]
    pub inputs: BTreeMap<String, String>,
}

/// A workflow: steps run in order of their inputs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkflowDef {
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub steps: Vec<WorkflowStep>,
    /// Where it was loaded from (`built-in` for the shipped ones).
    #[serde(skip_deserializing, default)]
    pub source: String,
}

impl WorkflowDef {
    /// Parses a workflow file's text and checks its steps against `templates`.
    pub fn parse(text: &str, source: &str, templates: &TemplateSet) -> Result<WorkflowDef> {
        let err = |reason: String| Error::Template {
            template: source.to_string(),
            field: None,
            reason,
        };
        let mut w: WorkflowDef = serde_yaml_ng::from_str(text).map_err(|e| err(format!("workflow: {e}")))?;
        w.source = source.to_string();
        if w.steps.is_empty() {
            return Err(err("a workflow needs at least one step".into()));
        }
        for (i, step) in w.steps.iter().enumerate() {
            let t = templates.get(&step.template).map_err(|e| err(format!("step {}: {e}", step.name)))?;
            if w.steps[..i].iter().any(|s| s.name == step.name) {
                return Err(err(format!("two steps are called {}", step.name)));
            }
            for (var, from) in &step.inputs {
                if !w.steps[..i].iter().any(|s| &s.name == from) {
                    return Err(err(format!("step {}: input {var} names {from}, not an earlier step", step.name)));
                }
                if !t.variables.contains_key(var) {
                    return Err(err(format!("step {}: template {} has no variable {var}", step.name, t.name)));
                }
            }
        }
        Ok(w)
    }

    /// The variables a caller may give: those the steps' templates declare,
    /// less those filled from earlier steps.
    pub fn variables(&self, templates: &TemplateSet) -> BTreeMap<String, crate::templates::VariableSpec> {
        let mut out = BTreeMap::new();
        for step in &self.steps {
            if let Ok(t) = templates.get(&step.template) {
                for (k, v) in &t.variables {
                    if !step.inputs.contains_key(k) {
                        out.entry(k.clone()).or_insert_with(|| v.clone());
                    }
                }
            }
        }
        out
    }
}
