//! Schedules: setting and listing them ([`JobManager::schedule`] and co.),
//! and the loop that submits their ticks. Every manager on a store fires
//! every schedule; a tick runs once because its job's idempotency key
//! (`schedule:<name>:<tick_ms>`) is unique in the store, and the schedule's
//! `last_tick_ms` moves on by compare-and-set.

use std::sync::{Arc, Weak};
use std::time::Duration;

use super::inner::{every, Inner};
use super::JobManager;
use crate::error::{ErrorKind, Result};
use crate::schedule::{rfc3339, CatchUp, Schedule, ScheduleOptions};
use crate::spec::JobSpec;
use crate::util::now_ms;

/// How often each manager looks for due ticks (plus up to
/// [`SCHEDULE_JITTER_MS`], so that the managers of a store take turns rather
/// than the same one always firing first).
pub(super) const SCHEDULE_POLL: Duration = Duration::from_millis(400);
const SCHEDULE_JITTER_MS: u64 = 200;

/// With [`CatchUp::Skip`], a tick is still submitted when it is at most this
/// old (a slow poll, a store hiccup); older ones were missed and are dropped.
const SKIP_GRACE_MS: u64 = 2_000;

/// At most this many ticks that fell while a manager was watching run one by
/// one (a store that was down for an hour does not bring 3600 jobs of a
/// per-second schedule); older ones are dropped with a warning.
const MAX_LATE_TICKS: usize = 10;

impl JobManager {
    /// Submits `spec` on every tick of `cron` (UTC; missed ticks run once at
    /// start, see [`CatchUp`]), exactly once across the managers sharing the
    /// store. A schedule of the same name is replaced; either way the
    /// schedule starts now (no tick before it runs).
    ///
    /// `cron` has 5 fields (minute, hour, day of month, month, day of week)
    /// or 6 with leading seconds (`*/2 * * * * *`: every 2 s); `@hourly`,
    /// `@daily` and the like work too. Each tick's job has the labels
    /// `schedule=<name>` and `schedule_tick=<tick, RFC 3339 UTC>` and the
    /// idempotency key `schedule:<name>:<tick_ms>`.
    ///
    /// Errors: `InvalidSpec` naming `name`, `cron`, `timezone` or the bad
    /// spec field (`idempotency_key` is the schedule's own), `Template`,
    /// `PolicyViolation`, `Store`.
    ///
    /// ```no_run
    /// use claude_jobs::{CatchUp, JobManager, JobSpec, ScheduleOptions};
    /// # async fn demo(manager: JobManager) -> claude_jobs::Result<()> {
    /// let spec = JobSpec::builder().prompt("Summarise yesterday's brand mentions").build()?;
    /// let s = manager.schedule("daily-mentions", "0 7 * * *", spec.clone()).await?;
    /// println!("next run at {:?} ms", s.next_tick_ms);
    /// let opts = ScheduleOptions { timezone: Some("Europe/Paris".into()), catch_up: CatchUp::Skip };
    /// manager.schedule_with("daily-mentions", "0 7 * * 1-5", spec, opts).await?;
    /// for s in manager.schedules().await? {
    ///     println!("{} {} {}", s.name, s.cron, s.timezone);
    /// }
    /// assert!(manager.unschedule("daily-mentions").await?);
    /// # Ok(()) }
    /// ```
    pub async fn schedule(&self, name: &str, cron: &str, spec: JobSpec) -> Result<Schedule> {
        self.schedule_with(name, cron, spec, ScheduleOptions::default()).await
    }

    /// [`schedule`](Self::schedule) in a time zone (an IANA name such as
    /// `Europe/Paris`; `None` is UTC) and with a [`CatchUp`] policy.
    ///
    /// Errors: as [`schedule`](Self::schedule).
    pub async fn schedule_with(&self, name: &str, cron: &str, spec: JobSpec, opts: ScheduleOptions) -> Result<Schedule> {
        self.inner.put_schedule(name, cron, spec, opts).await
    }

    /// Deletes a schedule (its jobs already submitted stay). True when it
    /// existed.
    ///
    /// Errors: `Store`.
    pub async fn unschedule(&self, name: &str) -> Result<bool> {
        self.inner.store.store.delete_schedule(name).await
    }

    /// Every schedule in the store, by name, with its next tick.
    ///
    /// Errors: `Store`.
    pub async fn schedules(&self) -> Result<Vec<Schedule>> {
        let list = self.inner.store.store.schedules().await?;
        Ok(list.into_iter().map(Schedule::with_next_tick).collect())
    }
}

impl Inner {
    async fn put_schedule(&self, name: &str, cron: &str, spec: JobSpec, opts: ScheduleOptions) -> Result<Schedule> {
        let s = Schedule::new(name, cron, spec, opts)?;
        let mut spec = s.spec.clone();
        if let Some(name) = spec.template.clone() {
            let t = self.templates.get(&name)?;
            let pending: Vec<&str> = spec.inputs.keys().map(String::as_str).collect();
            t.check_variables(&spec.variables, &pending)?;
            t.apply_defaults(&mut spec);
        }
        if let Some(p) = &self.policy {
            p.check(&mut spec)?;
        }
        let stored = self.store.store.put_schedule(&s).await?;
        tracing::info!(schedule = %name, cron = %s.cron, timezone = %s.timezone, "schedule set");
        Ok(stored.with_next_tick())
    }

