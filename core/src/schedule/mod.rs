//! Schedules: a job spec submitted on every tick of a cron expression, in a
//! time zone, exactly once across the managers sharing a store (see
//! [`crate::JobManager::schedule`]). The leaf types live here; the firing
//! loop is the manager's (`manager/schedules.rs`).

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::spec::JobSpec;

mod cron;

pub(crate) use cron::{rfc3339, Timing};

/// The longest schedule name.
pub const MAX_NAME_LEN: usize = 128;

/// What a schedule does with ticks that were due while no manager ran.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CatchUp {
    /// The latest missed tick runs once, at start (the others are dropped).
    #[default]
    RunOnce,
    /// Missed ticks are dropped; the schedule goes on from the next one.
    Skip,
}

impl CatchUp {
    /// `run_once` or `skip` (the same strings in every language).
    pub fn as_str(self) -> &'static str {
        match self {
            CatchUp::RunOnce => "run_once",
            CatchUp::Skip => "skip",
        }
    }

    /// Reads `run_once` or `skip`.
    ///
    /// Errors: `InvalidSpec` naming `catch_up`.
    pub fn parse(s: &str) -> Result<CatchUp> {
        match s {
            "run_once" => Ok(CatchUp::RunOnce),
            "skip" => Ok(CatchUp::Skip),
            other => Err(Error::invalid("catch_up", format!("{other:?}: expected run_once or skip"))),
        }
    }
}

/// How a schedule runs, beyond its cron expression.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ScheduleOptions {
    /// An IANA time zone name (`Europe/Paris`); `None` is `UTC`.
    pub timezone: Option<String>,
    /// What to do with ticks missed while no manager ran.
    pub catch_up: CatchUp,
}

/// A stored schedule: what [`crate::JobManager::schedules`] lists.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Schedule {
    /// Unique in the store: letters, digits, `-`, `_`, `.`.
    pub name: String,
    /// 5 fields (minute resolution) or 6 with leading seconds.
    pub cron: String,
    /// The IANA time zone the cron expression is read in (`UTC` by default).
    pub timezone: String,
    pub catch_up: CatchUp,
    /// What each tick submits (plus the labels `schedule` and `schedule_tick`).
    pub spec: JobSpec,
    /// The latest tick handled (Unix ms); at first, when the schedule was set.
    pub last_tick_ms: Option<u64>,
    /// The next tick after `last_tick_ms` (Unix ms), computed when read.
    pub next_tick_ms: Option<u64>,
    pub created_ms: u64,
    pub updated_ms: u64,
}

impl Schedule {
    /// A schedule starting now (its first tick is the first after now),
    /// checked: its name, cron expression, time zone and spec. What
    /// [`crate::JobManager::schedule_with`] stores, after also checking the
    /// spec's template and the manager's policy.
    ///
    /// Errors: `InvalidSpec` naming `name`, `cron`, `timezone` or the bad
    /// spec field (`idempotency_key` is the schedule's own).
    pub fn new(name: &str, cron: &str, spec: JobSpec, opts: ScheduleOptions) -> Result<Schedule> {
        check_name(name)?;
        let timezone = opts.timezone.as_deref().map(str::trim).unwrap_or("UTC");
        Timing::parse(cron, timezone)?;
        spec.validate()?;
        if spec.idempotency_key.is_some() {
            return Err(Error::invalid("idempotency_key", "a schedule sets it for each tick"));
        }
        let now = crate::util::now_ms();
        let s = Schedule {
            name: name.to_string(),
            cron: cron.trim().to_string(),
            timezone: timezone.to_string(),
            catch_up: opts.catch_up,
            spec,
            last_tick_ms: Some(now),
            next_tick_ms: None,
            created_ms: now,
            updated_ms: now,
        };
        Ok(s.with_next_tick())
    }

    /// The cron expression and time zone, parsed.
    pub(crate) fn timing(&self) -> Result<Timing> {
        Timing::parse(&self.cron, &self.timezone)
    }

    /// `next_tick_ms` filled in: the first tick after `last_tick_ms` (the
    /// store keeps no next tick).
    pub fn with_next_tick(mut self) -> Schedule {
        self.next_tick_ms = match (self.timing(), self.last_tick_ms) {
            (Ok(t), Some(last)) => t.next_after(last),
            _ => None,
        };
        self
    }
}

/// Checks a schedule name: 1 to 128 of letters, digits, `-`, `_`, `.`, not
/// starting with `.` or `-`.
///
/// Errors: `InvalidSpec` naming `name`.
pub fn check_name(name: &str) -> Result<()> {
    if name.is_empty() {
        return Err(Error::invalid("name", "must not be empty"));
    }
    if name.len() > MAX_NAME_LEN {
        return Err(Error::invalid("name", format!("longer than {MAX_NAME_LEN} bytes")));
    }
    if name.starts_with(['.', '-']) {
        return Err(Error::invalid("name", "must not start with '.' or '-'"));
    }
    if let Some(c) = name.chars().find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))) {
        return Err(Error::invalid("name", format!("{c:?} is not allowed (letters, digits, '-', '_', '.')")));
    }
    Ok(())
}

#[cfg(test)]
mod tests;
