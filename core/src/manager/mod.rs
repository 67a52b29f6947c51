//! [`JobManager`]: submit, get, list, cancel, shutdown; the admission loop
//! that takes queued jobs from the store when a slot is free.
//!
//! Durability lives beside it: `run` (one claimed attempt, retries),
//! `lease` (heartbeats, lease loss, cancel notices), `watch` (event
//! batches to the store, following jobs that run on other nodes),
//! `recovery` (orphans at start-up and the rescuer), `retention`.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use tokio::sync::Notify;

use crate::error::{Error, Result};
use crate::events::{EventLog, JobEvent};
use crate::isolation::{IsolationMode, Isolator};
use crate::job::{Job, JobShared, StopReason};
use crate::spec::JobSpec;
use crate::state::{IsolationKind, JobInfo, JobState};
use crate::store::{ClaimOptions, JobRecord, JobStore};
use crate::templates::TemplateSet;
use crate::util::now_ms;

mod budget;
mod builder;
mod config;
mod handles;
mod health;
mod lease;
mod policy;
mod recovery;
mod retention;
mod run;
mod watch;

pub use budget::{CpuBudget, MemoryBudget, MEMORY_RESERVE_BYTES};
pub use builder::JobManagerBuilder;
pub(crate) use config::Config;
pub use health::StoreHealth;
pub use policy::{RecoveryPolicy, RetentionPolicy};

/// How long shutdown waits for a claim already sent to the store.
const ADMISSION_WAIT: Duration = Duration::from_secs(10);

/// Runs Claude CLI jobs: a bounded number at once, each in its own cgroup,
/// the rest queued by priority then submission order.
///
/// Cheap to clone: clones share one manager.
///
/// ```no_run
/// use claude_jobs::{JobManager, JobSpec};
/// # async fn demo() -> claude_jobs::Result<()> {
/// let manager = JobManager::builder().max_concurrent(3).build().await?;
/// let job = manager.submit(JobSpec::builder().prompt("Say hello").memory("1G").build()?).await?;
/// let info = job.wait().await;
/// println!("{} {:?}", info.state, info.result);
/// manager.shutdown(std::time::Duration::from_secs(30)).await;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct JobManager {
    inner: Arc<ManagerInner>,
}

#[derive(Debug)]
pub(crate) struct ManagerInner {
    cfg: Arc<Config>,
    store: Arc<dyn JobStore>,
    store_name: String,
    isolator: Option<Arc<Isolator>>,
    isolation_error: Option<String>,
    jobs: handles::Handles,
    wake: Arc<Notify>,
    changed: Notify,
    running: AtomicUsize,
    /// The last claim took fewer jobs than there were free slots: nothing
    /// was ready to run then.
    queue_drained: AtomicBool,
    max_concurrent: usize,
    budgets: budget::Budgets,
    shutting_down: AtomicBool,
    /// Held by the admission loop from its shutdown check until the jobs it
    /// claimed are started: shutdown takes it once, so no claim is in flight
    /// (and none starts unseen) when it counts the running jobs.
    admitting: tokio::sync::Mutex<()>,
    /// Set at the end of shutdown: the background loops stop.
    stopped: AtomicBool,
    node_id: String,
    host_cpus: f64,
    templates: TemplateSet,
    self_ref: Weak<ManagerInner>,
    /// Jobs this node runs now, with their leases.
    local: Mutex<HashMap<String, run::LocalRun>>,
    health: health::Health,
    /// Wakes the loop that follows jobs running elsewhere.
    watch_wake: Arc<Notify>,
}

impl JobManager {
    /// Starts a builder with the defaults.
    pub fn builder() -> JobManagerBuilder {
        JobManagerBuilder::default()
    }

