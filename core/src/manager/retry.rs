//! What happens after an attempt or to an orphaned job: retries with
//! backoff, rate-limit snoozes, [`RecoveryPolicy`].

use std::sync::Arc;
use std::time::Duration;

use crate::events::{EventRecord, JobEvent};
use crate::options::{RecoveryPolicy, RetryBackoff as Backoff};
use crate::state::{JobInfo, JobState};
use crate::util::now_ms;

/// At most this many rate-limit snoozes per job (they use no attempt).
const MAX_SNOOZES: usize = 20;

/// What to do with a job whose attempt just ended.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum AfterRun {
    Finish,
    Retry {
        delay: Duration,
        count_attempt: bool,
    },
}

/// Decides between storing the outcome and another try. Retried: a failure
/// without a result (the CLI crashed) and API overload (529) while attempts
/// remain; snoozed without using an attempt: a rate limit (429, or a
/// rejected `rate_limit_event`). Never: cancelled, timed out, OOM-killed,
/// succeeded, or any other error result.
pub(crate) fn after_run(
    info: &JobInfo,
    events: &[Arc<EventRecord>],
    max_attempts: u32,
    backoff: &Backoff,
) -> AfterRun {
    if info.state != JobState::Failed {
        return AfterRun::Finish;
    }
    // This attempt's events: those after its `started`.
    let start = events
        .iter()
        .rposition(|r| matches!(r.event, JobEvent::Started { .. }))
        .unwrap_or(0);
    let this = &events[start..];
    if let Some(delay) = snooze(info, this, events, backoff) {
        return AfterRun::Retry {
            delay,
            count_attempt: false,
        };
    }
    let result = this.iter().rev().find_map(|r| match &r.event {
        JobEvent::Result {
            is_error,
            api_error_status,
            ..
        } => Some((*is_error, *api_error_status)),
        _ => None,
    });
    let overloaded = |status: Option<u16>| {
        status == Some(529)
            || info
                .error
                .as_deref()
                .is_some_and(|e| e.to_ascii_lowercase().contains("overloaded"))
    };
    let retryable = match result {
        None => true,
        Some((true, status)) => overloaded(status.or(info.api_error_status)),
        Some((false, _)) => false,
    };
    if retryable && info.attempt < max_attempts {
        AfterRun::Retry {
            delay: backoff.delay(info.attempt),
            count_attempt: true,
        }
    } else {
        AfterRun::Finish
    }
}

/// The wait before a rate-limited attempt runs again (a 429, or a rejected
/// `rate_limit_event` in `this` attempt's events): until the reset time the
/// API gave, else a backoff; `None` when not rate limited or after
/// [`MAX_SNOOZES`].
fn snooze(
    info: &JobInfo,
    this: &[Arc<EventRecord>],
    all: &[Arc<EventRecord>],
    backoff: &Backoff,
) -> Option<Duration> {
    let rejected_until = this.iter().rev().find_map(|r| match &r.event {
        JobEvent::RateLimit {
            status, resets_at, ..
        } if status == "rejected" => Some(*resets_at),
        _ => None,
    });
    let snoozes = all
        .iter()
        .filter(|r| {
            matches!(
                r.event,
                JobEvent::Retrying {
                    counts_as_attempt: false,
                    ..
                }
            )
        })
        .count();
    let rate_limited = info.api_error_status == Some(429) || rejected_until.is_some();
    if !rate_limited || snoozes >= MAX_SNOOZES {
        return None;
    }
    let delay = rejected_until
        .flatten()
        .map(|t| {
            let at_ms = if t > 100_000_000_000 {
                t as u64
            } else {
                (t as u64) * 1000
            };
            Duration::from_millis(at_ms.saturating_sub(now_ms()))
        })
        .unwrap_or_else(|| backoff.delay(snoozes as u32 + 1))
        .clamp(backoff.base, Duration::from_secs(3600));
    Some(delay)
}

/// For an orphaned job (its node died or lost its lease): queue it again,
/// and after how long, or `None` to end it.
pub(crate) fn after_orphan(
    policy: RecoveryPolicy,
    attempt: u32,
    max_attempts: u32,
    backoff: &Backoff,
) -> Option<Duration> {
    match policy {
        RecoveryPolicy::Requeue if attempt < max_attempts.max(3) => Some(Duration::ZERO),
        _ if attempt < max_attempts => Some(backoff.delay(attempt)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::JobSpec;

    fn ev(seq: u64, event: JobEvent) -> Arc<EventRecord> {
        Arc::new(EventRecord {
            seq,
            at_ms: 0,
            event,
        })
    }

    fn failed(attempt: u32) -> JobInfo {
        let mut i = JobInfo::queued("j".into(), &JobSpec::from_prompt("x"), 0);
        i.state = JobState::Failed;
        i.attempt = attempt;
        i
    }

    const B: Backoff = Backoff {
        base: Duration::from_millis(100),
        max: Duration::from_secs(1),
    };

    fn started() -> JobEvent {
        JobEvent::Started {
            pid: 1,
            isolation: crate::IsolationKind::None,
            attempt: 1,
        }
    }

    fn result(is_error: bool, status: Option<u16>) -> JobEvent {
        JobEvent::Result {
            is_error,
            subtype: None,
            cost_usd: None,
            usage: None,
            num_turns: None,
            session_id: None,
            api_error_status: status,
        }
    }

    #[test]
    fn crashes_retry_while_attempts_remain() {
        let evs = [ev(1, started())];
        assert!(matches!(
            after_run(&failed(1), &evs, 3, &B),
            AfterRun::Retry {
                count_attempt: true,
                ..
            }
        ));
        assert_eq!(after_run(&failed(3), &evs, 3, &B), AfterRun::Finish);
        assert_eq!(after_run(&failed(1), &evs, 1, &B), AfterRun::Finish);
    }

    #[test]
    fn api_errors_retry_only_when_overloaded() {
        let bad = [ev(1, started()), ev(2, result(true, Some(401)))];
        assert_eq!(after_run(&failed(1), &bad, 3, &B), AfterRun::Finish);
        let busy = [ev(1, started()), ev(2, result(true, Some(529)))];
        assert!(matches!(
            after_run(&failed(1), &busy, 3, &B),
            AfterRun::Retry { .. }
        ));
        let mut i = failed(1);
        i.api_error_status = Some(429);
        let limited = [ev(1, started()), ev(2, result(true, Some(429)))];
        assert!(matches!(
            after_run(&i, &limited, 1, &B),
            AfterRun::Retry {
                count_attempt: false,
                ..
            }
        ));
        let mut ok = failed(1);
        ok.state = JobState::Cancelled;
        assert_eq!(after_run(&ok, &[], 3, &B), AfterRun::Finish);
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        let d1 = B.delay(1);
        assert!(d1 >= Duration::from_millis(50) && d1 < Duration::from_millis(150));
        assert!(B.delay(30) < Duration::from_millis(1500));
    }
}
