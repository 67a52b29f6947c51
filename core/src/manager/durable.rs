//! The manager's link to its store: the store, its health, store calls
//! retried through an outage, and a running job's events written in batches.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use super::health::Health;
use crate::error::Result;
use crate::events::{EventRecord, JobEvent};
use crate::job::JobCell;
use crate::store::{JobStore, StoreKind};
use crate::util::now_ms;

/// How long a store call is retried while the store is unreachable.
const STORE_RETRY_WINDOW: Duration = Duration::from_secs(600);

/// Events are written to the store in batches of about this many bytes, so
/// a flush copies little at a time.
const FLUSH_BATCH_BYTES: usize = 256 << 10;

#[derive(Debug)]
pub(super) struct StoreLink {
    pub store: Arc<dyn JobStore>,
    /// Where logs and outputs are uploaded (`artifact_store = "db"`).
    pub artifacts: Option<Arc<dyn crate::store::ArtifactStore>>,
    /// The store's URL, password redacted.
    pub name: String,
    pub health: Health,
}

impl StoreLink {
    pub fn new(store: Arc<dyn JobStore>, artifacts: Option<Arc<dyn crate::store::ArtifactStore>>) -> Self {
        StoreLink {
            name: store.describe(),
            store,
            artifacts,
            health: Health::new(),
        }
    }

    /// True when jobs survive this process.
    pub fn durable(&self) -> bool {
        self.store.kind() != StoreKind::Memory
    }

    pub fn ok(&self) {
        self.health.ok(&self.name);
    }

    pub fn failed(&self, what: &str, e: &crate::Error) {
        self.health.failed(&self.name, what, e);
    }

    /// Runs a store call until it works (backing off), for up to
    /// [`STORE_RETRY_WINDOW`]; the last error when it never did. A full disk
    /// is not waited for: its error comes back at once.
    pub async fn retry<T, F, Fut>(&self, what: &str, mut f: F) -> Result<T>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        let end = tokio::time::Instant::now() + STORE_RETRY_WINDOW;
        let mut delay = Duration::from_millis(200);
        loop {
            match f().await {
                Ok(v) => {
                    self.ok();
                    return Ok(v);
                }
                Err(e) => {
                    self.failed(what, &e);
                    if e.is_disk_full() || tokio::time::Instant::now() + delay > end {
                        return Err(e);
                    }
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_secs(5));
                }
            }
        }
    }

    /// Writes the job's events after `persisted` to the store; with a lease,
    /// also its info when a `started` or `init` event is among them (pid,
    /// isolation, the session a later attempt resumes).
    pub async fn flush(&self, cell: &JobCell, persisted: &tokio::sync::Mutex<u64>, lease: Option<u64>) {
        let mut p = persisted.lock().await;
        let mut started = false;
        loop {
            let evs = cell.events.since(*p, FLUSH_BATCH_BYTES);
            let Some(last) = evs.last().map(|r| r.seq) else {
                break;
            };
            if let Err(e) = self.store.append_events(&cell.id, &evs).await {
                return self.failed("storing events", &e);
            }
            *p = last;
            self.ok();
            started |= evs.iter().any(|r| matches!(r.event, JobEvent::Started { .. } | JobEvent::Init { .. }));
        }
        if let (Some(lease), true) = (lease, started) {
            if let Err(e) = self.store.update(&cell.info(), lease).await {
                self.failed("storing a job's info", &e);
            }
        }
    }

    /// Stores every event a cell holds (a job that did not run here: its
    /// stored events are kept as they are).
    pub async fn store_all(&self, cell: &JobCell) {
        if let Err(e) = self.store.append_events(&cell.id, &cell.events.since(0, usize::MAX)).await {
            self.failed("storing events", &e);
        }
    }

    /// Appends one event after the stored ones, for a job nothing here holds.
    pub async fn append_after_stored(&self, id: &str, event: JobEvent) {
        let last = match self.store.events(id, 0).await {
            Ok(evs) => evs.last().map(|r| r.seq).unwrap_or(0),
            Err(e) => return self.failed("reading events", &e),
        };
        let rec = EventRecord {
            seq: last + 1,
            at_ms: now_ms(),
            event,
        };
        if let Err(e) = self.store.append_events(id, &[rec]).await {
            self.failed("storing events", &e);
        }
    }
}