    async fn start(b: JobManagerBuilder, budgets: budget::Budgets) -> Result<JobManager> {
        let cfg = b.cfg;
        std::fs::create_dir_all(cfg.data_dir.join("jobs")).map_err(|e| {
            Error::io(
                format!("cannot create data dir {}", cfg.data_dir.display()),
                e,
            )
        })?;
        // A relative CLI path with a directory part (`./bin/claude`) means
        // relative to here, not to each job's working dir.
        let claude_bin = if cfg.claude_bin.is_relative() && cfg.claude_bin.components().count() > 1
        {
            std::env::current_dir()
                .map(|d| d.join(&cfg.claude_bin))
                .unwrap_or_else(|_| cfg.claude_bin.clone())
        } else {
            cfg.claude_bin.clone()
        };
        let cfg = Config {
            data_dir: std::fs::canonicalize(&cfg.data_dir).map_err(|e| Error::io("data dir", e))?,
            claude_bin,
            ..cfg
        };
        if b.subreaper {
            crate::process::become_subreaper();
        }
        let (isolator, isolation_error) = if cfg.isolation == IsolationMode::Off {
            (None, Some("isolation is off".to_string()))
        } else {
            match tokio::task::spawn_blocking(Isolator::new).await {
                Ok(Ok(iso)) => {
                    if iso.swept > 0 {
                        tracing::warn!(
                            swept = iso.swept,
                            "killed and removed job cgroups left by a manager that died"
                        );
                    }
                    (Some(Arc::new(iso)), None)
                }
                Ok(Err(e)) if cfg.isolation == IsolationMode::Required => {
                    return Err(Error::Isolation(e));
                }
                Ok(Err(e)) => {
                    tracing::warn!(error = %e, "cgroups unavailable: jobs will run uncapped");
                    (None, Some(e))
                }
                Err(e) => return Err(Error::Isolation(e.to_string())),
            }
        };
        let mut templates = TemplateSet::built_in();
        for dir in &b.template_dirs {
            templates.add_dir(dir)?;
        }
        let store = match (b.store, b.store_url) {
            (Some(s), _) => s,
            (None, Some(url)) => crate::store::open(&url, &cfg.data_dir).await?,
            (None, None) => default_store(&cfg.data_dir).await?,
        };
        let max = b.concurrency.resolve().max(1);
        let node_id = cfg.node_id.clone().unwrap_or_else(default_node_id);
        let inner = Arc::new_cyclic(|weak| ManagerInner {
            cfg: Arc::new(cfg),
            store_name: store.describe(),
            store,
            isolator,
            isolation_error,
            jobs: handles::Handles::default(),
            wake: Arc::new(Notify::new()),
            changed: Notify::new(),
            running: AtomicUsize::new(0),
            queue_drained: AtomicBool::new(false),
            max_concurrent: max,
            budgets,
            shutting_down: AtomicBool::new(false),
            admitting: tokio::sync::Mutex::new(()),
            stopped: AtomicBool::new(false),
            node_id,
            host_cpus: crate::host::cpu_count(),
            templates,
            self_ref: weak.clone(),
            local: Mutex::new(HashMap::new()),
            health: health::Health::new(),
            watch_wake: Arc::new(Notify::new()),
        });
        tracing::info!(store = %inner.store_name, node = %inner.node_id, "job manager started");
        recovery::recover_orphans(&inner, true).await;
        let weak = Arc::downgrade(&inner);
        tokio::spawn(admission_loop(weak.clone(), inner.wake.clone()));
        tokio::spawn(lease::heartbeat_loop(weak.clone()));
        tokio::spawn(lease::notice_loop(weak.clone(), inner.store.notices()));
        tokio::spawn(watch::flush_loop(weak.clone()));
        tokio::spawn(watch::follow_loop(weak.clone()));
        tokio::spawn(recovery::rescue_loop(weak.clone()));
        tokio::spawn(retention::retention_loop(weak));
        Ok(JobManager { inner })
    }

    /// Validates and queues a job. Returns at once; use [`Job::wait`].
    ///
    /// Errors: `InvalidSpec` naming the bad field (also for a working dir that
    /// is not a directory and unknown `depends_on` ids), `CapacityExceeded`
    /// when its memory or CPU cap is larger than the manager's whole budget,
    /// `SpawnFailed` when the CLI binary cannot be found, `ShuttingDown`
    /// after [`JobManager::shutdown`].
    pub async fn submit(&self, spec: JobSpec) -> Result<Job> {
        self.inner.submit(spec).await
    }

