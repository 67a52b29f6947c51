//! The in-memory store: a priority queue and a map, for tests and for
//! embedding without persistence.

use std::cmp::Reverse;
use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;

use async_trait::async_trait;

use super::{Claim, JobRecord, JobStore};
use crate::error::Result;
use crate::state::{JobInfo, JobState};
use crate::util::now_ms;

#[derive(Debug, Default)]
struct Inner {
    jobs: HashMap<String, (u64, JobRecord, u64)>,
    /// (priority desc, submission order, id) of queued jobs.
    queue: BTreeSet<(Reverse<i32>, u64, String)>,
    seq: u64,
}

/// Jobs kept in memory only: lost when the process ends.
#[derive(Debug, Default)]
pub struct MemoryStore {
    inner: Mutex<Inner>,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait]
impl JobStore for MemoryStore {
    async fn insert(&self, record: &JobRecord) -> Result<()> {
        let mut g = self.inner.lock().unwrap();
        g.seq += 1;
        let seq = g.seq;
        if record.info.state == JobState::Queued {
            g.queue.insert((Reverse(record.info.priority), seq, record.info.id.clone()));
        }
        g.jobs.insert(record.info.id.clone(), (seq, record.clone(), 0));
        Ok(())
    }

    async fn claim(&self, _node: &str, n: usize) -> Result<Vec<Claim>> {
        let mut g = self.inner.lock().unwrap();
        let mut picked = Vec::new();
        for key in g.queue.iter() {
            if picked.len() >= n {
                break;
            }
            let (_, rec, _) = &g.jobs[&key.2];
            let ready = rec.spec.depends_on.iter().all(|d| {
                g.jobs.get(d).map(|(_, r, _)| r.info.state == JobState::Succeeded).unwrap_or(false)
            });
            if ready {
                picked.push(key.clone());
            }
        }
        let mut claims = Vec::with_capacity(picked.len());
        for key in picked {
            g.queue.remove(&key);
            let entry = g.jobs.get_mut(&key.2).expect("queued job is stored");
            entry.2 += 1;
            entry.1.info.state = JobState::Running;
            entry.1.info.attempt += 1;
            entry.1.info.started_at = Some(now_ms());
            claims.push(Claim {
                record: entry.1.clone(),
                lease: entry.2,
            });
        }
        Ok(claims)
    }

    async fn update(&self, info: &JobInfo, lease: u64) -> Result<()> {
        let mut g = self.inner.lock().unwrap();
        if let Some(e) = g.jobs.get_mut(&info.id) {
            if e.2 == lease && !e.1.info.state.is_final() {
                e.1.info = info.clone();
            }
        }
        Ok(())
    }

    async fn finish(&self, info: &JobInfo, lease: u64) -> Result<bool> {
        let mut g = self.inner.lock().unwrap();
        match g.jobs.get_mut(&info.id) {
            Some(e) if e.2 == lease && e.1.info.state == JobState::Running => {
                e.1.info = info.clone();
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn end_queued(&self, id: &str, state: JobState, reason: &str) -> Result<Option<JobInfo>> {
        let mut g = self.inner.lock().unwrap();
        let Some((seq, rec, _)) = g.jobs.get(id) else {
            return Ok(None);
        };
        if rec.info.state != JobState::Queued {
            return Ok(None);
        }
        let key = (Reverse(rec.info.priority), *seq, id.to_string());
        g.queue.remove(&key);
        let e = g.jobs.get_mut(id).unwrap();
        e.1.info.state = state;
        e.1.info.error = Some(reason.to_string());
        e.1.info.finished_at = Some(now_ms());
        Ok(Some(e.1.info.clone()))
    }

    async fn get(&self, id: &str) -> Result<Option<JobRecord>> {
        Ok(self.inner.lock().unwrap().jobs.get(id).map(|e| e.1.clone()))
    }

    async fn list(&self) -> Result<Vec<JobInfo>> {
        let g = self.inner.lock().unwrap();
        let mut v: Vec<(u64, JobInfo)> = g.jobs.values().map(|(s, r, _)| (*s, r.info.clone())).collect();
        v.sort_by_key(|(s, _)| *s);
        Ok(v.into_iter().map(|(_, i)| i).collect())
    }

    async fn queued_dependents(&self, id: &str) -> Result<Vec<String>> {
        let g = self.inner.lock().unwrap();
        Ok(g.queue
            .iter()
            .filter(|k| g.jobs[&k.2].1.spec.depends_on.iter().any(|d| d == id))
            .map(|k| k.2.clone())
            .collect())
    }

    async fn queued(&self) -> Result<Vec<String>> {
        Ok(self.inner.lock().unwrap().queue.iter().map(|k| k.2.clone()).collect())
    }
}
