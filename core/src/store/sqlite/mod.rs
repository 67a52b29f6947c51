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

mod artifacts;
mod backup;
mod claim;
mod insert;
mod migrate;
mod read;
mod schedules;
mod tenants;

pub use backup::backup;
use migrate::migrate;

use super::batch::{Batch, Writer};
use super::sql::{db_err, raw_row, to_json};
use super::{
    Claim, ClaimOptions, Delivery, Held, Inserted, JobPage, JobRecord, JobRow, JobStore, ListQuery, Requeue,
    StateCounts, StoreKind, StoreNotice, TenantUsage,
};
use crate::schedule::Schedule;
use crate::error::{Error, Result};
use crate::events::EventRecord;
use crate::state::{JobInfo, JobState};
use crate::util::now_ms;

pub(super) const COLS: &str =
    "id, state, attempt, max_attempts, run_lease, locked_by, started_at, finished_at, \
                    lease_expires_at, deadline_at, cancel_requested_at, spec, info";

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

/// How long opening retries while another connection holds the new file.
const OPEN_BUSY_FOR: Duration = Duration::from_secs(10);

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
        // Several managers opening a new file at once: SQLite answers
        // "database is locked" without waiting when two connections race to
        // create it or switch it to WAL (its deadlock rule skips the busy
        // timeout), so the whole opening is tried again, for as long.
        let deadline = std::time::Instant::now() + OPEN_BUSY_FOR;
        let (writer, reader) = loop {
            match Self::connect(&opts).await {
                Ok(pair) => break pair,
                Err(e) if e.contains("database is locked") && std::time::Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(20)).await
                }
                Err(e) => return Err(open_err(path, e)),
            }
        };
        Ok(SqliteStore {
            path: path.to_path_buf(),
            writer: Writer::new(writer),
            reader,
            others_running: AtomicBool::new(false),
        })
    }

    /// The writer (migrated) and the readers' pool.
    async fn connect(opts: &SqliteConnectOptions) -> std::result::Result<(SqliteConnection, SqlitePool), String> {
        let mut writer = SqliteConnection::connect_with(opts).await.map_err(|e| e.to_string())?;
        migrate(&mut writer).await?;
        let reader = SqlitePoolOptions::new()
            .max_connections(4)
            .min_connections(0)
            .connect_with(opts.clone().read_only(true))
            .await
            .map_err(|e| e.to_string())?;
        Ok((writer, reader))
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

}


fn json_ids(ids: &[String]) -> String {
    serde_json::to_string(ids).unwrap_or_else(|_| "[]".into())
}

#[async_trait]
impl JobStore for SqliteStore {
    fn describe(&self) -> String {
        format!("sqlite://{}", self.path.display())
    }

    fn kind(&self) -> StoreKind {
        StoreKind::Host
    }

    fn shared_with_others(&self) -> bool {
        self.others_running.load(Ordering::Relaxed)
    }

