//! Item 10: a `JobStore` that passes every call to another store and, on the
//! way, times each `claim`, records the ids it hands out, counts results and
//! requeues, and notes when the last result was stored. Claims can be held
//! closed (the seeding manager submits but never runs a job).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use claude_jobs::store::{
    ArtifactStore, Claim, ClaimOptions, Delivery, Held, Inserted, JobPage, JobRecord, JobRow, JobStore,
    ListQuery, Requeue, StateCounts, StoreKind, StoreNotice, TenantUsage,
};
use claude_jobs::{EventRecord, JobInfo, JobState, Result, Schedule, TenantQuota};

/// What the decorator saw.
#[derive(Debug, Default)]
pub struct Seen {
    /// Duration of every `claim` call (µs) and how many jobs it returned.
    pub claims: Vec<(u64, usize)>,
    /// Every job id a claim returned, in order.
    pub claimed: Vec<String>,
}

#[derive(Debug)]
pub struct TimedStore {
    inner: Arc<dyn JobStore>,
    /// False: `claim` returns no job without asking the store.
    pub open: AtomicBool,
    pub seen: Mutex<Seen>,
    /// Results stored (`finish` true) and refused as stale (false).
    pub finished: AtomicU64,
    pub stale: AtomicU64,
    pub requeues: AtomicU64,
    /// When the last stored result returned, µs after `epoch`.
    pub last_finish_us: AtomicU64,
    epoch: Instant,
}

impl TimedStore {
    pub fn new(inner: Arc<dyn JobStore>, open: bool, epoch: Instant) -> TimedStore {
        TimedStore {
            inner,
            open: AtomicBool::new(open),
            seen: Mutex::new(Seen::default()),
            finished: AtomicU64::new(0),
            stale: AtomicU64::new(0),
            requeues: AtomicU64::new(0),
            last_finish_us: AtomicU64::new(0),
            epoch,
        }
    }

    pub fn inner(&self) -> &Arc<dyn JobStore> {
        &self.inner
    }
}

#[async_trait]
impl JobStore for TimedStore {
    fn describe(&self) -> String {
        format!("timed {}", self.inner.describe())
    }
    fn kind(&self) -> StoreKind {
        self.inner.kind()
    }
    fn shared_with_others(&self) -> bool {
        self.inner.shared_with_others()
    }
    fn notices(&self) -> Option<tokio::sync::broadcast::Receiver<StoreNotice>> {
        self.inner.notices()
    }
    async fn insert(&self, record: &JobRecord, events: &[EventRecord]) -> Result<Inserted> {
        self.inner.insert(record, events).await
    }
    async fn claim(&self, node: &str, n: usize, opts: &ClaimOptions) -> Result<Vec<Claim>> {
        if !self.open.load(Ordering::SeqCst) {
            return Ok(Vec::new());
        }
        let t0 = Instant::now();
        let r = self.inner.claim(node, n, opts).await;
        let us = t0.elapsed().as_micros() as u64;
        if let Ok(claims) = &r {
            let mut seen = self.seen.lock().unwrap();
            seen.claims.push((us, claims.len()));
            seen.claimed.extend(claims.iter().map(|c| c.record.info.id.clone()));
        }
        r
    }
    async fn heartbeat(&self, node: &str, held: &[(String, u64)], ttl: Duration) -> Result<Vec<Held>> {
        self.inner.heartbeat(node, held, ttl).await
    }
    async fn update(&self, info: &JobInfo, lease: u64) -> Result<()> {
        self.inner.update(info, lease).await
    }
    async fn finish(&self, info: &JobInfo, lease: u64, only_if_expired: bool) -> Result<bool> {
        let r = self.inner.finish(info, lease, only_if_expired).await;
        match r {
            Ok(true) => {
                self.finished.fetch_add(1, Ordering::SeqCst);
                let us = self.epoch.elapsed().as_micros() as u64;
                self.last_finish_us.fetch_max(us, Ordering::SeqCst);
            }
            Ok(false) => {
                self.stale.fetch_add(1, Ordering::SeqCst);
            }
            Err(_) => {}
        }
        r
    }
    async fn requeue(&self, id: &str, lease: u64, req: &Requeue) -> Result<bool> {
        self.requeues.fetch_add(1, Ordering::SeqCst);
        self.inner.requeue(id, lease, req).await
    }
    async fn end_queued(&self, id: &str, state: JobState, reason: &str) -> Result<Option<JobInfo>> {
        self.inner.end_queued(id, state, reason).await
    }
    async fn request_cancel(&self, id: &str) -> Result<bool> {
        self.inner.request_cancel(id).await
    }
    async fn get(&self, id: &str) -> Result<Option<JobRecord>> {
        self.inner.get(id).await
    }
    async fn rows(&self, known: &[(String, Option<u32>)]) -> Result<Vec<JobRow>> {
        self.inner.rows(known).await
    }
    async fn list(&self, query: &ListQuery) -> Result<JobPage> {
        self.inner.list(query).await
    }
    async fn counts(&self) -> Result<StateCounts> {
        self.inner.counts().await
    }
    async fn running(&self) -> Result<Vec<JobRow>> {
        self.inner.running().await
    }
    async fn queued_dependents(&self, id: &str) -> Result<Vec<String>> {
        self.inner.queued_dependents(id).await
    }
    async fn append_events(&self, id: &str, events: &[EventRecord]) -> Result<()> {
        self.inner.append_events(id, events).await
    }
    async fn events(&self, id: &str, after_seq: u64) -> Result<Vec<EventRecord>> {
        self.inner.events(id, after_seq).await
    }
    async fn finished_before(&self, before_ms: u64, limit: usize) -> Result<Vec<JobInfo>> {
        self.inner.finished_before(before_ms, limit).await
    }
    async fn delete(&self, ids: &[String]) -> Result<u64> {
        self.inner.delete(ids).await
    }
    async fn set_tenant(&self, name: &str, quota: &TenantQuota) -> Result<()> {
        self.inner.set_tenant(name, quota).await
    }
    async fn tenant_usage(&self, name: &str) -> Result<TenantUsage> {
        self.inner.tenant_usage(name).await
    }
    async fn pause(&self, until_ms: u64, reason: &str) -> Result<()> {
        self.inner.pause(until_ms, reason).await
    }
    async fn paused_until(&self) -> Result<Option<(u64, String)>> {
        self.inner.paused_until().await
    }
    async fn due_deliveries(&self, limit: usize, lease: Duration) -> Result<Vec<Delivery>> {
        self.inner.due_deliveries(limit, lease).await
    }
    async fn delivery_done(&self, id: i64, result: std::result::Result<(), (Option<u64>, String)>) -> Result<()> {
        self.inner.delivery_done(id, result).await
    }
    async fn put_schedule(&self, schedule: &Schedule) -> Result<Schedule> {
        self.inner.put_schedule(schedule).await
    }
    async fn delete_schedule(&self, name: &str) -> Result<bool> {
        self.inner.delete_schedule(name).await
    }
    async fn schedules(&self) -> Result<Vec<Schedule>> {
        self.inner.schedules().await
    }
    async fn advance_schedule(&self, name: &str, from_ms: u64, to_ms: u64) -> Result<bool> {
        self.inner.advance_schedule(name, from_ms, to_ms).await
    }
    async fn checkpoint(&self) -> Result<()> {
        self.inner.checkpoint().await
    }
    fn artifacts(self: Arc<Self>) -> Option<Arc<dyn ArtifactStore>> {
        self.inner.clone().artifacts()
    }
}
