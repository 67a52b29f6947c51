//! Admission: when slots are free, the store is asked for queued jobs that
//! fit the slots and the memory and CPU budgets (the store sums the running
//! jobs' caps inside its claim, so managers sharing it share the budget),
//! and each claimed job starts as an attempt.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use tokio::sync::Notify;

use super::budget::Budgets;
use super::durable::StoreLink;
use super::Inner;
use crate::options::ManagerOptions;
use crate::store::ClaimOptions;

#[derive(Debug)]
pub(super) struct Admission {
    /// Wakes the admission loop (a job queued or finished, a retry due).
    pub wake: Arc<Notify>,
    pub max_concurrent: usize,
    pub budgets: Budgets,
    /// The last claim took fewer jobs than there were free slots: nothing
    /// was ready to run then.
    queue_drained: AtomicBool,
    pub shutting_down: AtomicBool,
    /// Held by the admission loop from its shutdown check until the jobs it
    /// claimed are started: shutdown takes it once, so no claim is in flight
    /// (and none starts unseen) when it counts the running jobs.
    pub admitting: tokio::sync::Mutex<()>,
    /// When the queued jobs of budgeted tenants were last told they wait.
    budget_check: std::sync::Mutex<Option<std::time::Instant>>,
}

impl Admission {
    pub fn new(max_concurrent: usize, budgets: Budgets) -> Self {
        Admission {
            wake: Arc::new(Notify::new()),
            max_concurrent,
            budgets,
            queue_drained: AtomicBool::new(false),
            shutting_down: AtomicBool::new(false),
            admitting: tokio::sync::Mutex::new(()),
            budget_check: std::sync::Mutex::new(None),
        }
    }

    pub fn is_shutting_down(&self) -> bool {
        self.shutting_down.load(Ordering::SeqCst)
    }

    /// Wakes the loop after `delay`.
    pub fn wake_in(&self, delay: Duration) {
        let wake = self.wake.clone();
        tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            wake.notify_one();
        });
    }

    /// Wakes the loop for a freed slot: at once while jobs wait for slots.
    /// With a store that other processes use too, or when the last claim
    /// found nothing ready (the jobs that depend on this one are claimed a
    /// moment later), after a short random delay: the process that just
    /// finished a job does not always win the next one, and a durable store
    /// is not written at the very moment a job's waiters wake (a Python
    /// service that forks then would copy SQLite's locks mid-write).
    pub fn wake_after_finish(&self, store: &StoreLink, opts: &ManagerOptions) {
        let drained = self.queue_drained.load(Ordering::SeqCst);
        if !store.durable() || (!drained && !store.store.shared_with_others()) {
            return self.wake.notify_one();
        }
        let max = (opts.poll_interval / 2).min(Duration::from_millis(250));
        self.wake_in(max.mul_f64(rand::random::<f64>()));
    }
}

pub(super) async fn admission_loop(weak: Weak<Inner>) {
    let wake = match weak.upgrade() {
        Some(m) => m.admission.wake.clone(),
        None => return,
    };
    loop {
        let notified = wake.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        let poll = {
            let Some(m) = weak.upgrade() else { return };
            let _admitting = m.admission.admitting.lock().await;
            if m.admission.is_shutting_down() {
                return;
            }
            m.claim_and_start().await;
            m.budget_waits();
            m.opts.poll_interval
        };
        tokio::select! {
            _ = &mut notified => {}
            _ = tokio::time::sleep(poll) => {}
        }
    }
}

impl Inner {
    /// At most once a poll interval: the queued jobs of tenants whose daily
    /// budget is used up get a `budget_wait` event (in a task of its own).
    fn budget_waits(self: &Arc<Self>) {
        {
            let mut last = self.admission.budget_check.lock().unwrap();
            if last.is_some_and(|t| t.elapsed() < self.opts.poll_interval) {
                return;
            }
            *last = Some(std::time::Instant::now());
        }
        let mut tenants: Vec<String> = self
            .policy
            .iter()
            .flat_map(|p| &p.tenants)
            .filter(|(_, t)| t.quota.daily_budget_usd.is_some())
            .map(|(n, _)| n.clone())
            .collect();
        for c in self.handles.live() {
            if let (Some(t), crate::state::JobState::Queued) = (&c.spec.tenant, c.state()) {
                if !tenants.contains(t) {
                    tenants.push(t.clone());
                }
            }
        }
        if tenants.is_empty() {
            return;
        }
        let me = self.clone();
        tokio::spawn(async move {
            for t in tenants {
                me.note_budget_wait(&t).await;
            }
        });
    }

    /// One claim for the free slots; each claimed job starts at once.
    async fn claim_and_start(self: &Arc<Self>) {
        let a = &self.admission;
        let free = a.max_concurrent.saturating_sub(self.local.len());
        if free == 0 {
            return;
        }
        let opts = ClaimOptions {
            max_running: Some(a.max_concurrent),
            memory_budget: a.budgets.memory,
            cpu_budget: a.budgets.cpus,
            ..ClaimOptions::new(self.opts.lease_ttl)
        };
        match self.store.store.claim(&self.node_id, free, &opts).await {
            Ok(claims) => {
                self.store.ok();
                a.queue_drained.store(claims.len() < free, Ordering::SeqCst);
                for c in claims {
                    self.start_attempt(c);
                }
            }
            Err(e) => self.store.failed("claiming jobs", &e),
        }
    }
}
