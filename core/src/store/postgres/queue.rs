//! The PostgreSQL claim and insert. Both take a transaction-scoped
//! advisory lock when tenants have quotas, so that quotas hold across
//! nodes: claims are serialized (each sees the others' committed claims),
//! and the count of a tenant's queued jobs cannot race a concurrent insert.

use sqlx::Row;

use super::{insert_events, PgStore, NOW};
use crate::error::Result;
use crate::events::EventRecord;
use crate::store::sql::{db_err, raw_row, timeout_ms, to_json};
use crate::store::{Claim, ClaimOptions, Inserted, JobRecord, DAY_MS};

/// Serializes claims while any tenant has a quota.
const CLAIM_LOCK: i64 = 0x636a_636c_6169;
/// With a tenant's hash: serializes its inserts.
const INSERT_LOCK: i32 = 0x636a_6971;

impl PgStore {
    pub(super) async fn claim_jobs(
        &self,
        node: &str,
        n: usize,
        opts: &ClaimOptions,
    ) -> Result<Vec<Claim>> {
        if n == 0 {
            return Ok(Vec::new());
        }
        let mut tx = self.pool.begin().await.map_err(db_err)?;
        // A row: some tenant has a quota (and the lock is held).
        let quotas = sqlx::query("SELECT pg_advisory_xact_lock($1) FROM (SELECT 1 FROM cj_tenants LIMIT 1) t")
            .bind(CLAIM_LOCK)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db_err)?
            .is_some();
        let sql = if quotas { claim_sql() } else { claim_sql_no_quotas() };
        let rows = sqlx::query(&sql)
            .bind(n as i64)
            .bind(node)
            .bind(opts.lease_ttl.as_millis() as i64)
            .bind(opts.memory_budget.map(|b| b.min(i64::MAX as u64) as i64))
            .bind(opts.cpu_budget)
            .fetch_all(&mut *tx)
            .await
            .map_err(db_err)?;
        tx.commit().await.map_err(db_err)?;
        let mut claims = Vec::with_capacity(rows.len());
        for r in &rows {
            let prio: i32 = r.try_get("prio").map_err(db_err)?;
            let ord: i64 = r.try_get("ord").map_err(db_err)?;
            let budget_cap: Option<f64> = r.try_get("budget_cap").map_err(db_err)?;
            let row = raw_row!(r)?.decode()?;
            claims.push((
                prio,
                ord,
                Claim {
                    record: row.record,
                    lease: row.lease,
                    budget_cap,
                },
            ));
        }
        claims.sort_by_key(|(p, o, _)| (-(*p as i64), *o));
        Ok(claims.into_iter().map(|(_, _, c)| c).collect())
    }

    pub(super) async fn insert_job(
        &self,
        record: &JobRecord,
        events: &[EventRecord],
    ) -> Result<Inserted> {
        let (info, spec) = (&record.info, &record.spec);
        let mut tx = self.pool.begin().await.map_err(db_err)?;
        if let Some(refused) = before_insert(&mut tx, spec).await? {
            return Ok(refused);
        }
        let inserted = sqlx::query(
            "INSERT INTO cj_jobs (id, template, state, priority, attempt, max_attempts, run_at, created_at, \
             finished_at, timeout_ms, spec, info, log_dir, tenant, idempotency_key) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $8, $9, $10::jsonb, $11::jsonb, $12, $13, $14) ON CONFLICT DO NOTHING",
        )
        .bind(&info.id)
        .bind(&info.template)
        .bind(info.state.as_str())
        .bind(info.priority)
        .bind(info.attempt as i32)
        .bind(spec.max_attempts.max(1) as i32)
        .bind(info.created_at as i64)
        .bind(info.finished_at.map(|t| t as i64))
        .bind(timeout_ms(spec))
        .bind(to_json(spec)?)
        .bind(to_json(info)?)
        .bind(info.log_dir.as_ref().map(|p| p.display().to_string()))
        .bind(&spec.tenant)
        .bind(&spec.idempotency_key)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?
        .rows_affected();
        if inserted == 0 {
            // The key was taken by a concurrent insert: that job it is.
            let id: String = sqlx::query_scalar(
                "SELECT id FROM cj_jobs WHERE COALESCE(tenant, '') = COALESCE($1, '') AND idempotency_key = $2",
            )
            .bind(&spec.tenant)
            .bind(&spec.idempotency_key)
            .fetch_one(&mut *tx)
            .await
            .map_err(db_err)?;
            return Ok(Inserted::Existing(id));
        }
        insert_events(&mut tx, &info.id, events).await?;
        let deps = spec.dependencies();
        if !deps.is_empty() {
            sqlx::query("INSERT INTO cj_job_deps (job_id, dep_id) SELECT $1, unnest($2::text[]) ON CONFLICT DO NOTHING")
                .bind(&info.id)
                .bind(&deps)
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
        }
        tx.commit().await.map_err(db_err)?;
        self.notify("enqueued").await;
        Ok(Inserted::New)
    }
}

