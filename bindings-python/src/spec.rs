//! `submit(...)` keyword arguments → the core's [`JobSpec`].

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString};

use claude_jobs::{JobSpec, OutputSpec, RunAs};

use crate::convert::{
    duration_arg, float_arg, int_arg, path_arg, size_arg, str_arg, str_list_arg, str_map_arg,
};
use crate::errors::{invalid, IntoPyResult};
use crate::job::Job;

/// The keyword arguments of `JobManager.submit`, as Python gave them.
pub struct SpecArgs<'a, 'py> {
    pub prompt: Option<&'a Bound<'py, PyAny>>,
    pub template: Option<&'a Bound<'py, PyAny>>,
    pub variables: Option<&'a Bound<'py, PyAny>>,
    pub working_dir: Option<&'a Bound<'py, PyAny>>,
    pub env: Option<&'a Bound<'py, PyAny>>,
    pub model: Option<&'a Bound<'py, PyAny>>,
    pub allowed_tools: Option<&'a Bound<'py, PyAny>>,
    pub max_turns: Option<&'a Bound<'py, PyAny>>,
    pub max_budget_usd: Option<&'a Bound<'py, PyAny>>,
    pub extra_args: Option<&'a Bound<'py, PyAny>>,
    pub cpus: Option<&'a Bound<'py, PyAny>>,
    pub memory: Option<&'a Bound<'py, PyAny>>,
    pub pids: Option<&'a Bound<'py, PyAny>>,
    pub timeout: Option<&'a Bound<'py, PyAny>>,
    pub idle_timeout: Option<&'a Bound<'py, PyAny>>,
    pub priority: Option<&'a Bound<'py, PyAny>>,
    pub labels: Option<&'a Bound<'py, PyAny>>,
    pub run_as: Option<&'a Bound<'py, PyAny>>,
    pub depends_on: Option<&'a Bound<'py, PyAny>>,
    pub inputs: Option<&'a Bound<'py, PyAny>>,
    pub output: Option<&'a Bound<'py, PyAny>>,
    pub max_attempts: Option<&'a Bound<'py, PyAny>>,
}

impl SpecArgs<'_, '_> {
    /// Converts and validates every argument; the first bad one raises
    /// `InvalidSpecError` naming it. The manager checks the host-dependent
    /// parts (CPU count, working dir, dependencies) again on submit.
    pub fn to_spec(&self) -> PyResult<JobSpec> {
        let mut spec = JobSpec {
            prompt: str_arg("prompt", self.prompt)?.unwrap_or_default(),
            template: str_arg("template", self.template)?,
            variables: str_map_arg("variables", self.variables, true)?.unwrap_or_default(),
            working_dir: path_arg("working_dir", self.working_dir)?,
            env: str_map_arg("env", self.env, false)?.unwrap_or_default(),
            model: str_arg("model", self.model)?,
            allowed_tools: str_list_arg("allowed_tools", self.allowed_tools)?.unwrap_or_default(),
            max_turns: int_arg::<u32>("max_turns", self.max_turns, "a number of turns")?,
            max_budget_usd: float_arg("max_budget_usd", self.max_budget_usd, "an amount in USD")?,
            extra_args: str_list_arg("extra_args", self.extra_args)?.unwrap_or_default(),
            timeout: duration_arg("timeout", self.timeout)?,
            idle_timeout: duration_arg("idle_timeout", self.idle_timeout)?,
            priority: int_arg::<i32>("priority", self.priority, "an integer")?.unwrap_or(0),
            labels: str_map_arg("labels", self.labels, false)?.unwrap_or_default(),
            run_as: run_as_arg(self.run_as)?,
            depends_on: depends_on_arg(self.depends_on)?,
            output: output_arg(self.output)?,
            max_attempts: int_arg::<u32>("max_attempts", self.max_attempts, "a number of attempts")?.unwrap_or(1),
            ..JobSpec::default()
        };
        // Each input's job is a dependency too (as the core's builder does).
        for (var, id) in inputs_arg(self.inputs)? {
            if !spec.depends_on.contains(&id) {
                spec.depends_on.push(id.clone());
            }
            spec.inputs.insert(var, id);
        }
        spec.limits.cpus = float_arg("cpus", self.cpus, "a number of cores")?;
        spec.limits.memory = size_arg("memory", self.memory)?;
        spec.limits.pids = int_arg::<u64>("pids", self.pids, "a number of processes")?;
        spec.validate().py_err()?;
        Ok(spec)
    }
}

