//! Statements for SQLite's writer connection sent as one multi-statement
//! query. sqlx runs each SQLite connection on its own thread, and every call
//! is a round trip to it (two thread wake-ups): `BEGIN`, a statement and
//! `COMMIT` as three calls cost about three times one call holding all three
//! (measured here: 190-250 µs against 60-70 µs). A [`Batch`] is one call.
//!
//! Parameters are anonymous `?`, bound in text order: sqlx numbers them
//! across the statements of the query.
//!
//! A batch that opens a transaction and fails (or whose caller is cancelled)
//! before its `COMMIT` leaves the transaction open on the connection; the
//! store then rolls it back before its next write ([`Batch::run_tx`] marks it).

use std::sync::atomic::{AtomicBool, Ordering};

use sqlx::sqlite::{SqliteConnection, SqliteRow};

use super::sql::db_err;
use crate::error::Result;

#[derive(Debug)]
enum Val {
    Int(i64),
    OptInt(Option<i64>),
    Text(String),
    OptText(Option<String>),
    OptReal(Option<f64>),
}

/// Statements and their parameters, run in one call.
#[derive(Debug, Default)]
pub(crate) struct Batch {
    sql: String,
    vals: Vec<Val>,
}

impl Batch {
    /// Appends a statement (without its `;`).
    pub(crate) fn stmt(&mut self, sql: &str) -> &mut Self {
        self.sql.push_str(sql);
        self.sql.push_str(";\n");
        self
    }

    pub(crate) fn int(&mut self, v: i64) -> &mut Self {
        self.vals.push(Val::Int(v));
        self
    }

    pub(crate) fn opt_int(&mut self, v: Option<i64>) -> &mut Self {
        self.vals.push(Val::OptInt(v));
        self
    }

    pub(crate) fn opt_real(&mut self, v: Option<f64>) -> &mut Self {
        self.vals.push(Val::OptReal(v));
        self
    }

    pub(crate) fn text(&mut self, v: impl Into<String>) -> &mut Self {
        self.vals.push(Val::Text(v.into()));
        self
    }

    pub(crate) fn opt_text(&mut self, v: Option<String>) -> &mut Self {
        self.vals.push(Val::OptText(v));
        self
    }

    /// `INSERT OR IGNORE` of events as `(seq, at_ms, json)` rows, 200 rows per
    /// statement (4 parameters each, far below SQLite's limit per statement).
    pub(crate) fn events(&mut self, id: &str, rows: Vec<(i64, i64, String)>) -> &mut Self {
        let mut rows = rows.into_iter().peekable();
        while rows.peek().is_some() {
            let chunk: Vec<_> = rows.by_ref().take(200).collect();
            let values = vec!["(?, ?, ?, ?)"; chunk.len()].join(", ");
            self.stmt(&format!(
                "INSERT OR IGNORE INTO cj_events (job_id, seq, at_ms, event) VALUES {values}"
            ));
            for (seq, at, ev) in chunk {
                self.text(id).int(seq).int(at).text(ev);
            }
        }
        self
    }

    /// Runs the statements in one call; the rows of those that return rows.
    pub(crate) async fn run(&self, conn: &mut SqliteConnection) -> Result<Vec<SqliteRow>> {
        let mut q = sqlx::query(&self.sql);
        for v in &self.vals {
            q = match v {
                Val::Int(i) => q.bind(*i),
                Val::OptInt(i) => q.bind(*i),
                Val::Text(s) => q.bind(s.as_str()),
                Val::OptText(s) => q.bind(s.as_deref()),
                Val::OptReal(f) => q.bind(*f),
            };
        }
        q.fetch_all(conn).await.map_err(db_err)
    }

    /// Runs statements that open a transaction (and, unless the caller ends
    /// it with another batch, commit it). `open_tx` is set while it may be
    /// open: on an error the transaction is rolled back here; if the caller
    /// is cancelled, by the store's next write ([`settle`]).
    pub(crate) async fn run_tx(
        &self,
        conn: &mut SqliteConnection,
        open_tx: &AtomicBool,
    ) -> Result<Vec<SqliteRow>> {
        open_tx.store(true, Ordering::SeqCst);
        match self.run(conn).await {
            Ok(rows) => {
                if self.sql.trim_end().ends_with("COMMIT;") {
                    open_tx.store(false, Ordering::SeqCst);
                }
                Ok(rows)
            }
            Err(e) => {
                settle(conn, open_tx).await;
                Err(e)
            }
        }
    }
}

