//! The in-memory store: a priority queue and a map, for tests and for
//! embedding without persistence. Each job's spec and info are kept as
//! compact JSON (`packed`), its events within [`MEMORY_STORE_EVENT_BYTES`].

use std::cmp::Reverse;
use std::collections::VecDeque;
use std::sync::Mutex;

use async_trait::async_trait;

mod entry;
mod schedules;
mod tenants;

use entry::{row, Entry, Inner};

use super::packed::{pack, unpack};
use super::{
    Claim, ClaimOptions, Delivery, Held, Inserted, JobPage, JobRecord, JobRow, JobStore, ListQuery, Requeue,
    StateCounts, StoreKind, StoreNotice, TenantUsage, DAY_MS,
};
use crate::policy::TenantQuota;
use crate::error::Result;
use crate::events::EventRecord;
use crate::schedule::Schedule;
use crate::state::{JobInfo, JobState};
use crate::util::now_ms;

/// The events a [`MemoryStore`] keeps per job, in bytes (counted like the
/// manager's `event_buffer_bytes`): past it, the oldest are dropped.
pub const MEMORY_STORE_EVENT_BYTES: usize = 2 << 20;

/// Jobs kept in memory only: lost when the process ends.
#[derive(Debug, Default)]
pub struct MemoryStore {
    inner: Mutex<Inner>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait]
impl JobStore for MemoryStore {
    fn describe(&self) -> String {
        "memory".into()
    }

    fn kind(&self) -> StoreKind {
        StoreKind::Memory
    }

    fn shared_with_others(&self) -> bool {
        false
    }

    fn notices(&self) -> Option<tokio::sync::broadcast::Receiver<StoreNotice>> {
        None
    }

    async fn insert(&self, record: &JobRecord, events: &[EventRecord]) -> Result<Inserted> {
        let mut g = self.inner.lock().unwrap();
        let spec = &record.spec;
        let tenant = spec.tenant.clone().unwrap_or_default();
        if let Some(key) = &spec.idempotency_key {
            let k = (tenant.clone(), key.clone());
            match g.tenants.keys.get(&k) {
                Some((id, at)) if at + DAY_MS > now_ms() => return Ok(Inserted::Existing(id.clone())),
                _ => {
                    g.tenants.keys.insert(k, (record.info.id.clone(), now_ms()));
                }
            }
        }
        if let Some(max) = spec.tenant.as_ref().and_then(|t| g.tenants.quotas.get(t)).and_then(|q| q.max_queued) {
            let queued = g.queue.iter().filter(|k| g.jobs[&k.2].tenant.as_deref() == Some(tenant.as_str())).count();
            if queued as u32 >= max {
                if let Some(key) = &spec.idempotency_key {
                    g.tenants.keys.remove(&(tenant, key.clone()));
                }
                return Ok(Inserted::QueueFull { max_queued: max });
            }
        }
        g.seq += 1;
        let seq = g.seq;
        if record.info.state == JobState::Queued {
            g.queue
                .insert((Reverse(record.info.priority), seq, record.info.id.clone()));
        }
        let mut entry = Entry {
            seq,
            lease: 0,
            run_at: 0,
            locked_by: None,
            state: record.info.state,
            priority: 0,
            finished_at: None,
            caps: (
                spec.memory.unwrap_or(0),
                spec.cpus.unwrap_or(0.0),
            ),
            depends_on: spec.dependencies(),
            max_attempts: spec.max_attempts,
            cancel_requested: false,
            tenant: spec.tenant.as_deref().map(Box::from),
            budget_cap: None,
            info: Box::default(),
            spec: pack(spec),
            events: VecDeque::new(),
            event_bytes: 0,
        };
        if let Some(evs) = g.early_events.remove(&record.info.id) {
            entry.add_events(&evs);
        }
        entry.add_events(events);
        g.jobs.insert(record.info.id.clone(), entry);
        g.set_info(&record.info.id, &record.info);
        Ok(Inserted::New)
    }

