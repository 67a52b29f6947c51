//! Typed job events and the per-job log that replays past events to late
//! subscribers and then follows live ones.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use tokio::sync::Notify;

use crate::state::{IsolationKind, JobState, Usage};

/// Why a warning was raised.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WarningKind {
    /// A stdout line was longer than the line cap and was skipped.
    LineTooLong,
    /// A stdout line was not JSON.
    NotJson,
    /// cgroups could not be made; the job runs uncapped.
    IsolationUnavailable,
    /// The job's memory is at its cap: it may be thrashing.
    MemoryPressure,
    /// Older events were dropped from memory.
    EventsDropped,
    /// Something else worth knowing.
    Other,
}

/// One thing that happened to a job. Serialized with a `type` tag in snake_case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum JobEvent {
    /// Accepted and waiting for a slot.
    Queued { priority: i32 },
    /// The CLI process started.
    Started {
        pid: u32,
        isolation: IsolationKind,
        attempt: u32,
    },
    /// The CLI's `system/init` message.
    Init {
        session_id: Option<String>,
        model: Option<String>,
        cli_version: Option<String>,
        tools: Vec<String>,
    },
    /// Text from the assistant.
    AssistantText { text: String },
    /// The assistant called a tool.
    ToolUse {
        id: Option<String>,
        name: String,
        input: serde_json::Value,
    },
    /// A tool's result came back.
    ToolResult {
        tool_use_id: Option<String>,
        is_error: bool,
        content: String,
    },
    /// The CLI retries an API call.
    ApiRetry {
        attempt: u32,
        max_retries: Option<u32>,
        delay_ms: Option<u64>,
        status: Option<u16>,
        error: Option<String>,
    },
    /// A rate-limit notice from the API.
    RateLimit {
        status: String,
        resets_at: Option<i64>,
        limit_type: Option<String>,
    },
    /// The CLI's final result message.
    Result {
        is_error: bool,
        subtype: Option<String>,
        cost_usd: Option<f64>,
        usage: Option<Usage>,
        num_turns: Option<u64>,
        session_id: Option<String>,
        api_error_status: Option<u16>,
    },
    /// The memory cap is being hit.
    MemoryPressure {
        memory_bytes: u64,
        limit_bytes: Option<u64>,
        cap_hits: u64,
        /// Pages evicted and re-read since the last sample.
        refaults: u64,
        pressure_avg10: Option<f64>,
    },
    /// The manager is stopping the job.
    Stopping { reason: String },
    /// The job reached a final state.
    Finished {
        state: JobState,
        error: Option<String>,
    },
    /// Something odd that did not stop the job.
    Warning { kind: WarningKind, message: String },
    /// The attempt ended in a way worth another try: the job is queued
    /// again, to start after `delay_ms` (`attempt` is the one that ended).
    Retrying {
        attempt: u32,
        delay_ms: u64,
        error: Option<String>,
        counts_as_attempt: bool,
    },
    /// A stream-json message of a type this version does not know, as printed.
    Other {
        message_type: String,
        raw: serde_json::Value,
    },
}

/// An event with its sequence number (from 1) and time (Unix ms).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventRecord {
    pub seq: u64,
    pub at_ms: u64,
    pub event: JobEvent,
}

#[derive(Debug)]
struct LogInner {
    events: VecDeque<Arc<EventRecord>>,
    next_seq: u64,
    closed: bool,
}

/// The replayable event log of one job.
#[derive(Debug)]
pub(crate) struct EventLog {
    inner: Mutex<LogInner>,
    notify: Notify,
    capacity: usize,
}

impl EventLog {
    pub(crate) fn new(capacity: usize) -> Self {
        EventLog {
            inner: Mutex::new(LogInner {
                events: VecDeque::new(),
                next_seq: 1,
                closed: false,
            }),
            notify: Notify::new(),
            capacity: capacity.max(16),
        }
    }

    /// A log holding earlier events (loaded from a store), closed or not.
    pub(crate) fn from_records(records: Vec<EventRecord>, capacity: usize, closed: bool) -> Self {
        let log = EventLog::new(capacity);
        {
            let mut g = log.inner.lock().unwrap();
            for r in records {
                g.next_seq = r.seq + 1;
                g.events.push_back(Arc::new(r));
            }
            while g.events.len() > log.capacity {
                g.events.pop_front();
            }
            g.closed = closed;
        }
        log
    }

    /// Appends an event and wakes subscribers.
    pub(crate) fn push(&self, event: JobEvent) -> Arc<EventRecord> {
        let rec = {
            let mut g = self.inner.lock().unwrap();
            let rec = Arc::new(EventRecord {
                seq: g.next_seq,
                at_ms: crate::util::now_ms(),
                event,
            });
            g.next_seq += 1;
            g.events.push_back(rec.clone());
            if g.events.len() > self.capacity {
                g.events.pop_front();
            }
            rec
        };
        self.notify.notify_waiters();
        rec
    }

