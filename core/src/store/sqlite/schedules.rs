//! The SQLite store's schedules.

use sqlx::sqlite::SqliteRow;
use sqlx::Row;

use super::SqliteStore;
use crate::error::Result;
use crate::schedule::Schedule;
use crate::store::batch::Batch;
use crate::store::fork_gate;
use crate::store::sql::{db_err, schedule_spec, RawSchedule};

const COLUMNS: &str = "name, cron, timezone, catch_up, spec, last_tick_ms, created_ms, updated_ms";

fn decode(r: &SqliteRow) -> Result<Schedule> {
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

impl SqliteStore {
    pub(super) async fn write_schedule(&self, s: &Schedule) -> Result<Schedule> {
        let spec = schedule_spec(s)?;
        let _gate = fork_gate::enter().await;
        let mut b = Batch::default();
        b.stmt(&format!(
            "INSERT INTO cj_schedules ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?) \
             ON CONFLICT (name) DO UPDATE SET cron = excluded.cron, timezone = excluded.timezone, \
             catch_up = excluded.catch_up, spec = excluded.spec, last_tick_ms = excluded.last_tick_ms, \
             updated_ms = excluded.updated_ms RETURNING {COLUMNS}"
        ))
        .text(s.name.clone())
        .text(s.cron.clone())
        .text(s.timezone.clone())
        .text(s.catch_up.as_str())
        .text(spec)
        .int(s.last_tick_ms.unwrap_or(0) as i64)
        .int(s.created_ms as i64)
        .int(s.updated_ms as i64);
        let rows = {
            let mut w = self.writer.lock().await;
            b.run(&mut w).await?
        };
        let row = rows.first().ok_or_else(|| crate::Error::Store("schedule upsert returned no row".into()))?;
        decode(row)
    }

    pub(super) async fn remove_schedule(&self, name: &str) -> Result<bool> {
        let _gate = fork_gate::enter().await;
        let mut b = Batch::default();
        b.stmt("DELETE FROM cj_schedules WHERE name = ? RETURNING name").text(name);
        let mut w = self.writer.lock().await;
        Ok(!b.run(&mut w).await?.is_empty())
    }

    pub(super) async fn read_schedules(&self) -> Result<Vec<Schedule>> {
        let _gate = fork_gate::enter().await;
        let rows = sqlx::query(&format!("SELECT {COLUMNS} FROM cj_schedules ORDER BY name"))
            .fetch_all(&self.reader)
            .await
            .map_err(db_err)?;
        rows.iter().map(decode).collect()
    }

    pub(super) async fn move_schedule(&self, name: &str, from_ms: u64, to_ms: u64) -> Result<bool> {
        let _gate = fork_gate::enter().await;
        let mut b = Batch::default();
        b.stmt("UPDATE cj_schedules SET last_tick_ms = ? WHERE name = ? AND last_tick_ms = ? RETURNING name")
            .int(to_ms as i64)
            .text(name)
            .int(from_ms as i64);
        let mut w = self.writer.lock().await;
        Ok(!b.run(&mut w).await?.is_empty())
    }
}
