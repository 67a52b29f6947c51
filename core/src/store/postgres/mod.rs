//! [`PgStore`]: PostgreSQL as queue and job tracker for managers on several
//! machines.
//!
//! Claims use a `FOR UPDATE SKIP LOCKED` CTE; every claim bumps the row's
//! `run_lease` (the fencing counter) and sets a lease that the owner renews
//! by heartbeat; results are stored only while `(id, run_lease)` still match.
//! Times come from the database clock, so machines need not agree on theirs.
//! `LISTEN/NOTIFY` on channel `cj_jobs` wakes nodes on enqueue, cancel and
//! state changes; polling and the heartbeat are the fallback.

use std::time::Duration;

use async_trait::async_trait;
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::Row;
use tokio::sync::broadcast;

mod artifacts;
mod queue;
mod read;
mod setup;
mod schedules;
mod tenants;

use setup::{listen, migrate};

use super::sql::{db_err, raw_row, to_json};
use super::url::redact_url;
use super::{
    Claim, ClaimOptions, Delivery, Held, Inserted, JobPage, JobRecord, JobRow, JobStore, ListQuery, Requeue,
    StateCounts, StoreKind, StoreNotice, TenantUsage,
};
use crate::schedule::Schedule;
use crate::error::{Error, Result};
use crate::events::EventRecord;
use crate::state::{JobInfo, JobState};

pub(super) const COLS: &str = "id, state, attempt::bigint AS attempt, max_attempts::bigint AS max_attempts, run_lease, locked_by, \
                    started_at, finished_at, lease_expires_at, deadline_at, cancel_requested_at, spec::text AS spec, info::text AS info";
/// The database clock in Unix ms.
const NOW: &str = "(extract(epoch from clock_timestamp()) * 1000)::bigint";
/// The NOTIFY channel.
const CHANNEL: &str = "cj_jobs";
/// Arbitrary key of the advisory lock that serializes migrations.
const MIGRATION_LOCK: i64 = 0x636a_6d69_6772;

/// The PostgreSQL job store (see the module docs).
pub struct PgStore {
    url: String,
    pool: PgPool,
    notices: broadcast::Sender<StoreNotice>,
    listener: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore").field("url", &self.url).finish()
    }
}

impl Drop for PgStore {
    fn drop(&mut self) {
        self.listener.abort();
    }
}

impl PgStore {
    /// Connects, applies missing migrations (one node at a time, under an
    /// advisory lock) and starts listening for notices.
    ///
    /// Errors: `Store`, with the URL's password redacted.
    pub async fn connect(url: &str) -> Result<PgStore> {
        let shown = redact_url(url);
        let fail = |e: &dyn std::fmt::Display| {
            Error::Store(format!("cannot open the PostgreSQL store {shown}: {e}"))
        };
        let pool = PgPoolOptions::new()
            .max_connections(8)
            .min_connections(0)
            // Short: while the server is down, store calls fail (and the
            // manager reports the outage) instead of queueing for long.
            .acquire_timeout(Duration::from_secs(2))
            .connect(url)
            .await
            .map_err(|e| fail(&e))?;
        migrate(&pool).await.map_err(|e| fail(&e))?;
        let (tx, _) = broadcast::channel(1024);
        let listener = tokio::spawn(listen(pool.clone(), tx.clone(), shown.clone()));
        Ok(PgStore {
            url: shown,
            pool,
            notices: tx,
            listener,
        })
    }

    async fn notify(&self, payload: &str) {
        let r = sqlx::query("SELECT pg_notify($1, $2)")
            .bind(CHANNEL)
            .bind(payload)
            .execute(&self.pool)
            .await;
        if let Err(e) = r {
            tracing::debug!(error = %e, "NOTIFY failed (other nodes will poll)");
        }
    }
}


/// Inserts events, keeping a record already stored as it is.
async fn insert_events(conn: &mut sqlx::PgConnection, id: &str, events: &[EventRecord]) -> Result<()> {
    if events.is_empty() {
        return Ok(());
    }
    let mut seqs = Vec::with_capacity(events.len());
    let mut ats = Vec::with_capacity(events.len());
    let mut evs = Vec::with_capacity(events.len());
    for e in events {
        seqs.push(e.seq as i64);
        ats.push(e.at_ms as i64);
        evs.push(to_json(&e.event)?);
    }
    sqlx::query(
        "INSERT INTO cj_events (job_id, seq, at_ms, event) \
         SELECT $1, s, a, e::jsonb FROM unnest($2::bigint[], $3::bigint[], $4::text[]) AS t(s, a, e) \
         ON CONFLICT DO NOTHING",
    )
    .bind(id)
    .bind(&seqs)
    .bind(&ats)
    .bind(&evs)
    .execute(conn)
    .await
    .map_err(db_err)?;
    Ok(())
}

#[async_trait]
impl JobStore for PgStore {
    fn describe(&self) -> String {
        self.url.clone()
    }

    fn kind(&self) -> StoreKind {
        StoreKind::Network
    }

    fn shared_with_others(&self) -> bool {
        true
    }

