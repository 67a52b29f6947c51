//! The SQLite store's schema migrations: applied in order, once each, under
//! the write lock; a database newer than this build is refused.

use sqlx::sqlite::SqliteConnection;
use sqlx::Connection;

use crate::store::sql::SQLITE_MIGRATIONS;
use crate::util::now_ms;

pub(super) async fn migrate(conn: &mut SqliteConnection) -> std::result::Result<(), String> {
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
