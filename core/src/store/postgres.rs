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
use sqlx::postgres::{PgListener, PgPool, PgPoolOptions};
use sqlx::{Connection, Row};
use tokio::sync::broadcast;

use super::sql::{db_err, raw_row, timeout_ms, to_json, POSTGRES_MIGRATIONS};
use super::url::redact_url;
use super::{Claim, ClaimOptions, Held, JobRecord, JobRow, JobStore, Requeue, StoreNotice};
use crate::error::{Error, Result};
use crate::events::EventRecord;
use crate::state::{JobInfo, JobState};

const COLS: &str = "id, state, attempt::bigint AS attempt, max_attempts::bigint AS max_attempts, run_lease, locked_by, \
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

    async fn select_rows(
        &self,
        sql: &str,
        bind: impl FnOnce(PgQuery<'_>) -> PgQuery<'_>,
    ) -> Result<Vec<JobRow>> {
        let rows = bind(sqlx::query(sql))
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?;
        rows.iter().map(|r| raw_row!(r)?.decode()).collect()
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

type PgQuery<'q> = sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>;

async fn migrate(pool: &PgPool) -> std::result::Result<(), String> {
    let mut conn = pool.acquire().await.map_err(|e| e.to_string())?;
    let mut tx = conn.begin().await.map_err(|e| e.to_string())?;
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(MIGRATION_LOCK)
        .execute(&mut *tx)
        .await
        .map_err(|e| e.to_string())?;
    sqlx::query("CREATE TABLE IF NOT EXISTS cj_schema_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)")
        .execute(&mut *tx)
        .await
        .map_err(|e| e.to_string())?;
    let applied: Vec<i64> = sqlx::query_scalar("SELECT version FROM cj_schema_migrations")
        .fetch_all(&mut *tx)
        .await
        .map_err(|e| e.to_string())?;
    let newest = POSTGRES_MIGRATIONS.last().map(|m| m.version).unwrap_or(0);
    if let Some(v) = applied.iter().find(|v| **v > newest) {
        return Err(format!(
            "the database has schema version {v}, newer than this build knows ({newest})"
        ));
    }
    for m in POSTGRES_MIGRATIONS
        .iter()
        .filter(|m| !applied.contains(&m.version))
    {
        sqlx::raw_sql(m.sql)
            .execute(&mut *tx)
            .await
            .map_err(|e| format!("migration {} ({}): {e}", m.version, m.name))?;
        sqlx::query(&format!(
            "INSERT INTO cj_schema_migrations (version, name, applied_at) VALUES ($1, $2, {NOW})"
        ))
        .bind(m.version)
        .bind(m.name)
        .execute(&mut *tx)
        .await
        .map_err(|e| e.to_string())?;
    }
    tx.commit().await.map_err(|e| e.to_string())
}

/// Forwards NOTIFY payloads to the store's subscribers, reconnecting forever.
async fn listen(pool: PgPool, tx: broadcast::Sender<StoreNotice>, shown: String) {
    loop {
        let mut listener = match PgListener::connect_with(&pool).await {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!(store = %shown, error = %e, "LISTEN connection failed; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        if let Err(e) = listener.listen(CHANNEL).await {
            tracing::warn!(store = %shown, error = %e, "LISTEN failed; retrying");
            tokio::time::sleep(Duration::from_secs(1)).await;
            continue;
        }
        loop {
            match listener.try_recv().await {
                Ok(Some(n)) => {
                    let p = n.payload();
                    let notice = if p == "enqueued" {
                        StoreNotice::Enqueued
                    } else if let Some(id) = p.strip_prefix("cancel:") {
                        StoreNotice::Cancel(id.to_string())
                    } else if let Some(id) = p.strip_prefix("changed:") {
                        StoreNotice::Changed(id.to_string())
                    } else {
                        continue;
                    };
                    let _ = tx.send(notice);
                }
                Ok(None) => {
                    // The connection was lost and is re-established on the next
                    // call; notices sent meanwhile are lost: wake everyone to poll.
                    let _ = tx.send(StoreNotice::Enqueued);
                }
                Err(e) => {
                    tracing::warn!(store = %shown, error = %e, "LISTEN connection lost; reconnecting");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    break;
                }
            }
        }
    }
}

#[async_trait]
impl JobStore for PgStore {
    async fn insert(&self, record: &JobRecord) -> Result<()> {
        let info = &record.info;
        let mut tx = self.pool.begin().await.map_err(db_err)?;
        sqlx::query(
            "INSERT INTO cj_jobs (id, template, state, priority, attempt, max_attempts, run_at, created_at, \
             finished_at, timeout_ms, spec, info, log_dir) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $8, $9, $10::jsonb, $11::jsonb, $12)",
        )
        .bind(&info.id)
        .bind(&info.template)
        .bind(info.state.as_str())
        .bind(info.priority)
        .bind(info.attempt as i32)
        .bind(record.spec.max_attempts.max(1) as i32)
        .bind(info.created_at as i64)
        .bind(info.finished_at.map(|t| t as i64))
        .bind(timeout_ms(&record.spec))
        .bind(to_json(&record.spec)?)
        .bind(to_json(info)?)
        .bind(info.log_dir.as_ref().map(|p| p.display().to_string()))
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        if !record.spec.depends_on.is_empty() {
            sqlx::query("INSERT INTO cj_job_deps (job_id, dep_id) SELECT $1, unnest($2::text[]) ON CONFLICT DO NOTHING")
                .bind(&info.id)
                .bind(&record.spec.depends_on)
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
        }
        tx.commit().await.map_err(db_err)?;
        self.notify("enqueued").await;
        Ok(())
    }

    async fn claim(&self, node: &str, n: usize) -> Result<Vec<Claim>> {
        self.claim_with(node, n, &ClaimOptions::new(Duration::from_secs(60)))
            .await
    }

    async fn claim_with(&self, node: &str, n: usize, opts: &ClaimOptions) -> Result<Vec<Claim>> {
        if n == 0 {
            return Ok(Vec::new());
        }
        // The CTE form: Postgres honours the LIMIT (a FROM-subquery may not).
        // `c` keeps the longest prefix of the candidates whose caps, added
        // to what this node's running jobs hold, fit the budgets (running
        // sums only grow, so the rows that pass are a prefix).
        let sql = format!(
            "WITH cand AS (SELECT j.id, j.priority, j.run_at, j.seq, \
                 COALESCE((j.spec->'limits'->>'memory')::bigint, 0) AS mem, \
                 COALESCE((j.spec->'limits'->>'cpus')::float8, 0) AS cpu \
               FROM cj_jobs j WHERE j.state = 'queued' AND j.run_at <= {NOW} \
               AND NOT EXISTS (SELECT 1 FROM cj_job_deps d JOIN cj_jobs p ON p.id = d.dep_id \
                               WHERE d.job_id = j.id AND p.state <> 'succeeded') \
               ORDER BY j.priority DESC, j.run_at, j.seq LIMIT $1 FOR UPDATE OF j SKIP LOCKED), \
             held AS (SELECT COALESCE(SUM((h.spec->'limits'->>'memory')::bigint), 0) AS mem, \
                 COALESCE(SUM((h.spec->'limits'->>'cpus')::float8), 0) AS cpu \
               FROM cj_jobs h WHERE h.state = 'running' AND h.locked_by = $2), \
             run AS (SELECT cand.id, SUM(cand.mem) OVER w AS cm, SUM(cand.cpu) OVER w AS cc FROM cand \
               WINDOW w AS (ORDER BY cand.priority DESC, cand.run_at, cand.seq \
                            ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)), \
             c AS (SELECT run.id FROM run, held \
               WHERE ($4::bigint IS NULL OR held.mem + run.cm <= $4) \
                 AND ($5::float8 IS NULL OR held.cpu + run.cc <= $5 + 1e-9)) \
             UPDATE cj_jobs u SET state = 'running', run_lease = u.run_lease + 1, attempt = u.attempt + 1, \
               locked_by = $2, started_at = {NOW}, finished_at = NULL, heartbeat_at = {NOW}, \
               lease_expires_at = {NOW} + $3, cancel_requested_at = NULL, \
               deadline_at = CASE WHEN u.timeout_ms IS NULL THEN NULL ELSE {NOW} + u.timeout_ms END \
             FROM c WHERE u.id = c.id RETURNING u.priority AS prio, u.seq AS ord, \
               u.id, u.state, u.attempt::bigint AS attempt, u.max_attempts::bigint AS max_attempts, u.run_lease, \
               u.locked_by, u.started_at, u.finished_at, u.lease_expires_at, u.deadline_at, u.cancel_requested_at, \
               u.spec::text AS spec, u.info::text AS info"
        );
        let rows = sqlx::query(&sql)
            .bind(n as i64)
            .bind(node)
            .bind(opts.lease_ttl.as_millis() as i64)
            .bind(opts.memory_budget.map(|b| b.min(i64::MAX as u64) as i64))
            .bind(opts.cpu_budget)
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?;
        let mut claims = Vec::with_capacity(rows.len());
        for r in &rows {
            let prio: i32 = r.try_get("prio").map_err(db_err)?;
            let ord: i64 = r.try_get("ord").map_err(db_err)?;
            let row = raw_row!(r)?.decode()?;
            claims.push((
                prio,
                ord,
                Claim {
                    record: row.record,
                    lease: row.lease,
                },
            ));
        }
        claims.sort_by_key(|(p, o, _)| (-(*p as i64), *o));
        Ok(claims.into_iter().map(|(_, _, c)| c).collect())
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

    async fn finish(&self, info: &JobInfo, lease: u64) -> Result<bool> {
        self.finish_rescued(info, lease, false).await
    }

    async fn finish_rescued(
        &self,
        info: &JobInfo,
        lease: u64,
        only_if_expired: bool,
    ) -> Result<bool> {
        let sql = format!(
            "UPDATE cj_jobs SET state = $1, info = $2::jsonb, finished_at = COALESCE($3, {NOW}), locked_by = NULL, \
             lease_expires_at = NULL, heartbeat_at = NULL \
             WHERE id = $4 AND run_lease = $5 AND state = 'running' AND (NOT $6 OR lease_expires_at < {NOW})"
        );
        let done = sqlx::query(&sql)
            .bind(info.state.as_str())
            .bind(to_json(info)?)
            .bind(info.finished_at.map(|t| t as i64))
            .bind(&info.id)
            .bind(lease as i64)
            .bind(only_if_expired)
            .execute(&self.pool)
            .await
            .map_err(db_err)?
            .rows_affected()
            == 1;
        if done {
            self.notify(&format!("changed:{}", info.id)).await;
        }
        Ok(done)
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
        sqlx::query(
            "UPDATE cj_jobs SET state = $1, info = $2::jsonb, finished_at = $3 WHERE id = $4",
        )
        .bind(state.as_str())
        .bind(to_json(&info)?)
        .bind(now as i64)
        .bind(id)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        tx.commit().await.map_err(db_err)?;
        self.notify(&format!("changed:{id}")).await;
        Ok(Some(info))
    }

    async fn get(&self, id: &str) -> Result<Option<JobRecord>> {
        let id = id.to_string();
        let rows = self
            .select_rows(&format!("SELECT {COLS} FROM cj_jobs WHERE id = $1"), |q| {
                q.bind(id)
            })
            .await?;
        Ok(rows.into_iter().next().map(|r| r.record))
    }

    async fn rows(&self, ids: &[String]) -> Result<Vec<JobRow>> {
        let ids = ids.to_vec();
        self.select_rows(
            &format!("SELECT {COLS} FROM cj_jobs WHERE id = ANY($1)"),
            |q| q.bind(ids),
        )
        .await
    }

    async fn rows_changed(&self, known: &[(String, Option<u32>)]) -> Result<Vec<JobRow>> {
        let ids: Vec<String> = known.iter().map(|(id, _)| id.clone()).collect();
        let attempts: Vec<Option<i64>> = known.iter().map(|(_, a)| a.map(i64::from)).collect();
        self.select_rows(
            &format!(
                "SELECT {COLS} FROM cj_jobs JOIN unnest($1::text[], $2::bigint[]) AS k(kid, katt) \
                 ON cj_jobs.id = k.kid WHERE NOT (state = 'queued' AND attempt IS NOT DISTINCT FROM k.katt)"
            ),
            |q| q.bind(ids).bind(attempts),
        )
        .await
    }

    async fn list(&self) -> Result<Vec<JobInfo>> {
        let rows = self
            .select_rows(&format!("SELECT {COLS} FROM cj_jobs ORDER BY seq"), |q| q)
            .await?;
        Ok(rows.into_iter().map(|r| r.record.info).collect())
    }

    async fn running(&self) -> Result<Vec<JobRow>> {
        self.select_rows(
            &format!("SELECT {COLS} FROM cj_jobs WHERE state = 'running'"),
            |q| q,
        )
        .await
    }

    async fn queued_dependents(&self, id: &str) -> Result<Vec<String>> {
        sqlx::query_scalar(
            "SELECT j.id FROM cj_jobs j JOIN cj_job_deps d ON d.job_id = j.id \
             WHERE d.dep_id = $1 AND j.state = 'queued' ORDER BY j.seq",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)
    }

    async fn queued(&self) -> Result<Vec<String>> {
        sqlx::query_scalar(
            "SELECT id FROM cj_jobs WHERE state = 'queued' ORDER BY priority DESC, run_at, seq",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)
    }

    async fn append_events(&self, id: &str, events: &[EventRecord]) -> Result<()> {
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
        .execute(&self.pool)
        .await
        .map_err(db_err)?;
        Ok(())
    }

    async fn events(&self, id: &str, after_seq: u64) -> Result<Vec<EventRecord>> {
        let rows = sqlx::query("SELECT seq, at_ms, event::text AS event FROM cj_events WHERE job_id = $1 AND seq > $2 ORDER BY seq")
            .bind(id)
            .bind(after_seq as i64)
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?;
        rows.iter()
            .map(|r| {
                let ev: String = r.try_get("event").map_err(db_err)?;
                Ok(EventRecord {
                    seq: r.try_get::<i64, _>("seq").map_err(db_err)? as u64,
                    at_ms: r.try_get::<i64, _>("at_ms").map_err(db_err)? as u64,
                    event: serde_json::from_str(&ev).map_err(|e| {
                        Error::Store(format!("job {id}: corrupt event in the store: {e}"))
                    })?,
                })
            })
            .collect()
    }

    async fn finished_before(&self, before_ms: u64, limit: usize) -> Result<Vec<JobInfo>> {
        let rows = self
            .select_rows(
                &format!(
                    "SELECT {COLS} FROM cj_jobs WHERE finished_at IS NOT NULL AND finished_at < $1 \
                     AND state NOT IN ('queued', 'running') ORDER BY finished_at LIMIT $2"
                ),
                |q| q.bind(before_ms as i64).bind(limit as i64),
            )
            .await?;
        Ok(rows.into_iter().map(|r| r.record.info).collect())
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
        tx.commit().await.map_err(db_err)?;
        Ok(n)
    }

    fn is_durable(&self) -> bool {
        true
    }

    fn notices(&self) -> Option<broadcast::Receiver<StoreNotice>> {
        Some(self.notices.subscribe())
    }

    fn describe(&self) -> String {
        self.url.clone()
    }
}
