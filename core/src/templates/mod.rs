//! Instruction templates: markdown prompts with YAML front matter that name
//! the template, declare its variables, and carry the job's defaults
//! (limits, timeout, tools) and its output file.
//!
//! ```text
//! ---
//! name: brief
//! description: A creative brief from brand research
//! variables:
//!   brand: { required: true, description: The brand name }
//!   research: { required: true, description: The brand research }
//!   tone: { required: false, default: friendly, description: Tone of voice }
//! limits: { cpus: 0.8, memory: 800M, timeout: 5m }
//! allowed_tools: [Read, Write]
//! output: { file: brief.md, folder: brief-outputs, name: "{{ brand }}-brief.md" }
//! ---
//! Write a brief for {{ brand }} …
//! ```
//!
//! Rendering is strict: an undefined variable is an error, never an empty string.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::units::{parse_duration, parse_size};
pub use crate::spec::{safe_file_name, OutputSpec};
use crate::spec::JobSpec;

mod workflow;

pub use workflow::{WorkflowDef, WorkflowStep};

/// The workflows shipped in `instructions/workflows/`.
const BUILT_IN_WORKFLOWS: &[(&str, &str)] = &[(
    "brand.yaml",
    include_str!("../../instructions/workflows/brand.yaml"),
)];

/// The templates shipped in `instructions/`.
const BUILT_IN: &[(&str, &str)] = &[
    (
        "brand-data.md",
        include_str!("../../instructions/brand-data.md"),
    ),
    ("brief.md", include_str!("../../instructions/brief.md")),
    ("draft.md", include_str!("../../instructions/draft.md")),
];

/// A declared template variable.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct VariableSpec {
    pub required: bool,
    pub description: String,
    pub default: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
struct TemplateLimits {
    cpus: Option<f64>,
    memory: Option<String>,
    pids: Option<u64>,
    timeout: Option<String>,
    idle_timeout: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
struct FrontMatter {
    name: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    variables: BTreeMap<String, VariableSpec>,
    #[serde(default)]
    limits: TemplateLimits,
    #[serde(default)]
    allowed_tools: Vec<String>,
    #[serde(default)]
    model: Option<String>,
    #[serde(default)]
    output: Option<OutputSpec>,
}

/// One loaded template.
#[derive(Debug, Clone)]
pub struct Template {
    pub name: String,
    pub description: String,
    pub variables: BTreeMap<String, VariableSpec>,
    pub allowed_tools: Vec<String>,
    pub model: Option<String>,
    pub output: Option<OutputSpec>,
    pub limits: crate::ResourceLimits,
    pub timeout: Option<Duration>,
    pub idle_timeout: Option<Duration>,
    /// Where it was loaded from (`built-in` for the shipped ones).
    pub source: String,
    body: String,
}

impl Template {
    /// Parses a template file's text.
    pub fn parse(text: &str, source: &str) -> Result<Template> {
        let err = |reason: String| Error::Template {
            template: source.to_string(),
            field: None,
            reason,
        };
        let rest = text
            .strip_prefix("---\n")
            .or_else(|| text.strip_prefix("---\r\n"))
            .ok_or_else(|| err("must start with a '---' front matter block".into()))?;
        let end = rest
            .find("\n---")
            .ok_or_else(|| err("front matter has no closing '---'".into()))?;
        let fm: FrontMatter =
            serde_yaml_ng::from_str(&rest[..end]).map_err(|e| err(format!("front matter: {e}")))?;
        let body = rest[end + 4..]
            .trim_start_matches(['-'])
            .trim_start_matches(['\r', '\n'])
            .to_string();
        let l = fm.limits;
        let limits = crate::ResourceLimits {
            cpus: l.cpus,
            memory: l
                .memory
                .as_deref()
                .map(parse_size)
                .transpose()
                .map_err(|e| err(format!("limits.memory: {e}")))?,
            pids: l.pids,
        };
        let dur = |s: &Option<String>, f: &str| {
            s.as_deref()
                .map(parse_duration)
                .transpose()
                .map_err(|e| err(format!("limits.{f}: {e}")))
        };
        let t = Template {
            timeout: dur(&l.timeout, "timeout")?,
            idle_timeout: dur(&l.idle_timeout, "idle_timeout")?,
            name: fm.name,
            description: fm.description,
            variables: fm.variables,
            allowed_tools: fm.allowed_tools,
            model: fm.model,
            output: fm.output,
            limits,
            source: source.to_string(),
            body,
        };
        // Catch syntax errors at load time.
        env()
            .template_from_str(&t.body)
            .map_err(|e| err(format!("syntax: {e}")))?;
        Ok(t)
    }

