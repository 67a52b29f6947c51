//! The in-memory store: a priority queue and a map, for tests and for
//! embedding without persistence.

use std::cmp::Reverse;
use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;

use async_trait::async_trait;

use super::{Claim, ClaimOptions, JobRecord, JobRow, JobStore, Requeue};
use crate::error::Result;
use crate::events::EventRecord;
use crate::state::{JobInfo, JobState};
use crate::util::now_ms;

#[derive(Debug)]
struct Entry {
    seq: u64,
    record: JobRecord,
    lease: u64,
    run_at: u64,
    locked_by: Option<String>,
}

#[derive(Debug, Default)]
struct Inner {
    jobs: HashMap<String, Entry>,
    /// (priority desc, submission order, id) of queued jobs.
    queue: BTreeSet<(Reverse<i32>, u64, String)>,
    events: HashMap<String, Vec<EventRecord>>,
    seq: u64,
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
        record: e.record.clone(),
        lease: e.lease,
        locked_by: e.locked_by.clone(),
        lease_expires_at: None,
        deadline_at: None,
        cancel_requested_at: None,
        max_attempts: e.record.spec.max_attempts,
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
        let entry = Entry {
            seq,
            record: record.clone(),
            lease: 0,
            run_at: 0,
            locked_by: None,
        };
        g.jobs.insert(record.info.id.clone(), entry);
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
        let caps = |e: &Entry| {
            (
                e.record.spec.limits.memory.unwrap_or(0),
                e.record.spec.limits.cpus.unwrap_or(0.0),
            )
        };
        // How many jobs run now, and what they hold.
        let (running, held) = g
            .jobs
            .values()
            .filter(|e| e.record.info.state == JobState::Running)
            .fold((0usize, (0u64, 0f64)), |(k, (m, c)), e| {
                let (m2, c2) = caps(e);
                (k + 1, (m.saturating_add(m2), c + c2))
            });
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
                && e.record.spec.depends_on.iter().all(|d| {
                    g.jobs
                        .get(d)
                        .map(|x| x.record.info.state == JobState::Succeeded)
                        .unwrap_or(false)
                });
            if ready {
                picked.push(key.clone());
                want.push(caps(e));
            }
        }
        picked.truncate(opts.fitting(held, &want));
        let mut claims = Vec::with_capacity(picked.len());
        for key in picked {
            g.queue.remove(&key);
            let e = g.jobs.get_mut(&key.2).expect("queued job is stored");
            e.lease += 1;
            e.locked_by = Some(node.to_string());
            e.record.info.state = JobState::Running;
            e.record.info.attempt += 1;
            e.record.info.started_at = Some(now);
            claims.push(Claim {
                record: e.record.clone(),
                lease: e.lease,
            });
        }
        Ok(claims)
    }

    async fn update(&self, info: &JobInfo, lease: u64) -> Result<()> {
        let mut g = self.inner.lock().unwrap();
        if let Some(e) = g.jobs.get_mut(&info.id) {
            if e.lease == lease && !e.record.info.state.is_final() {
                e.record.info = info.clone();
            }
        }
        Ok(())
    }

    async fn finish(&self, info: &JobInfo, lease: u64) -> Result<bool> {
        let mut g = self.inner.lock().unwrap();
        match g.jobs.get_mut(&info.id) {
            Some(e) if e.lease == lease && e.record.info.state == JobState::Running => {
                e.record.info = info.clone();
                e.locked_by = None;
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn requeue(&self, id: &str, lease: u64, req: &Requeue) -> Result<bool> {
        let mut g = self.inner.lock().unwrap();
        let key = match g.jobs.get_mut(id) {
            Some(e) if e.lease == lease && e.record.info.state == JobState::Running => {
                e.record.info.state = JobState::Queued;
                if !req.count_attempt {
                    e.record.info.attempt = e.record.info.attempt.saturating_sub(1);
                }
                e.run_at = req.run_at_ms;
                e.locked_by = None;
                (Reverse(e.record.info.priority), e.seq, id.to_string())
            }
            _ => return Ok(false),
        };
        g.queue.insert(key);
        Ok(true)
    }

    async fn end_queued(&self, id: &str, state: JobState, reason: &str) -> Result<Option<JobInfo>> {
        let mut g = self.inner.lock().unwrap();
        let Some(e) = g.jobs.get(id) else {
            return Ok(None);
        };
        if e.record.info.state != JobState::Queued {
            return Ok(None);
        }
        let key = (Reverse(e.record.info.priority), e.seq, id.to_string());
        g.queue.remove(&key);
        let e = g.jobs.get_mut(id).unwrap();
        e.record.info.state = state;
        e.record.info.error = Some(reason.to_string());
        e.record.info.finished_at = Some(now_ms());
        Ok(Some(e.record.info.clone()))
    }

    async fn get(&self, id: &str) -> Result<Option<JobRecord>> {
        Ok(self
            .inner
            .lock()
            .unwrap()
            .jobs
            .get(id)
            .map(|e| e.record.clone()))
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
        let mut v: Vec<(u64, JobInfo)> = g
            .jobs
            .values()
            .map(|e| (e.seq, e.record.info.clone()))
            .collect();
        v.sort_by_key(|(s, _)| *s);
        Ok(v.into_iter().map(|(_, i)| i).collect())
    }

    async fn queued_dependents(&self, id: &str) -> Result<Vec<String>> {
        let g = self.inner.lock().unwrap();
        Ok(g.queue
            .iter()
            .filter(|k| g.jobs[&k.2].record.spec.depends_on.iter().any(|d| d == id))
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
        let list = g.events.entry(id.to_string()).or_default();
        let last = list.last().map(|r| r.seq).unwrap_or(0);
        list.extend(events.iter().filter(|r| r.seq > last).cloned());
        Ok(())
    }

    async fn events(&self, id: &str, after_seq: u64) -> Result<Vec<EventRecord>> {
        let g = self.inner.lock().unwrap();
        Ok(g.events
            .get(id)
            .map(|l| l.iter().filter(|r| r.seq > after_seq).cloned().collect())
            .unwrap_or_default())
    }

    async fn finished_before(&self, before_ms: u64, limit: usize) -> Result<Vec<JobInfo>> {
        let g = self.inner.lock().unwrap();
        let mut v: Vec<JobInfo> = g
            .jobs
            .values()
            .map(|e| &e.record.info)
            .filter(|i| i.state.is_final() && i.finished_at.unwrap_or(0) < before_ms)
            .cloned()
            .collect();
        v.sort_by_key(|i| i.finished_at);
        v.truncate(limit);
        Ok(v)
    }

    async fn delete(&self, ids: &[String]) -> Result<u64> {
        let mut g = self.inner.lock().unwrap();
        let mut n = 0;
        for id in ids {
            if g.jobs
                .get(id)
                .map(|e| e.record.info.state.is_final())
                .unwrap_or(false)
            {
                g.jobs.remove(id);
                g.events.remove(id);
                n += 1;
            }
        }
        Ok(n)
    }
}