/// Rolls back a transaction a failed or cancelled batch left open.
pub(crate) async fn settle(conn: &mut SqliteConnection, open_tx: &AtomicBool) {
    if open_tx.load(Ordering::SeqCst) {
        // "no transaction is active" when it had not begun or had ended: fine.
        let _ = sqlx::query("ROLLBACK").execute(&mut *conn).await;
        open_tx.store(false, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlx::{Connection, Row};

    async fn conn() -> SqliteConnection {
        let mut c = SqliteConnection::connect("sqlite::memory:").await.unwrap();
        sqlx::raw_sql("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)")
            .execute(&mut c)
            .await
            .unwrap();
        c
    }

    async fn count(c: &mut SqliteConnection) -> i64 {
        sqlx::query("SELECT COUNT(*) AS n FROM t")
            .fetch_one(c)
            .await
            .unwrap()
            .get("n")
    }

    #[tokio::test]
    async fn parameters_run_across_statements_and_rows_come_back() {
        let mut c = conn().await;
        let open = AtomicBool::new(false);
        let mut b = Batch::default();
        b.stmt("BEGIN IMMEDIATE")
            .stmt("INSERT INTO t (id, v) VALUES (?, ?)")
            .int(1)
            .text("a")
            .stmt("INSERT INTO t (id, v) VALUES (?, ?) RETURNING v")
            .int(2)
            .text("b")
            .stmt("COMMIT");
        let rows = b.run_tx(&mut c, &open).await.unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].get::<String, _>("v"), "b");
        assert!(!open.load(Ordering::SeqCst));
        assert_eq!(count(&mut c).await, 2);
    }

    #[tokio::test]
    async fn a_failing_statement_rolls_the_whole_batch_back() {
        let mut c = conn().await;
        let open = AtomicBool::new(false);
        let mut b = Batch::default();
        b.stmt("BEGIN IMMEDIATE")
            .stmt("INSERT INTO t (id, v) VALUES (?, ?)")
            .int(1)
            .text("a")
            // NOT NULL violated: the batch stops here, before COMMIT.
            .stmt("INSERT INTO t (id, v) VALUES (?, ?)")
            .int(2)
            .opt_text(None)
            .stmt("COMMIT");
        assert!(b.run_tx(&mut c, &open).await.is_err());
        assert!(!open.load(Ordering::SeqCst));
        assert_eq!(count(&mut c).await, 0, "the first insert was rolled back");
        // The connection takes a new transaction.
        let mut ok = Batch::default();
        ok.stmt("BEGIN IMMEDIATE")
            .stmt("INSERT INTO t (id, v) VALUES (?, ?)")
            .int(3)
            .text("c")
            .stmt("COMMIT");
        ok.run_tx(&mut c, &open).await.unwrap();
        assert_eq!(count(&mut c).await, 1);
    }

    #[tokio::test]
    async fn a_transaction_left_open_is_rolled_back_by_settle() {
        let mut c = conn().await;
        let open = AtomicBool::new(false);
        let mut b = Batch::default();
        b.stmt("BEGIN IMMEDIATE")
            .stmt("INSERT INTO t (id, v) VALUES (?, ?)")
            .int(1)
            .text("a");
        // No COMMIT: as if the caller had gone away before its second batch.
        b.run_tx(&mut c, &open).await.unwrap();
        assert!(open.load(Ordering::SeqCst));
        settle(&mut c, &open).await;
        assert!(!open.load(Ordering::SeqCst));
        assert_eq!(count(&mut c).await, 0);
        let mut again = Batch::default();
        again.stmt("BEGIN IMMEDIATE").stmt("COMMIT");
        again.run_tx(&mut c, &open).await.unwrap();
    }
}
