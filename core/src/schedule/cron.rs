//! A cron expression read in a time zone: its ticks as Unix milliseconds.

use std::str::FromStr;

use chrono::{DateTime, TimeZone, Utc};
use chrono_tz::Tz;
use croner::parser::{CronParser, Seconds, Year};
use croner::Cron;

use crate::error::{Error, Result};

/// A parsed cron expression and time zone.
#[derive(Debug, Clone)]
pub(crate) struct Timing {
    cron: Cron,
    tz: Tz,
}

impl Timing {
    /// Parses `cron` (5 fields, or 6 with leading seconds; `@hourly` and the
    /// like) and `timezone` (an IANA name, `UTC`).
    ///
    /// Errors: `InvalidSpec` naming `cron` or `timezone`.
    pub fn parse(cron: &str, timezone: &str) -> Result<Timing> {
        let tz = Tz::from_str(timezone)
            .map_err(|_| Error::invalid("timezone", format!("{timezone:?} is not an IANA time zone name")))?;
        let fields = cron.split_whitespace().count();
        if !cron.trim_start().starts_with('@') && !(5..=6).contains(&fields) {
            return Err(Error::invalid(
                "cron",
                format!("{cron:?} has {fields} fields: expected 5, or 6 with leading seconds"),
            ));
        }
        let parser = CronParser::builder()
            .seconds(Seconds::Optional)
            .year(Year::Disallowed)
            .build();
        let cron = parser
            .parse(cron)
            .map_err(|e| Error::invalid("cron", format!("{cron:?}: {e}")))?;
        let t = Timing { cron, tz };
        // A pattern that never matches (`0 0 31 2 *`) is an error now, not a
        // schedule that silently never fires.
        if t.next_after(crate::util::now_ms()).is_none() {
            return Err(Error::invalid("cron", "never matches"));
        }
        Ok(t)
    }

    /// `ms` in the time zone, down to the whole second (ticks are whole
    /// seconds, the same on every manager).
    fn at(&self, ms: u64) -> Option<DateTime<Tz>> {
        let ms = ms - ms % 1000;
        let utc = Utc.timestamp_millis_opt(i64::try_from(ms).ok()?).single()?;
        Some(utc.with_timezone(&self.tz))
    }

    /// The first tick strictly after `ms`.
    pub fn next_after(&self, ms: u64) -> Option<u64> {
        let t = self.cron.find_next_occurrence(&self.at(ms)?, false).ok()?;
        u64::try_from(t.timestamp_millis()).ok()
    }

    /// The ticks after `after_ms` and at or before `now_ms`, oldest first:
    /// the newest `max` of them.
    pub fn due(&self, after_ms: u64, now_ms: u64, max: usize) -> Vec<u64> {
        let mut ticks = Vec::new();
        let mut upto = now_ms;
        while ticks.len() < max {
            let Some(t) = self.latest_due(after_ms, upto) else { break };
            ticks.push(t);
            upto = t - 1;
        }
        ticks.reverse();
        ticks
    }

    /// The latest tick at or before `now_ms` that is after `last_ms`.
    pub fn latest_due(&self, last_ms: u64, now_ms: u64) -> Option<u64> {
        let t = self.cron.find_previous_occurrence(&self.at(now_ms)?, true).ok()?;
        let t = u64::try_from(t.timestamp_millis()).ok()?;
        (t > last_ms && t <= now_ms).then_some(t)
    }
}

/// A tick as RFC 3339 UTC (`2026-12-02T23:40:02Z`): the `schedule_tick` label.
pub(crate) fn rfc3339(ms: u64) -> String {
    let t = i64::try_from(ms).ok().and_then(|ms| Utc.timestamp_millis_opt(ms).single());
    t.map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true))
        .unwrap_or_default()
}