    /// The job with this id (running, queued or finished).
    ///
    /// Errors: `JobNotFound`.
    pub async fn get(&self, id: &str) -> Result<Job> {
        self.inner.get(id).await
    }

    /// Every job known to the store, oldest first.
    pub async fn list(&self) -> Result<Vec<JobInfo>> {
        self.inner.store.list().await
    }

    /// Cancels a job by id (see [`Job::cancel`]).
    pub async fn cancel(&self, id: &str) -> Result<bool> {
        let job = self.get(id).await?;
        job.cancel().await
    }

    /// Number of jobs running in this manager now.
    pub fn running(&self) -> usize {
        self.inner.running.load(Ordering::SeqCst)
    }

    /// The concurrency limit in force.
    pub fn max_concurrent(&self) -> usize {
        self.inner.max_concurrent
    }

    /// The memory budget in force, in bytes (`None`: no budget); see
    /// [`JobManagerBuilder::memory_budget`].
    pub fn memory_budget(&self) -> Option<u64> {
        self.inner.budgets.memory
    }

    /// The CPU budget in force, in cores (`None`: no budget).
    pub fn cpu_budget(&self) -> Option<f64> {
        self.inner.budgets.cpus
    }

    /// How jobs are isolated here (`cgroup-v1`, `cgroup-v2` or `none`).
    pub fn isolation(&self) -> IsolationKind {
        self.inner
            .isolator
            .as_ref()
            .map(|i| i.kind())
            .unwrap_or(IsolationKind::None)
    }

    /// Why cgroups are not used, when they are not.
    pub fn isolation_error(&self) -> Option<&str> {
        self.inner.isolation_error.as_deref()
    }

    /// The instruction templates this manager knows.
    pub fn templates(&self) -> &TemplateSet {
        &self.inner.templates
    }

    /// The data directory (absolute).
    pub fn data_dir(&self) -> &std::path::Path {
        &self.inner.cfg.data_dir
    }

    /// Whether the store answered the manager's latest calls. While it does
    /// not, running jobs keep running and their results are stored once it is
    /// back; see [`StoreHealth`].
    pub fn store_health(&self) -> StoreHealth {
        self.inner.health.get()
    }

    /// The store in use, as a URL with any password redacted
    /// (`sqlite:///…/claude-jobs.db`, `postgres://user:***@host/db`, `memory`).
    pub fn store_url(&self) -> &str {
        &self.inner.store_name
    }

    /// This manager's node id in the store (`hostname-pid` unless set).
    pub fn node_id(&self) -> &str {
        &self.inner.node_id
    }

    /// Stops taking work, lets running jobs finish for up to `drain_timeout`,
    /// then stops the rest (they end `interrupted`). Queued jobs stay queued
    /// in a durable store (a later manager runs them; their handles here do
    /// not resolve); in memory they end `interrupted`. A claim already sent
    /// to the store is waited for (up to 10 s) and its jobs end `interrupted`
    /// without starting. Idempotent.
    pub async fn shutdown(&self, drain_timeout: Duration) {
        self.inner.shutdown(drain_timeout).await
    }
}

impl ManagerInner {
    fn handle(&self, shared: Arc<JobShared>) -> Job {
        Job {
            shared,
            manager: self.self_ref.clone(),
        }
    }

