//! `JobManager::metrics`: the figures rendered by [`crate::metrics`], read
//! from the store page by page (so managers sharing a store report the same
//! totals, and no page holds every job at once).

use super::JobManager;
use crate::error::Result;
use crate::metrics::Totals;
use crate::store::{ListQuery, MAX_PAGE};

impl JobManager {
    /// The manager's metrics in the Prometheus text format: jobs by state,
    /// queue length, running jobs, job duration histogram, cost and tokens by
    /// template, peak memory and CPU time by template, OOM kills, cgroup
    /// failures. Serve it at `/metrics`.
    ///
    /// ```no_run
    /// # async fn demo(manager: claude_jobs::JobManager) -> claude_jobs::Result<()> {
    /// let text = manager.metrics().await?;
    /// assert!(text.contains("claude_jobs_queue_length"));
    /// # Ok(()) }
    /// ```
    pub async fn metrics(&self) -> Result<String> {
        let store = &self.inner.store.store;
        let mut totals = Totals::default();
        let mut q = ListQuery {
            limit: Some(MAX_PAGE),
            ..Default::default()
        };
        loop {
            let page = store.list(&q).await?;
            for info in &page.jobs {
                totals.add(info);
            }
            match page.next_cursor {
                Some(c) => q.cursor = Some(c),
                None => break,
            }
        }
        let paused = store.paused_until().await?.map(|(until, _)| until);
        Ok(totals.render(self.inner.local.len(), self.inner.admission.max_concurrent, paused))
    }
}
