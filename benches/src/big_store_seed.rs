//! Item 9: growing a store of a few hundred real jobs to a million, in SQL.
//!
//! Every added job is a copy of a real succeeded job (its spec, its info, its
//! events) under a new UUIDv7-shaped id whose time part is `ages.ts(g)`
//! (copy `g` made `step_ms` after copy `g - 1`, all older than the real ones,
//! so `list` pages through them in id order as it would through real
//! history). One job in ten is `failed` and one in a hundred `cancelled`
//! (info and column agree), so a state filter has a common and a rare case.
//! Each is finished 500 ms after it was made; with the ages the bench picks
//! (75 to 35 days ago) retention passes can prune them band by band.

use std::time::Instant;

/// Jobs added per transaction.
const CHUNK: u64 = 100_000;

/// The states of copy `g`, in SQL (the same in both dialects).
const STATE_OF_G: &str =
    "CASE WHEN g % 100 = 7 THEN 'cancelled' WHEN g % 10 = 3 THEN 'failed' ELSE 'succeeded' END";

/// When the copies were made: copy `g` at `base_ms + g * step_ms`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ages {
    pub(crate) base_ms: u64,
    pub(crate) step_ms: u64,
}

impl Ages {
    pub(crate) fn ts(&self, g: u64) -> u64 {
        self.base_ms + g * self.step_ms
    }
}

/// The id of copy `g`, as the SQL builds it (tests the format).
pub(crate) fn id_of(g: u64, ages: Ages) -> String {
    let ts = ages.ts(g);
    format!("{:08x}-{:04x}-7000-8000-{:012x}", ts >> 16, ts & 0xffff, g)
}

/// What seeding did.
#[derive(Debug, Default, serde::Serialize)]
pub(crate) struct Seeded {
    pub(crate) added: u64,
    pub(crate) events: u64,
    pub(crate) seconds: f64,
    pub(crate) db_bytes: u64,
}

fn err(what: &str, e: sqlx::Error) -> String {
    format!("seeding ({what}): {e}")
}

/// Adds `n` copies to the SQLite file at `path`.
pub(crate) async fn sqlite(path: &std::path::Path, n: u64, ages: Ages) -> Result<Seeded, String> {
    use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode};
    use sqlx::{ConnectOptions, Connection};
    let t0 = Instant::now();
    let mut c = SqliteConnectOptions::new()
        .filename(path)
        .journal_mode(SqliteJournalMode::Wal)
        .connect()
        .await
        .map_err(|e| err("open", e))?;
    let q = |s: &'static str| sqlx::query(s);
    q("CREATE TEMP TABLE src (r INTEGER PRIMARY KEY, sid TEXT NOT NULL)").execute(&mut c).await.map_err(|e| err("src", e))?;
    q("INSERT INTO src (r, sid) SELECT ROW_NUMBER() OVER (ORDER BY id) - 1, id FROM cj_jobs WHERE state = 'succeeded'")
        .execute(&mut c)
        .await
        .map_err(|e| err("src", e))?;
    let srcs: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM src").fetch_one(&mut c).await.map_err(|e| err("src", e))?;
    if srcs == 0 {
        return Err("seeding: no succeeded job to copy".into());
    }
    let amp = format!(
        "CREATE TEMP TABLE amp AS WITH RECURSIVE n(g) AS (SELECT ?1 UNION ALL SELECT g + 1 FROM n WHERE g + 1 < ?2) \
         SELECT g, printf('%08x-%04x-7000-8000-%012x', (?3 + g * ?5) >> 16, (?3 + g * ?5) & 65535, g) AS nid, \
         (SELECT sid FROM src WHERE r = g % ?4) AS sid, {STATE_OF_G} AS st, ?3 + g * ?5 AS ts FROM n"
    );
    let mut added = 0u64;
    while added < n {
        let end = (added + CHUNK).min(n);
        let mut tx = c.begin().await.map_err(|e| err("begin", e))?;
        sqlx::query(&amp)
            .bind(added as i64)
            .bind(end as i64)
            .bind(ages.base_ms as i64)
            .bind(srcs)
            .bind(ages.step_ms as i64)
            .execute(&mut *tx)
            .await
            .map_err(|e| err("ids", e))?;
        q("INSERT INTO cj_jobs (id, template, state, priority, attempt, max_attempts, run_at, created_at, started_at, \
           finished_at, run_lease, timeout_ms, spec, info, errors, tenant, cost_usd) \
           SELECT a.nid, j.template, a.st, j.priority, j.attempt, j.max_attempts, a.ts, a.ts, a.ts + 5, a.ts + 500, \
           j.run_lease, j.timeout_ms, j.spec, json_set(j.info, '$.id', a.nid, '$.state', a.st, '$.created_at', a.ts, \
           '$.started_at', a.ts + 5, '$.finished_at', a.ts + 500), j.errors, j.tenant, j.cost_usd \
           FROM amp a JOIN cj_jobs j ON j.id = a.sid")
        .execute(&mut *tx)
        .await
        .map_err(|e| err("jobs", e))?;
        q("INSERT INTO cj_events (job_id, seq, at_ms, event) SELECT a.nid, e.seq, a.ts + e.seq, e.event \
           FROM amp a JOIN cj_events e ON e.job_id = a.sid")
        .execute(&mut *tx)
        .await
        .map_err(|e| err("events", e))?;
        q("DROP TABLE amp").execute(&mut *tx).await.map_err(|e| err("drop", e))?;
        tx.commit().await.map_err(|e| err("commit", e))?;
        added = end;
        crate::suite::progress(&format!("  SQLite: {added} of {n} jobs added ({:.0} s)", t0.elapsed().as_secs_f64()));
    }
    let events: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM cj_events").fetch_one(&mut c).await.map_err(|e| err("count", e))?;
    q("PRAGMA wal_checkpoint(TRUNCATE)").execute(&mut c).await.map_err(|e| err("checkpoint", e))?;
    c.close().await.map_err(|e| err("close", e))?;
    Ok(Seeded {
        added,
        events: events as u64,
        seconds: t0.elapsed().as_secs_f64(),
        db_bytes: std::fs::metadata(path).map(|m| m.len()).unwrap_or(0),
    })
}

