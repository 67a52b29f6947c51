//! The manager's state, grouped by part, and its start.

use std::future::Future;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::Notify;

use super::admission::Admission;
use super::budget::Budgets;
use super::durable::StoreLink;
use super::handles::Handles;
use super::local::Local;
use super::{follow, heartbeat, rescue, retention, JobManager, JobManagerBuilder};
use crate::error::{Error, Result};
use crate::isolation::{IsolationMode, Isolator};
use crate::job::{Control, Job, JobCell};
use crate::options::ManagerOptions;
use crate::run::Isolation;
use crate::state::IsolationKind;
use crate::store::JobStore;
use crate::templates::TemplateSet;

/// Everything a manager holds. Clones of [`JobManager`] share one.
#[derive(Debug)]
pub(super) struct Inner {
    /// The options, normalized at start (absolute data dir and CLI path).
    pub opts: Arc<ManagerOptions>,
    pub node_id: String,
    pub host_cpus: f64,
    pub templates: TemplateSet,
    /// What specs are checked against (`None`: every valid spec).
    pub policy: Option<crate::policy::Policy>,
    pub isolation: Isolation,
    pub store: StoreLink,
    /// Jobs that something here holds (handles, attempts), by id.
    pub handles: Handles,
    /// The attempts running here: the one record of the slots in use.
    pub local: Local,
    pub admission: Admission,
    /// Wakes the task that follows jobs running elsewhere.
    pub follow_wake: Arc<Notify>,
    /// Set at the end of shutdown: the background tasks stop.
    pub stopped: AtomicBool,
    self_ref: Weak<Inner>,
}

#[async_trait]
impl Control for Inner {
    async fn cancel(&self, cell: &Arc<JobCell>, reason: &str) -> Result<bool> {
        self.cancel_job(cell, reason).await
    }
}

impl Inner {
    /// A handle to a job this manager knows.
    pub fn handle(&self, cell: Arc<JobCell>) -> Job {
        let control: Weak<dyn Control> = self.self_ref.clone();
        Job::new(cell, control)
    }

    pub fn isolation_kind(&self) -> IsolationKind {
        self.isolation
            .isolator
            .as_ref()
            .map(|i| i.kind())
            .unwrap_or(IsolationKind::None)
    }

    pub fn is_stopped(&self) -> bool {
        self.stopped.load(Ordering::SeqCst)
    }
}

/// The shape of the manager's periodic background tasks: `tick` every
/// `interval` (read once from the manager; `None`: the task does not run)
/// until the manager is dropped or stopped.
pub(super) async fn every<F, Fut>(weak: Weak<Inner>, interval: impl FnOnce(&Inner) -> Option<Duration>, mut tick: F)
where
    F: FnMut(Arc<Inner>) -> Fut,
    Fut: Future<Output = ()>,
{
    let Some(interval) = weak.upgrade().and_then(|m| interval(&m)) else {
        return;
    };
    loop {
        tokio::time::sleep(interval).await;
        let Some(m) = weak.upgrade() else { return };
        if m.is_stopped() {
            return;
        }
        tick(m).await;
    }
}

impl JobManager {
    /// Prepares the data dir, cgroups, templates and store, recovers the jobs
    /// a dead manager left running, and starts the background tasks.
    pub(super) async fn start(b: JobManagerBuilder, budgets: Budgets) -> Result<JobManager> {
        let opts = normalize(b.opts)?;
        if opts.child_subreaper {
            crate::process::become_subreaper();
        }
        let isolation = isolation(opts.isolation).await?;
        let mut templates = TemplateSet::built_in();
        for dir in &opts.templates_dir {
            templates.add_dir(dir)?;
        }
        let store = match (b.store, &opts.store_url) {
            (Some(s), _) => s,
            (None, Some(url)) => crate::store::open(url, &opts.data_dir).await?,
            (None, None) => default_store(&opts.data_dir).await?,
        };
        let policy = match (b.policy, &opts.policy) {
            (Some(p), _) => Some(p),
            (None, Some(s)) if s == "safe" => Some(crate::policy::Policy::safe()),
            (None, Some(path)) => Some(crate::policy::Policy::from_file(std::path::Path::new(path))?),
            (None, None) => None,
        };
        for (name, t) in policy.iter().flat_map(|p| &p.tenants) {
            store.set_tenant(name, &t.quota).await?;
        }
        let artifacts = artifact_store(&opts, &store)?;
        let max = opts.max_concurrent.resolve().max(1);
        let node_id = opts.node_id.clone().unwrap_or_else(default_node_id);
        let inner = Arc::new_cyclic(|weak| Inner {
            opts: Arc::new(opts),
            store: StoreLink::new(store, artifacts),
            node_id,
            host_cpus: crate::host::cpu_count(),
            templates,
            policy,
            isolation,
            handles: Handles::default(),
            local: Local::default(),
            admission: Admission::new(max, budgets),
            follow_wake: Arc::new(Notify::new()),
            stopped: AtomicBool::new(false),
            self_ref: weak.clone(),
        });
        tracing::info!(store = %inner.store.name, node = %inner.node_id, "job manager started");
        rescue::recover_orphans(&inner, true).await;
        let weak = Arc::downgrade(&inner);
        tokio::spawn(super::admission::admission_loop(weak.clone()));
        tokio::spawn(heartbeat::heartbeat_loop(weak.clone()));
        tokio::spawn(heartbeat::notice_loop(weak.clone(), inner.store.store.notices()));
        tokio::spawn(follow::flush_loop(weak.clone()));
        tokio::spawn(follow::follow_loop(weak.clone()));
        tokio::spawn(rescue::rescue_loop(weak.clone()));
        tokio::spawn(retention::retention_loop(weak.clone()));
        tokio::spawn(super::webhooks::delivery_loop(weak.clone()));
        tokio::spawn(super::schedules::schedule_loop(weak));
        Ok(JobManager { inner })
    }
}

