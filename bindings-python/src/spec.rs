//! `submit(...)` keyword arguments → the core's [`JobSpec`].

use pyo3::prelude::*;
use pyo3::types::PyString;

use claude_jobs::{JobSpec, RunAs};

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
            ..JobSpec::default()
        };
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
        let item = item?;
        if let Ok(s) = item.cast::<PyString>() {
            ids.push(s.to_cow()?.into_owned());
        } else if let Ok(job) = item.cast::<Job>() {
            ids.push(job.get().id_str()?.to_owned());
        } else {
            return Err(invalid("depends_on", "expected job ids (str) or Job objects"));
        }
    }
    Ok(ids)
}
