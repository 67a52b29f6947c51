//! The PostgreSQL store's artifacts (the `db` artifact store).

use async_trait::async_trait;
use sqlx::Row;

use super::PgStore;
use crate::error::Result;
use crate::store::sql::db_err;
use crate::store::ArtifactStore;
use crate::util::now_ms;

#[async_trait]
impl ArtifactStore for PgStore {
    async fn put_chunk(&self, job: &str, attempt: u32, name: &str, seq: u32, data: &[u8]) -> Result<()> {
        sqlx::query(
            "INSERT INTO cj_artifacts (job_id, attempt, name, seq, data, at_ms) VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT DO NOTHING",
        )
        .bind(job)
        .bind(attempt as i32)
        .bind(name)
        .bind(seq as i32)
        .bind(data)
        .bind(now_ms() as i64)
        .execute(&self.pool)
        .await
        .map_err(db_err)
        .map(|_| ())
    }

    async fn read_artifact(&self, job: &str, attempt: u32, name: &str) -> Result<Option<Vec<u8>>> {
        let rows = sqlx::query("SELECT data FROM cj_artifacts WHERE job_id = $1 AND attempt = $2 AND name = $3 ORDER BY seq")
            .bind(job)
            .bind(attempt as i32)
            .bind(name)
            .fetch_all(&self.pool)
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
        let rows = sqlx::query(
            "SELECT name, SUM(LENGTH(data))::BIGINT AS size FROM cj_artifacts WHERE job_id = $1 AND attempt = $2 \
             GROUP BY name ORDER BY name",
        )
        .bind(job)
        .bind(attempt as i32)
        .fetch_all(&self.pool)
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
        let r = sqlx::query("DELETE FROM cj_artifacts WHERE job_id = ANY($1) AND starts_with(name, $2)")
            .bind(jobs)
            .bind(prefix)
            .execute(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(r.rows_affected())
    }

    async fn delete_attempt(&self, job: &str, attempt: u32) -> Result<()> {
        sqlx::query("DELETE FROM cj_artifacts WHERE job_id = $1 AND attempt = $2")
            .bind(job)
            .bind(attempt as i32)
            .execute(&self.pool)
            .await
            .map_err(db_err)
            .map(|_| ())
    }
}