/// The `db` artifact store, when the options ask for it: the job store's.
fn artifact_store(
    opts: &ManagerOptions,
    store: &Arc<dyn JobStore>,
) -> Result<Option<Arc<dyn crate::store::ArtifactStore>>> {
    match crate::store::ArtifactsAt::parse(opts.artifact_store.as_deref().unwrap_or("local"))? {
        crate::store::ArtifactsAt::Local => Ok(None),
        crate::store::ArtifactsAt::Db => store.clone().artifacts().map(Some).ok_or_else(|| {
            Error::invalid(
                "artifact_store",
                format!("\"db\" needs a SQLite or PostgreSQL job store, not {}", store.describe()),
            )
        }),
        #[cfg(feature = "s3")]
        crate::store::ArtifactsAt::S3 { bucket, prefix } => {
            Ok(Some(Arc::new(crate::store::S3Artifacts::open(&bucket, &prefix)?)))
        }
        #[cfg(not(feature = "s3"))]
        crate::store::ArtifactsAt::S3 { .. } => Err(Error::invalid("artifact_store", "this build has no S3 artifact store")),
    }
}

/// The data dir made and made absolute; a relative CLI path with a directory
/// part (`./bin/claude`) taken relative to here, not to each job's working dir.
fn normalize(mut opts: ManagerOptions) -> Result<ManagerOptions> {
    let data = &opts.data_dir;
    std::fs::create_dir_all(data.join("jobs"))
        .map_err(|e| Error::io(format!("cannot create data dir {}", data.display()), e))?;
    opts.data_dir = std::fs::canonicalize(data).map_err(|e| Error::io("data dir", e))?;
    let bin = &opts.claude_bin;
    if bin.is_relative() && bin.components().count() > 1 {
        if let Ok(d) = std::env::current_dir() {
            opts.claude_bin = d.join(bin);
        }
    }
    Ok(opts)
}

/// The cgroups the mode asks for, or why there are none.
async fn isolation(mode: IsolationMode) -> Result<Isolation> {
    if mode == IsolationMode::Off {
        return Ok(Isolation {
            isolator: None,
            error: Some("isolation is off".into()),
        });
    }
    match tokio::task::spawn_blocking(Isolator::new).await {
        Ok(Ok(iso)) => {
            if iso.swept > 0 {
                tracing::warn!(swept = iso.swept, "killed and removed job cgroups left by a manager that died");
            }
            Ok(Isolation {
                isolator: Some(Arc::new(iso)),
                error: None,
            })
        }
        Ok(Err(e)) if mode == IsolationMode::Required => Err(Error::Isolation(e)),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "cgroups unavailable: jobs will run uncapped");
            Ok(Isolation {
                isolator: None,
                error: Some(e),
            })
        }
        Err(e) => Err(Error::Isolation(e.to_string())),
    }
}

/// `hostname-pid` for the first manager of the process, `hostname-pid-N`
/// for the next ones: managers sharing a store must not share a node id.
fn default_node_id() -> String {
    static MANAGERS: AtomicUsize = AtomicUsize::new(0);
    let n = MANAGERS.fetch_add(1, Ordering::SeqCst);
    let base = format!("{}-{}", crate::host::hostname(), std::process::id());
    if n == 0 {
        base
    } else {
        format!("{base}-{n}")
    }
}

/// `sqlite://<data_dir>/claude-jobs.db` (or memory in a build without SQLite).
async fn default_store(data_dir: &Path) -> Result<Arc<dyn JobStore>> {
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
