//! What the SQL stores share: the migrations list, row decoding and JSON.

use super::{JobRecord, JobRow};
use crate::error::{Error, Result};
use crate::state::JobState;

/// One schema migration: applied in order, once, recorded in `cj_schema_migrations`.
pub(crate) struct Migration {
    pub version: i64,
    pub name: &'static str,
    pub sql: &'static str,
}

#[cfg(feature = "sqlite")]
pub(crate) const SQLITE_MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "init",
        sql: include_str!("migrations/sqlite/0001_init.sql"),
    },
    Migration {
        version: 2,
        name: "flat_limits",
        sql: include_str!("migrations/sqlite/0002_flat_limits.sql"),
    },
    Migration {
        version: 3,
        name: "tenants",
        sql: include_str!("migrations/sqlite/0003_tenants.sql"),
    },
    Migration {
        version: 4,
        name: "schedules",
        sql: include_str!("migrations/sqlite/0004_schedules.sql"),
    },
    Migration {
        version: 5,
        name: "artifacts",
        sql: include_str!("migrations/sqlite/0005_artifacts.sql"),
    },
    Migration {
        version: 6,
        name: "list_index",
        sql: include_str!("migrations/sqlite/0006_list_index.sql"),
    },
];

#[cfg(feature = "postgres")]
pub(crate) const POSTGRES_MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "init",
        sql: include_str!("migrations/postgres/0001_init.sql"),
    },
    Migration {
        version: 2,
        name: "flat_limits",
        sql: include_str!("migrations/postgres/0002_flat_limits.sql"),
    },
    Migration {
        version: 3,
        name: "tenants",
        sql: include_str!("migrations/postgres/0003_tenants.sql"),
    },
    Migration {
        version: 4,
        name: "schedules",
        sql: include_str!("migrations/postgres/0004_schedules.sql"),
    },
    Migration {
        version: 5,
        name: "artifacts",
        sql: include_str!("migrations/postgres/0005_artifacts.sql"),
    },
    Migration {
        version: 6,
        name: "list_index",
        sql: include_str!("migrations/postgres/0006_list_index.sql"),
    },
];

/// The columns of a row as read, before decoding the JSON.
pub(crate) struct RawRow {
    pub id: String,
    pub state: String,
    pub attempt: i64,
    pub max_attempts: i64,
    pub run_lease: i64,
    pub locked_by: Option<String>,
    pub started_at: Option<i64>,
    pub finished_at: Option<i64>,
    pub lease_expires_at: Option<i64>,
    pub deadline_at: Option<i64>,
    pub cancel_requested_at: Option<i64>,
    pub spec: String,
    pub info: String,
}

/// Reads a [`RawRow`] from any sqlx row with the columns of `COLS`.
macro_rules! raw_row {
    ($row:expr) => {{
        use sqlx::Row;
        let r = $row;
        (|| -> std::result::Result<$crate::store::sql::RawRow, sqlx::Error> {
            Ok($crate::store::sql::RawRow {
                id: r.try_get("id")?,
                state: r.try_get("state")?,
                attempt: r.try_get::<i64, _>("attempt")?,
                max_attempts: r.try_get::<i64, _>("max_attempts")?,
                run_lease: r.try_get("run_lease")?,
                locked_by: r.try_get("locked_by")?,
                started_at: r.try_get("started_at")?,
                finished_at: r.try_get("finished_at")?,
                lease_expires_at: r.try_get("lease_expires_at")?,
                deadline_at: r.try_get("deadline_at")?,
                cancel_requested_at: r.try_get("cancel_requested_at")?,
                spec: r.try_get("spec")?,
                info: r.try_get("info")?,
            })
        })()
        .map_err($crate::store::sql::db_err)
    }};
}
pub(crate) use raw_row;