/// Adds `n` copies to the PostgreSQL database at `url`, then `VACUUM ANALYZE`
/// (what autovacuum does after a bulk load, done at once).
pub(crate) async fn postgres(url: &str, n: u64, ages: Ages) -> Result<Seeded, String> {
    use sqlx::{Connection, PgConnection};
    let t0 = Instant::now();
    let mut c = PgConnection::connect(url).await.map_err(|e| err("connect", e))?;
    let q = |s: &'static str| sqlx::query(s);
    q("CREATE TEMP TABLE src AS SELECT (ROW_NUMBER() OVER (ORDER BY id) - 1)::bigint AS r, id AS sid \
       FROM cj_jobs WHERE state = 'succeeded'")
    .execute(&mut c)
    .await
    .map_err(|e| err("src", e))?;
    q("CREATE UNIQUE INDEX ON src (r)").execute(&mut c).await.map_err(|e| err("src", e))?;
    let srcs: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM src").fetch_one(&mut c).await.map_err(|e| err("src", e))?;
    if srcs == 0 {
        return Err("seeding: no succeeded job to copy".into());
    }
    let amp = format!(
        "CREATE TEMP TABLE amp AS SELECT g, lpad(to_hex(ts >> 16), 8, '0') || '-' || lpad(to_hex(ts & 65535), 4, '0') \
         || '-7000-8000-' || lpad(to_hex(g), 12, '0') AS nid, s.sid, {STATE_OF_G} AS st, ts \
         FROM (SELECT g, $3::bigint + g * $5::bigint AS ts FROM generate_series($1::bigint, $2::bigint - 1) g) x \
         JOIN src s ON s.r = x.g % $4::bigint"
    );
    let mut added = 0u64;
    while added < n {
        let end = (added + CHUNK).min(n);
        let mut tx = c.begin().await.map_err(|e| err("begin", e))?;
        sqlx::query(&amp)
            .bind(added as i64)
            .bind(end as i64)
            .bind(ages.base_ms as i64)
            .bind(srcs)
            .bind(ages.step_ms as i64)
            .execute(&mut *tx)
            .await
            .map_err(|e| err("ids", e))?;
        q("INSERT INTO cj_jobs (id, template, state, priority, attempt, max_attempts, run_at, created_at, started_at, \
           finished_at, run_lease, timeout_ms, spec, info, errors, tenant, cost_usd) \
           SELECT a.nid, j.template, a.st, j.priority, j.attempt, j.max_attempts, a.ts, a.ts, a.ts + 5, a.ts + 500, \
           j.run_lease, j.timeout_ms, j.spec, j.info || jsonb_build_object('id', a.nid, 'state', a.st, \
           'created_at', a.ts, 'started_at', a.ts + 5, 'finished_at', a.ts + 500), j.errors, j.tenant, j.cost_usd \
           FROM amp a JOIN cj_jobs j ON j.id = a.sid")
        .execute(&mut *tx)
        .await
        .map_err(|e| err("jobs", e))?;
        q("INSERT INTO cj_events (job_id, seq, at_ms, event) SELECT a.nid, e.seq, a.ts + e.seq, e.event \
           FROM amp a JOIN cj_events e ON e.job_id = a.sid")
        .execute(&mut *tx)
        .await
        .map_err(|e| err("events", e))?;
        q("DROP TABLE amp").execute(&mut *tx).await.map_err(|e| err("drop", e))?;
        tx.commit().await.map_err(|e| err("commit", e))?;
        added = end;
        crate::suite::progress(&format!("  PostgreSQL: {added} of {n} jobs added ({:.0} s)", t0.elapsed().as_secs_f64()));
    }
    q("VACUUM ANALYZE cj_jobs").execute(&mut c).await.map_err(|e| err("vacuum", e))?;
    q("VACUUM ANALYZE cj_events").execute(&mut c).await.map_err(|e| err("vacuum", e))?;
    let events: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM cj_events").fetch_one(&mut c).await.map_err(|e| err("count", e))?;
    let bytes: i64 = sqlx::query_scalar("SELECT pg_database_size(current_database())")
        .fetch_one(&mut c)
        .await
        .map_err(|e| err("size", e))?;
    c.close().await.map_err(|e| err("close", e))?;
    Ok(Seeded { added, events: events as u64, seconds: t0.elapsed().as_secs_f64(), db_bytes: bytes as u64 })
}

