//! The in-memory store: a priority queue and a map, for tests and for
//! embedding without persistence. Each job's spec and info are kept as
//! compact JSON (`packed`), its events within [`MEMORY_STORE_EVENT_BYTES`].

use std::cmp::Reverse;
use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};
use std::sync::Mutex;

use async_trait::async_trait;

use super::packed::{pack, unpack};
use super::{Claim, ClaimOptions, JobRecord, JobRow, JobStore, Requeue};
use crate::error::Result;
use crate::events::{approx_size, EventRecord};
use crate::state::{JobInfo, JobState};
use crate::util::now_ms;

/// The events a [`MemoryStore`] keeps per job, in bytes (counted like the
/// manager's `event_buffer_bytes`): past it, the oldest are dropped.
pub const MEMORY_STORE_EVENT_BYTES: usize = 2 << 20;

#[derive(Debug)]
struct Entry {
    seq: u64,
    lease: u64,
    run_at: u64,
    locked_by: Option<String>,
    /// Copies of the info's fields that the queue reads.
    state: JobState,
    priority: i32,
    finished_at: Option<u64>,
    /// The spec's memory and CPU caps, and what it depends on.
    caps: (u64, f64),
    depends_on: Vec<String>,
    max_attempts: u32,
    info: Box<str>,
    spec: Box<str>,
    events: VecDeque<EventRecord>,
    event_bytes: usize,
}

impl Entry {
    fn info(&self) -> JobInfo {
        unpack(&self.info)
    }

    fn set_info(&mut self, info: &JobInfo) {
        self.state = info.state;
        self.priority = info.priority;
        self.finished_at = info.finished_at;
        self.info = pack(info);
    }

    fn record(&self) -> JobRecord {
        JobRecord {
            info: self.info(),
            spec: unpack(&self.spec),
        }
    }

    /// Appends the events after the last one held, then drops the oldest
    /// past [`MEMORY_STORE_EVENT_BYTES`].
    fn add_events(&mut self, events: &[EventRecord]) {
        let last = self.events.back().map(|r| r.seq).unwrap_or(0);
        let new = events.iter().filter(|r| r.seq > last);
        if self.events.is_empty() {
            // Most jobs have a few events: no room for more than they need.
            self.events.reserve_exact(new.clone().count());
        }
        for r in new {
            self.event_bytes += approx_size(r);
            self.events.push_back(r.clone());
            while self.event_bytes > MEMORY_STORE_EVENT_BYTES && self.events.len() > 1 {
                let old = self.events.pop_front().expect("not empty");
                self.event_bytes -= approx_size(&old);
            }
        }
    }

    fn queue_key(&self, id: &str) -> (Reverse<i32>, u64, String) {
        (Reverse(self.priority), self.seq, id.to_string())
    }
}

#[derive(Debug, Default)]
struct Inner {
    jobs: HashMap<String, Entry>,
    /// (priority desc, submission order, id) of queued jobs.
    queue: BTreeSet<(Reverse<i32>, u64, String)>,
    /// Ids of running jobs: what a claim counts, without a scan of every job.
    running: HashSet<String>,
    /// Events stored before their job's row (the manager writes `queued` first).
    early_events: HashMap<String, Vec<EventRecord>>,
    seq: u64,
}

impl Inner {
    /// A stored job's new info, with `running` kept in step with its state:
    /// every change of a job's info goes through here.
    fn set_info(&mut self, id: &str, info: &JobInfo) {
        if let Some(e) = self.jobs.get_mut(id) {
            e.set_info(info);
        }
        if info.state == JobState::Running {
            if !self.running.contains(id) {
                self.running.insert(id.to_string());
            }
        } else {
            self.running.remove(id);
        }
    }
}

/// Jobs kept in memory only: lost when the process ends.
#[derive(Debug, Default)]
pub struct MemoryStore {
    inner: Mutex<Inner>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

fn row(e: &Entry) -> JobRow {
    JobRow {
        record: e.record(),
        lease: e.lease,
        locked_by: e.locked_by.clone(),
        lease_expires_at: None,
        deadline_at: None,
        cancel_requested_at: None,
        max_attempts: e.max_attempts,
    }
}

#[async_trait]
impl JobStore for MemoryStore {
    async fn insert(&self, record: &JobRecord) -> Result<()> {
        let mut g = self.inner.lock().unwrap();
        g.seq += 1;
        let seq = g.seq;
        if record.info.state == JobState::Queued {
            g.queue
                .insert((Reverse(record.info.priority), seq, record.info.id.clone()));
        }
        let spec = &record.spec;
        let mut entry = Entry {
            seq,
            lease: 0,
            run_at: 0,
            locked_by: None,
            state: record.info.state,
            priority: 0,
            finished_at: None,
            caps: (
                spec.limits.memory.unwrap_or(0),
                spec.limits.cpus.unwrap_or(0.0),
            ),
            depends_on: spec.depends_on.clone(),
            max_attempts: spec.max_attempts,
            info: Box::default(),
            spec: pack(spec),
            events: VecDeque::new(),
            event_bytes: 0,
        };
        if let Some(evs) = g.early_events.remove(&record.info.id) {
            entry.add_events(&evs);
        }
        g.jobs.insert(record.info.id.clone(), entry);
        g.set_info(&record.info.id, &record.info);
        Ok(())
    }

