//! The SQLite store's artifacts (the `db` artifact store).

use async_trait::async_trait;
use sqlx::Row;

use super::{json_ids, SqliteStore};
use crate::error::Result;
use crate::store::batch::Batch;
use crate::store::fork_gate;
use crate::store::sql::db_err;
use crate::store::ArtifactStore;
use crate::util::now_ms;

#[async_trait]
impl ArtifactStore for SqliteStore {
    async fn put_chunk(&self, job: &str, attempt: u32, name: &str, seq: u32, data: &[u8]) -> Result<()> {
        let _gate = fork_gate::enter().await;
        let mut b = Batch::default();
        b.stmt("INSERT OR IGNORE INTO cj_artifacts (job_id, attempt, name, seq, data, at_ms) VALUES (?, ?, ?, ?, ?, ?)")
            .text(job)
            .int(attempt as i64)
            .text(name)
            .int(seq as i64)
            .blob(data)
            .int(now_ms() as i64);
        let mut w = self.writer.lock().await;
        b.run(&mut w).await.map(|_| ())
    }

    async fn read_artifact(&self, job: &str, attempt: u32, name: &str) -> Result<Option<Vec<u8>>> {
        let _gate = fork_gate::enter().await;
        let rows = sqlx::query("SELECT data FROM cj_artifacts WHERE job_id = ? AND attempt = ? AND name = ? ORDER BY seq")
            .bind(job)
            .bind(attempt as i64)
            .bind(name)
            .fetch_all(&self.reader)
            .await
            .map_err(db_err)?;
        if rows.is_empty() {
            return Ok(None);
        }
        let mut out = Vec::new();
        for r in rows {
            out.extend_from_slice(&r.try_get::<Vec<u8>, _>("data").map_err(db_err)?);
        }
        Ok(Some(out))
    }

    async fn artifact_sizes(&self, job: &str, attempt: u32) -> Result<Vec<(String, u64)>> {
        let _gate = fork_gate::enter().await;
        let rows = sqlx::query(
            "SELECT name, SUM(LENGTH(data)) AS size FROM cj_artifacts WHERE job_id = ? AND attempt = ? \
             GROUP BY name ORDER BY name",
        )
        .bind(job)
        .bind(attempt as i64)
        .fetch_all(&self.reader)
        .await
        .map_err(db_err)?;
        rows.iter()
            .map(|r| Ok((r.try_get("name").map_err(db_err)?, r.try_get::<i64, _>("size").map_err(db_err)? as u64)))
            .collect()
    }

    async fn delete_artifacts(&self, jobs: &[String], prefix: &str) -> Result<u64> {
        if jobs.is_empty() {
            return Ok(0);
        }
        let _gate = fork_gate::enter().await;
        let mut b = Batch::default();
        b.stmt(
            "DELETE FROM cj_artifacts WHERE job_id IN (SELECT value FROM json_each(?)) \
             AND substr(name, 1, length(?)) = ? RETURNING 1 AS gone",
        )
        .text(json_ids(jobs))
        .text(prefix)
        .text(prefix);
        let mut w = self.writer.lock().await;
        Ok(b.run(&mut w).await?.len() as u64)
    }

    async fn delete_attempt(&self, job: &str, attempt: u32) -> Result<()> {
        let _gate = fork_gate::enter().await;
        let mut b = Batch::default();
        b.stmt("DELETE FROM cj_artifacts WHERE job_id = ? AND attempt = ?").text(job).int(attempt as i64);
        let mut w = self.writer.lock().await;
        b.run(&mut w).await.map(|_| ())
    }
}