    fn notices(&self) -> Option<broadcast::Receiver<StoreNotice>> {
        Some(self.notices.subscribe())
    }

    async fn get(&self, id: &str) -> Result<Option<JobRecord>> {
        self.read_one(id).await
    }

    async fn rows(&self, known: &[(String, Option<u32>)]) -> Result<Vec<JobRow>> {
        self.read_rows(known).await
    }

    async fn list(&self, q: &ListQuery) -> Result<JobPage> {
        self.read_page(q).await
    }

    async fn counts(&self) -> Result<StateCounts> {
        self.read_counts().await
    }

    async fn running(&self) -> Result<Vec<JobRow>> {
        self.read_running().await
    }

    async fn queued_dependents(&self, id: &str) -> Result<Vec<String>> {
        self.read_dependents(id).await
    }

    async fn events(&self, id: &str, after_seq: u64) -> Result<Vec<EventRecord>> {
        self.read_events(id, after_seq).await
    }

    async fn finished_before(&self, before_ms: u64, limit: usize) -> Result<Vec<JobInfo>> {
        self.read_finished_before(before_ms, limit).await
    }

    async fn insert(&self, record: &JobRecord, events: &[EventRecord]) -> Result<Inserted> {
        self.insert_job(record, events).await
    }

    async fn claim(&self, node: &str, n: usize, opts: &ClaimOptions) -> Result<Vec<Claim>> {
        self.claim_jobs(node, n, opts).await
    }

