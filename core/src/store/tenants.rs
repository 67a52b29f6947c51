//! What the store answers about tenants, idempotent inserts and webhook
//! deliveries.

use serde::Serialize;

use crate::policy::TenantQuota;
use crate::state::JobState;

/// A UTC day in milliseconds (daily budgets reset at 00:00 UTC).
pub const DAY_MS: u64 = 24 * 3600 * 1000;

/// What [`super::JobStore::insert`] did.
#[derive(Debug, Clone, PartialEq)]
pub enum Inserted {
    /// The job is queued.
    New,
    /// A job with the same tenant and idempotency key (this id) was
    /// submitted in the last 24 hours: nothing was inserted.
    Existing(String),
    /// The tenant has `max_queued` jobs queued already.
    QueueFull { max_queued: u32 },
}

/// A tenant's quota and its use, now.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct TenantUsage {
    pub name: String,
    pub quota: TenantQuota,
    pub running: u64,
    pub queued: u64,
    /// Cost of the tenant's jobs that finished today (UTC).
    pub spent_today_usd: f64,
    /// Budget caps of its running jobs (reserved until they finish).
    pub reserved_usd: f64,
}

impl TenantUsage {
    /// What is left of the daily budget (`None`: no budget).
    pub fn budget_left(&self) -> Option<f64> {
        self.quota
            .daily_budget_usd
            .map(|b| b - self.spent_today_usd - self.reserved_usd)
    }
}

/// A webhook delivery that is due.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    pub id: i64,
    pub job_id: String,
    pub attempt: u32,
    pub state: JobState,
    pub url: String,
    /// The JSON body (the job's final info).
    pub body: String,
    /// Deliveries tried before this one.
    pub tries: u32,
}
