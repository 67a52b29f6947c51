//! [`EventLog`]: one job's replayable events, bounded in count and bytes;
//! [`EventStream`]: a subscriber's view of it.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use tokio::sync::Notify;

use super::{EventRecord, JobEvent};

#[derive(Debug)]
struct LogInner {
    events: VecDeque<Arc<EventRecord>>,
    /// Approximate bytes of the events held (see [`approx_size`]).
    bytes: usize,
    next_seq: u64,
    closed: bool,
}

impl LogInner {
    fn push(&mut self, rec: Arc<EventRecord>, bound: Bound) {
        self.bytes += approx_size(&rec);
        self.events.push_back(rec);
        // The newest event stays, even alone over the byte bound.
        while self.events.len() > 1
            && (self.events.len() > bound.events || self.bytes > bound.bytes)
        {
            let old = self.events.pop_front().expect("not empty");
            self.bytes -= approx_size(&old);
        }
    }

    /// Where event `seq` sits in the buffer (sequence numbers are
    /// consecutive): 0 for one older than the oldest held, `len()` or more
    /// for one past the last.
    fn index_of(&self, seq: u64) -> usize {
        let oldest = self.events.front().map_or(self.next_seq, |r| r.seq);
        usize::try_from(seq.saturating_sub(oldest)).unwrap_or(usize::MAX)
    }
}

/// How much one job's log holds: the oldest events go first once either
/// bound is passed.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Bound {
    pub events: usize,
    pub bytes: usize,
}

/// The memory an event takes, roughly: the record plus its text and JSON.
pub(crate) fn approx_size(rec: &EventRecord) -> usize {
    fn opt(s: &Option<String>) -> usize {
        s.as_ref().map_or(0, String::len)
    }
    fn json(v: &serde_json::Value) -> usize {
        use serde_json::Value;
        16 + match v {
            Value::String(s) => s.len(),
            Value::Array(a) => a.iter().map(json).sum(),
            Value::Object(o) => o.iter().map(|(k, v)| 16 + k.len() + json(v)).sum(),
            _ => 0,
        }
    }
    let heap = match &rec.event {
        JobEvent::Init {
            session_id,
            model,
            cli_version,
            tools,
        } => {
            opt(session_id)
                + opt(model)
                + opt(cli_version)
                + tools.iter().map(|t| 24 + t.len()).sum::<usize>()
        }
        JobEvent::AssistantText { text } => text.len(),
        JobEvent::ToolUse { id, name, input } => opt(id) + name.len() + json(input),
        JobEvent::ToolResult {
            tool_use_id,
            content,
            ..
        } => opt(tool_use_id) + content.len(),
        JobEvent::ApiRetry { error, .. } => opt(error),
        JobEvent::RateLimit {
            status, limit_type, ..
        } => status.len() + opt(limit_type),
        JobEvent::Result {
            subtype,
            session_id,
            ..
        } => opt(subtype) + opt(session_id),
        JobEvent::Stopping { reason } => reason.len(),
        JobEvent::Finished { error, .. } => opt(error),
        JobEvent::Warning { message, .. } => message.len(),
        JobEvent::Retrying { error, .. } => opt(error),
        JobEvent::Resuming { session_id, from_job, .. } => session_id.len() + from_job.len(),
        JobEvent::PermissionDenied {
            tool_name,
            tool_use_id,
            tool_input,
        } => tool_name.len() + opt(tool_use_id) + json(tool_input),
        JobEvent::Other { message_type, raw } => message_type.len() + json(raw),
        JobEvent::BudgetWait { tenant, .. } => tenant.len(),
        JobEvent::Queued { .. } | JobEvent::Started { .. } | JobEvent::MemoryPressure { .. } => 0,
    };
    std::mem::size_of::<EventRecord>() + heap
}

/// The replayable event log of one job: the latest events within its
/// [`Bound`]. A subscriber that falls behind the oldest event held goes on
/// from there (the gap shows in the sequence numbers; the store has the
/// events that were written to it).
#[derive(Debug)]
pub(crate) struct EventLog {
    inner: Mutex<LogInner>,
    notify: Notify,
    bound: Bound,
}

impl EventLog {
    pub(crate) fn new(bound: Bound) -> Self {
        EventLog {
            inner: Mutex::new(LogInner {
                events: VecDeque::new(),
                bytes: 0,
                next_seq: 1,
                closed: false,
            }),
            notify: Notify::new(),
            bound: Bound {
                events: bound.events.max(16),
                bytes: bound.bytes,
            },
        }
    }

