//! [`JobCell`]: the in-memory record of one job, shared by its handles, the
//! attempt running it and the manager.

use std::sync::{Arc, Mutex};

use tokio::sync::watch;

use super::Stop;
use crate::events::{EventLog, JobEvent};
use crate::isolation::JobGroup;
use crate::spec::JobSpec;
use crate::state::{JobInfo, JobState};

/// The process of the attempt running here, so that it can be killed at
/// once, without awaiting anything (a Node or Python process exiting).
#[derive(Debug, Clone)]
pub(crate) struct Running {
    /// The CLI's pid, which is also its process group.
    pub pid: u32,
    /// The job's cgroup, when it has one.
    pub group: Option<Arc<dyn JobGroup>>,
}

/// One job as this process knows it.
#[derive(Debug)]
pub(crate) struct JobCell {
    pub id: String,
    pub spec: Arc<JobSpec>,
    pub info: Mutex<JobInfo>,
    pub events: Arc<EventLog>,
    /// Why the job should stop (`None`: it should not).
    pub stop: watch::Sender<Option<Stop>>,
    done: watch::Sender<bool>,
    running: Mutex<Option<Running>>,
}

impl JobCell {
    pub(crate) fn new(spec: Arc<JobSpec>, info: JobInfo, events: EventLog) -> Arc<Self> {
        let done = info.state.is_final();
        Arc::new(JobCell {
            id: info.id.clone(),
            spec,
            info: Mutex::new(info),
            events: Arc::new(events),
            stop: watch::channel(None).0,
            done: watch::channel(done).0,
            running: Mutex::new(None),
        })
    }

    pub(crate) fn info(&self) -> JobInfo {
        self.info.lock().unwrap().clone()
    }

    pub(crate) fn state(&self) -> JobState {
        self.info.lock().unwrap().state
    }

    pub(crate) fn emit(&self, event: JobEvent) {
        self.events.push(event);
    }

    /// True once the job's end was recorded and its waiters woken.
    pub(crate) fn is_done(&self) -> bool {
        *self.done.borrow()
    }

    /// Waits until [`wake`](Self::wake).
    pub(crate) async fn done(&self) {
        let mut rx = self.done.subscribe();
        // The sender lives in `self`, which the caller holds: this cannot fail.
        let _ = rx.wait_for(|d| *d).await;
    }

    /// Records the final info and closes the event log, with a `finished`
    /// event unless the log already ends with one (copied from another
    /// node). Waiters are not woken yet: the manager stores the events first.
    /// False when the end was already recorded.
    pub(crate) fn record_end(&self, info: JobInfo) -> bool {
        let mut cur = self.info.lock().unwrap();
        if self.is_done() || (cur.state.is_final() && self.events.ends_finished()) {
            return false;
        }
        if !self.events.ends_finished() {
            self.events.push(JobEvent::Finished {
                state: info.state,
                error: info.error.clone(),
            });
        }
        *cur = info;
        self.events.close();
        true
    }

    /// Wakes every `wait()`er.
    pub(crate) fn wake(&self) {
        self.done.send_replace(true);
    }

    /// Asks the job to stop; a cancel is not overwritten by a later reason.
    pub(crate) fn request_stop(&self, why: Stop) {
        self.stop.send_if_modified(|s| {
            if matches!(s, Some(Stop::Cancel(_))) || s.as_ref() == Some(&why) {
                return false;
            }
            *s = Some(why);
            true
        });
    }

    /// A new attempt starts: a stop meant for an earlier attempt (shutdown
    /// of another manager, a lost lease) no longer applies; a cancel does.
    pub(crate) fn clear_stale_stop(&self) {
        self.stop.send_if_modified(|s| {
            let stale = matches!(s, Some(Stop::Shutdown | Stop::LeaseLost));
            if stale {
                *s = None;
            }
            stale
        });
    }

    pub(crate) fn set_running(&self, r: Option<Running>) {
        *self.running.lock().unwrap() = r;
    }

    /// SIGKILLs the attempt's process group and everything in its cgroup,
    /// now, on this thread. For a process that exits without a shutdown.
    pub(crate) fn kill_now(&self) -> bool {
        let Some(r) = self.running.lock().unwrap().clone() else {
            return false;
        };
        crate::process::signal_group(r.pid, libc::SIGKILL);
        if let Some(g) = r.group {
            g.kill_all(r.pid as i32);
        }
        true
    }
}