    async fn submit(&self, mut spec: JobSpec) -> Result<Job> {
        if self.shutting_down.load(Ordering::SeqCst) {
            return Err(Error::ShuttingDown);
        }
        spec.validate()?;
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
        spec.limits = spec.limits.or(self.cfg.default_limits);
        spec.max_attempts = spec.max_attempts.max(1);
        spec.limits.validate(self.host_cpus)?;
        self.budgets.check(&spec.limits)?;
        if let Some(dir) = &spec.working_dir {
            match std::fs::metadata(dir) {
                Ok(m) if m.is_dir() => {}
                Ok(_) => {
                    return Err(Error::invalid(
                        "working_dir",
                        format!("{} is not a directory", dir.display()),
                    ))
                }
                Err(e) => {
                    return Err(Error::invalid(
                        "working_dir",
                        format!("{}: {e}", dir.display()),
                    ))
                }
            }
        }
        if crate::claude::resolve_program(&self.cfg.claude_bin).is_none() {
            return Err(Error::Spawn {
                path: self.cfg.claude_bin.display().to_string(),
                reason:
                    "not found, or not an executable file (set claude_bin or put `claude` on PATH)"
                        .into(),
                source: None,
            });
        }
        for dep in &spec.depends_on {
            if self.store.get(dep).await?.is_none() {
                return Err(Error::invalid("depends_on", format!("unknown job {dep}")));
            }
        }
        let id = uuid::Uuid::now_v7().to_string();
        let mut info = JobInfo::queued(id.clone(), &spec, now_ms());
        info.log_dir = Some(self.cfg.data_dir.join("jobs").join(&id));
        let spec = Arc::new(spec);
        let shared = JobShared::new(
            spec.clone(),
            info.clone(),
            EventLog::new(self.cfg.event_bound()),
        );
        shared.emit(JobEvent::Queued {
            priority: info.priority,
        });
        let shared = self.jobs.intern(shared);
        let record = JobRecord {
            info,
            spec: (*spec).clone(),
        };
        if let Err(e) = self
            .store
            .insert_with_events(&record, &shared.events.since(0, usize::MAX))
            .await
        {
            self.jobs.remove(&id);
            return Err(e);
        }
        tracing::debug!(job_id = %id, "job queued");
        // Read the dependencies' states only now that the row exists: one
        // that failed before the insert is seen here, one that fails after
        // it finds this job among its queued dependents (checked before the
        // insert, a dependency failing in between left the job queued for ever).
        for dep in &spec.depends_on {
            if let Some(r) = self.store.get(dep).await? {
                let state = r.info.state;
                if state.is_final() && state != JobState::Succeeded {
                    self.end_queued(
                        &shared,
                        JobState::Cancelled,
                        &format!("dependency {dep} ended {state}"),
                    )
                    .await?;
                    break;
                }
            }
        }
        self.wake.notify_one();
        Ok(self.handle(shared))
    }

    async fn get(&self, id: &str) -> Result<Job> {
        if let Some(s) = self.jobs.get(id) {
            return Ok(self.handle(s));
        }
        let not_found = || Error::JobNotFound { id: id.to_string() };
        let rec = self.store.get(id).await?.ok_or_else(not_found)?;
        let events = self.store.events(id, 0).await.unwrap_or_default();
        let closed = rec.info.state.is_final();
        let fresh = JobShared::new(
            Arc::new(rec.spec),
            rec.info,
            EventLog::from_records(events, self.cfg.event_bound(), closed),
        );
        let shared = self.jobs.intern(fresh.clone());
        if Arc::ptr_eq(&shared, &fresh) && !closed {
            // It may have run and ended, unheld, since it was read.
            if let Some(r) = self.store.get(id).await? {
                if r.info.state.is_final() {
                    let last = shared.events.last_seq();
                    for e in self.store.events(id, last).await.unwrap_or_default() {
                        shared.events.push_record(e);
                    }
                    shared.finalize_copied(r.info);
                }
            }
        }
        Ok(self.handle(shared))
    }

    pub(crate) async fn cancel(&self, shared: &Arc<JobShared>, reason: &str) -> Result<bool> {
        if shared.info.lock().unwrap().state.is_final() {
            return Ok(false);
        }
        if self.end_queued(shared, JobState::Cancelled, reason).await? {
            return Ok(true);
        }
        // Running here (or being claimed right now): the runner sees the request.
        shared
            .stop
            .send_replace(Some(StopReason::Cancel(reason.to_string())));
        if !self.local.lock().unwrap().contains_key(&shared.id) && self.store.is_durable() {
            // Maybe running on another node: it hears of it by NOTIFY or heartbeat.
            if self.store.request_cancel(&shared.id).await? {
                return Ok(true);
            }
        }
        Ok(!shared.info.lock().unwrap().state.is_final())
    }