    async fn claim(&self, node: &str, n: usize) -> Result<Vec<Claim>> {
        self.claim_with(
            node,
            n,
            &ClaimOptions::new(std::time::Duration::from_secs(60)),
        )
        .await
    }

    async fn claim_with(&self, node: &str, n: usize, opts: &ClaimOptions) -> Result<Vec<Claim>> {
        let mut g = self.inner.lock().unwrap();
        let now = now_ms();
        // How many jobs run now, and what they hold.
        let (running, held) = g.running.iter().filter_map(|id| g.jobs.get(id)).fold(
            (0usize, (0u64, 0f64)),
            |(k, (m, c)), e| {
                let (m2, c2) = e.caps;
                (k + 1, (m.saturating_add(m2), c + c2))
            },
        );
        let n = match opts.max_running {
            Some(max) => n.min(max.saturating_sub(running)),
            None => n,
        };
        let mut picked = Vec::new();
        let mut want = Vec::new();
        for key in g.queue.iter() {
            if picked.len() >= n {
                break;
            }
            let e = &g.jobs[&key.2];
            let ready = e.run_at <= now
                && e.depends_on.iter().all(|d| {
                    g.jobs
                        .get(d)
                        .map(|x| x.state == JobState::Succeeded)
                        .unwrap_or(false)
                });
            if ready {
                picked.push(key.clone());
                want.push(e.caps);
            }
        }
        picked.truncate(opts.fitting(held, &want));
        let mut claims = Vec::with_capacity(picked.len());
        for key in picked {
            g.queue.remove(&key);
            let e = g.jobs.get_mut(&key.2).expect("queued job is stored");
            e.lease += 1;
            e.locked_by = Some(node.to_string());
            let mut record = e.record();
            record.info.state = JobState::Running;
            record.info.attempt += 1;
            record.info.started_at = Some(now);
            let lease = e.lease;
            g.set_info(&key.2, &record.info);
            claims.push(Claim { record, lease });
        }
        Ok(claims)
    }

    async fn update(&self, info: &JobInfo, lease: u64) -> Result<()> {
        let mut g = self.inner.lock().unwrap();
        let live = g
            .jobs
            .get(&info.id)
            .is_some_and(|e| e.lease == lease && !e.state.is_final());
        if live {
            g.set_info(&info.id, info);
        }
        Ok(())
    }

    async fn finish(&self, info: &JobInfo, lease: u64) -> Result<bool> {
        let mut g = self.inner.lock().unwrap();
        match g.jobs.get_mut(&info.id) {
            Some(e) if e.lease == lease && e.state == JobState::Running => e.locked_by = None,
            _ => return Ok(false),
        }
        g.set_info(&info.id, info);
        Ok(true)
    }

    async fn requeue(&self, id: &str, lease: u64, req: &Requeue) -> Result<bool> {
        let mut g = self.inner.lock().unwrap();
        let info = match g.jobs.get_mut(id) {
            Some(e) if e.lease == lease && e.state == JobState::Running => {
                let mut info = e.info();
                info.state = JobState::Queued;
                if !req.count_attempt {
                    info.attempt = info.attempt.saturating_sub(1);
                }
                e.run_at = req.run_at_ms;
                e.locked_by = None;
                info
            }
            _ => return Ok(false),
        };
        g.set_info(id, &info);
        let key = g.jobs[id].queue_key(id);
        g.queue.insert(key);
        Ok(true)
    }

    async fn end_queued(&self, id: &str, state: JobState, reason: &str) -> Result<Option<JobInfo>> {
        let mut g = self.inner.lock().unwrap();
        let Some(e) = g.jobs.get(id) else {
            return Ok(None);
        };
        if e.state != JobState::Queued {
            return Ok(None);
        }
        let key = e.queue_key(id);
        g.queue.remove(&key);
        let mut info = g.jobs[id].info();
        info.state = state;
        info.error = Some(reason.to_string());
        info.finished_at = Some(now_ms());
        g.set_info(id, &info);
        Ok(Some(info))
    }

    async fn get(&self, id: &str) -> Result<Option<JobRecord>> {
        Ok(self.inner.lock().unwrap().jobs.get(id).map(Entry::record))
    }

    async fn rows(&self, ids: &[String]) -> Result<Vec<JobRow>> {
        let g = self.inner.lock().unwrap();
        Ok(ids
            .iter()
            .filter_map(|id| g.jobs.get(id))
            .map(row)
            .collect())
    }

    async fn list(&self) -> Result<Vec<JobInfo>> {
        let g = self.inner.lock().unwrap();
        let mut v: Vec<(u64, JobInfo)> = g.jobs.values().map(|e| (e.seq, e.info())).collect();
        v.sort_by_key(|(s, _)| *s);
        Ok(v.into_iter().map(|(_, i)| i).collect())
    }