/// What decides an insert before the row: the same tenant's job with the
/// same idempotency key (within a day) is returned; then a tenant whose
/// queue is full is refused (both under the tenant's advisory lock).
async fn before_insert(
    tx: &mut sqlx::PgConnection,
    spec: &crate::spec::JobSpec,
) -> Result<Option<Inserted>> {
    if let Some(t) = &spec.tenant {
        sqlx::query("SELECT pg_advisory_xact_lock($1, hashtext($2))")
            .bind(INSERT_LOCK)
            .bind(t)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
    }
    if let Some(key) = &spec.idempotency_key {
        let existing: Option<(String, i64)> = sqlx::query_as(
            "SELECT id, created_at FROM cj_jobs WHERE COALESCE(tenant, '') = COALESCE($1, '') AND idempotency_key = $2",
        )
        .bind(&spec.tenant)
        .bind(key)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db_err)?;
        match existing {
            Some((id, at)) if at as u64 + DAY_MS > crate::util::now_ms() => {
                return Ok(Some(Inserted::Existing(id)))
            }
            // A key older than a day is free again.
            Some((id, _)) => {
                sqlx::query("UPDATE cj_jobs SET idempotency_key = NULL WHERE id = $1")
                    .bind(&id)
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err)?;
            }
            None => {}
        }
    }
    let Some(t) = &spec.tenant else {
        return Ok(None);
    };
    let full: Option<i32> = sqlx::query_scalar(
        "SELECT tn.max_queued FROM cj_tenants tn WHERE tn.name = $1 AND tn.max_queued IS NOT NULL \
         AND (SELECT COUNT(*) FROM cj_jobs x WHERE x.tenant = $1 AND x.state = 'queued') >= tn.max_queued",
    )
    .bind(t)
    .fetch_optional(&mut *tx)
    .await
    .map_err(db_err)?;
    Ok(full.map(|max| Inserted::QueueFull {
        max_queued: max as u32,
    }))
}

/// The claim, one statement:
/// `r`: ready jobs (due, dependencies succeeded, admissions not
/// paused), ranked in their tenant; `q`: tenants with quotas and what
/// they may still start (within max_running; with a daily budget,
/// one job while something is left and its own cap, if any, fits,
/// reserving that cap or else what is left);
/// `cand`: the first `n` of those, locked (SKIP LOCKED: another node
/// takes the others); `c`: the longest prefix whose caps, added to
/// what this node's running jobs hold, fit the budgets.
fn claim_sql() -> String {
    format!(
        "WITH q AS (SELECT tn.name, tn.max_running, tn.daily_budget_usd AS budget, \
           (SELECT COUNT(*) FROM cj_jobs x WHERE x.tenant = tn.name AND x.state = 'running') AS running, \
           tn.daily_budget_usd \
            - COALESCE((SELECT SUM(x.cost_usd) FROM cj_jobs x WHERE x.tenant = tn.name \
                AND x.state NOT IN ('queued', 'running') AND x.finished_at >= {NOW} - {NOW} % {DAY_MS}), 0) \
            - COALESCE((SELECT SUM(x.budget_cap) FROM cj_jobs x WHERE x.tenant = tn.name AND x.state = 'running'), 0) \
            AS budget_left FROM cj_tenants tn), \
         r AS (SELECT j.id, j.tenant, j.priority, j.run_at, j.seq, (j.spec->>'max_budget_usd')::float8 AS want, \
           ROW_NUMBER() OVER (PARTITION BY j.tenant ORDER BY j.priority DESC, j.run_at, j.seq) AS tk \
           FROM cj_jobs j WHERE j.state = 'queued' AND j.run_at <= {NOW} \
           AND NOT EXISTS (SELECT 1 FROM cj_gates g WHERE g.until_ms > {NOW}) \
           AND NOT EXISTS (SELECT 1 FROM cj_job_deps d JOIN cj_jobs p ON p.id = d.dep_id \
                           WHERE d.job_id = j.id AND p.state <> 'succeeded')), \
         e AS (SELECT r.id, CASE WHEN q.budget IS NULL THEN NULL \
             ELSE LEAST(COALESCE(r.want, q.budget_left), q.budget_left) END AS reserve \
           FROM r LEFT JOIN q ON q.name = r.tenant \
           WHERE q.name IS NULL OR ((q.max_running IS NULL OR r.tk <= q.max_running - q.running) \
             AND (q.budget IS NULL OR (r.tk = 1 AND q.budget_left > 0 \
                  AND (r.want IS NULL OR r.want <= q.budget_left + 1e-9))))), \
         cand AS (SELECT j.id, j.priority, j.run_at, j.seq, e.reserve, \
             COALESCE((j.spec->>'memory')::bigint, 0) AS mem, COALESCE((j.spec->>'cpus')::float8, 0) AS cpu \
           FROM cj_jobs j JOIN e ON e.id = j.id WHERE j.state = 'queued' \
           ORDER BY j.priority DESC, j.run_at, j.seq LIMIT $1 FOR UPDATE OF j SKIP LOCKED), \
         {}",
        claim_tail()
    )
}