    /// Ends a queued job without running it; true when it was queued.
    async fn end_queued(
        &self,
        shared: &Arc<JobShared>,
        state: JobState,
        reason: &str,
    ) -> Result<bool> {
        match self.store.end_queued(&shared.id, state, reason).await? {
            Some(info) => {
                self.finish_shared(shared, info).await;
                Ok(true)
            }
            None => Ok(false),
        }
    }

    async fn finish_shared(&self, shared: &Arc<JobShared>, info: JobInfo) {
        let state = info.state;
        let id = info.id.clone();
        if shared.finalize(info) {
            if let Err(e) = self
                .store
                .append_events(&id, &shared.events.since(0, usize::MAX))
                .await
            {
                self.health.failed(&self.store_name, "storing events", &e);
            }
        }
        self.changed.notify_waiters();
        if state != JobState::Succeeded {
            self.cancel_dependents(&id, state).await;
        }
    }

    /// Ends a job that may have no other holder: its events go to the store
    /// (the state here is dropped with the last handle).
    async fn finalize_unheld(&self, shared: &JobShared, info: JobInfo) {
        if shared.finalize(info) {
            if let Err(e) = self
                .store
                .append_events(&shared.id, &shared.events.since(0, usize::MAX))
                .await
            {
                self.health.failed(&self.store_name, "storing events", &e);
            }
        }
    }

    /// A job that did not succeed cancels the jobs waiting for it.
    async fn cancel_dependents(&self, id: &str, state: JobState) {
        let mut todo = vec![(id.to_string(), state)];
        while let Some((parent, st)) = todo.pop() {
            let Ok(deps) = self.store.queued_dependents(&parent).await else {
                continue;
            };
            for dep in deps {
                let reason = format!("dependency {parent} ended {st}");
                if let Ok(job) = self.get(&dep).await {
                    if let Ok(Some(info)) = self
                        .store
                        .end_queued(&dep, JobState::Cancelled, &reason)
                        .await
                    {
                        self.finalize_unheld(&job.shared, info).await;
                        todo.push((dep, JobState::Cancelled));
                    }
                }
            }
        }
    }

    /// The prompt of a job whose template variables come from dependencies'
    /// outputs (the collected output file, else the result text).
    async fn prompt_with_inputs(&self, spec: &JobSpec) -> Result<String, String> {
        let Some(name) = &spec.template else {
            return Ok(spec.prompt.clone());
        };
        if spec.inputs.is_empty() {
            return Ok(spec.prompt.clone());
        }
        let t = self.templates.get(name).map_err(|e| e.to_string())?;
        let mut vars = spec.variables.clone();
        for (var, dep) in &spec.inputs {
            let rec = self
                .store
                .get(dep)
                .await
                .map_err(|e| e.to_string())?
                .ok_or_else(|| format!("input {var}: job {dep} is gone"))?;
            let text = match rec.info.outputs.first() {
                Some(path) => std::fs::read_to_string(path)
                    .map_err(|e| format!("input {var}: cannot read {}: {e}", path.display()))?,
                None => rec.info.result.clone().unwrap_or_default(),
            };
            vars.insert(var.clone(), text);
        }
        t.render(&vars).map_err(|e| e.to_string())
    }