    async fn queued_dependents(&self, id: &str) -> Result<Vec<String>> {
        let g = self.inner.lock().unwrap();
        Ok(g.queue
            .iter()
            .filter(|k| g.jobs[&k.2].depends_on.iter().any(|d| d == id))
            .map(|k| k.2.clone())
            .collect())
    }

    async fn queued(&self) -> Result<Vec<String>> {
        Ok(self
            .inner
            .lock()
            .unwrap()
            .queue
            .iter()
            .map(|k| k.2.clone())
            .collect())
    }

    async fn append_events(&self, id: &str, events: &[EventRecord]) -> Result<()> {
        let mut g = self.inner.lock().unwrap();
        match g.jobs.get_mut(id) {
            Some(e) => e.add_events(events),
            None => g
                .early_events
                .entry(id.to_string())
                .or_default()
                .extend_from_slice(events),
        }
        Ok(())
    }

    async fn events(&self, id: &str, after_seq: u64) -> Result<Vec<EventRecord>> {
        let g = self.inner.lock().unwrap();
        Ok(g.jobs
            .get(id)
            .map(|e| {
                e.events
                    .iter()
                    .filter(|r| r.seq > after_seq)
                    .cloned()
                    .collect()
            })
            .unwrap_or_default())
    }

    async fn finished_before(&self, before_ms: u64, limit: usize) -> Result<Vec<JobInfo>> {
        let g = self.inner.lock().unwrap();
        let mut v: Vec<JobInfo> = g
            .jobs
            .values()
            .filter(|e| e.state.is_final() && e.finished_at.unwrap_or(0) < before_ms)
            .map(Entry::info)
            .collect();
        v.sort_by_key(|i| i.finished_at);
        v.truncate(limit);
        Ok(v)
    }

    async fn delete(&self, ids: &[String]) -> Result<u64> {
        let mut g = self.inner.lock().unwrap();
        let mut n = 0;
        for id in ids {
            if g.jobs.get(id).map(|e| e.state.is_final()).unwrap_or(false) {
                g.jobs.remove(id);
                n += 1;
            }
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::JobEvent;
    use crate::spec::JobSpec;

    fn text(seq: u64, n: usize) -> EventRecord {
        EventRecord {
            seq,
            at_ms: 0,
            event: JobEvent::AssistantText {
                text: "x".repeat(n),
            },
        }
    }

    #[tokio::test]
    async fn the_running_limit_counts_claims_finishes_and_requeues() {
        let store = MemoryStore::new();
        for id in ["a", "b", "c", "d"] {
            let spec = JobSpec::from_prompt("x");
            let info = JobInfo::queued(id.into(), &spec, 0);
            store.insert(&JobRecord { info, spec }).await.unwrap();
        }
        let opts = ClaimOptions {
            max_running: Some(2),
            ..ClaimOptions::new(std::time::Duration::from_secs(60))
        };
        let first = store.claim_with("n", 4, &opts).await.unwrap();
        assert_eq!(first.len(), 2);
        assert!(store.claim_with("n", 4, &opts).await.unwrap().is_empty());
        // One finishes: one slot.
        let mut done = first[0].record.info.clone();
        done.state = JobState::Succeeded;
        assert!(store.finish(&done, first[0].lease).await.unwrap());
        let second = store.claim_with("n", 4, &opts).await.unwrap();
        assert_eq!(second.len(), 1);
        // One goes back to the queue: a slot again, and it can be claimed.
        let req = Requeue {
            run_at_ms: 0,
            count_attempt: true,
            error: None,
            only_if_expired: false,
        };
        assert!(store
            .requeue(&second[0].record.info.id, second[0].lease, &req)
            .await
            .unwrap());
        let third = store.claim_with("n", 4, &opts).await.unwrap();
        assert_eq!(third.len(), 1);
        assert!(store.claim_with("n", 4, &opts).await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn events_are_kept_within_the_byte_bound_even_when_written_first() {
        let store = MemoryStore::new();
        let spec = JobSpec::from_prompt("x");
        store.append_events("a", &[text(1, 10)]).await.unwrap();
        let info = JobInfo::queued("a".into(), &spec, 0);
        store.insert(&JobRecord { info, spec }).await.unwrap();
        assert_eq!(store.events("a", 0).await.unwrap().len(), 1);
        let big: Vec<_> = (2..=3000).map(|s| text(s, 4000)).collect();
        store.append_events("a", &big).await.unwrap();
        let kept = store.events("a", 0).await.unwrap();
        let bytes: usize = kept.iter().map(approx_size).sum();
        assert!(bytes <= MEMORY_STORE_EVENT_BYTES, "{bytes}");
        assert!(kept.len() > 400, "{}", kept.len());
        assert_eq!(kept.last().unwrap().seq, 3000);
        assert_eq!(store.get("a").await.unwrap().unwrap().info.id, "a");
    }
}
