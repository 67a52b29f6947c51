//! Tenants: their quotas (set in the store, so every manager sharing it
//! applies them), a submit refused when today's budget is spent, the
//! `budget_wait` event of queued jobs whose tenant's budget is used up, and
//! the store-wide pause after the API rate-limits a job.

use std::sync::Arc;
use std::time::Duration;

use super::{Inner, JobManager};
use crate::error::{Error, Result};
use crate::events::JobEvent;
use crate::policy::TenantQuota;
use crate::run::RateLimitHook;
use crate::spec::JobSpec;
use crate::state::JobState;
use crate::store::{ListQuery, TenantUsage, DAY_MS, MAX_PAGE};
use crate::util::now_ms;

impl JobManager {
    /// Sets a tenant's quota in the store (for every manager sharing it):
    /// a raised budget lets waiting jobs start at the next claim.
    ///
    /// ```no_run
    /// # async fn demo(m: claude_jobs::JobManager) -> claude_jobs::Result<()> {
    /// use claude_jobs::TenantQuota;
    /// m.set_tenant("team-a", TenantQuota { max_running: Some(2), daily_budget_usd: Some(10.0), ..Default::default() }).await?;
    /// println!("{:?}", m.tenant_usage("team-a").await?.budget_left());
    /// # Ok(()) }
    /// ```
    pub async fn set_tenant(&self, name: &str, quota: TenantQuota) -> Result<()> {
        JobSpec { tenant: Some(name.to_string()), prompt: "-".into(), ..Default::default() }.validate()?;
        self.inner.store.store.set_tenant(name, &quota).await?;
        self.inner.admission.wake.notify_one();
        Ok(())
    }

    /// A tenant's quota and what it uses now (running, queued, spent today).
    pub async fn tenant_usage(&self, name: &str) -> Result<TenantUsage> {
        self.inner.store.store.tenant_usage(name).await
    }
}

impl Inner {
    /// Refuses a job whose tenant has spent its budget for today.
    pub(super) async fn check_budget(&self, spec: &JobSpec) -> Result<()> {
        let Some(t) = &spec.tenant else { return Ok(()) };
        let usage = self.store.store.tenant_usage(t).await?;
        match usage.quota.daily_budget_usd {
            Some(budget) if usage.spent_today_usd >= budget => {
                let now = now_ms();
                let midnight = now - now % DAY_MS + DAY_MS;
                Err(Error::QuotaExceeded {
                    tenant: t.clone(),
                    reason: format!(
                        "today's budget of ${budget:.2} is spent (${:.4}); it resets at 00:00 UTC",
                        usage.spent_today_usd
                    ),
                    retry_after: Some(Duration::from_millis(midnight - now)),
                })
            }
            _ => Ok(()),
        }
    }

    /// Tells the queued jobs of `tenant` (once each) that they wait for
    /// its budget (nothing left, or less than their own `max_budget_usd`):
    /// held here through their cell, the others in the store.
    pub(super) async fn note_budget_wait(&self, tenant: &str) {
        let Ok(usage) = self.store.store.tenant_usage(tenant).await else { return };
        let (Some(budget), Some(left)) = (usage.quota.daily_budget_usd, usage.budget_left()) else { return };
        let q = ListQuery {
            state: Some(JobState::Queued),
            tenant: Some(tenant.to_string()),
            limit: Some(MAX_PAGE),
            ..Default::default()
        };
        let Ok(page) = self.store.store.list(&q).await else { return };
        let ev = JobEvent::BudgetWait { tenant: tenant.to_string(), budget_usd: budget, left_usd: left };
        for job in page.jobs {
            let cell = self.handles.get(&job.id);
            let want = match &cell {
                Some(c) => c.spec.max_budget_usd,
                None => match self.store.store.get(&job.id).await {
                    Ok(Some(r)) => r.spec.max_budget_usd,
                    _ => continue,
                },
            };
            if left > 0.0 && want.is_none_or(|w| w <= left + 1e-9) {
                continue;
            }
            match cell {
                Some(cell) if !waiting(&cell.events.snapshot().iter().map(|r| r.event.clone()).collect::<Vec<_>>()) => {
                    cell.emit(ev.clone());
                    self.store.store_all(&cell).await;
                }
                Some(_) => {}
                None => {
                    let stored = self.store.store.events(&job.id, 0).await.unwrap_or_default();
                    if !waiting(&stored.into_iter().map(|r| r.event).collect::<Vec<_>>()) {
                        self.store.append_after_stored(&job.id, ev.clone()).await;
                    }
                }
            }
        }
    }

    /// What an attempt calls when the API rate-limits it: admissions pause
    /// store-wide until then (every manager sharing the store waits).
    pub(super) fn rate_limit_hook(&self) -> RateLimitHook {
        let store = self.store.store.clone();
        Arc::new(move |until_ms, why| {
            let store = store.clone();
            tokio::spawn(async move {
                tracing::warn!(until_ms, "{why}: admissions paused");
                if let Err(e) = store.pause(until_ms, &why).await {
                    tracing::warn!(error = %e, "could not pause admissions");
                }
            });
        })
    }
}

/// True when the job's latest events since it was (re)queued include a
/// `budget_wait`.
fn waiting(events: &[JobEvent]) -> bool {
    for e in events.iter().rev() {
        match e {
            JobEvent::BudgetWait { .. } => return true,
            JobEvent::Queued { .. } | JobEvent::Retrying { .. } => return false,
            _ => {}
        }
    }
    false
}
