//! The SQLite store's tenants (quotas and their use), the admission gate,
//! and the webhook outbox.

use std::time::Duration;

use sqlx::Row;

use super::SqliteStore;
use crate::error::{Error, Result};
use crate::policy::TenantQuota;
use crate::state::JobState;
use crate::store::batch::Batch;
use crate::store::sql::db_err;
use crate::store::{fork_gate, Delivery, TenantUsage, DAY_MS};
use crate::util::now_ms;

/// The outbox row of a job's final state, when its spec has a webhook URL:
/// appended to the batch that stores that state (`body` is the final info).
pub(super) fn outbox_stmt(b: &mut Batch, id: &str, body: String, now: i64) {
    b.stmt(
        "INSERT INTO cj_outbox (job_id, attempt, state, url, body, next_at) \
         SELECT id, attempt, state, json_extract(spec, '$.webhook_url'), ?, ? FROM cj_jobs \
         WHERE id = ? AND json_extract(spec, '$.webhook_url') IS NOT NULL AND changes() = 1",
    )
    .text(body)
    .int(now)
    .text(id);
}

impl SqliteStore {
    pub(super) async fn write_tenant(&self, name: &str, q: &TenantQuota) -> Result<()> {
        let _gate = fork_gate::enter().await;
        let mut b = Batch::default();
        b.stmt(
            "INSERT INTO cj_tenants (name, max_running, max_queued, daily_budget_usd) VALUES (?, ?, ?, ?) \
             ON CONFLICT (name) DO UPDATE SET max_running = excluded.max_running, \
             max_queued = excluded.max_queued, daily_budget_usd = excluded.daily_budget_usd",
        )
        .text(name)
        .opt_int(q.max_running.map(i64::from))
        .opt_int(q.max_queued.map(i64::from))
        .opt_real(q.daily_budget_usd);
        let mut w = self.writer.lock().await;
        b.run(&mut w).await.map(|_| ())
    }

    pub(super) async fn read_tenant_usage(&self, name: &str) -> Result<TenantUsage> {
        let _gate = fork_gate::enter().await;
        let now = now_ms() as i64;
        let r = sqlx::query(
            "SELECT (SELECT max_running FROM cj_tenants WHERE name = ?1) AS max_running, \
             (SELECT max_queued FROM cj_tenants WHERE name = ?1) AS max_queued, \
             (SELECT daily_budget_usd FROM cj_tenants WHERE name = ?1) AS budget, \
             (SELECT COUNT(*) FROM cj_jobs WHERE tenant = ?1 AND state = 'running') AS running, \
             (SELECT COUNT(*) FROM cj_jobs WHERE tenant = ?1 AND state = 'queued') AS queued, \
             (SELECT TOTAL(cost_usd) FROM cj_jobs WHERE tenant = ?1 AND state NOT IN ('queued', 'running') \
              AND finished_at >= ?2) AS spent, \
             (SELECT TOTAL(budget_cap) FROM cj_jobs WHERE tenant = ?1 AND state = 'running') AS reserved",
        )
        .bind(name)
        .bind(now - now % DAY_MS as i64)
        .fetch_one(&self.reader)
        .await
        .map_err(db_err)?;
        let get_u32 = |c: &str| -> Result<Option<u32>> {
            Ok(r.try_get::<Option<i64>, _>(c).map_err(db_err)?.map(|v| v as u32))
        };
        Ok(TenantUsage {
            name: name.to_string(),
            quota: TenantQuota {
                max_running: get_u32("max_running")?,
                max_queued: get_u32("max_queued")?,
                daily_budget_usd: r.try_get("budget").map_err(db_err)?,
            },
            running: r.try_get::<i64, _>("running").map_err(db_err)? as u64,
            queued: r.try_get::<i64, _>("queued").map_err(db_err)? as u64,
            spent_today_usd: r.try_get("spent").map_err(db_err)?,
            reserved_usd: r.try_get("reserved").map_err(db_err)?,
        })
    }

