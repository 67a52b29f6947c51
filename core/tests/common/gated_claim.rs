//! A store whose claims wait at a gate the test opens: the moment between a
//! claim being sent and its jobs starting lasts as long as the test needs.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use claude_jobs::store::{
    Claim, ClaimOptions, Delivery, Held, Inserted, JobPage, JobRecord, JobRow, JobStore, ListQuery,
    MemoryStore, Requeue, StateCounts, StoreKind, StoreNotice, TenantUsage,
};
use claude_jobs::{EventRecord, JobInfo, JobState, Result, Schedule};
use tokio::sync::Semaphore;

/// [`MemoryStore`] whose claims that found jobs wait for [`GatedClaimStore::open`]
/// (after choosing the jobs, so they are running in the store while the
/// answer is held).
#[derive(Debug)]
pub struct GatedClaimStore {
    pub inner: MemoryStore,
    gate: Semaphore,
    /// Claims with jobs waiting at the gate now.
    pub waiting: AtomicUsize,
    /// Claims that came back with at least one job.
    pub answered: AtomicUsize,
}

impl GatedClaimStore {
    pub fn new() -> Self {
        GatedClaimStore {
            inner: MemoryStore::new(),
            gate: Semaphore::new(0),
            waiting: AtomicUsize::new(0),
            answered: AtomicUsize::new(0),
        }
    }

    /// Lets one held claim answer.
    pub fn open(&self) {
        self.gate.add_permits(1);
    }

    /// Waits (up to `secs`) until a claim with jobs is held at the gate.
    pub async fn held(&self, secs: u64) -> bool {
        let end = std::time::Instant::now() + Duration::from_secs(secs);
        while self.waiting.load(Ordering::SeqCst) == 0 {
            if std::time::Instant::now() > end {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        true
    }
}

#[async_trait]
impl JobStore for GatedClaimStore {
    fn describe(&self) -> String {
        "gated-claim memory".into()
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
    async fn insert(&self, r: &JobRecord, e: &[EventRecord]) -> Result<Inserted> {
        self.inner.insert(r, e).await
    }
    async fn claim(&self, node: &str, n: usize, o: &ClaimOptions) -> Result<Vec<Claim>> {
        let got = self.inner.claim(node, n, o).await?;
        if !got.is_empty() {
            self.waiting.fetch_add(1, Ordering::SeqCst);
            self.gate.acquire().await.expect("gate open").forget();
            self.waiting.fetch_sub(1, Ordering::SeqCst);
            self.answered.fetch_add(1, Ordering::SeqCst);
        }
        Ok(got)
    }
    async fn heartbeat(&self, node: &str, held: &[(String, u64)], ttl: Duration) -> Result<Vec<Held>> {
        self.inner.heartbeat(node, held, ttl).await
    }
    async fn update(&self, i: &JobInfo, lease: u64) -> Result<()> {
        self.inner.update(i, lease).await
    }
    async fn finish(&self, i: &JobInfo, lease: u64, expired: bool) -> Result<bool> {
        self.inner.finish(i, lease, expired).await
    }
    async fn requeue(&self, id: &str, lease: u64, req: &Requeue) -> Result<bool> {
        self.inner.requeue(id, lease, req).await
    }
    async fn end_queued(&self, id: &str, s: JobState, why: &str) -> Result<Option<JobInfo>> {
        self.inner.end_queued(id, s, why).await
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
    async fn list(&self, q: &ListQuery) -> Result<JobPage> {
        self.inner.list(q).await
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
    async fn append_events(&self, id: &str, e: &[EventRecord]) -> Result<()> {
        self.inner.append_events(id, e).await
    }
    async fn events(&self, id: &str, after: u64) -> Result<Vec<EventRecord>> {
        self.inner.events(id, after).await
    }
    async fn finished_before(&self, before: u64, limit: usize) -> Result<Vec<JobInfo>> {
        self.inner.finished_before(before, limit).await
    }
    async fn delete(&self, ids: &[String]) -> Result<u64> {
        self.inner.delete(ids).await
    }
    async fn checkpoint(&self) -> Result<()> {
        self.inner.checkpoint().await
    }
    async fn put_schedule(&self, s: &Schedule) -> Result<Schedule> {
        self.inner.put_schedule(s).await
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
    async fn set_tenant(&self, name: &str, q: &claude_jobs::TenantQuota) -> Result<()> {
        self.inner.set_tenant(name, q).await
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
    async fn delivery_done(&self, id: i64, r: std::result::Result<(), (Option<u64>, String)>) -> Result<()> {
        self.inner.delivery_done(id, r).await
    }
}
