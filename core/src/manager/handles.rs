//! The shared state of the jobs that have handles or run here, by id. Held
//! weakly: a job nobody holds (queued, or finished) lives in the store only,
//! and `get` builds its state again from there.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};

use crate::job::JobShared;

#[derive(Debug, Default)]
pub(crate) struct Handles {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    map: HashMap<String, Weak<JobShared>>,
    /// Entries after the last sweep of dead ones.
    swept_len: usize,
}

impl Handles {
    /// The job's state, if something holds it.
    pub fn get(&self, id: &str) -> Option<Arc<JobShared>> {
        self.inner.lock().unwrap().map.get(id)?.upgrade()
    }

    /// Registers `shared`, unless a live state of the same job is there
    /// already: that one is returned then.
    pub fn intern(&self, shared: Arc<JobShared>) -> Arc<JobShared> {
        let mut g = self.inner.lock().unwrap();
        if let Some(live) = g.map.get(&shared.id).and_then(Weak::upgrade) {
            return live;
        }
        g.map.insert(shared.id.clone(), Arc::downgrade(&shared));
        // Dead entries are swept once the map has doubled since the last
        // sweep: amortised O(1) per job.
        if g.map.len() > 2 * g.swept_len + 1024 {
            g.map.retain(|_, w| w.strong_count() > 0);
            g.map.shrink_to_fit();
            g.swept_len = g.map.len();
        }
        shared
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
    pub fn live(&self) -> Vec<Arc<JobShared>> {
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

    fn shared(id: &str) -> Arc<JobShared> {
        let spec = JobSpec::from_prompt("x");
        let info = JobInfo::queued(id.into(), &spec, 0);
        let bound = Bound {
            events: 16,
            bytes: 1024,
        };
        JobShared::new(Arc::new(spec), info, EventLog::new(bound))
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