    /// One look at every schedule: the due ones fire. `watched_since`: when
    /// this manager's previous look began, if that look handled every
    /// schedule. True when this look did.
    async fn fire_due(&self, watched_since: Option<u64>) -> bool {
        if self.admission.is_shutting_down() {
            return false;
        }
        let list = match self.store.store.schedules().await {
            Ok(l) => l,
            Err(e) => {
                self.store.failed("reading schedules", &e);
                return false;
            }
        };
        let mut all = true;
        for s in list {
            if let Err(e) = self.fire(&s, now_ms(), watched_since).await {
                tracing::warn!(schedule = %s.name, error = %e, "schedule tick not handled (tried again)");
                all = false;
            }
        }
        all
    }

    /// Submits the due ticks of `s`, moving `last_tick_ms` on after each.
    /// Ticks that fell while this manager was watching (after
    /// `watched_since`: a slow look or a busy store must not lose one) run
    /// each; older ones were missed (every manager was down, or this one
    /// just started): they run once, as their latest tick, or with
    /// [`CatchUp::Skip`] not at all unless that tick is recent. A store error
    /// leaves the rest due, for the next look; a tick's idempotency key keeps
    /// a second submit of it from making a second job.
    async fn fire(&self, s: &Schedule, now: u64, watched_since: Option<u64>) -> Result<()> {
        let Some(mut last) = s.last_tick_ms else { return Ok(()) };
        let timing = s.timing()?;
        let since = watched_since.unwrap_or(now).clamp(last, now);
        if let Some(tick) = timing.latest_due(last, since) {
            let on_time = now.saturating_sub(tick) <= SKIP_GRACE_MS;
            if s.catch_up == CatchUp::RunOnce || on_time {
                self.submit_tick(s, tick).await?;
            } else {
                tracing::info!(schedule = %s.name, tick, "missed schedule tick skipped");
            }
            if !self.store.store.advance_schedule(&s.name, last, tick).await? {
                return Ok(()); // another manager (or a replacement) moved it on
            }
            last = tick;
        }
        let late = timing.due(last, now, MAX_LATE_TICKS);
        if late.len() == MAX_LATE_TICKS && timing.latest_due(last, late[0] - 1).is_some() {
            tracing::warn!(schedule = %s.name, "more than {MAX_LATE_TICKS} ticks late: the older ones are dropped");
        }
        for tick in late {
            self.submit_tick(s, tick).await?;
            if !self.store.store.advance_schedule(&s.name, last, tick).await? {
                return Ok(());
            }
            last = tick;
        }
        Ok(())
    }

    /// Submits the job of one tick. Only a store error or a shutdown is an
    /// error (the tick stays due); a refused submit is logged and dropped.
    async fn submit_tick(&self, s: &Schedule, tick: u64) -> Result<()> {
        let mut spec = s.spec.clone();
        spec.labels.insert("schedule".into(), s.name.clone());
        spec.labels.insert("schedule_tick".into(), rfc3339(tick));
        spec.idempotency_key = Some(format!("schedule:{}:{tick}", s.name));
        match self.submit(spec).await {
            Ok(job) => tracing::debug!(schedule = %s.name, tick, job_id = %job.id(), "schedule tick submitted"),
            Err(e) if matches!(e.kind(), ErrorKind::Store | ErrorKind::ShuttingDown) => return Err(e),
            Err(e) => tracing::warn!(schedule = %s.name, tick, error = %e, "schedule tick not submitted"),
        }
        Ok(())
    }
}

/// Looks for due ticks at once (a manager starting after every other was
/// down runs the catch-up tick now), then every [`SCHEDULE_POLL`].
pub(super) async fn schedule_loop(weak: Weak<Inner>) {
    let started = now_ms();
    let watched_since = match weak.upgrade() {
        Some(m) if !m.is_stopped() => m.fire_due(None).await.then_some(started),
        _ => return,
    };
    let watched_since = Arc::new(std::sync::Mutex::new(watched_since));
    every(weak, |_| Some(SCHEDULE_POLL), move |m: Arc<Inner>| {
        let watched_since = watched_since.clone();
        async move {
            let jitter = rand::Rng::gen_range(&mut rand::thread_rng(), 0..=SCHEDULE_JITTER_MS);
            tokio::time::sleep(Duration::from_millis(jitter)).await;
            let began = now_ms();
            let since = *watched_since.lock().unwrap_or_else(|e| e.into_inner());
            let handled = m.fire_due(since).await;
            *watched_since.lock().unwrap_or_else(|e| e.into_inner()) = handled.then_some(began);
        }
    })
    .await
}