    /// No more events will come.
    pub(crate) fn close(&self) {
        self.inner.lock().unwrap().closed = true;
        self.notify.notify_waiters();
    }

    /// Events held after `seq`, oldest first (to persist them in batches).
    pub(crate) fn since(&self, seq: u64) -> Vec<EventRecord> {
        let g = self.inner.lock().unwrap();
        g.events
            .iter()
            .filter(|r| r.seq > seq)
            .map(|r| (**r).clone())
            .collect()
    }

    /// The sequence number of the last event (0 before the first).
    pub(crate) fn last_seq(&self) -> u64 {
        self.inner.lock().unwrap().next_seq - 1
    }

    /// True when the last event held is `finished`.
    pub(crate) fn ends_finished(&self) -> bool {
        let g = self.inner.lock().unwrap();
        matches!(
            g.events.back().map(|r| &r.event),
            Some(JobEvent::Finished { .. })
        )
    }

    /// Appends an event recorded elsewhere (another node), keeping its
    /// sequence number; older or duplicate ones are ignored.
    pub(crate) fn push_record(&self, rec: EventRecord) {
        {
            let mut g = self.inner.lock().unwrap();
            if rec.seq < g.next_seq || g.closed {
                return;
            }
            g.next_seq = rec.seq + 1;
            g.events.push_back(Arc::new(rec));
            if g.events.len() > self.capacity {
                g.events.pop_front();
            }
        }
        self.notify.notify_waiters();
    }

    /// All events held, oldest first.
    pub(crate) fn snapshot(&self) -> Vec<EventRecord> {
        self.inner
            .lock()
            .unwrap()
            .events
            .iter()
            .map(|r| (**r).clone())
            .collect()
    }

    fn get_from(&self, seq: u64) -> Poll {
        let g = self.inner.lock().unwrap();
        let first = g.events.front().map(|r| r.seq).unwrap_or(g.next_seq);
        if seq < g.next_seq {
            let idx = seq.saturating_sub(first) as usize;
            if let Some(r) = g.events.get(idx) {
                return Poll::Ready((**r).clone());
            }
        }
        if g.closed {
            Poll::Closed
        } else {
            Poll::Pending
        }
    }
}

enum Poll {
    Ready(EventRecord),
    Pending,
    Closed,
}

/// A subscriber's view of a job's events: first the past ones (replayed),
/// then live ones as they happen; ends after the job's final event.
///
/// ```no_run
/// # async fn demo(job: claude_jobs::Job) {
/// let mut events = job.events();
/// while let Some(rec) = events.next().await {
///     println!("{} {:?}", rec.seq, rec.event);
/// }
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct EventStream {
    log: Arc<EventLog>,
    next_seq: u64,
}

impl EventStream {
    pub(crate) fn new(log: Arc<EventLog>, after_seq: u64) -> Self {
        EventStream {
            log,
            next_seq: after_seq + 1,
        }
    }

    /// The next event, or `None` once the job has finished and every event was seen.
    pub async fn next(&mut self) -> Option<EventRecord> {
        loop {
            let notified = self.log.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            match self.log.get_from(self.next_seq) {
                Poll::Ready(rec) => {
                    self.next_seq = rec.seq + 1;
                    return Some(rec);
                }
                Poll::Closed => return None,
                Poll::Pending => notified.await,
            }
        }
    }

    /// The sequence number of the last event returned (0 before the first).
    pub fn position(&self) -> u64 {
        self.next_seq - 1
    }

    /// Turns this into a [`futures_core::Stream`].
    pub fn into_stream(self) -> impl futures_core::Stream<Item = EventRecord> + Send + Unpin {
        Box::pin(futures_util::stream::unfold(self, |mut s| async move {
            s.next().await.map(|r| (r, s))
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn late_subscribers_replay_then_follow() {
        let log = Arc::new(EventLog::new(100));
        log.push(JobEvent::Queued { priority: 0 });
        let mut late = EventStream::new(log.clone(), 0);
        assert!(matches!(
            late.next().await.unwrap().event,
            JobEvent::Queued { .. }
        ));
        let l2 = log.clone();
        let h = tokio::spawn(async move {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            l2.push(JobEvent::Stopping { reason: "x".into() });
            l2.close();
        });
        let rec = late.next().await.unwrap();
        assert_eq!(rec.seq, 2);
        assert!(late.next().await.is_none());
        h.await.unwrap();
        // A subscriber after the end still sees everything.
        let mut after = EventStream::new(log, 0);
        assert_eq!(after.next().await.unwrap().seq, 1);
        assert_eq!(after.next().await.unwrap().seq, 2);
        assert!(after.next().await.is_none());
    }

    #[test]
    fn events_serialize_with_a_type_tag() {
        let v = serde_json::to_value(JobEvent::ApiRetry {
            attempt: 1,
            max_retries: Some(10),
            delay_ms: Some(100),
            status: Some(529),
            error: None,
        })
        .unwrap();
        assert_eq!(v["type"], "api_retry");
        assert_eq!(v["status"], 529);
    }
}
