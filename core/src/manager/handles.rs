//! The shared state of the jobs that have handles or run here, by id. Held
//! weakly: a job nobody holds (queued, or finished) lives in the store only,
//! and `get` builds its state again from there.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};

use crate::job::JobCell;

#[derive(Debug, Default)]
pub(super) struct Handles {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    map: HashMap<String, Weak<JobCell>>,
    /// Entries after the last sweep of dead ones.
    swept_len: usize,
}

impl Handles {
    /// The job's state, if something holds it.
    pub fn get(&self, id: &str) -> Option<Arc<JobCell>> {
        self.inner.lock().unwrap().map.get(id)?.upgrade()
    }

    /// Registers `cell`, unless a live state of the same job is there
    /// already: that one is returned then.
    pub fn intern(&self, cell: Arc<JobCell>) -> Arc<JobCell> {
        let mut g = self.inner.lock().unwrap();
        if let Some(live) = g.map.get(&cell.id).and_then(Weak::upgrade) {
            return live;
        }
        g.map.insert(cell.id.clone(), Arc::downgrade(&cell));
        // Dead entries are swept once the map has doubled since the last
        // sweep: amortised O(1) per job.
        if g.map.len() > 2 * g.swept_len + 1024 {
            g.map.retain(|_, w| w.strong_count() > 0);
            g.map.shrink_to_fit();
            g.swept_len = g.map.len();
        }
        cell
    }

    pub fn remove(&self, id: &str) {
        self.inner.lock().unwrap().map.remove(id);
    }

    /// Forgets these jobs (deleted from the store).
    pub fn forget(&self, ids: &[String]) {
        let mut g = self.inner.lock().unwrap();
        for id in ids {
            g.map.remove(id);
        }
    }

    /// Every job state something holds.
    pub fn live(&self) -> Vec<Arc<JobCell>> {
        let g = self.inner.lock().unwrap();
        g.map.values().filter_map(Weak::upgrade).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::{Bound, EventLog};
    use crate::spec::JobSpec;
    use crate::state::JobInfo;

    fn shared(id: &str) -> Arc<JobCell> {
        let spec = JobSpec::from_prompt("x");
        let info = JobInfo::queued(id.into(), &spec, 0);
        let bound = Bound {
            events: 16,
            bytes: 1024,
        };
        JobCell::new(Arc::new(spec), info, EventLog::new(bound))
    }

    #[test]
    fn jobs_nobody_holds_are_let_go() {
        let h = Handles::default();
        let kept = h.intern(shared("kept"));
        assert!(Arc::ptr_eq(&h.intern(shared("kept")), &kept));
        for i in 0..5000 {
            h.intern(shared(&i.to_string()));
        }
        assert!(h.get("7").is_none());
        assert!(Arc::ptr_eq(&h.get("kept").unwrap(), &kept));
        assert_eq!(h.live().len(), 1);
        assert!(
            h.inner.lock().unwrap().map.len() <= 2048,
            "dead entries swept"
        );
    }
}