    async fn update(&self, info: &JobInfo, lease: u64) -> Result<()> {
        sqlx::query("UPDATE cj_jobs SET info = $1::jsonb WHERE id = $2 AND run_lease = $3 AND state = 'running'")
            .bind(to_json(info)?)
            .bind(&info.id)
            .bind(lease as i64)
            .execute(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    async fn finish(&self, info: &JobInfo, lease: u64, only_if_expired: bool) -> Result<bool> {
        // One statement: the final state and, when it won, the webhook delivery.
        let sql = format!(
            "WITH u AS (UPDATE cj_jobs SET state = $1, info = $2::jsonb, finished_at = COALESCE($3, {NOW}), \
               cost_usd = $7, locked_by = NULL, lease_expires_at = NULL, heartbeat_at = NULL \
               WHERE id = $4 AND run_lease = $5 AND state = 'running' AND (NOT $6 OR lease_expires_at < {NOW}) \
               RETURNING id, attempt, state, spec), \
             o AS (INSERT INTO cj_outbox (job_id, attempt, state, url, body, next_at) \
               SELECT id, attempt, state, spec->>'webhook_url', $2, {NOW} FROM u WHERE spec->>'webhook_url' IS NOT NULL) \
             SELECT COUNT(*)::bigint AS won FROM u"
        );
        let won: i64 = sqlx::query_scalar(&sql)
            .bind(info.state.as_str())
            .bind(to_json(info)?)
            .bind(info.finished_at.map(|t| t as i64))
            .bind(&info.id)
            .bind(lease as i64)
            .bind(only_if_expired)
            .bind(info.cost_usd)
            .fetch_one(&self.pool)
            .await
            .map_err(db_err)?;
        if won == 1 {
            self.notify(&format!("changed:{}", info.id)).await;
        }
        Ok(won == 1)
    }

    async fn requeue(&self, id: &str, lease: u64, req: &Requeue) -> Result<bool> {
        let sql = format!(
            "UPDATE cj_jobs SET state = 'queued', run_at = $1, attempt = attempt - $2, locked_by = NULL, \
             lease_expires_at = NULL, heartbeat_at = NULL, deadline_at = NULL, cancel_requested_at = NULL, \
             errors = errors || jsonb_build_array(jsonb_build_object('at_ms', {NOW}, 'error', $3::text)) \
             WHERE id = $4 AND run_lease = $5 AND state = 'running' AND (NOT $6 OR lease_expires_at < {NOW})"
        );
        let done = sqlx::query(&sql)
            .bind(req.run_at_ms as i64)
            .bind(if req.count_attempt { 0i32 } else { 1 })
            .bind(&req.error)
            .bind(id)
            .bind(lease as i64)
            .bind(req.only_if_expired)
            .execute(&self.pool)
            .await
            .map_err(db_err)?
            .rows_affected()
            == 1;
        if done {
            self.notify("enqueued").await;
            self.notify(&format!("changed:{id}")).await;
        }
        Ok(done)
    }

    async fn heartbeat(
        &self,
        node: &str,
        held: &[(String, u64)],
        ttl: Duration,
    ) -> Result<Vec<Held>> {
        if held.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<String> = held.iter().map(|(id, _)| id.clone()).collect();
        let leases: Vec<i64> = held.iter().map(|(_, l)| *l as i64).collect();
        let sql = format!(
            "UPDATE cj_jobs SET heartbeat_at = {NOW}, lease_expires_at = {NOW} + $1 \
             WHERE state = 'running' AND locked_by = $2 \
             AND (id, run_lease) IN (SELECT * FROM unnest($3::text[], $4::bigint[])) \
             RETURNING id, cancel_requested_at"
        );
        let rows = sqlx::query(&sql)
            .bind(ttl.as_millis() as i64)
            .bind(node)
            .bind(&ids)
            .bind(&leases)
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?;
        rows.iter()
            .map(|r| {
                Ok(Held {
                    id: r.try_get("id").map_err(db_err)?,
                    cancel_requested: r
                        .try_get::<Option<i64>, _>("cancel_requested_at")
                        .map_err(db_err)?
                        .is_some(),
                })
            })
            .collect()
    }

    async fn request_cancel(&self, id: &str) -> Result<bool> {
        let n = sqlx::query(&format!(
            "UPDATE cj_jobs SET cancel_requested_at = {NOW} WHERE id = $1 AND state = 'running'"
        ))
        .bind(id)
        .execute(&self.pool)
        .await
        .map_err(db_err)?
        .rows_affected();
        if n == 1 {
            self.notify(&format!("cancel:{id}")).await;
        }
        Ok(n == 1)
    }

    async fn end_queued(&self, id: &str, state: JobState, reason: &str) -> Result<Option<JobInfo>> {
        let mut tx = self.pool.begin().await.map_err(db_err)?;
        let row = sqlx::query(&format!(
            "SELECT {COLS} FROM cj_jobs WHERE id = $1 AND state = 'queued' FOR UPDATE"
        ))
        .bind(id)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db_err)?;
        let Some(row) = row else { return Ok(None) };
        let mut info = raw_row!(&row)?.decode()?.record.info;
        let now = crate::util::now_ms();
        info.state = state;
        info.error = Some(reason.to_string());
        info.finished_at = Some(now);
        let body = to_json(&info)?;
        sqlx::query(&format!(
            "WITH u AS (UPDATE cj_jobs SET state = $1, info = $2::jsonb, finished_at = $3 WHERE id = $4 \
               RETURNING id, attempt, state, spec) \
             INSERT INTO cj_outbox (job_id, attempt, state, url, body, next_at) \
             SELECT id, attempt, state, spec->>'webhook_url', $2, {NOW} FROM u WHERE spec->>'webhook_url' IS NOT NULL"
        ))
        .bind(state.as_str())
        .bind(body)
        .bind(now as i64)
        .bind(id)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        tx.commit().await.map_err(db_err)?;
        self.notify(&format!("changed:{id}")).await;
        Ok(Some(info))
    }

    async fn append_events(&self, id: &str, events: &[EventRecord]) -> Result<()> {
        let mut conn = self.pool.acquire().await.map_err(db_err)?;
        insert_events(&mut conn, id, events).await
    }

    /// Every commit is durable on the server already.
    async fn put_schedule(&self, schedule: &Schedule) -> Result<Schedule> {
        self.write_schedule(schedule).await
    }

    async fn delete_schedule(&self, name: &str) -> Result<bool> {
        self.remove_schedule(name).await
    }

    async fn schedules(&self) -> Result<Vec<Schedule>> {
        self.read_schedules().await
    }

    async fn advance_schedule(&self, name: &str, from_ms: u64, to_ms: u64) -> Result<bool> {
        self.move_schedule(name, from_ms, to_ms).await
    }

    fn artifacts(self: std::sync::Arc<Self>) -> Option<std::sync::Arc<dyn crate::store::ArtifactStore>> {
        Some(self)
    }

    async fn checkpoint(&self) -> Result<()> {
        Ok(())
    }

    async fn set_tenant(&self, name: &str, quota: &crate::policy::TenantQuota) -> Result<()> {
        self.write_tenant(name, quota).await
    }

    async fn tenant_usage(&self, name: &str) -> Result<TenantUsage> {
        self.read_tenant_usage(name).await
    }

    async fn pause(&self, until_ms: u64, reason: &str) -> Result<()> {
        self.write_pause(until_ms, reason).await
    }

    async fn paused_until(&self) -> Result<Option<(u64, String)>> {
        self.read_pause().await
    }

    async fn due_deliveries(&self, limit: usize, lease: Duration) -> Result<Vec<Delivery>> {
        self.lease_deliveries(limit, lease).await
    }

    async fn delivery_done(&self, id: i64, result: std::result::Result<(), (Option<u64>, String)>) -> Result<()> {
        self.finish_delivery(id, result).await
    }

    async fn delete(&self, ids: &[String]) -> Result<u64> {
        if ids.is_empty() {
            return Ok(0);
        }
        let mut tx = self.pool.begin().await.map_err(db_err)?;
        let n = sqlx::query(
            "DELETE FROM cj_jobs WHERE id = ANY($1) AND state NOT IN ('queued', 'running')",
        )
        .bind(ids)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?
        .rows_affected();
        sqlx::query("DELETE FROM cj_events e WHERE e.job_id = ANY($1) AND NOT EXISTS (SELECT 1 FROM cj_jobs j WHERE j.id = e.job_id)")
            .bind(ids)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        sqlx::query("DELETE FROM cj_artifacts a WHERE a.job_id = ANY($1) AND NOT EXISTS (SELECT 1 FROM cj_jobs j WHERE j.id = a.job_id)")
            .bind(ids)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        tx.commit().await.map_err(db_err)?;
        Ok(n)
    }

}
