//! What the in-memory store keeps: each job's [`Entry`] and the [`Inner`]
//! state behind the store's lock (the queue, the running set, tenants).

use std::cmp::Reverse;
use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};

use super::{tenants, MEMORY_STORE_EVENT_BYTES};
use crate::events::{approx_size, EventRecord};
use crate::state::{JobInfo, JobState};
use crate::store::packed::{pack, unpack};
use crate::store::{JobRecord, JobRow, TenantUsage};
use crate::util::now_ms;

#[derive(Debug)]
pub(super) struct Entry {
    pub(super) seq: u64,
    pub(super) lease: u64,
    pub(super) run_at: u64,
    pub(super) locked_by: Option<String>,
    /// Copies of the info's fields that the queue reads.
    pub(super) state: JobState,
    pub(super) priority: i32,
    pub(super) finished_at: Option<u64>,
    /// The spec's memory and CPU caps, and what it depends on.
    pub(super) caps: (u64, f64),
    pub(super) depends_on: Vec<String>,
    pub(super) max_attempts: u32,
    pub(super) cancel_requested: bool,
    pub(super) tenant: Option<Box<str>>,
    /// USD reserved while it runs (its tenant has a daily budget).
    pub(super) budget_cap: Option<f64>,
    pub(super) info: Box<str>,
    pub(super) spec: Box<str>,
    pub(super) events: VecDeque<EventRecord>,
    pub(super) event_bytes: usize,
}

impl Entry {
    pub(super) fn info(&self) -> JobInfo {
        unpack(&self.info)
    }

    pub(super) fn set_info(&mut self, info: &JobInfo) {
        self.state = info.state;
        self.priority = info.priority;
        self.finished_at = info.finished_at;
        self.info = pack(info);
    }

    pub(super) fn record(&self) -> JobRecord {
        JobRecord {
            info: self.info(),
            spec: unpack(&self.spec),
        }
    }

    /// Appends the events after the last one held, then drops the oldest
    /// past [`MEMORY_STORE_EVENT_BYTES`].
    pub(super) fn add_events(&mut self, events: &[EventRecord]) {
        let last = self.events.back().map(|r| r.seq).unwrap_or(0);
        let new = events.iter().filter(|r| r.seq > last);
        if self.events.is_empty() {
            // Most jobs have a few events: no room for more than they need.
            self.events.reserve_exact(new.clone().count());
        }
        for r in new {
            self.event_bytes += approx_size(r);
            self.events.push_back(r.clone());
            while self.event_bytes > MEMORY_STORE_EVENT_BYTES && self.events.len() > 1 {
                let old = self.events.pop_front().expect("not empty");
                self.event_bytes -= approx_size(&old);
            }
        }
    }

    pub(super) fn queue_key(&self, id: &str) -> (Reverse<i32>, u64, String) {
        (Reverse(self.priority), self.seq, id.to_string())
    }
}

#[derive(Debug, Default)]
pub(super) struct Inner {
    pub(super) jobs: HashMap<String, Entry>,
    /// (priority desc, submission order, id) of queued jobs.
    pub(super) queue: BTreeSet<(Reverse<i32>, u64, String)>,
    /// Ids of running jobs: what a claim counts, without a scan of every job.
    pub(super) running: HashSet<String>,
    /// Events stored before their job's row (the manager writes `queued` first).
    pub(super) early_events: HashMap<String, Vec<EventRecord>>,
    pub(super) seq: u64,
    pub(super) tenants: tenants::Tenants,
    pub(super) schedules: std::collections::BTreeMap<String, crate::schedule::Schedule>,
}

impl Inner {
    /// A stored job's new info, with `running` kept in step with its state:
    /// every change of a job's info goes through here.
    pub(super) fn set_info(&mut self, id: &str, info: &JobInfo) {
        if let Some(e) = self.jobs.get_mut(id) {
            e.set_info(info);
        }
        if info.state == JobState::Running {
            if !self.running.contains(id) {
                self.running.insert(id.to_string());
            }
        } else {
            self.running.remove(id);
        }
    }
}

impl Inner {
    /// Each tenant with a quota: its running jobs and what is left of its
    /// daily budget, for one claim.
    pub(super) fn tenant_claim(&self, now: u64) -> tenants::TenantClaim<'_> {
        let mut state = HashMap::new();
        for (name, q) in &self.tenants.quotas {
            state.insert(name.clone(), (0u64, q.daily_budget_usd.map(|b| b - self.tenants.spent_today(name, now))));
        }
        for e in self.running.iter().filter_map(|id| self.jobs.get(id)) {
            if let Some((run, left)) = e.tenant.as_deref().and_then(|t| state.get_mut(t)) {
                *run += 1;
                if let (Some(l), Some(c)) = (left.as_mut(), e.budget_cap) {
                    *l -= c;
                }
            }
        }
        tenants::TenantClaim {
            quotas: &self.tenants.quotas,
            state,
            picked_budgeted: HashMap::new(),
        }
    }

    pub(super) fn usage(&self, name: &str, now: u64) -> TenantUsage {
        let mine = |e: &&Entry| e.tenant.as_deref() == Some(name);
        let running: Vec<&Entry> = self.running.iter().filter_map(|id| self.jobs.get(id)).filter(mine).collect();
        TenantUsage {
            name: name.to_string(),
            quota: self.tenants.quotas.get(name).copied().unwrap_or_default(),
            running: running.len() as u64,
            queued: self.queue.iter().filter(|k| self.jobs[&k.2].tenant.as_deref() == Some(name)).count() as u64,
            spent_today_usd: self.tenants.spent_today(name, now),
            reserved_usd: running.iter().filter_map(|e| e.budget_cap).sum(),
        }
    }

    /// A job reached a final state: its cost counts for its tenant today,
    /// and its webhook (if any) gets a delivery.
    pub(super) fn ended(&mut self, id: &str, info: &JobInfo) {
        let Some(e) = self.jobs.get(id) else { return };
        let spec: crate::spec::JobSpec = unpack(&e.spec);
        self.tenants.record_cost(spec.tenant.as_deref(), info);
        self.tenants.push_delivery(spec.webhook_url, info, now_ms());
    }
}

pub(super) fn row(e: &Entry) -> JobRow {
    JobRow {
        record: e.record(),
        lease: e.lease,
        locked_by: e.locked_by.clone(),
        lease_expires_at: None,
        deadline_at: None,
        cancel_requested_at: e.cancel_requested.then_some(0),
        max_attempts: e.max_attempts,
    }
}

