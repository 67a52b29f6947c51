//! [`backup`]: a consistent copy of a SQLite job store, safe to take while
//! managers use it (`VACUUM INTO` reads one snapshot under a read
//! transaction; writers go on, in WAL mode). The copy is a plain database
//! file: no `-wal` file beside it is needed to restore it.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, Connection};

use crate::error::{Error, Result};

/// Writes a copy of the store `db` to `out` (which must not exist).
///
/// Errors: `Store` when `db` cannot be read or `out` written; `InvalidSpec`
/// (field `out`) when `out` exists.
///
/// ```no_run
/// # async fn demo() -> claude_jobs::Result<()> {
/// let data = std::path::Path::new("/var/lib/claude-jobs");
/// claude_jobs::store::backup(&data.join("claude-jobs.db"), std::path::Path::new("/backups/jobs.db")).await?;
/// # Ok(()) }
/// ```
pub async fn backup(db: &Path, out: &Path) -> Result<()> {
    if out.exists() {
        return Err(Error::invalid("out", format!("{} exists already", out.display())));
    }
    if !db.is_file() {
        return Err(Error::Store(format!("{}: no SQLite job store there", db.display())));
    }
    let fail = |e: &dyn std::fmt::Display| Error::Store(format!("backing up {} to {}: {e}", db.display(), out.display()));
    let mut conn = SqliteConnectOptions::from_str("sqlite://")
        .map_err(|e| fail(&e))?
        .filename(db)
        .busy_timeout(Duration::from_secs(10))
        .connect()
        .await
        .map_err(|e| fail(&e))?;
    sqlx::query("VACUUM INTO ?")
        .bind(out.display().to_string())
        .execute(&mut conn)
        .await
        .map_err(|e| fail(&e))?;
    conn.close().await.map_err(|e| fail(&e))
}
