//! The PostgreSQL store's tenants (quotas and their use), the admission
//! gate, and the webhook outbox.

use std::time::Duration;

use sqlx::Row;

use super::{PgStore, NOW};
use crate::error::{Error, Result};
use crate::policy::TenantQuota;
use crate::state::JobState;
use crate::store::sql::db_err;
use crate::store::{Delivery, TenantUsage, DAY_MS};

impl PgStore {
    pub(super) async fn write_tenant(&self, name: &str, q: &TenantQuota) -> Result<()> {
        sqlx::query(
            "INSERT INTO cj_tenants (name, max_running, max_queued, daily_budget_usd) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (name) DO UPDATE SET max_running = EXCLUDED.max_running, \
             max_queued = EXCLUDED.max_queued, daily_budget_usd = EXCLUDED.daily_budget_usd",
        )
        .bind(name)
        .bind(q.max_running.map(|v| v as i32))
        .bind(q.max_queued.map(|v| v as i32))
        .bind(q.daily_budget_usd)
        .execute(&self.pool)
        .await
        .map_err(db_err)
        .map(|_| ())
    }

    pub(super) async fn read_tenant_usage(&self, name: &str) -> Result<TenantUsage> {
        let r = sqlx::query(&format!(
            "SELECT (SELECT max_running FROM cj_tenants WHERE name = $1) AS max_running, \
             (SELECT max_queued FROM cj_tenants WHERE name = $1) AS max_queued, \
             (SELECT daily_budget_usd FROM cj_tenants WHERE name = $1) AS budget, \
             (SELECT COUNT(*) FROM cj_jobs WHERE tenant = $1 AND state = 'running') AS running, \
             (SELECT COUNT(*) FROM cj_jobs WHERE tenant = $1 AND state = 'queued') AS queued, \
             COALESCE((SELECT SUM(cost_usd) FROM cj_jobs WHERE tenant = $1 AND state NOT IN ('queued', 'running') \
               AND finished_at >= {NOW} - {NOW} % {DAY_MS}), 0)::float8 AS spent, \
             COALESCE((SELECT SUM(budget_cap) FROM cj_jobs WHERE tenant = $1 AND state = 'running'), 0)::float8 AS reserved"
        ))
        .bind(name)
        .fetch_one(&self.pool)
        .await
        .map_err(db_err)?;
        let get_u32 = |c: &str| -> Result<Option<u32>> { Ok(r.try_get::<Option<i32>, _>(c).map_err(db_err)?.map(|v| v as u32)) };
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
        sqlx::query(
            "INSERT INTO cj_gates (name, until_ms, reason) VALUES ('rate_limit', $1, $2) \
             ON CONFLICT (name) DO UPDATE SET reason = CASE WHEN EXCLUDED.until_ms > cj_gates.until_ms \
             THEN EXCLUDED.reason ELSE cj_gates.reason END, until_ms = GREATEST(cj_gates.until_ms, EXCLUDED.until_ms)",
        )
        .bind(until_ms as i64)
        .bind(reason)
        .execute(&self.pool)
        .await
        .map_err(db_err)
        .map(|_| ())
    }

    pub(super) async fn read_pause(&self) -> Result<Option<(u64, String)>> {
        let row: Option<(i64, Option<String>)> = sqlx::query_as(&format!(
            "SELECT until_ms, reason FROM cj_gates WHERE until_ms > {NOW} ORDER BY until_ms DESC LIMIT 1"
        ))
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)?;
        Ok(row.map(|(u, r)| (u as u64, r.unwrap_or_default())))
    }

    pub(super) async fn lease_deliveries(&self, limit: usize, lease: Duration) -> Result<Vec<Delivery>> {
        let rows = sqlx::query(&format!(
            "UPDATE cj_outbox SET lease_until = {NOW} + $1 WHERE id IN (SELECT id FROM cj_outbox \
             WHERE delivered_at IS NULL AND next_at <= {NOW} AND (lease_until IS NULL OR lease_until < {NOW}) \
             ORDER BY next_at LIMIT $2 FOR UPDATE SKIP LOCKED) RETURNING id, job_id, attempt, state, url, body, tries"
        ))
        .bind(lease.as_millis() as i64)
        .bind(limit as i64)
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        rows.iter()
            .map(|r| {
                let state: String = r.try_get("state").map_err(db_err)?;
                Ok(Delivery {
                    id: r.try_get("id").map_err(db_err)?,
                    job_id: r.try_get("job_id").map_err(db_err)?,
                    attempt: r.try_get::<i32, _>("attempt").map_err(db_err)? as u32,
                    state: state.parse::<JobState>().map_err(Error::Store)?,
                    url: r.try_get("url").map_err(db_err)?,
                    body: r.try_get("body").map_err(db_err)?,
                    tries: r.try_get::<i32, _>("tries").map_err(db_err)? as u32,
                })
            })
            .collect()
    }

    pub(super) async fn finish_delivery(&self, id: i64, result: std::result::Result<(), (Option<u64>, String)>) -> Result<()> {
        let done = format!("UPDATE cj_outbox SET delivered_at = {NOW}, lease_until = NULL WHERE id = $1");
        let q = match result {
            Ok(()) => sqlx::query(&done).bind(id),
            Err((next, error)) => sqlx::query(
                "UPDATE cj_outbox SET tries = tries + 1, next_at = $2, lease_until = NULL, last_error = $3 WHERE id = $1",
            )
            .bind(id)
            .bind(next.map(|t| t as i64).unwrap_or(i64::MAX))
            .bind(error),
        };
        q.execute(&self.pool).await.map_err(db_err).map(|_| ())
    }
}