    pub(super) async fn write_pause(&self, until_ms: u64, reason: &str) -> Result<()> {
        let _gate = fork_gate::enter().await;
        let mut b = Batch::default();
        b.stmt(
            "INSERT INTO cj_gates (name, until_ms, reason) VALUES ('rate_limit', ?, ?) \
             ON CONFLICT (name) DO UPDATE SET reason = CASE WHEN excluded.until_ms > until_ms \
             THEN excluded.reason ELSE reason END, until_ms = MAX(until_ms, excluded.until_ms)",
        )
        .int(until_ms as i64)
        .text(reason);
        let mut w = self.writer.lock().await;
        b.run(&mut w).await.map(|_| ())
    }

    pub(super) async fn read_pause(&self) -> Result<Option<(u64, String)>> {
        let _gate = fork_gate::enter().await;
        let row = sqlx::query("SELECT until_ms, reason FROM cj_gates WHERE until_ms > ? ORDER BY until_ms DESC LIMIT 1")
            .bind(now_ms() as i64)
            .fetch_optional(&self.reader)
            .await
            .map_err(db_err)?;
        match row {
            Some(r) => Ok(Some((
                r.try_get::<i64, _>("until_ms").map_err(db_err)? as u64,
                r.try_get::<Option<String>, _>("reason").map_err(db_err)?.unwrap_or_default(),
            ))),
            None => Ok(None),
        }
    }

    pub(super) async fn lease_deliveries(&self, limit: usize, lease: Duration) -> Result<Vec<Delivery>> {
        let _gate = fork_gate::enter().await;
        let now = now_ms() as i64;
        let mut b = Batch::default();
        b.stmt(
            "UPDATE cj_outbox SET lease_until = ? WHERE id IN (SELECT id FROM cj_outbox \
             WHERE delivered_at IS NULL AND next_at <= ? AND (lease_until IS NULL OR lease_until < ?) \
             ORDER BY next_at LIMIT ?) RETURNING id, job_id, attempt, state, url, body, tries",
        )
        .int(now + lease.as_millis() as i64)
        .int(now)
        .int(now)
        .int(limit as i64);
        let rows = {
            let mut w = self.writer.lock().await;
            b.run(&mut w).await?
        };
        rows.iter()
            .map(|r| {
                let state: String = r.try_get("state").map_err(db_err)?;
                Ok(Delivery {
                    id: r.try_get("id").map_err(db_err)?,
                    job_id: r.try_get("job_id").map_err(db_err)?,
                    attempt: r.try_get::<i64, _>("attempt").map_err(db_err)? as u32,
                    state: state.parse::<JobState>().map_err(Error::Store)?,
                    url: r.try_get("url").map_err(db_err)?,
                    body: r.try_get("body").map_err(db_err)?,
                    tries: r.try_get::<i64, _>("tries").map_err(db_err)? as u32,
                })
            })
            .collect()
    }

    pub(super) async fn finish_delivery(&self, id: i64, result: std::result::Result<(), (Option<u64>, String)>) -> Result<()> {
        let _gate = fork_gate::enter().await;
        let now = now_ms() as i64;
        let mut b = Batch::default();
        match result {
            Ok(()) => {
                b.stmt("UPDATE cj_outbox SET delivered_at = ?, lease_until = NULL WHERE id = ?").int(now).int(id);
            }
            Err((next, error)) => {
                // No next time: given up, kept with its error (delivered_at stays NULL, next_at far away).
                b.stmt("UPDATE cj_outbox SET tries = tries + 1, next_at = ?, lease_until = NULL, last_error = ? WHERE id = ?")
                    .int(next.map(|t| t as i64).unwrap_or(i64::MAX))
                    .text(error)
                    .int(id);
            }
        }
        let mut w = self.writer.lock().await;
        b.run(&mut w).await.map(|_| ())
    }
}