    fn notices(&self) -> Option<tokio::sync::broadcast::Receiver<StoreNotice>> {
        None
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

    async fn finish(&self, info: &JobInfo, lease: u64, only_if_expired: bool) -> Result<bool> {
        let _gate = super::fork_gate::enter().await;
        let now = now_ms() as i64;
        let body = to_json(info)?;
        // One transaction: the final state (the row it returns says it won)
        // and, when it won, the webhook delivery.
        let mut b = Batch::default();
        b.stmt("BEGIN IMMEDIATE").stmt(
            "UPDATE cj_jobs SET state = ?, info = ?, finished_at = ?, cost_usd = ?, locked_by = NULL, \
             lease_expires_at = NULL, heartbeat_at = NULL WHERE id = ? AND run_lease = ? AND state = 'running' \
             AND (? = 0 OR lease_expires_at < ?) RETURNING 1 AS won",
        )
        .text(info.state.as_str())
        .text(body.clone())
        .int(info.finished_at.unwrap_or(now as u64) as i64)
        .opt_real(info.cost_usd)
        .text(&info.id)
        .int(lease as i64)
        .int(only_if_expired as i64)
        .int(now);
        tenants::outbox_stmt(&mut b, &info.id, body, now);
        b.stmt("COMMIT");
        let mut w = self.writer.lock().await;
        Ok(self.writer.run_tx(&mut w, &b).await?.len() == 1)
    }

    async fn requeue(&self, id: &str, lease: u64, req: &Requeue) -> Result<bool> {
        let _gate = super::fork_gate::enter().await;
        let now = now_ms() as i64;
        let error = serde_json::json!({ "at_ms": now, "error": req.error }).to_string();
        // One statement: its own transaction (a failed write leaves none open).
        let mut b = Batch::default();
        b.stmt(
            "UPDATE cj_jobs SET state = 'queued', run_at = ?, attempt = attempt - ?, locked_by = NULL, \
             lease_expires_at = NULL, heartbeat_at = NULL, deadline_at = NULL, cancel_requested_at = NULL, \
             errors = json_insert(errors, '$[#]', json(?)) \
             WHERE id = ? AND run_lease = ? AND state = 'running' AND (? = 0 OR lease_expires_at < ?) RETURNING 1 AS won",
        )
        .int(req.run_at_ms as i64)
        .int(if req.count_attempt { 0 } else { 1 })
        .text(error)
        .text(id)
        .int(lease as i64)
        .int(req.only_if_expired as i64)
        .int(now);
        let mut w = self.writer.lock().await;
        Ok(b.run(&mut w).await?.len() == 1)
    }

    async fn heartbeat(&self, node: &str, held: &[(String, u64)], ttl: Duration) -> Result<Vec<Held>> {
        let _gate = super::fork_gate::enter().await;
        if held.is_empty() {
            return Ok(Vec::new());
        }
        let keys: Vec<String> = held.iter().map(|(id, l)| format!("{id}:{l}")).collect();
        let now = now_ms() as i64;
        let mut b = Batch::default();
        b.stmt(
            "UPDATE cj_jobs SET heartbeat_at = ?, lease_expires_at = ? \
             WHERE state = 'running' AND locked_by = ? \
             AND (id || ':' || run_lease) IN (SELECT value FROM json_each(?)) \
             RETURNING id, cancel_requested_at",
        )
        .int(now)
        .int(now + ttl.as_millis() as i64)
        .text(node)
        .text(json_ids(&keys));
        let rows = {
            let mut w = self.writer.lock().await;
            b.run(&mut w).await?
        };
        rows.iter()
            .map(|r| {
                Ok(Held {
                    id: r.try_get("id").map_err(db_err)?,
                    cancel_requested: r.try_get::<Option<i64>, _>("cancel_requested_at").map_err(db_err)?.is_some(),
                })
            })
            .collect()
    }

    async fn request_cancel(&self, id: &str) -> Result<bool> {
        let _gate = super::fork_gate::enter().await;
        let mut b = Batch::default();
        b.stmt("UPDATE cj_jobs SET cancel_requested_at = ? WHERE id = ? AND state = 'running' RETURNING 1 AS hit")
            .int(now_ms() as i64)
            .text(id);
        let mut w = self.writer.lock().await;
        Ok(b.run(&mut w).await?.len() == 1)
    }

    async fn end_queued(&self, id: &str, state: JobState, reason: &str) -> Result<Option<JobInfo>> {
        let _gate = super::fork_gate::enter().await;
        let now = now_ms() as i64;
        // One transaction: the state, the same fields inside the info JSON,
        // and the webhook delivery (its body the new info).
        let mut b = Batch::default();
        b.stmt("BEGIN IMMEDIATE")
            .stmt(&format!(
                "UPDATE cj_jobs SET state = ?, finished_at = ?, \
                 info = json_set(info, '$.state', ?, '$.error', ?, '$.finished_at', ?) \
                 WHERE id = ? AND state = 'queued' RETURNING {COLS}"
            ))
            .text(state.as_str())
            .int(now)
            .text(state.as_str())
            .text(reason)
            .int(now)
            .text(id)
            .stmt(
                "INSERT INTO cj_outbox (job_id, attempt, state, url, body, next_at) \
                 SELECT id, attempt, state, json_extract(spec, '$.webhook_url'), info, ? FROM cj_jobs \
                 WHERE id = ? AND json_extract(spec, '$.webhook_url') IS NOT NULL AND changes() = 1",
            )
            .int(now)
            .text(id)
            .stmt("COMMIT");
        let rows = {
            let mut w = self.writer.lock().await;
            self.writer.run_tx(&mut w, &b).await?
        };
        match rows.first() {
            Some(r) => Ok(Some(raw_row!(r)?.decode()?.record.info)),
            None => Ok(None),
        }
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
        let _gate = super::fork_gate::enter().await;
        let mut b = Batch::default();
        b.stmt("PRAGMA wal_checkpoint(TRUNCATE)");
        let mut w = self.writer.lock().await;
        b.run(&mut w).await.map(|_| ())
    }

    async fn delete(&self, ids: &[String]) -> Result<u64> {
        let _gate = super::fork_gate::enter().await;
        if ids.is_empty() {
            return Ok(0);
        }
        let ids = json_ids(ids);
        let mut b = Batch::default();
        b.stmt("BEGIN IMMEDIATE")
            .stmt(
                "DELETE FROM cj_jobs WHERE id IN (SELECT value FROM json_each(?)) \
                 AND state NOT IN ('queued', 'running') RETURNING 1 AS gone",
            )
            .text(&ids)
            .stmt(
                "DELETE FROM cj_events WHERE job_id IN (SELECT value FROM json_each(?)) \
                 AND job_id NOT IN (SELECT id FROM cj_jobs)",
            )
            .text(&ids)
            .stmt(
                "DELETE FROM cj_artifacts WHERE job_id IN (SELECT value FROM json_each(?)) \
                 AND job_id NOT IN (SELECT id FROM cj_jobs)",
            )
            .text(&ids)
            .stmt("COMMIT");
        let mut w = self.writer.lock().await;
        Ok(self.writer.run_tx(&mut w, &b).await?.len() as u64)
    }

}

/// Events as rows: (seq, at_ms, JSON).
fn encode_events(events: &[EventRecord]) -> Result<Vec<(i64, i64, String)>> {
    events
        .iter()
        .map(|e| Ok((e.seq as i64, e.at_ms as i64, to_json(&e.event)?)))
        .collect()
}
