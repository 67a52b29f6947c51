//! [`SqliteStore`]: the embedded default, one file in the data dir, shared by
//! every manager process of the host.
//!
//! WAL journal, `synchronous=NORMAL`, a 10 s busy timeout, foreign keys on;
//! one writer connection, plus a small pool for reads. A write of several
//! statements starts with `BEGIN IMMEDIATE` (so it waits for the file lock
//! instead of failing with SQLITE_BUSY at its first write); a single write
//! statement is its own transaction (SQLite takes the write lock as it starts,
//! with the same wait). Each write is one call to sqlx's SQLite thread
//! (`batch.rs`). The claim is one statement that counts running rows, so a
//! concurrency limit holds across processes.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePool, SqlitePoolOptions,
    SqliteSynchronous,
};
use sqlx::{Connection, Row};

use super::batch::{Batch, Writer};
use super::sql::{db_err, raw_row, timeout_ms, to_json, SQLITE_MIGRATIONS};
use super::{Claim, ClaimOptions, Held, JobRecord, JobRow, JobStore, Requeue};
use crate::error::{Error, Result};
use crate::events::EventRecord;
use crate::state::{JobInfo, JobState};
use crate::util::now_ms;

const COLS: &str =
    "id, state, attempt, max_attempts, run_lease, locked_by, started_at, finished_at, \
                    lease_expires_at, deadline_at, cancel_requested_at, spec, info";

/// Who else runs jobs from the file, after [`CLAIM`] in the same query
/// (parameter ?6: this node; sqlx numbers `?NNN` across the whole query).
const OTHERS_RUNNING: &str =
    "SELECT COALESCE(SUM(locked_by IS NOT ?6), 0) AS others FROM cj_jobs WHERE state = 'running'";

/// The claim in one statement (so one transaction): the ready jobs in claim
/// order (at most the `LIMIT`), with the running totals of their caps, and
/// what the running jobs of every process hold; the longest prefix within
/// the slot count and the budgets is taken. Caps count as in
/// `ClaimOptions::fitting`: a missing or negative cap is 0, sums are floats
/// (`TOTAL`: no overflow on absurd caps), the CPU sum gets the same 1e-9
/// slack. The time is SQLite's, read once the write lock is held (another
/// process may have held it), in Unix ms (rounded: `julianday` is a float of
/// whole ms), and never before the caller's clock (?8): a job submitted this
/// very ms is ready. Parameters: ?1 how many, ?2 max running, ?3 memory
/// budget, ?4 CPU budget (each NULL when none), ?5 node, ?6 (see
/// [`OTHERS_RUNNING`]), ?7 lease length in ms, ?8 now (Unix ms).
const CLAIM: &str = "WITH t AS (SELECT MAX(CAST(ROUND((julianday('now') - 2440587.5) * 86400000.0) AS INTEGER), ?8) AS now), \
     h AS (SELECT COUNT(*) AS n, \
      MAX(TOTAL(json_extract(spec, '$.limits.memory')), 0.0) AS mem, \
      MAX(TOTAL(json_extract(spec, '$.limits.cpus')), 0.0) AS cpu \
      FROM cj_jobs WHERE state = 'running'), \
     c0 AS (SELECT j.id, \
      MAX(CAST(COALESCE(json_extract(j.spec, '$.limits.memory'), 0) AS REAL), 0.0) AS mem, \
      MAX(CAST(COALESCE(json_extract(j.spec, '$.limits.cpus'), 0) AS REAL), 0.0) AS cpu, \
      j.priority AS prio, j.run_at AS ra, j.rowid AS rid \
      FROM cj_jobs j, t WHERE j.state = 'queued' AND j.run_at <= t.now AND NOT EXISTS (SELECT 1 FROM cj_job_deps d \
      JOIN cj_jobs p ON p.id = d.dep_id WHERE d.job_id = j.id AND p.state <> 'succeeded') \
      ORDER BY j.priority DESC, j.run_at, j.rowid LIMIT ?1), \
     c AS (SELECT id, ROW_NUMBER() OVER w AS k, TOTAL(mem) OVER w AS mem, TOTAL(cpu) OVER w AS cpu FROM c0 \
      WINDOW w AS (ORDER BY prio DESC, ra, rid ROWS UNBOUNDED PRECEDING)), \
     pick AS (SELECT c.id FROM c, h WHERE (?2 IS NULL OR c.k <= ?2 - h.n) \
      AND (?3 IS NULL OR h.mem + c.mem <= ?3) AND (?4 IS NULL OR h.cpu + c.cpu <= ?4 + 1e-9)) \
     UPDATE cj_jobs SET state = 'running', run_lease = run_lease + 1, attempt = attempt + 1, \
     locked_by = ?5, started_at = (SELECT now FROM t), finished_at = NULL, heartbeat_at = (SELECT now FROM t), \
     lease_expires_at = (SELECT now FROM t) + ?7, \
     deadline_at = CASE WHEN timeout_ms IS NULL THEN NULL ELSE (SELECT now FROM t) + timeout_ms END, \
     cancel_requested_at = NULL WHERE id IN (SELECT id FROM pick)";