    /// Checks `vars` against the declared variables: every required one given
    /// (or among `pending`, filled later from a dependency), none unknown.
    pub fn check_variables(&self, vars: &BTreeMap<String, String>, pending: &[&str]) -> Result<()> {
        for name in vars
            .keys()
            .map(String::as_str)
            .chain(pending.iter().copied())
        {
            if !self.variables.contains_key(name) {
                return Err(self.error(
                    name,
                    format!(
                        "unknown variable {name:?} (declared: {})",
                        self.variables
                            .keys()
                            .cloned()
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                ));
            }
        }
        for (name, v) in &self.variables {
            if v.required && !vars.contains_key(name) && !pending.contains(&name.as_str()) {
                return Err(self.error(
                    name,
                    format!("missing required variable {name:?} ({})", v.description),
                ));
            }
        }
        Ok(())
    }

    fn error(&self, field: &str, reason: String) -> Error {
        Error::Template {
            template: self.name.clone(),
            field: Some(field.to_string()),
            reason,
        }
    }

    /// The variables with defaults filled in.
    fn context(&self, vars: &BTreeMap<String, String>) -> BTreeMap<String, String> {
        let mut ctx: BTreeMap<String, String> = self
            .variables
            .iter()
            .filter_map(|(k, v)| v.default.clone().map(|d| (k.clone(), d)))
            .collect();
        ctx.extend(vars.iter().map(|(k, v)| (k.clone(), v.clone())));
        ctx
    }

    /// Renders the prompt (strict: an undefined variable is an error).
    pub fn render(&self, vars: &BTreeMap<String, String>) -> Result<String> {
        self.check_variables(vars, &[])?;
        let mut ctx = self.context(vars);
        if let Some(o) = &self.output {
            ctx.insert("output_file".into(), o.file.clone());
        }
        render_str(&self.body, &ctx).map_err(|e| self.error("template", e))
    }

    /// The collected output's safe file name for these variables.
    pub fn output_name(&self, vars: &BTreeMap<String, String>) -> Option<String> {
        let o = self.output.as_ref()?;
        let raw = match &o.name {
            Some(n) => render_str(n, &self.context(vars)).unwrap_or_else(|_| o.file.clone()),
            None => o.file.clone(),
        };
        Some(safe_file_name(&raw))
    }

    /// Applies the template's defaults to a spec: fields the spec sets win.
    pub(crate) fn apply_defaults(&self, spec: &mut JobSpec) {
        spec.set_limits(spec.limits().or(self.limits));
        spec.timeout = spec.timeout.or(self.timeout);
        spec.idle_timeout = spec.idle_timeout.or(self.idle_timeout);
        if spec.allowed_tools.is_empty() {
            spec.allowed_tools = self.allowed_tools.clone();
        }
        if spec.model.is_none() {
            spec.model = self.model.clone();
        }
    }
}

fn env() -> minijinja::Environment<'static> {
    let mut env = minijinja::Environment::new();
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
    env.set_keep_trailing_newline(true);
    env
}

fn render_str(src: &str, ctx: &BTreeMap<String, String>) -> std::result::Result<String, String> {
    let env = env();
    let t = env.template_from_str(src).map_err(|e| e.to_string())?;
    t.render(ctx).map_err(|e| {
        let mut msg = e.to_string();
        if let Some(detail) = e.detail() {
            msg = format!("{msg}: {detail}");
        }
        msg
    })
}

/// The templates a manager knows: the built-in ones, then those of the
/// folders added (a later one with the same name replaces an earlier one).
#[derive(Debug, Clone)]
pub struct TemplateSet {
    templates: BTreeMap<String, Template>,
    workflows: BTreeMap<String, WorkflowDef>,
}

impl TemplateSet {
    /// The built-in templates (`brand-data`, `brief`, `draft`).
    pub fn built_in() -> Self {
        let mut set = TemplateSet {
            templates: BTreeMap::new(),
            workflows: BTreeMap::new(),
        };
        for (file, text) in BUILT_IN {
            let t = Template::parse(text, &format!("built-in {file}"))
                .expect("built-in templates parse");
            set.templates.insert(t.name.clone(), t);
        }
        for (file, text) in BUILT_IN_WORKFLOWS {
            let w = WorkflowDef::parse(text, &format!("built-in {file}"), &set)
                .expect("built-in workflows parse");
            set.workflows.insert(w.name.clone(), w);
        }
        set
    }

    /// Adds every `*.md` template of `dir`.
    pub fn add_dir(&mut self, dir: &Path) -> Result<()> {
        let rd = std::fs::read_dir(dir)
            .map_err(|e| Error::io(format!("templates dir {}", dir.display()), e))?;
        let mut files: Vec<PathBuf> = rd
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().map(|e| e == "md").unwrap_or(false))
            .collect();
        files.sort();
        for f in files {
            let text = std::fs::read_to_string(&f)
                .map_err(|e| Error::io(format!("template {}", f.display()), e))?;
            let t = Template::parse(&text, &f.display().to_string())?;
            self.templates.insert(t.name.clone(), t);
        }
        self.add_workflows(&dir.join("workflows"))
    }

