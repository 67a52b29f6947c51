//! What the manager does with retries, orphans and old jobs: [`RetryBackoff`],
//! [`RecoveryPolicy`], [`RetentionPolicy`].

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// What becomes of a job that was running when its manager died (found at
/// start-up, or by the rescuer when its lease expires).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecoveryPolicy {
    /// End it `interrupted` (the default), unless the spec allows another
    /// attempt (`max_attempts`), which then runs after a backoff.
    #[default]
    Interrupt,
    /// Queue it again at once. The lost run counts as an attempt; after
    /// `max(max_attempts, 3)` attempts the job ends `interrupted`.
    Requeue,
}

/// How long finished jobs, their logs and their outputs are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RetentionPolicy {
    /// Finished jobs (rows, events, log dir) are deleted after this many
    /// days (default 30; 0 keeps them forever).
    pub jobs_days: u32,
    /// Logs and working dirs (`data_dir/jobs/<id>`) of finished jobs are
    /// deleted after this many days (default 7; 0 keeps them).
    pub logs_days: u32,
    /// Collected output files are deleted after this many days (default:
    /// never; 0 keeps them too).
    pub outputs_days: Option<u32>,
}

impl Default for RetentionPolicy {
    fn default() -> Self {
        RetentionPolicy {
            jobs_days: 30,
            logs_days: 7,
            outputs_days: None,
        }
    }
}

impl RetentionPolicy {
    /// Keep everything forever.
    pub fn keep_all() -> Self {
        RetentionPolicy {
            jobs_days: 0,
            logs_days: 0,
            outputs_days: None,
        }
    }
}

/// Exponential backoff with jitter: `base · 2^(attempt−1)`, capped, times a
/// random factor in [0.5, 1.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetryBackoff {
    /// The first delay (default 10 s).
    #[serde(with = "crate::units::duration")]
    pub base: Duration,
    /// The longest delay (default 10 min).
    #[serde(with = "crate::units::duration")]
    pub max: Duration,
}

impl Default for RetryBackoff {
    fn default() -> Self {
        RetryBackoff {
            base: Duration::from_secs(10),
            max: Duration::from_secs(600),
        }
    }
}

impl RetryBackoff {
    /// The delay before attempt `attempt + 1`.
    pub(crate) fn delay(&self, attempt: u32) -> Duration {
        let exp = self
            .base
            .saturating_mul(1u32 << attempt.saturating_sub(1).min(20));
        let capped = exp.min(self.max);
        capped.mul_f64(rand::random::<f64>() + 0.5)
    }
}

