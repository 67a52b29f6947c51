//! Submitting a job (its spec checked against the templates, the host and
//! the budgets, then stored `queued` with its first event), cancelling one,
//! and the prompt of a job whose variables come from its dependencies.

use std::sync::Arc;

use super::agent::Resumed;
use super::end::Ending;
use super::Inner;
use crate::error::{Error, Result};
use crate::events::{EventLog, JobEvent};
use crate::job::{Job, JobCell, Stop};
use crate::spec::JobSpec;
use crate::state::{JobInfo, JobState};
use crate::store::{Inserted, JobRecord};
use crate::util::now_ms;

/// The most bytes of a dependency's output that fill a variable.
const MAX_INPUT_BYTES: u64 = 16 << 20;

impl Inner {
    pub(super) async fn submit(&self, spec: JobSpec) -> Result<Job> {
        if self.admission.is_shutting_down() {
            return Err(Error::ShuttingDown);
        }
        let (spec, resumed) = self.prepare(spec).await?;
        let id = uuid::Uuid::now_v7().to_string();
        let mut info = JobInfo::queued(id.clone(), &spec, now_ms());
        info.log_dir = Some(self.opts.data_dir.join("jobs").join(&id));
        if let Some(r) = resumed {
            info.resumed_session = Some(r.session_id);
            info.work_dir = Some(r.work_dir);
            info.config_dir = r.config_dir;
        }
        let cell = JobCell::new(Arc::new(spec), info.clone(), EventLog::new(self.opts.event_bound()));
        cell.emit(JobEvent::Queued { priority: info.priority });
        let cell = self.handles.intern(cell);
        let record = JobRecord {
            info,
            spec: (*cell.spec).clone(),
        };
        let inserted = self.store.store.insert(&record, &cell.events.since(0, usize::MAX)).await;
        match inserted {
            Ok(Inserted::New) => {}
            Ok(other) => {
                self.handles.remove(&id);
                return match other {
                    Inserted::Existing(first) => self.get(&first).await,
                    _ => Err(queue_full(&record.spec, &other)),
                };
            }
            Err(e) => {
                self.handles.remove(&id);
                return Err(e);
            }
        }
        tracing::debug!(job_id = %id, "job queued");
        // The dependencies' states are read only now that the row exists: one
        // that failed before the insert is seen here, one that fails after it
        // finds this job among its queued dependents.
        for dep in cell.spec.dependencies() {
            if let Some(r) = self.store.store.get(&dep).await? {
                let state = r.info.state;
                if state.is_final() && state != JobState::Succeeded {
                    let reason = format!("dependency {dep} ended {state}");
                    self.end(&id, Ending::Queued { state: JobState::Cancelled, reason }).await;
                    break;
                }
            }
        }
        self.admission.wake.notify_one();
        Ok(self.handle(cell))
    }

    /// The spec as it will run: checked, what it resumes resolved (with the
    /// options it inherits), its template's defaults and prompt applied, the
    /// manager's default caps filled in, checked on this host.
    async fn prepare(&self, mut spec: JobSpec) -> Result<(JobSpec, Option<Resumed>)> {
        spec.validate()?;
        let resumed = self.resolve_resume(&mut spec).await?;
        if let Some(name) = spec.template.clone() {
            let t = self.templates.get(&name)?;
            let pending: Vec<&str> = spec.inputs.keys().map(String::as_str).collect();
            t.check_variables(&spec.variables, &pending)?;
            t.apply_defaults(&mut spec);
            if spec.output.is_none() {
                spec.output = t.output.clone().map(|mut o| {
                    o.name = t.output_name(&spec.variables);
                    o
                });
            }
            if spec.inputs.is_empty() {
                spec.prompt = t.render(&spec.variables)?;
            }
            spec.labels.entry("template".into()).or_insert(name);
        }
        if let Some(p) = &self.policy {
            p.check(&mut spec)?;
        }
        self.check_budget(&spec).await?;
        spec.set_limits(spec.limits().or(self.opts.default_limits));
        spec.validate()?;
        spec.limits().validate(self.host_cpus)?;
        self.check_agent_host(&mut spec)?;
        self.admission.budgets.check(&spec.limits())?;
        if let Some(dir) = &spec.working_dir {
            match std::fs::metadata(dir) {
                Ok(m) if m.is_dir() => {}
                Ok(_) => return Err(Error::invalid("working_dir", format!("{} is not a directory", dir.display()))),
                Err(e) => return Err(Error::invalid("working_dir", format!("{}: {e}", dir.display()))),
            }
        }
        if crate::claude::resolve_program(&self.opts.claude_bin).is_none() {
            return Err(Error::Spawn {
                path: self.opts.claude_bin.display().to_string(),
                reason: "not found, or not an executable file (set claude_bin or put `claude` on PATH)".into(),
                source: None,
            });
        }
        for dep in spec.dependencies() {
            if self.store.store.get(&dep).await?.is_none() {
                let field = if spec.depends_on.contains(&dep) { "depends_on" } else { "inputs" };
                return Err(Error::invalid(field, format!("unknown job {dep}")));
            }
        }
        Ok((spec, resumed))
    }