    async fn claim(&self, node: &str, n: usize, opts: &ClaimOptions) -> Result<Vec<Claim>> {
        let mut g = self.inner.lock().unwrap();
        let now = now_ms();
        if g.tenants.paused(now) {
            return Ok(Vec::new());
        }
        // How many jobs run now, and what they hold.
        let (running, held) = g.running.iter().filter_map(|id| g.jobs.get(id)).fold(
            (0usize, (0u64, 0f64)),
            |(k, (m, c)), e| {
                let (m2, c2) = e.caps;
                (k + 1, (m.saturating_add(m2), c + c2))
            },
        );
        let n = match opts.max_running {
            Some(max) => n.min(max.saturating_sub(running)),
            None => n,
        };
        let mut quotas = g.tenant_claim(now);
        let mut picked = Vec::new();
        let mut want = Vec::new();
        for key in g.queue.iter() {
            if picked.len() >= n {
                break;
            }
            let e = &g.jobs[&key.2];
            let ready = e.run_at <= now
                && e.depends_on.iter().all(|d| g.jobs.get(d).is_some_and(|x| x.state == JobState::Succeeded));
            if !ready {
                continue;
            }
            let spec_cap = || unpack::<crate::spec::JobSpec>(&e.spec).max_budget_usd;
            if let Some(cap) = quotas.admit(e.tenant.as_deref(), spec_cap) {
                picked.push((key.clone(), cap));
                want.push(e.caps);
            }
        }
        picked.truncate(opts.fitting(held, &want));
        let mut claims = Vec::with_capacity(picked.len());
        for (key, budget_cap) in picked {
            g.queue.remove(&key);
            let e = g.jobs.get_mut(&key.2).expect("queued job is stored");
            e.lease += 1;
            e.locked_by = Some(node.to_string());
            e.cancel_requested = false;
            e.budget_cap = budget_cap;
            let mut record = e.record();
            record.info.state = JobState::Running;
            record.info.attempt += 1;
            record.info.started_at = Some(now);
            let lease = e.lease;
            g.set_info(&key.2, &record.info);
            claims.push(Claim { record, lease, budget_cap });
        }
        Ok(claims)
    }

    async fn update(&self, info: &JobInfo, lease: u64) -> Result<()> {
        let mut g = self.inner.lock().unwrap();
        let live = g
            .jobs
            .get(&info.id)
            .is_some_and(|e| e.lease == lease && !e.state.is_final());
        if live {
            g.set_info(&info.id, info);
        }
        Ok(())
    }

    async fn heartbeat(&self, node: &str, held: &[(String, u64)], _ttl: std::time::Duration) -> Result<Vec<Held>> {
        let g = self.inner.lock().unwrap();
        Ok(held
            .iter()
            .filter_map(|(id, lease)| {
                let e = g.jobs.get(id)?;
                let ours = e.lease == *lease && e.state == JobState::Running && e.locked_by.as_deref() == Some(node);
                ours.then(|| Held {
                    id: id.clone(),
                    cancel_requested: e.cancel_requested,
                })
            })
            .collect())
    }

