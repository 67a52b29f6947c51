//! Watches a running job's memory counters: warns when the job keeps hitting
//! its memory cap (it may be thrashing rather than dying: a too-small cap can
//! hang a job instead of OOM-killing it) and tracks the peak process count.

use std::time::{Duration, Instant};

use crate::events::JobEvent;
use crate::isolation::Sample;

/// Consecutive samples at the cap before a warning.
const TICKS_BEFORE_WARNING: u32 = 2;
/// Refaulted pages per sample that count as thrashing (1 MiB).
const REFAULTS_PER_TICK: u64 = 256;
/// At most one warning per this interval.
const WARNING_INTERVAL: Duration = Duration::from_secs(5);

#[derive(Debug)]
pub(crate) struct PressureWatch {
    limit: Option<u64>,
    last_hits: u64,
    last_refaults: u64,
    ticks: u32,
    since: Option<Instant>,
    last_warning: Option<Instant>,
    /// A warning was raised at least once.
    pub seen: bool,
    /// Highest process count sampled.
    pub peak_processes: u64,
    /// Cap hits at the last sample.
    pub hits: u64,
}

impl PressureWatch {
    pub(crate) fn new(limit: Option<u64>) -> Self {
        PressureWatch {
            limit,
            last_hits: 0,
            last_refaults: 0,
            ticks: 0,
            since: None,
            last_warning: None,
            seen: false,
            peak_processes: 0,
            hits: 0,
        }
    }

    /// Feeds one sample; returns a warning event when one is due.
    pub(crate) fn observe(&mut self, s: Sample, now: Instant) -> Option<JobEvent> {
        self.peak_processes = self.peak_processes.max(s.processes);
        self.hits = s.memory_cap_hits;
        let limit = self.limit?;
        let hitting = s.memory_cap_hits > self.last_hits && s.memory_bytes >= limit / 10 * 9;
        let refaults = s.refaults.saturating_sub(self.last_refaults);
        let thrashing = refaults >= REFAULTS_PER_TICK;
        let psi = s.pressure_avg10.map(|p| p >= 10.0).unwrap_or(false);
        self.last_hits = s.memory_cap_hits;
        self.last_refaults = s.refaults;
        if hitting || thrashing || psi {
            self.ticks += 1;
            self.since.get_or_insert(now);
        } else {
            self.ticks = 0;
            self.since = None;
            return None;
        }
        if self.ticks < TICKS_BEFORE_WARNING {
            return None;
        }
        if self
            .last_warning
            .map(|t| now - t < WARNING_INTERVAL)
            .unwrap_or(false)
        {
            return None;
        }
        self.last_warning = Some(now);
        self.seen = true;
        Some(JobEvent::MemoryPressure {
            memory_bytes: s.memory_bytes,
            limit_bytes: Some(limit),
            cap_hits: s.memory_cap_hits,
            refaults,
            pressure_avg10: s.pressure_avg10,
        })
    }

    /// How long the job has been under pressure without a break.
    pub(crate) fn under_pressure_for(&self, now: Instant) -> Duration {
        self.since.map(|s| now - s).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(bytes: u64, hits: u64) -> Sample {
        Sample {
            memory_bytes: bytes,
            memory_cap_hits: hits,
            refaults: 0,
            pressure_avg10: None,
            processes: 3,
        }
    }

    #[test]
    fn warns_after_sustained_cap_hits_only() {
        let mut w = PressureWatch::new(Some(100));
        let t = Instant::now();
        assert!(w.observe(sample(50, 0), t).is_none());
        assert!(w.observe(sample(99, 10), t).is_none());
        assert!(w.observe(sample(99, 20), t).is_some());
        assert!(w.observe(sample(99, 30), t).is_none(), "rate limited");
        assert!(w.observe(sample(99, 30), t).is_none(), "no new hits: calm");
        assert_eq!(w.under_pressure_for(t), Duration::ZERO);
        assert_eq!(w.peak_processes, 3);
        assert!(w.seen);
    }

    #[test]
    fn refaults_count_as_thrashing() {
        let mut w = PressureWatch::new(Some(100));
        let t = Instant::now();
        let s = |r| Sample {
            memory_bytes: 10,
            memory_cap_hits: 0,
            refaults: r,
            pressure_avg10: None,
            processes: 1,
        };
        assert!(w.observe(s(0), t).is_none());
        assert!(w.observe(s(10_000), t).is_none());
        assert!(matches!(
            w.observe(s(20_000), t),
            Some(JobEvent::MemoryPressure {
                refaults: 10_000,
                ..
            })
        ));
    }
}