    /// A queued job ends `cancelled` at once; a running one is asked to stop.
    pub(super) async fn cancel_job(&self, cell: &Arc<JobCell>, reason: &str) -> Result<bool> {
        if cell.state().is_final() {
            return Ok(false);
        }
        let how = Ending::Queued {
            state: JobState::Cancelled,
            reason: reason.to_string(),
        };
        if self.end(&cell.id, how).await {
            return Ok(true);
        }
        // Running here (or being claimed right now): the attempt sees the request.
        cell.request_stop(Stop::Cancel(reason.to_string()));
        if !self.local.contains(&cell.id) && self.store.durable() {
            // Maybe running on another node: it hears of it by NOTIFY or heartbeat.
            if self.store.store.request_cancel(&cell.id).await? {
                return Ok(true);
            }
        }
        Ok(!cell.state().is_final())
    }

    /// The prompt of a job whose template variables come from dependencies'
    /// outputs (a structured answer as JSON text, else the collected output
    /// file, else the result text).
    pub(super) async fn prompt_with_inputs(&self, spec: &JobSpec) -> Result<String, String> {
        let (Some(name), false) = (&spec.template, spec.inputs.is_empty()) else {
            return Ok(spec.prompt.clone());
        };
        let t = self.templates.get(name).map_err(|e| e.to_string())?;
        let mut vars = spec.variables.clone();
        for (var, dep) in &spec.inputs {
            let rec = self
                .store
                .store
                .get(dep)
                .await
                .map_err(|e| e.to_string())?
                .ok_or_else(|| format!("input {var}: job {dep} is gone"))?;
            let text = match (&rec.info.structured_output, rec.info.outputs.first()) {
                (Some(v), _) => v.to_string(),
                (None, Some(path)) => self.input_text(&rec.info, path).await.map_err(|e| format!("input {var}: {e}"))?,
                (None, None) => rec.info.result.clone().unwrap_or_default(),
            };
            vars.insert(var.clone(), text);
        }
        t.render(&vars).map_err(|e| e.to_string())
    }
}

impl Inner {
    /// A dependency's collected output: from the artifact store when there
    /// is one (the dependency may have run on another machine), else the file.
    async fn input_text(&self, dep: &crate::state::JobInfo, path: &std::path::Path) -> Result<String, String> {
        let Some(a) = &self.store.artifacts else {
            return read_output(path.to_path_buf()).await;
        };
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        match a.read_artifact(&dep.id, dep.attempt, &format!("output/{name}")).await {
            Ok(Some(b)) if b.len() as u64 <= MAX_INPUT_BYTES => Ok(String::from_utf8_lossy(&b).into_owned()),
            Ok(Some(b)) => Ok(String::from_utf8_lossy(&b[..MAX_INPUT_BYTES as usize]).into_owned()),
            Ok(None) => Err(format!("job {}'s output {name} is not in the artifact store", dep.id)),
            Err(e) => Err(e.to_string()),
        }
    }
}

/// How long a client whose tenant's queue is full should wait before it
/// tries again: a hint (`Retry-After`), as room comes when a job starts.
const QUEUE_FULL_RETRY: std::time::Duration = std::time::Duration::from_secs(5);

/// The error of an insert the tenant's queue refused.
fn queue_full(spec: &JobSpec, what: &Inserted) -> Error {
    let max = match what {
        Inserted::QueueFull { max_queued } => *max_queued,
        _ => 0,
    };
    Error::QuotaExceeded {
        tenant: spec.tenant.clone().unwrap_or_default(),
        reason: format!("{max} jobs are queued already (max_queued)"),
        retry_after: Some(QUEUE_FULL_RETRY),
    }
}

/// A collected output, read as a regular file (no link, no FIFO), at most
/// [`MAX_INPUT_BYTES`], on a blocking thread.
async fn read_output(path: std::path::PathBuf) -> Result<String, String> {
    tokio::task::spawn_blocking(move || {
        let mut f = crate::safe_fs::open_regular_path(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let (bytes, _) = crate::safe_fs::read_capped(&mut f, MAX_INPUT_BYTES)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    })
    .await
    .map_err(|e| e.to_string())?
}
