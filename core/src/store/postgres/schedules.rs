//! The PostgreSQL store's schedules.

use sqlx::postgres::PgRow;
use sqlx::Row;

use super::PgStore;
use crate::error::Result;
use crate::schedule::Schedule;
use crate::store::sql::{db_err, schedule_spec, RawSchedule};

const COLUMNS: &str = "name, cron, timezone, catch_up, spec, last_tick_ms, created_ms, updated_ms";

fn decode(r: &PgRow) -> Result<Schedule> {
    RawSchedule {
        name: r.try_get("name").map_err(db_err)?,
        cron: r.try_get("cron").map_err(db_err)?,
        timezone: r.try_get("timezone").map_err(db_err)?,
        catch_up: r.try_get("catch_up").map_err(db_err)?,
        spec: r.try_get("spec").map_err(db_err)?,
        last_tick_ms: r.try_get("last_tick_ms").map_err(db_err)?,
        created_ms: r.try_get("created_ms").map_err(db_err)?,
        updated_ms: r.try_get("updated_ms").map_err(db_err)?,
    }
    .decode()
}

impl PgStore {
    pub(super) async fn write_schedule(&self, s: &Schedule) -> Result<Schedule> {
        let row = sqlx::query(&format!(
            "INSERT INTO cj_schedules ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
             ON CONFLICT (name) DO UPDATE SET cron = EXCLUDED.cron, timezone = EXCLUDED.timezone, \
             catch_up = EXCLUDED.catch_up, spec = EXCLUDED.spec, last_tick_ms = EXCLUDED.last_tick_ms, \
             updated_ms = EXCLUDED.updated_ms RETURNING {COLUMNS}"
        ))
        .bind(&s.name)
        .bind(&s.cron)
        .bind(&s.timezone)
        .bind(s.catch_up.as_str())
        .bind(schedule_spec(s)?)
        .bind(s.last_tick_ms.unwrap_or(0) as i64)
        .bind(s.created_ms as i64)
        .bind(s.updated_ms as i64)
        .fetch_one(&self.pool)
        .await
        .map_err(db_err)?;
        decode(&row)
    }

    pub(super) async fn remove_schedule(&self, name: &str) -> Result<bool> {
        let done = sqlx::query("DELETE FROM cj_schedules WHERE name = $1")
            .bind(name)
            .execute(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(done.rows_affected() > 0)
    }

    pub(super) async fn read_schedules(&self) -> Result<Vec<Schedule>> {
        let rows = sqlx::query(&format!("SELECT {COLUMNS} FROM cj_schedules ORDER BY name"))
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?;
        rows.iter().map(decode).collect()
    }

    pub(super) async fn move_schedule(&self, name: &str, from_ms: u64, to_ms: u64) -> Result<bool> {
        let done = sqlx::query("UPDATE cj_schedules SET last_tick_ms = $1 WHERE name = $2 AND last_tick_ms = $3")
            .bind(to_ms as i64)
            .bind(name)
            .bind(from_ms as i64)
            .execute(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(done.rows_affected() > 0)
    }
}
