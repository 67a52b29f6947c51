//! Setting up a PostgreSQL store: schema migrations (one node at a time,
//! under an advisory lock) and the LISTEN connection that forwards notices.

use std::time::Duration;

use sqlx::postgres::{PgListener, PgPool};
use sqlx::Connection;
use tokio::sync::broadcast;

use super::{CHANNEL, MIGRATION_LOCK, NOW};
use crate::store::sql::POSTGRES_MIGRATIONS;
use crate::store::StoreNotice;

pub(super) async fn migrate(pool: &PgPool) -> std::result::Result<(), String> {
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
pub(super) async fn listen(pool: PgPool, tx: broadcast::Sender<StoreNotice>, shown: String) {
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