impl RawRow {
    /// Decodes the JSON; the columns win over the copies inside `info`.
    pub(crate) fn decode(mut self) -> Result<JobRow> {
        // The spec's text goes before the info is decoded.
        let text = std::mem::take(&mut self.spec);
        let spec = serde_json::from_str(&text)
            .map_err(|e| Error::Store(format!("job {}: corrupt spec in the store: {e}", self.id)))?;
        drop(text);
        let lease = self.run_lease as u64;
        let locked_by = self.locked_by.take();
        let (lease_expires_at, deadline_at) = (self.lease_expires_at, self.deadline_at);
        let (cancel_requested_at, max_attempts) = (self.cancel_requested_at, self.max_attempts);
        let info = self.decode_info()?;
        Ok(JobRow {
            record: JobRecord { info, spec },
            lease,
            locked_by,
            lease_expires_at: lease_expires_at.map(|t| t as u64),
            deadline_at: deadline_at.map(|t| t as u64),
            cancel_requested_at: cancel_requested_at.map(|t| t as u64),
            max_attempts: max_attempts.max(1) as u32,
        })
    }

    /// The job's info alone (a `list` page reads no spec: `spec` may be
    /// empty); the columns win over the copies inside `info`.
    pub(crate) fn decode_info(self) -> Result<crate::state::JobInfo> {
        let corrupt = |what: &str, e: &dyn std::fmt::Display| {
            Error::Store(format!("job {}: corrupt {what} in the store: {e}", self.id))
        };
        let mut info: crate::state::JobInfo =
            serde_json::from_str(&self.info).map_err(|e| corrupt("info", &e))?;
        info.state = self
            .state
            .parse::<JobState>()
            .map_err(|e| corrupt("state", &e))?;
        info.attempt = self.attempt as u32;
        info.started_at = self.started_at.map(|t| t as u64);
        if self.finished_at.is_some() || info.state.is_final() {
            info.finished_at = self.finished_at.map(|t| t as u64).or(info.finished_at);
        } else {
            info.finished_at = None;
        }
        Ok(info)
    }
}

/// A database error as a store error (sqlx messages carry no password).
pub(crate) fn db_err(e: sqlx::Error) -> Error {
    Error::Store(format!("database error: {e}"))
}

pub(crate) fn to_json<T: serde::Serialize>(v: &T) -> Result<String> {
    serde_json::to_string(v).map_err(|e| Error::Store(format!("cannot encode JSON: {e}")))
}

/// The effective timeout of a spec in ms (for `deadline_at`).
pub(crate) fn timeout_ms(spec: &crate::spec::JobSpec) -> Option<i64> {
    spec.timeout.map(|t| t.as_millis() as i64)
}

/// A schedule's columns as read, before decoding the spec.
pub(crate) struct RawSchedule {
    pub name: String,
    pub cron: String,
    pub timezone: String,
    pub catch_up: String,
    pub spec: String,
    pub last_tick_ms: i64,
    pub created_ms: i64,
    pub updated_ms: i64,
}

impl RawSchedule {
    /// The schedule, its spec decoded (`next_tick_ms` is the manager's).
    pub(crate) fn decode(self) -> Result<crate::schedule::Schedule> {
        Ok(crate::schedule::Schedule {
            catch_up: crate::schedule::CatchUp::parse(&self.catch_up)
                .map_err(|e| Error::Store(format!("schedule {}: {e}", self.name)))?,
            spec: serde_json::from_str(&self.spec)
                .map_err(|e| Error::Store(format!("schedule {}: spec: {e}", self.name)))?,
            name: self.name,
            cron: self.cron,
            timezone: self.timezone,
            last_tick_ms: Some(self.last_tick_ms as u64),
            next_tick_ms: None,
            created_ms: self.created_ms as u64,
            updated_ms: self.updated_ms as u64,
        })
    }
}

/// A schedule's spec as stored.
pub(crate) fn schedule_spec(s: &crate::schedule::Schedule) -> Result<String> {
    serde_json::to_string(&s.spec).map_err(|e| Error::Store(format!("schedule {}: spec: {e}", s.name)))
}
