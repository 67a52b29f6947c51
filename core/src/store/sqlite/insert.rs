//! The SQLite insert of a new job: refused when its tenant's queue is full
//! (counted in the same transaction), or answered with the earlier job of
//! the same tenant and idempotency key (the unique index decides).

use sqlx::Row;

use super::{encode_events, json_ids, SqliteStore};
use crate::error::Result;
use crate::events::EventRecord;
use crate::store::batch::Batch;
use crate::store::sql::{db_err, timeout_ms, to_json};
use crate::store::{fork_gate, Inserted, JobRecord, DAY_MS};
use crate::util::now_ms;

impl SqliteStore {
    pub(super) async fn insert_job(&self, record: &JobRecord, events: &[EventRecord]) -> Result<Inserted> {
        let _gate = fork_gate::enter().await;
        let mut retried = false;
        loop {
            let row = self.try_insert(record, events).await?;
            let inserted: i64 = row.try_get("inserted").map_err(db_err)?;
            if inserted == 1 {
                return Ok(Inserted::New);
            }
            let existing: Option<String> = row.try_get("existing").map_err(db_err)?;
            let existing_at: Option<i64> = row.try_get("existing_at").map_err(db_err)?;
            match (existing, existing_at) {
                (Some(id), Some(at)) if at as u64 + DAY_MS > now_ms() || retried => return Ok(Inserted::Existing(id)),
                (Some(id), _) => {
                    // Older than a day: the key is free again.
                    self.forget_key(&id).await?;
                    retried = true;
                }
                _ => {
                    let max: Option<i64> = row.try_get("max_queued").map_err(db_err)?;
                    return Ok(Inserted::QueueFull {
                        max_queued: max.unwrap_or(0) as u32,
                    });
                }
            }
        }
    }

    /// One transaction: the row (unless the tenant's queue is full or the
    /// key is taken), its dependencies and events, then what happened.
    async fn try_insert(&self, record: &JobRecord, events: &[EventRecord]) -> Result<sqlx::sqlite::SqliteRow> {
        let (info, spec) = (&record.info, &record.spec);
        let mut b = Batch::default();
        b.stmt("BEGIN IMMEDIATE")
            .stmt(
                "INSERT INTO cj_jobs (id, template, state, priority, attempt, max_attempts, run_at, created_at, \
                 finished_at, timeout_ms, spec, info, log_dir, tenant, idempotency_key) \
                 SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ? WHERE NOT EXISTS (SELECT 1 FROM cj_tenants tn \
                 WHERE tn.name = ? AND tn.max_queued IS NOT NULL \
                 AND (SELECT COUNT(*) FROM cj_jobs x WHERE x.tenant = ? AND x.state = 'queued') >= tn.max_queued) \
                 ON CONFLICT DO NOTHING",
            )
            .text(&info.id)
            .opt_text(info.template.clone())
            .text(info.state.as_str())
            .int(info.priority as i64)
            .int(info.attempt as i64)
            .int(spec.max_attempts.max(1) as i64)
            .int(info.created_at as i64)
            .int(info.created_at as i64)
            .opt_int(info.finished_at.map(|t| t as i64))
            .opt_int(timeout_ms(spec))
            .text(to_json(spec)?)
            .text(to_json(info)?)
            .opt_text(info.log_dir.as_ref().map(|p| p.display().to_string()))
            .opt_text(spec.tenant.clone())
            .opt_text(spec.idempotency_key.clone())
            .opt_text(spec.tenant.clone())
            .opt_text(spec.tenant.clone());
        let deps = spec.dependencies();
        if !deps.is_empty() {
            b.stmt(
                "INSERT OR IGNORE INTO cj_job_deps (job_id, dep_id) SELECT ?, value FROM json_each(?) \
                 WHERE EXISTS (SELECT 1 FROM cj_jobs WHERE id = ?)",
            )
            .text(&info.id)
            .text(json_ids(&deps))
            .text(&info.id);
        }
        b.events_if_job(&info.id, encode_events(events)?);
        b.stmt(
            "SELECT (SELECT COUNT(*) FROM cj_jobs WHERE id = ?) AS inserted, \
             (SELECT id FROM cj_jobs WHERE COALESCE(tenant, '') = COALESCE(?, '') AND idempotency_key = ?) AS existing, \
             (SELECT created_at FROM cj_jobs WHERE COALESCE(tenant, '') = COALESCE(?, '') AND idempotency_key = ?) AS existing_at, \
             (SELECT max_queued FROM cj_tenants WHERE name = ?) AS max_queued",
        )
        .text(&info.id)
        .opt_text(spec.tenant.clone())
        .opt_text(spec.idempotency_key.clone())
        .opt_text(spec.tenant.clone())
        .opt_text(spec.idempotency_key.clone())
        .opt_text(spec.tenant.clone())
        .stmt("COMMIT");
        let mut w = self.writer.lock().await;
        let mut rows = self.writer.run_tx(&mut w, &b).await?;
        rows.pop().ok_or_else(|| crate::Error::Store("the insert read no row".into()))
    }

    async fn forget_key(&self, id: &str) -> Result<()> {
        let mut b = Batch::default();
        b.stmt("UPDATE cj_jobs SET idempotency_key = NULL WHERE id = ?").text(id);
        let mut w = self.writer.lock().await;
        b.run(&mut w).await.map(|_| ())
    }
}
