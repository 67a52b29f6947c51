//! The memory store's tenants (quotas, today's spend), admission gate,
//! idempotency keys and webhook outbox.

use std::collections::{BTreeMap, HashMap};

use crate::policy::TenantQuota;
use crate::state::JobInfo;
use crate::store::{Delivery, DAY_MS};

#[derive(Debug)]
struct Outbox {
    d: Delivery,
    next_at: u64,
    lease_until: u64,
    delivered: bool,
}

#[derive(Debug, Default)]
pub(super) struct Tenants {
    pub quotas: HashMap<String, TenantQuota>,
    /// Cost of each tenant's jobs that finished on a day: (day, USD).
    spent: HashMap<String, (u64, f64)>,
    pub gate: Option<(u64, String)>,
    /// (tenant, key) → (job id, submitted at).
    pub keys: HashMap<(String, String), (String, u64)>,
    outbox: BTreeMap<i64, Outbox>,
    next_id: i64,
}

impl Tenants {
    /// What the tenant spent today (finished jobs).
    pub fn spent_today(&self, tenant: &str, now: u64) -> f64 {
        match self.spent.get(tenant) {
            Some((day, usd)) if *day == now / DAY_MS => *usd,
            _ => 0.0,
        }
    }

    /// A finished job's cost counts for its tenant's day.
    pub fn record_cost(&mut self, tenant: Option<&str>, info: &JobInfo) {
        let (Some(t), Some(cost), Some(at)) = (tenant, info.cost_usd, info.finished_at) else {
            return;
        };
        let day = at / DAY_MS;
        let e = self.spent.entry(t.to_string()).or_insert((day, 0.0));
        if e.0 != day {
            *e = (day, 0.0);
        }
        e.1 += cost;
    }

    pub fn paused(&self, now: u64) -> bool {
        self.gate.as_ref().is_some_and(|(until, _)| *until > now)
    }

    pub fn pause(&mut self, until: u64, reason: &str) {
        if self.gate.as_ref().is_none_or(|(u, _)| until > *u) {
            self.gate = Some((until, reason.to_string()));
        }
    }

    /// The delivery of a job's final state to its webhook.
    pub fn push_delivery(&mut self, url: Option<String>, info: &JobInfo, now: u64) {
        let Some(url) = url else { return };
        self.next_id += 1;
        let d = Delivery {
            id: self.next_id,
            job_id: info.id.clone(),
            attempt: info.attempt,
            state: info.state,
            url,
            body: serde_json::to_string(info).unwrap_or_default(),
            tries: 0,
        };
        self.outbox.insert(self.next_id, Outbox { d, next_at: now, lease_until: 0, delivered: false });
    }

    pub fn lease_due(&mut self, now: u64, limit: usize, lease_ms: u64) -> Vec<Delivery> {
        let mut out = Vec::new();
        for o in self.outbox.values_mut() {
            if out.len() >= limit {
                break;
            }
            if !o.delivered && o.next_at <= now && o.lease_until < now {
                o.lease_until = now + lease_ms;
                out.push(o.d.clone());
            }
        }
        out
    }

    pub fn done(&mut self, id: i64, result: Result<(), (Option<u64>, String)>) {
        let Some(o) = self.outbox.get_mut(&id) else { return };
        o.lease_until = 0;
        match result {
            Ok(()) => o.delivered = true,
            Err((next, _)) => {
                o.d.tries += 1;
                o.next_at = next.unwrap_or(u64::MAX);
            }
        }
    }
}

/// A queued job's standing in its tenant's quota during one claim.
pub(super) struct TenantClaim<'a> {
    pub quotas: &'a HashMap<String, TenantQuota>,
    /// Per tenant: running now (and picked in this claim), and budget left.
    pub state: HashMap<String, (u64, Option<f64>)>,
    pub picked_budgeted: HashMap<String, bool>,
}

impl TenantClaim<'_> {
    /// Whether a job of `tenant` wanting `want` USD may start (with a
    /// budget: the first in this claim, something left, and its own cap,
    /// if any, no more than that); the cap it reserves.
    pub fn admit(&mut self, tenant: Option<&str>, want: impl FnOnce() -> Option<f64>) -> Option<Option<f64>> {
        let Some(t) = tenant else { return Some(None) };
        let Some(q) = self.quotas.get(t) else { return Some(None) };
        let (running, left) = *self.state.get(t).expect("every quota has its state");
        if q.max_running.is_some_and(|m| running >= m as u64) {
            return None;
        }
        let cap = match left {
            None => None,
            Some(l) if l <= 0.0 || self.picked_budgeted.get(t).copied().unwrap_or(false) => return None,
            // A job whose own cap would not fit in what is left waits.
            Some(l) => match want() {
                Some(w) if w > l + 1e-9 => return None,
                w => Some(w.unwrap_or(l).min(l)),
            },
        };
        self.state.insert(t.to_string(), (running + 1, left));
        if cap.is_some() {
            self.picked_budgeted.insert(t.to_string(), true);
        }
        Some(cap)
    }
}