/// The SQLite job store (see the module docs).
pub struct SqliteStore {
    path: PathBuf,
    writer: Writer,
    reader: SqlitePool,
    /// Another process had running jobs at the last claim.
    others_running: AtomicBool,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.path)
            .finish()
    }
}

fn open_err(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::Store(format!(
        "cannot open the SQLite store {}: {e}",
        path.display()
    ))
}

impl SqliteStore {
    /// Opens (creating it if needed) the database file and applies the
    /// migrations it lacks. Do not put it on a network file system: WAL
    /// needs shared memory on one host.
    pub async fn open(path: &Path) -> Result<SqliteStore> {
        let _gate = super::fork_gate::enter().await;
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| open_err(path, e))?;
        }
        let opts = SqliteConnectOptions::from_str("sqlite://")
            .map_err(|e| open_err(path, e))?
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true);
        let mut writer = SqliteConnection::connect_with(&opts)
            .await
            .map_err(|e| open_err(path, e))?;
        migrate(&mut writer).await.map_err(|e| open_err(path, e))?;
        let reader = SqlitePoolOptions::new()
            .max_connections(4)
            .min_connections(0)
            .connect_with(opts.read_only(true))
            .await
            .map_err(|e| open_err(path, e))?;
        Ok(SqliteStore {
            path: path.to_path_buf(),
            writer: Writer::new(writer),
            reader,
            others_running: AtomicBool::new(false),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    async fn select_rows(
        &self,
        sql: &str,
        bind: impl FnOnce(SqliteQuery<'_>) -> SqliteQuery<'_>,
    ) -> Result<Vec<JobRow>> {
        let q = bind(sqlx::query(sql));
        let rows = q.fetch_all(&self.reader).await.map_err(db_err)?;
        rows.iter().map(|r| raw_row!(r)?.decode()).collect()
    }
}

type SqliteQuery<'q> = sqlx::query::Query<'q, sqlx::Sqlite, sqlx::sqlite::SqliteArguments<'q>>;

async fn migrate(conn: &mut SqliteConnection) -> std::result::Result<(), String> {
    let mut tx = conn
        .begin_with("BEGIN IMMEDIATE")
        .await
        .map_err(|e| e.to_string())?;
    sqlx::query("CREATE TABLE IF NOT EXISTS cj_schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)")
        .execute(&mut *tx)
        .await
        .map_err(|e| e.to_string())?;
    let applied: Vec<i64> = sqlx::query_scalar("SELECT version FROM cj_schema_migrations")
        .fetch_all(&mut *tx)
        .await
        .map_err(|e| e.to_string())?;
    let newest = SQLITE_MIGRATIONS.last().map(|m| m.version).unwrap_or(0);
    if let Some(v) = applied.iter().find(|v| **v > newest) {
        return Err(format!(
            "the database has schema version {v}, newer than this build knows ({newest})"
        ));
    }
    for m in SQLITE_MIGRATIONS
        .iter()
        .filter(|m| !applied.contains(&m.version))
    {
        sqlx::raw_sql(m.sql)
            .execute(&mut *tx)
            .await
            .map_err(|e| format!("migration {} ({}): {e}", m.version, m.name))?;
        sqlx::query(
            "INSERT INTO cj_schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
        )
        .bind(m.version)
        .bind(m.name)
        .bind(now_ms() as i64)
        .execute(&mut *tx)
        .await
        .map_err(|e| e.to_string())?;
    }
    tx.commit().await.map_err(|e| e.to_string())
}

fn json_ids(ids: &[String]) -> String {
    serde_json::to_string(ids).unwrap_or_else(|_| "[]".into())
}

#[async_trait]
impl JobStore for SqliteStore {
    async fn insert(&self, record: &JobRecord) -> Result<()> {
        self.insert_with_events(record, &[]).await
    }

    async fn insert_with_events(&self, record: &JobRecord, events: &[EventRecord]) -> Result<()> {
        let _gate = super::fork_gate::enter().await;
        let info = &record.info;
        let mut b = Batch::default();
        b.stmt("BEGIN IMMEDIATE")
            .events(&info.id, encode_events(events)?)
            .stmt(
                "INSERT INTO cj_jobs (id, template, state, priority, attempt, max_attempts, run_at, created_at, \
                 finished_at, timeout_ms, spec, info, log_dir) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            )
            .text(&info.id)
            .opt_text(info.template.clone())
            .text(info.state.as_str())
            .int(info.priority as i64)
            .int(info.attempt as i64)
            .int(record.spec.max_attempts.max(1) as i64)
            .int(info.created_at as i64)
            .int(info.created_at as i64)
            .opt_int(info.finished_at.map(|t| t as i64))
            .opt_int(timeout_ms(&record.spec))
            .text(to_json(&record.spec)?)
            .text(to_json(info)?)
            .opt_text(info.log_dir.as_ref().map(|p| p.display().to_string()));
        if !record.spec.depends_on.is_empty() {
            b.stmt("INSERT OR IGNORE INTO cj_job_deps (job_id, dep_id) SELECT ?, value FROM json_each(?)")
                .text(&info.id)
                .text(json_ids(&record.spec.depends_on));
        }
        b.stmt("COMMIT");
        let mut w = self.writer.lock().await;
        self.writer.run_tx(&mut w, &b).await.map(|_| ())
    }

    async fn claim(&self, node: &str, n: usize) -> Result<Vec<Claim>> {
        let opts = ClaimOptions::new(Duration::from_secs(60));
        self.claim_with(node, n, &opts).await
    }

    async fn claim_with(&self, node: &str, n: usize, opts: &ClaimOptions) -> Result<Vec<Claim>> {
        let _gate = super::fork_gate::enter().await;
        if n == 0 {
            return Ok(Vec::new());
        }
        // One call: the claim (one statement, so one transaction: the count,
        // the budgets and the update agree), then who else runs jobs.
        let mut b = Batch::default();
        b.stmt(&format!("{CLAIM} RETURNING {COLS}, priority, rowid AS ord"))
            .int(n as i64)
            .opt_int(opts.max_running.map(|m| m as i64))
            .opt_real(opts.memory_budget.map(|m| m as f64))
            .opt_real(opts.cpu_budget)
            .text(node)
            .text(node)
            .int(opts.lease_ttl.as_millis() as i64)
            .int(now_ms() as i64)
            .stmt(OTHERS_RUNNING);
        let rows = {
            let mut w = self.writer.lock().await;
            b.run(&mut w).await?
        };
        let (others, rows) = rows
            .split_last()
            .ok_or_else(|| Error::Store("the claim read no row".into()))?;
        let others: i64 = others.try_get("others").map_err(db_err)?;
        self.others_running.store(others > 0, Ordering::Relaxed);
        let mut claims = Vec::new();
        for r in rows {
            let prio: i64 = r.try_get("priority").map_err(db_err)?;
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
        claims.sort_by_key(|(p, o, _)| (-p, *o));
        Ok(claims.into_iter().map(|(_, _, c)| c).collect())
    }

    async fn update(&self, info: &JobInfo, lease: u64) -> Result<()> {
        let _gate = super::fork_gate::enter().await;
        // One statement: SQLite makes it its own transaction.
        let mut b = Batch::default();
        b.stmt("UPDATE cj_jobs SET info = ? WHERE id = ? AND run_lease = ? AND state = 'running'")
            .text(to_json(info)?)
            .text(&info.id)
            .int(lease as i64);
        let mut w = self.writer.lock().await;
        b.run(&mut w).await.map(|_| ())
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
        let _gate = super::fork_gate::enter().await;
        let now = now_ms() as i64;
        // One statement (its own transaction); the row it returns says it won.
        let mut b = Batch::default();
        b.stmt(
            "UPDATE cj_jobs SET state = ?, info = ?, finished_at = ?, locked_by = NULL, lease_expires_at = NULL, \
             heartbeat_at = NULL WHERE id = ? AND run_lease = ? AND state = 'running' \
             AND (? = 0 OR lease_expires_at < ?) RETURNING 1 AS won",
        )
        .text(info.state.as_str())
        .text(to_json(info)?)
        .int(info.finished_at.unwrap_or(now as u64) as i64)
        .text(&info.id)
        .int(lease as i64)
        .int(only_if_expired as i64)
        .int(now);
        let mut w = self.writer.lock().await;
        Ok(b.run(&mut w).await?.len() == 1)
    }

    async fn requeue(&self, id: &str, lease: u64, req: &Requeue) -> Result<bool> {
        let _gate = super::fork_gate::enter().await;
        let now = now_ms() as i64;
        let error = serde_json::json!({ "at_ms": now, "error": req.error }).to_string();
        let mut w = self.writer.lock().await;
        let mut tx = w.begin_with("BEGIN IMMEDIATE").await.map_err(db_err)?;
        let done = sqlx::query(
            "UPDATE cj_jobs SET state = 'queued', run_at = ?, attempt = attempt - ?, locked_by = NULL, \
             lease_expires_at = NULL, heartbeat_at = NULL, deadline_at = NULL, cancel_requested_at = NULL, \
             errors = json_insert(errors, '$[#]', json(?)) \
             WHERE id = ? AND run_lease = ? AND state = 'running' AND (? = 0 OR lease_expires_at < ?)",
        )
        .bind(req.run_at_ms as i64)
        .bind(if req.count_attempt { 0i64 } else { 1 })
        .bind(error)
        .bind(id)
        .bind(lease as i64)
        .bind(req.only_if_expired as i64)
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?
        .rows_affected()
            == 1;
        tx.commit().await.map_err(db_err)?;
        Ok(done)
    }

    async fn heartbeat(
        &self,
        node: &str,
        held: &[(String, u64)],
        ttl: Duration,
    ) -> Result<Vec<Held>> {
        let _gate = super::fork_gate::enter().await;
        if held.is_empty() {
            return Ok(Vec::new());
        }
        let keys: Vec<String> = held.iter().map(|(id, l)| format!("{id}:{l}")).collect();
        let mut w = self.writer.lock().await;
        let mut tx = w.begin_with("BEGIN IMMEDIATE").await.map_err(db_err)?;
        let now = now_ms() as i64;
        let rows = sqlx::query(
            "UPDATE cj_jobs SET heartbeat_at = ?1, lease_expires_at = ?1 + ?2 \
             WHERE state = 'running' AND locked_by = ?3 \
             AND (id || ':' || run_lease) IN (SELECT value FROM json_each(?4)) \
             RETURNING id, cancel_requested_at",
        )
        .bind(now)
        .bind(ttl.as_millis() as i64)
        .bind(node)
        .bind(json_ids(&keys))
        .fetch_all(&mut *tx)
        .await
        .map_err(db_err)?;
        tx.commit().await.map_err(db_err)?;
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
        let _gate = super::fork_gate::enter().await;
        let mut w = self.writer.lock().await;
        let mut tx = w.begin_with("BEGIN IMMEDIATE").await.map_err(db_err)?;
        let n = sqlx::query(
            "UPDATE cj_jobs SET cancel_requested_at = ? WHERE id = ? AND state = 'running'",
        )
        .bind(now_ms() as i64)
        .bind(id)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?
        .rows_affected();
        tx.commit().await.map_err(db_err)?;
        Ok(n == 1)
    }

    async fn end_queued(&self, id: &str, state: JobState, reason: &str) -> Result<Option<JobInfo>> {
        let _gate = super::fork_gate::enter().await;
        let mut w = self.writer.lock().await;
        let mut tx = w.begin_with("BEGIN IMMEDIATE").await.map_err(db_err)?;
        let row = sqlx::query(&format!(
            "SELECT {COLS} FROM cj_jobs WHERE id = ? AND state = 'queued'"
        ))
        .bind(id)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db_err)?;
        let Some(row) = row else { return Ok(None) };
        let mut info = raw_row!(&row)?.decode()?.record.info;
        let now = now_ms();
        info.state = state;
        info.error = Some(reason.to_string());
        info.finished_at = Some(now);
        sqlx::query("UPDATE cj_jobs SET state = ?, info = ?, finished_at = ? WHERE id = ?")
            .bind(state.as_str())
            .bind(to_json(&info)?)
            .bind(now as i64)
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        tx.commit().await.map_err(db_err)?;
        Ok(Some(info))
    }

    async fn get(&self, id: &str) -> Result<Option<JobRecord>> {
        let _gate = super::fork_gate::enter().await;
        let id = id.to_string();
        let rows = self
            .select_rows(&format!("SELECT {COLS} FROM cj_jobs WHERE id = ?"), |q| {
                q.bind(id)
            })
            .await?;
        Ok(rows.into_iter().next().map(|r| r.record))
    }

    async fn rows(&self, ids: &[String]) -> Result<Vec<JobRow>> {
        let _gate = super::fork_gate::enter().await;
        let ids = json_ids(ids);
        self.select_rows(
            &format!("SELECT {COLS} FROM cj_jobs WHERE id IN (SELECT value FROM json_each(?))"),
            |q| q.bind(ids),
        )
        .await
    }

    async fn rows_changed(&self, known: &[(String, Option<u32>)]) -> Result<Vec<JobRow>> {
        let _gate = super::fork_gate::enter().await;
        let known = serde_json::to_string(known).map_err(|e| Error::Store(e.to_string()))?;
        self.select_rows(
            &format!(
                "WITH k(kid, katt) AS (SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]') \
                 FROM json_each(?)) \
                 SELECT {COLS} FROM k JOIN cj_jobs ON cj_jobs.id = k.kid \
                 WHERE NOT (state = 'queued' AND attempt IS k.katt)"
            ),
            |q| q.bind(known),
        )
        .await
    }

    async fn list(&self) -> Result<Vec<JobInfo>> {
        let _gate = super::fork_gate::enter().await;
        let rows = self
            .select_rows(&format!("SELECT {COLS} FROM cj_jobs ORDER BY rowid"), |q| q)
            .await?;
        Ok(rows.into_iter().map(|r| r.record.info).collect())
    }

    async fn running(&self) -> Result<Vec<JobRow>> {
        let _gate = super::fork_gate::enter().await;
        self.select_rows(
            &format!("SELECT {COLS} FROM cj_jobs WHERE state = 'running'"),
            |q| q,
        )
        .await
    }

    async fn queued_dependents(&self, id: &str) -> Result<Vec<String>> {
        let _gate = super::fork_gate::enter().await;
        sqlx::query_scalar(
            "SELECT j.id FROM cj_jobs j JOIN cj_job_deps d ON d.job_id = j.id \
             WHERE d.dep_id = ? AND j.state = 'queued' ORDER BY j.rowid",
        )
        .bind(id)
        .fetch_all(&self.reader)
        .await
        .map_err(db_err)
    }

    async fn queued(&self) -> Result<Vec<String>> {
        let _gate = super::fork_gate::enter().await;
        sqlx::query_scalar(
            "SELECT id FROM cj_jobs WHERE state = 'queued' ORDER BY priority DESC, run_at, rowid",
        )
        .fetch_all(&self.reader)
        .await
        .map_err(db_err)
    }

    async fn append_events(&self, id: &str, events: &[EventRecord]) -> Result<()> {
        let _gate = super::fork_gate::enter().await;
        if events.is_empty() {
            return Ok(());
        }
        let encoded = encode_events(events)?;
        let mut w = self.writer.lock().await;
        if encoded.len() <= 200 {
            // One statement: its own transaction.
            let mut b = Batch::default();
            b.events(id, encoded);
            return b.run(&mut w).await.map(|_| ());
        }
        let mut b = Batch::default();
        b.stmt("BEGIN IMMEDIATE").events(id, encoded).stmt("COMMIT");
        self.writer.run_tx(&mut w, &b).await.map(|_| ())
    }

    async fn events(&self, id: &str, after_seq: u64) -> Result<Vec<EventRecord>> {
        let _gate = super::fork_gate::enter().await;
        let rows = sqlx::query(
            "SELECT seq, at_ms, event FROM cj_events WHERE job_id = ? AND seq > ? ORDER BY seq",
        )
        .bind(id)
        .bind(after_seq as i64)
        .fetch_all(&self.reader)
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
        let _gate = super::fork_gate::enter().await;
        let rows = self
            .select_rows(
                &format!(
                    "SELECT {COLS} FROM cj_jobs WHERE finished_at IS NOT NULL AND finished_at < ? \
                     AND state NOT IN ('queued', 'running') ORDER BY finished_at LIMIT ?"
                ),
                |q| q.bind(before_ms as i64).bind(limit as i64),
            )
            .await?;
        Ok(rows.into_iter().map(|r| r.record.info).collect())
    }

    async fn delete(&self, ids: &[String]) -> Result<u64> {
        let _gate = super::fork_gate::enter().await;
        if ids.is_empty() {
            return Ok(0);
        }
        let ids = json_ids(ids);
        let mut w = self.writer.lock().await;
        let mut tx = w.begin_with("BEGIN IMMEDIATE").await.map_err(db_err)?;
        let n = sqlx::query(
            "DELETE FROM cj_jobs WHERE id IN (SELECT value FROM json_each(?)) AND state NOT IN ('queued', 'running')",
        )
        .bind(&ids)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?
        .rows_affected();
        sqlx::query("DELETE FROM cj_events WHERE job_id IN (SELECT value FROM json_each(?)) AND job_id NOT IN (SELECT id FROM cj_jobs)")
            .bind(&ids)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        tx.commit().await.map_err(db_err)?;
        Ok(n)
    }

    fn is_durable(&self) -> bool {
        true
    }

    fn shared_with_others(&self) -> bool {
        self.others_running.load(Ordering::Relaxed)
    }

    fn describe(&self) -> String {
        format!("sqlite://{}", self.path.display())
    }
}

/// Events as rows: (seq, at_ms, JSON).
fn encode_events(events: &[EventRecord]) -> Result<Vec<(i64, i64, String)>> {
    events
        .iter()
        .map(|e| Ok((e.seq as i64, e.at_ms as i64, to_json(&e.event)?)))
        .collect()
}