    async fn shutdown(&self, drain_timeout: Duration) {
        self.shutting_down.store(true, Ordering::SeqCst);
        self.wake.notify_waiters();
        // A claim sent before the flag was set ends here: its jobs are
        // started (counted in `running`, and stopped as they start). A store
        // that does not answer is not waited for long: a job it hands out
        // later is stopped before its process starts.
        if tokio::time::timeout(ADMISSION_WAIT, self.admitting.lock())
            .await
            .is_err()
        {
            tracing::warn!(
                "shutdown: a claim has not come back from the store in {ADMISSION_WAIT:?}; going on"
            );
        }
        let _ = tokio::time::timeout(drain_timeout, self.wait_idle()).await;
        let running: Vec<Arc<JobShared>> = self
            .local
            .lock()
            .unwrap()
            .values()
            .map(|r| r.shared.clone())
            .collect();
        for s in &running {
            s.stop.send_replace(Some(StopReason::Shutdown));
        }
        self.wait_idle().await;
        if !self.store.is_durable() {
            if let Ok(ids) = self.store.queued().await {
                // Every queued job ends here, so no dependents to cancel one
                // by one (that made 100 000 queued jobs quadratic); yield now
                // and then so timers and other tasks run meanwhile.
                for (k, id) in ids.into_iter().enumerate() {
                    if let Ok(job) = self.get(&id).await {
                        let reason = "the manager shut down before the job started";
                        if let Ok(Some(info)) = self
                            .store
                            .end_queued(&id, JobState::Interrupted, reason)
                            .await
                        {
                            self.finalize_unheld(&job.shared, info).await;
                        }
                    }
                    if k % 256 == 255 {
                        tokio::task::yield_now().await;
                    }
                }
                self.changed.notify_waiters();
            }
        }
        self.stopped.store(true, Ordering::SeqCst);
        self.watch_wake.notify_waiters();
        if let Some(iso) = &self.isolator {
            iso.remove();
        }
    }

    async fn wait_idle(&self) {
        loop {
            let notified = self.changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.running.load(Ordering::SeqCst) == 0 {
                return;
            }
            notified.await;
        }
    }
}

async fn admission_loop(weak: Weak<ManagerInner>, wake: Arc<Notify>) {
    loop {
        let notified = wake.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        let poll = {
            let Some(inner) = weak.upgrade() else { return };
            let _admitting = inner.admitting.lock().await;
            if inner.shutting_down.load(Ordering::SeqCst) {
                return;
            }
            let free = inner
                .max_concurrent
                .saturating_sub(inner.running.load(Ordering::SeqCst));
            if free > 0 {
                let opts = ClaimOptions {
                    max_running: Some(inner.max_concurrent),
                    memory_budget: inner.budgets.memory,
                    cpu_budget: inner.budgets.cpus,
                    ..ClaimOptions::new(inner.cfg.lease_ttl)
                };
                match inner.store.claim_with(&inner.node_id, free, &opts).await {
                    Ok(claims) => {
                        inner.health.ok(&inner.store_name);
                        inner
                            .queue_drained
                            .store(claims.len() < free, Ordering::SeqCst);
                        for c in claims {
                            inner.start(c);
                        }
                    }
                    Err(e) => inner.health.failed(&inner.store_name, "claiming jobs", &e),
                }
            }
            inner.cfg.poll_interval
        };
        tokio::select! {
            _ = &mut notified => {}
            _ = tokio::time::sleep(poll) => {}
        }
    }
}

/// `hostname-pid` for the first manager of the process, `hostname-pid-N`
/// for the next ones: managers sharing a store must not share a node id.
fn default_node_id() -> String {
    static MANAGERS: AtomicUsize = AtomicUsize::new(0);
    let n = MANAGERS.fetch_add(1, Ordering::SeqCst);
    let base = format!("{}-{}", recovery::hostname(), std::process::id());
    if n == 0 {
        base
    } else {
        format!("{base}-{n}")
    }
}

/// `sqlite://<data_dir>/claude-jobs.db` (or memory in a build without SQLite).
async fn default_store(data_dir: &std::path::Path) -> Result<Arc<dyn JobStore>> {
    #[cfg(feature = "sqlite")]
    {
        let path = data_dir.join("claude-jobs.db");
        Ok(Arc::new(crate::store::SqliteStore::open(&path).await?))
    }
    #[cfg(not(feature = "sqlite"))]
    {
        let _ = data_dir;
        Ok(Arc::new(crate::store::MemoryStore::new()))
    }
}
