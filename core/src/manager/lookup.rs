//! Reading jobs back: `get` (a handle, built from the store when nothing
//! here holds the job) and `list` (a page from the store, with the live info
//! of jobs running here).

use std::sync::Arc;

use super::end::Ending;
use super::Inner;
use crate::error::{Error, Result};
use crate::events::EventLog;
use crate::job::{Job, JobCell};
use crate::store::{JobPage, ListQuery};

impl Inner {
    pub(super) async fn get(&self, id: &str) -> Result<Job> {
        if let Some(c) = self.handles.get(id) {
            return Ok(self.handle(c));
        }
        let store = &self.store.store;
        let rec = store.get(id).await?.ok_or_else(|| Error::JobNotFound { id: id.to_string() })?;
        let events = store.events(id, 0).await.unwrap_or_default();
        let closed = rec.info.state.is_final();
        let fresh = JobCell::new(
            Arc::new(rec.spec),
            rec.info,
            EventLog::from_records(events, self.opts.event_bound(), closed),
        );
        let cell = self.handles.intern(fresh.clone());
        if Arc::ptr_eq(&cell, &fresh) && !closed {
            // It may have run and ended, unheld, since it was read.
            if let Some(r) = store.get(id).await? {
                if r.info.state.is_final() {
                    for e in store.events(id, cell.events.last_seq()).await.unwrap_or_default() {
                        cell.events.push_record(e);
                    }
                    self.end(id, Ending::Copied { info: r.info }).await;
                }
            }
        }
        Ok(self.handle(cell))
    }

    pub(super) async fn list(&self, q: &ListQuery) -> Result<JobPage> {
        let mut page = self.store.store.list(q).await?;
        for info in &mut page.jobs {
            if let Some(run) = self.local.get(&info.id) {
                *info = run.cell.info();
            }
        }
        Ok(page)
    }
}