/// `(uid, gid)`.
fn run_as_arg(obj: Option<&Bound<'_, PyAny>>) -> PyResult<Option<RunAs>> {
    let Some(o) = obj.filter(|o| !o.is_none()) else { return Ok(None) };
    let pair: (Bound<'_, PyAny>, Bound<'_, PyAny>) = o
        .extract()
        .map_err(|_| invalid("run_as", "expected a (uid, gid) tuple"))?;
    let uid = int_arg::<u32>("run_as", Some(&pair.0), "a uid")?.unwrap_or(0);
    let gid = int_arg::<u32>("run_as", Some(&pair.1), "a gid")?.unwrap_or(0);
    Ok(Some(RunAs { uid, gid }))
}

/// A job id given as a string or a `Job`.
fn job_id_of(field: &str, item: &Bound<'_, PyAny>) -> PyResult<String> {
    if let Ok(s) = item.cast::<PyString>() {
        Ok(s.to_cow()?.into_owned())
    } else if let Ok(job) = item.cast::<Job>() {
        Ok(job.get().id_str()?.to_owned())
    } else {
        Err(invalid(field, "expected job ids (str) or Job objects"))
    }
}

/// `{variable: job id or Job}`: template variables filled from other jobs' outputs.
fn inputs_arg(obj: Option<&Bound<'_, PyAny>>) -> PyResult<Vec<(String, String)>> {
    let Some(o) = obj.filter(|o| !o.is_none()) else { return Ok(Vec::new()) };
    let d = o
        .cast::<PyDict>()
        .map_err(|_| invalid("inputs", "expected a dict of template variable -> job id (or Job)"))?;
    let mut out = Vec::new();
    for (k, v) in d.iter() {
        let var = k
            .cast::<PyString>()
            .map_err(|_| invalid("inputs", "variable names must be strings"))?
            .to_cow()?
            .into_owned();
        out.push((var, job_id_of("inputs", &v)?));
    }
    Ok(out)
}

/// `{"file": ..., "folder": ..., "name": ...}`: the output file to collect.
fn output_arg(obj: Option<&Bound<'_, PyAny>>) -> PyResult<Option<OutputSpec>> {
    let Some(o) = obj.filter(|o| !o.is_none()) else { return Ok(None) };
    let d = o
        .cast::<PyDict>()
        .map_err(|_| invalid("output", "expected a dict with file, folder and optionally name"))?;
    let get = |key: &str| -> PyResult<Option<String>> { str_arg("output", d.get_item(key)?.as_ref()) };
    for k in d.keys() {
        let k: String = k.extract().unwrap_or_default();
        if !matches!(k.as_str(), "file" | "folder" | "name") {
            return Err(invalid("output", format!("unknown key {k:?} (expected file, folder, name)")));
        }
    }
    Ok(Some(OutputSpec {
        file: get("file")?.ok_or_else(|| invalid("output", "\"file\" is required"))?,
        folder: get("folder")?.ok_or_else(|| invalid("output", "\"folder\" is required"))?,
        name: get("name")?,
    }))
}

/// Job ids or `Job` objects.
fn depends_on_arg(obj: Option<&Bound<'_, PyAny>>) -> PyResult<Vec<String>> {
    let Some(o) = obj.filter(|o| !o.is_none()) else { return Ok(Vec::new()) };
    if o.is_instance_of::<PyString>() {
        return Err(invalid("depends_on", "expected a list of job ids, got a single string"));
    }
    let iter = o
        .try_iter()
        .map_err(|_| invalid("depends_on", "expected a list of job ids or Job objects"))?;
    let mut ids = Vec::new();
    for item in iter {
        ids.push(job_id_of("depends_on", &item?)?);
    }
    Ok(ids)
}