    /// Adds every `*.yaml` / `*.yml` workflow of `dir`, if it exists.
    fn add_workflows(&mut self, dir: &Path) -> Result<()> {
        let Ok(rd) = std::fs::read_dir(dir) else {
            return Ok(());
        };
        let mut files: Vec<PathBuf> = rd
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "yaml" || e == "yml"))
            .collect();
        files.sort();
        for f in files {
            let text = std::fs::read_to_string(&f)
                .map_err(|e| Error::io(format!("workflow {}", f.display()), e))?;
            let w = WorkflowDef::parse(&text, &f.display().to_string(), self)?;
            self.workflows.insert(w.name.clone(), w);
        }
        Ok(())
    }

    /// The workflow called `name`.
    pub fn workflow(&self, name: &str) -> Result<&WorkflowDef> {
        self.workflows.get(name).ok_or_else(|| Error::Template {
            template: name.to_string(),
            field: Some("workflow".into()),
            reason: format!(
                "unknown workflow {name:?} (known: {})",
                self.workflows.keys().cloned().collect::<Vec<_>>().join(", ")
            ),
        })
    }

    /// Every workflow, by name.
    pub fn workflows(&self) -> impl Iterator<Item = &WorkflowDef> {
        self.workflows.values()
    }

    /// The template called `name`.
    pub fn get(&self, name: &str) -> Result<&Template> {
        self.templates.get(name).ok_or_else(|| Error::Template {
            template: name.to_string(),
            field: Some("template".into()),
            reason: format!(
                "unknown template {name:?} (known: {})",
                self.templates
                    .keys()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        })
    }

    /// Every template, by name.
    pub fn iter(&self) -> impl Iterator<Item = &Template> {
        self.templates.values()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(kv: &[(&str, &str)]) -> BTreeMap<String, String> {
        kv.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn built_ins_load_with_the_seed_defaults() {
        let set = TemplateSet::built_in();
        let r = set.get("brand-data").unwrap();
        assert_eq!(r.limits.cpus, Some(1.0));
        assert_eq!(r.limits.memory, Some(1 << 30));
        assert_eq!(r.timeout, Some(Duration::from_secs(15 * 60)));
        assert!(r.allowed_tools.iter().any(|t| t == "WebSearch"));
        assert_eq!(r.output.as_ref().unwrap().folder, "brand-data");
        let b = set.get("brief").unwrap();
        assert_eq!(
            (b.limits.cpus, b.limits.memory, b.timeout),
            (Some(0.8), Some(800 << 20), Some(Duration::from_secs(300)))
        );
        assert_eq!(b.output.as_ref().unwrap().folder, "brief-outputs");
        let d = set.get("draft").unwrap();
        assert_eq!(
            (d.limits.cpus, d.limits.memory, d.timeout),
            (Some(0.8), Some(800 << 20), Some(Duration::from_secs(480)))
        );
        assert_eq!(d.output.as_ref().unwrap().folder, "draft-outputs");
    }

    #[test]
    fn variables_are_strict() {
        let set = TemplateSet::built_in();
        let b = set.get("brief").unwrap();
        let e = b.render(&vars(&[("brand", "ACME")])).unwrap_err();
        assert_eq!(e.field(), Some("research"), "{e}");
        let e = b
            .render(&vars(&[
                ("brand", "ACME"),
                ("research", "r"),
                ("colour", "red"),
            ]))
            .unwrap_err();
        assert_eq!(e.field(), Some("colour"), "{e}");
        let text = b
            .render(&vars(&[
                ("brand", "ACME"),
                ("research", "facts about acme"),
            ]))
            .unwrap();
        assert!(text.contains("ACME") && text.contains("facts about acme"));
        assert!(text.contains("Output file: brief.md"), "{text}");
        let e = set.get("nope").unwrap_err();
        assert_eq!(e.kind(), crate::ErrorKind::Template);
        assert_eq!(e.field(), Some("template"));
    }

    #[test]
    fn undefined_in_the_body_is_an_error() {
        let t = Template::parse(
            "---\nname: t\nvariables: {a: {required: true}}\n---\n{{ a }} {{ b }}",
            "t",
        )
        .unwrap();
        let e = t.render(&vars(&[("a", "1")])).unwrap_err();
        assert!(e.to_string().contains("undefined"), "{e}");
    }

    #[test]
    fn output_names_cannot_escape() {
        let set = TemplateSet::built_in();
        let b = set.get("brief").unwrap();
        let name = b.output_name(&vars(&[("brand", "../../etc/x")])).unwrap();
        assert!(!name.contains('/') && !name.starts_with('.'), "{name}");
        assert_eq!(safe_file_name(".."), "output");
        assert_eq!(safe_file_name("/etc/passwd"), "etc-passwd");
        assert_eq!(safe_file_name("a/../../b"), "a-.-.-b");
    }
}