/// The jobs in the store finished before `before_ms` (`sqlite`: the file at
/// `path`; else a URL).
pub(crate) async fn count_old(store: &str, path: &std::path::Path, before_ms: u64) -> Result<u64, String> {
    use sqlx::{ConnectOptions, Connection};
    let sql = format!("SELECT COUNT(*) FROM cj_jobs WHERE finished_at < {before_ms}");
    let sql = sql.as_str();
    let n: i64 = if store == "sqlite" {
        let mut c = sqlx::sqlite::SqliteConnectOptions::new()
            .filename(path)
            .connect()
            .await
            .map_err(|e| err("open", e))?;
        let n = sqlx::query_scalar(sql).fetch_one(&mut c).await.map_err(|e| err("count", e))?;
        let _ = c.close().await;
        n
    } else {
        let mut c = sqlx::PgConnection::connect(store).await.map_err(|e| err("connect", e))?;
        let n = sqlx::query_scalar(sql).fetch_one(&mut c).await.map_err(|e| err("count", e))?;
        let _ = c.close().await;
        n
    };
    Ok(n as u64)
}

#[cfg(test)]
mod tests {
    #[test]
    fn ids_sort_by_copy_number_and_look_like_uuids() {
        let ages = super::Ages { base_ms: 1_780_000_000_000, step_ms: 3456 };
        let a = super::id_of(5, ages);
        let b = super::id_of(70_000, ages);
        assert!(a < b, "{a} {b}");
        assert_eq!(a.len(), 36);
        assert!(uuid_like(&a), "{a}");
    }

    fn uuid_like(s: &str) -> bool {
        let parts: Vec<&str> = s.split('-').collect();
        parts.iter().map(|p| p.len()).collect::<Vec<_>>() == [8, 4, 4, 4, 12]
            && s.bytes().all(|b| b == b'-' || b.is_ascii_hexdigit())
    }
}