/// The claim when no tenant has a quota (`cj_tenants` empty): the result
/// of [`claim_sql`] (every ready job may start, none reserves a budget),
/// the first `n` ready jobs read from the queue index and nothing more.
/// Ranking every queued job per tenant made each claim read and sort the
/// whole queue (10 000 queued: a full scan and an 8 MB sort on disk).
fn claim_sql_no_quotas() -> String {
    format!(
        "WITH cand AS (SELECT j.id, j.priority, j.run_at, j.seq, NULL::float8 AS reserve, \
             COALESCE((j.spec->>'memory')::bigint, 0) AS mem, COALESCE((j.spec->>'cpus')::float8, 0) AS cpu \
           FROM cj_jobs j WHERE j.state = 'queued' AND j.run_at <= {NOW} \
           AND NOT EXISTS (SELECT 1 FROM cj_gates g WHERE g.until_ms > {NOW}) \
           AND NOT EXISTS (SELECT 1 FROM cj_job_deps d JOIN cj_jobs p ON p.id = d.dep_id \
                           WHERE d.job_id = j.id AND p.state <> 'succeeded') \
           ORDER BY j.priority DESC, j.run_at, j.seq LIMIT $1 FOR UPDATE OF j SKIP LOCKED), \
         {}",
        claim_tail()
    )
}

/// What both claims share after `cand`: the caps this node's running jobs
/// hold, the prefix that fits the budgets, the update.
fn claim_tail() -> String {
    format!(
        "held AS (SELECT COALESCE(SUM((h.spec->>'memory')::bigint), 0) AS mem, \
             COALESCE(SUM((h.spec->>'cpus')::float8), 0) AS cpu \
           FROM cj_jobs h WHERE h.state = 'running' AND h.locked_by = $2), \
         run AS (SELECT cand.id, cand.reserve, SUM(cand.mem) OVER w AS cm, SUM(cand.cpu) OVER w AS cc FROM cand \
           WINDOW w AS (ORDER BY cand.priority DESC, cand.run_at, cand.seq \
                        ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)), \
         c AS (SELECT run.id, run.reserve FROM run, held \
           WHERE ($4::bigint IS NULL OR held.mem + run.cm <= $4) \
             AND ($5::float8 IS NULL OR held.cpu + run.cc <= $5 + 1e-9)) \
         UPDATE cj_jobs u SET state = 'running', run_lease = u.run_lease + 1, attempt = u.attempt + 1, \
           locked_by = $2, started_at = {NOW}, finished_at = NULL, heartbeat_at = {NOW}, \
           lease_expires_at = {NOW} + $3, cancel_requested_at = NULL, budget_cap = c.reserve, \
           deadline_at = CASE WHEN u.timeout_ms IS NULL THEN NULL ELSE {NOW} + u.timeout_ms END \
         FROM c WHERE u.id = c.id RETURNING u.priority AS prio, u.seq AS ord, u.budget_cap, \
           u.id, u.state, u.attempt::bigint AS attempt, u.max_attempts::bigint AS max_attempts, u.run_lease, \
           u.locked_by, u.started_at, u.finished_at, u.lease_expires_at, u.deadline_at, u.cancel_requested_at, \
           u.spec::text AS spec, u.info::text AS info"
    )
}