    /// A log holding earlier events (loaded from a store), closed or not.
    pub(crate) fn from_records(records: Vec<EventRecord>, bound: Bound, closed: bool) -> Self {
        let log = EventLog::new(bound);
        {
            let mut g = log.inner.lock().unwrap();
            for r in records {
                g.next_seq = r.seq + 1;
                g.push(Arc::new(r), log.bound);
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
            g.push(rec.clone(), self.bound);
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

    /// Events held after `seq`, oldest first, as many as fit in `max_bytes`
    /// (at least one): to persist them in batches.
    pub(crate) fn since(&self, seq: u64, max_bytes: usize) -> Vec<EventRecord> {
        let g = self.inner.lock().unwrap();
        // Found by its offset, not by a scan of the buffer on every flush.
        let start = g.index_of(seq.saturating_add(1)).min(g.events.len());
        let mut bytes = 0;
        g.events
            .range(start..)
            .take_while(|r| {
                let first = bytes == 0;
                bytes += approx_size(r);
                first || bytes <= max_bytes
            })
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
            g.push(Arc::new(rec), self.bound);
        }
        self.notify.notify_waiters();
    }

    /// All events held, oldest first (shared, not copied).
    pub(crate) fn snapshot(&self) -> Vec<Arc<EventRecord>> {
        self.inner.lock().unwrap().events.iter().cloned().collect()
    }

    fn get_from(&self, seq: u64) -> Poll {
        let g = self.inner.lock().unwrap();
        if seq < g.next_seq {
            if let Some(r) = g.events.get(g.index_of(seq)) {
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
/// let mut events = job.events(0);
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

    /// Waits for the next event, then also takes the ones already there, up
    /// to `max` in all (at least one): one wake-up for a burst of events, for
    /// a consumer that writes them out together (an SSE response). Empty once
    /// the job has finished and every event was returned.
    ///
    /// ```no_run
    /// # async fn demo(job: claude_jobs::Job) {
    /// let mut events = job.events(0);
    /// loop {
    ///     let batch = events.next_batch(256).await;
    ///     let Some(last) = batch.last() else { break };
    ///     println!("{} events, up to seq {}", batch.len(), last.seq);
    /// }
    /// # }
    /// ```
    pub async fn next_batch(&mut self, max: usize) -> Vec<EventRecord> {
        let Some(first) = self.next().await else {
            return Vec::new();
        };
        let mut batch = vec![first];
        while batch.len() < max {
            match self.log.get_from(self.next_seq) {
                Poll::Ready(rec) => {
                    self.next_seq = rec.seq + 1;
                    batch.push(rec);
                }
                Poll::Pending | Poll::Closed => break,
            }
        }
        batch
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
        let log = Arc::new(EventLog::new(Bound {
            events: 100,
            bytes: 1 << 20,
        }));
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

    #[tokio::test]
    async fn a_batch_takes_what_is_there_up_to_max_then_waits_for_more() {
        let log = Arc::new(EventLog::new(Bound {
            events: 100,
            bytes: 1 << 20,
        }));
        for _ in 0..5 {
            log.push(JobEvent::Queued { priority: 0 });
        }
        let mut s = EventStream::new(log.clone(), 1);
        let seqs = |b: Vec<EventRecord>| b.iter().map(|r| r.seq).collect::<Vec<_>>();
        assert_eq!(seqs(s.next_batch(3).await), [2, 3, 4]);
        assert_eq!(seqs(s.next_batch(0).await), [5], "at least one");
        assert_eq!(s.position(), 5);
        let l2 = log.clone();
        let h = tokio::spawn(async move {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            l2.push(JobEvent::Stopping { reason: "x".into() });
            l2.push(JobEvent::Stopping { reason: "y".into() });
            l2.close();
        });
        let live = s.next_batch(10).await;
        h.await.unwrap();
        let mut all = seqs(live);
        while let Some(r) = s.next().await {
            all.push(r.seq);
        }
        assert_eq!(all, [6, 7], "the live events, each once");
        assert!(s.next_batch(10).await.is_empty(), "empty at the end");
    }

    fn text(n: usize) -> JobEvent {
        JobEvent::AssistantText {
            text: "x".repeat(n),
        }
    }

    #[tokio::test]
    async fn the_log_drops_the_oldest_events_past_its_byte_bound() {
        let log = Arc::new(EventLog::new(Bound {
            events: 10_000,
            bytes: 64 << 10,
        }));
        let mut slow = EventStream::new(log.clone(), 0);
        for _ in 0..100 {
            log.push(text(4000));
        }
        let held = log.snapshot();
        let bytes: usize = held.iter().map(|r| approx_size(r)).sum();
        assert!(bytes <= 64 << 10, "{bytes} bytes held");
        assert!(held.len() >= 15, "{} events held", held.len());
        assert_eq!(held.last().unwrap().seq, 100);
        assert_eq!(log.last_seq(), 100);
        // A subscriber that fell behind goes on from the oldest event held.
        assert_eq!(slow.next().await.unwrap().seq, held[0].seq);
        // One event over the bound alone is still kept.
        log.push(text(1 << 20));
        assert_eq!(log.snapshot().len(), 1);
        assert_eq!(slow.next().await.unwrap().seq, 101);
    }

    /// What a flush takes: the events after a position, oldest first,
    /// within a byte budget (at least one), from the oldest held when the
    /// position fell out of the buffer, none past the last.
    #[test]
    fn since_takes_the_events_after_a_position_within_a_byte_budget() {
        let log = EventLog::new(Bound { events: 16, bytes: 1 << 20 });
        for _ in 0..40 {
            log.push(text(100));
        }
        let seqs = |v: Vec<EventRecord>| v.iter().map(|r| r.seq).collect::<Vec<_>>();
        assert_eq!(seqs(log.since(30, usize::MAX)), (31..=40).collect::<Vec<_>>());
        assert_eq!(seqs(log.since(0, usize::MAX)), (25..=40).collect::<Vec<_>>(), "from the oldest held");
        assert_eq!(seqs(log.since(24, usize::MAX)), (25..=40).collect::<Vec<_>>());
        assert!(log.since(40, usize::MAX).is_empty());
        assert!(log.since(u64::MAX, usize::MAX).is_empty());
        let one = approx_size(&log.snapshot()[0]);
        assert_eq!(seqs(log.since(30, 2 * one)), [31, 32]);
        assert_eq!(seqs(log.since(30, 1)), [31], "at least one");
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