    async fn request_cancel(&self, id: &str) -> Result<bool> {
        let mut g = self.inner.lock().unwrap();
        match g.jobs.get_mut(id) {
            Some(e) if e.state == JobState::Running => {
                e.cancel_requested = true;
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    /// Leases in memory never expire (this process holds them all): a
    /// rescue fenced by an expired lease never wins.
    async fn finish(&self, info: &JobInfo, lease: u64, only_if_expired: bool) -> Result<bool> {
        if only_if_expired {
            return Ok(false);
        }
        let mut g = self.inner.lock().unwrap();
        match g.jobs.get_mut(&info.id) {
            Some(e) if e.lease == lease && e.state == JobState::Running => e.locked_by = None,
            _ => return Ok(false),
        }
        g.set_info(&info.id, info);
        g.ended(&info.id, info);
        Ok(true)
    }

    async fn requeue(&self, id: &str, lease: u64, req: &Requeue) -> Result<bool> {
        let mut g = self.inner.lock().unwrap();
        let info = match g.jobs.get_mut(id) {
            Some(e) if e.lease == lease && e.state == JobState::Running => {
                let mut info = e.info();
                info.state = JobState::Queued;
                if !req.count_attempt {
                    info.attempt = info.attempt.saturating_sub(1);
                }
                e.run_at = req.run_at_ms;
                e.locked_by = None;
                info
            }
            _ => return Ok(false),
        };
        g.set_info(id, &info);
        let key = g.jobs[id].queue_key(id);
        g.queue.insert(key);
        Ok(true)
    }

    async fn end_queued(&self, id: &str, state: JobState, reason: &str) -> Result<Option<JobInfo>> {
        let mut g = self.inner.lock().unwrap();
        let Some(e) = g.jobs.get(id) else {
            return Ok(None);
        };
        if e.state != JobState::Queued {
            return Ok(None);
        }
        let key = e.queue_key(id);
        g.queue.remove(&key);
        let mut info = g.jobs[id].info();
        info.state = state;
        info.error = Some(reason.to_string());
        info.finished_at = Some(now_ms());
        g.set_info(id, &info);
        g.ended(id, &info);
        Ok(Some(info))
    }

    async fn get(&self, id: &str) -> Result<Option<JobRecord>> {
        Ok(self.inner.lock().unwrap().jobs.get(id).map(Entry::record))
    }

    async fn rows(&self, known: &[(String, Option<u32>)]) -> Result<Vec<JobRow>> {
        let g = self.inner.lock().unwrap();
        Ok(known
            .iter()
            .filter_map(|(id, attempt)| {
                let e = g.jobs.get(id)?;
                let unchanged = e.state == JobState::Queued && attempt.is_some_and(|a| a == e.info().attempt);
                (!unchanged).then(|| row(e))
            })
            .collect())
    }

    async fn list(&self, q: &ListQuery) -> Result<JobPage> {
        q.validate()?;
        let g = self.inner.lock().unwrap();
        let mut ids: Vec<&String> = g
            .jobs
            .keys()
            .filter(|id| q.cursor.as_ref().is_none_or(|c| id.as_str() < c.as_str()))
            .collect();
        ids.sort_unstable_by(|a, b| b.cmp(a));
        let size = q.page_size();
        let mut jobs = Vec::with_capacity(size + 1);
        for id in ids {
            let info = g.jobs[id].info();
            if q.matches(&info) {
                jobs.push(info);
                if jobs.len() > size {
                    break;
                }
            }
        }
        Ok(JobPage::from_rows(jobs, size))
    }

    async fn counts(&self) -> Result<StateCounts> {
        let g = self.inner.lock().unwrap();
        let mut c = StateCounts::new();
        for e in g.jobs.values() {
            *c.entry(e.state).or_insert(0) += 1;
        }
        Ok(c)
    }

    async fn running(&self) -> Result<Vec<JobRow>> {
        let g = self.inner.lock().unwrap();
        Ok(g.running.iter().filter_map(|id| g.jobs.get(id)).map(row).collect())
    }

    async fn queued_dependents(&self, id: &str) -> Result<Vec<String>> {
        let g = self.inner.lock().unwrap();
        Ok(g.queue
            .iter()
            .filter(|k| g.jobs[&k.2].depends_on.iter().any(|d| d == id))
            .map(|k| k.2.clone())
            .collect())
    }

    async fn append_events(&self, id: &str, events: &[EventRecord]) -> Result<()> {
        let mut g = self.inner.lock().unwrap();
        match g.jobs.get_mut(id) {
            Some(e) => e.add_events(events),
            None => g
                .early_events
                .entry(id.to_string())
                .or_default()
                .extend_from_slice(events),
        }
        Ok(())
    }

    async fn events(&self, id: &str, after_seq: u64) -> Result<Vec<EventRecord>> {
        let g = self.inner.lock().unwrap();
        Ok(g.jobs
            .get(id)
            .map(|e| {
                e.events
                    .iter()
                    .filter(|r| r.seq > after_seq)
                    .cloned()
                    .collect()
            })
            .unwrap_or_default())
    }

    async fn finished_before(&self, before_ms: u64, limit: usize) -> Result<Vec<JobInfo>> {
        let g = self.inner.lock().unwrap();
        let mut v: Vec<JobInfo> = g
            .jobs
            .values()
            .filter(|e| e.state.is_final() && e.finished_at.unwrap_or(0) < before_ms)
            .map(Entry::info)
            .collect();
        v.sort_by_key(|i| i.finished_at);
        v.truncate(limit);
        Ok(v)
    }

    async fn put_schedule(&self, schedule: &Schedule) -> Result<Schedule> {
        Ok(self.inner.lock().unwrap().put_schedule(schedule))
    }

    async fn delete_schedule(&self, name: &str) -> Result<bool> {
        Ok(self.inner.lock().unwrap().schedules.remove(name).is_some())
    }

    async fn schedules(&self) -> Result<Vec<Schedule>> {
        Ok(self.inner.lock().unwrap().schedules.values().cloned().collect())
    }

    async fn advance_schedule(&self, name: &str, from_ms: u64, to_ms: u64) -> Result<bool> {
        Ok(self.inner.lock().unwrap().advance_schedule(name, from_ms, to_ms))
    }

    async fn checkpoint(&self) -> Result<()> {
        Ok(())
    }

    async fn set_tenant(&self, name: &str, quota: &TenantQuota) -> Result<()> {
        self.inner.lock().unwrap().tenants.quotas.insert(name.to_string(), *quota);
        Ok(())
    }

    async fn tenant_usage(&self, name: &str) -> Result<TenantUsage> {
        Ok(self.inner.lock().unwrap().usage(name, now_ms()))
    }

    async fn pause(&self, until_ms: u64, reason: &str) -> Result<()> {
        self.inner.lock().unwrap().tenants.pause(until_ms, reason);
        Ok(())
    }

    async fn paused_until(&self) -> Result<Option<(u64, String)>> {
        let g = self.inner.lock().unwrap();
        Ok(g.tenants.gate.clone().filter(|(until, _)| *until > now_ms()))
    }

    async fn due_deliveries(&self, limit: usize, lease: std::time::Duration) -> Result<Vec<Delivery>> {
        let mut g = self.inner.lock().unwrap();
        Ok(g.tenants.lease_due(now_ms(), limit, lease.as_millis() as u64))
    }

    async fn delivery_done(&self, id: i64, result: std::result::Result<(), (Option<u64>, String)>) -> Result<()> {
        self.inner.lock().unwrap().tenants.done(id, result);
        Ok(())
    }

    async fn delete(&self, ids: &[String]) -> Result<u64> {
        let mut g = self.inner.lock().unwrap();
        let mut n = 0;
        for id in ids {
            if g.jobs.get(id).map(|e| e.state.is_final()).unwrap_or(false) {
                g.jobs.remove(id);
                n += 1;
            }
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests;
