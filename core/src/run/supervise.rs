//! Watching a running job until it ends or must stop (a stop request, a
//! timeout, silence, a CLI that lingers after its result, memory trouble),
//! then stopping it: SIGTERM to its process group, a grace period, and the
//! whole cgroup killed.

use std::os::unix::process::ExitStatusExt;
use std::process::ExitStatus;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::{sleep_until, timeout, Instant};

use super::io::{Activity, Pulse};
use super::start::Proc;
use super::Attempt;
use crate::events::JobEvent;
use crate::isolation::JobGroup;
use crate::job::Stop;
use crate::monitor::PressureWatch;
use crate::process;

/// How the watch ended.
pub(super) struct Watched {
    pub stop: Option<Stop>,
    pub exit: Option<ExitStatus>,
    pub pressure: PressureWatch,
}

/// The deadlines of one run.
struct Clock {
    limit: Option<Duration>,
    idle: Option<Duration>,
    deadline: Option<Instant>,
    last_activity: Instant,
    result_at: Option<Instant>,
}

/// Waits for the end, a stop request, a timeout or memory trouble.
pub(super) async fn watch(att: &Attempt, proc: &mut Proc, mut act: watch::Receiver<Activity>, pulse: &Pulse) -> Watched {
    let a = att;
    let mut told: Option<u64> = None;
    let spec = &a.cell.spec;
    let now = Instant::now();
    let limit = spec.timeout.or(a.opts.default_timeout);
    let mut clock = Clock {
        limit,
        idle: spec.idle_timeout.or(a.opts.default_idle_timeout),
        deadline: limit.and_then(|t| now.checked_add(t)),
        last_activity: now,
        result_at: None,
    };
    let mut w = Watched {
        stop: None,
        exit: None,
        pressure: PressureWatch::new(a.cell.info.lock().unwrap().limits.memory),
    };
    let mut stop_rx = a.cell.stop.subscribe();
    // The first sample one interval in (an interval's first tick is at once).
    let every = a.opts.monitor_interval;
    let mut ticker = tokio::time::interval_at(now + every, every);
    let mut activity_open = true;
    w.stop = stop_rx.borrow_and_update().clone();
    while w.exit.is_none() && w.stop.is_none() {
        let idle_at = clock.idle.and_then(|d| clock.last_activity.checked_add(d));
        let grace_at = clock.result_at.map(|t| t + a.opts.result_grace);
        tokio::select! {
            st = proc.child.wait() => w.exit = Some(st.unwrap_or_else(|_| ExitStatus::from_raw(0xff00))),
            r = stop_rx.changed() => {
                if r.is_ok() {
                    w.stop = stop_rx.borrow_and_update().clone();
                }
            }
            _ = sleep_opt(clock.deadline) => w.stop = Some(Stop::Timeout(clock.limit.unwrap_or_default())),
            _ = sleep_opt(idle_at) => {
                // Lines since the deadline was set move it on; none: idle.
                let last = pulse.last();
                if last > clock.last_activity {
                    clock.last_activity = last;
                } else {
                    w.stop = Some(Stop::Idle(clock.idle.unwrap_or_default()));
                }
            }
            _ = sleep_opt(grace_at) => w.stop = Some(Stop::AfterResult),
            r = act.changed(), if activity_open => {
                if r.is_err() {
                    activity_open = false;
                } else {
                    clock.last_activity = Instant::now();
                    let a = act.borrow_and_update().clone();
                    if a.result && clock.result_at.is_none() {
                        clock.result_at = Some(clock.last_activity);
                    }
                    if let Some(why) = a.log_error {
                        w.stop = Some(Stop::Io(why));
                    }
                    if let (Some((until, why)), Some(hook)) = (a.rate_limited, &att.on_rate_limit) {
                        if Some(until) != told {
                            told = Some(until);
                            hook(until, why);
                        }
                    }
                }
            }
            _ = ticker.tick(), if proc.group.is_some() => {
                w.stop = sample(a, proc.group.as_deref().expect("guarded"), &mut w.pressure);
            }
        }
    }
    w
}

/// One reading of the cgroup's counters: a warning when memory is tight, a
/// stop for an OOM kill or for pressure that lasted too long.
fn sample(a: &Attempt, g: &dyn JobGroup, pressure: &mut PressureWatch) -> Option<Stop> {
    #[cfg(feature = "test-hooks")]
    if a.cell.spec.labels.get("claude_jobs.test_hook").map(String::as_str) == Some("panic-while-running") {
        panic!("injected panic (test hook) while the job runs");
    }
    if g.oom_kills() > 0 {
        return Some(Stop::OutOfMemory);
    }
    let now = std::time::Instant::now();
    if let Some(ev) = pressure.observe(g.sample(), now) {
        a.cell.emit(ev);
    }
    let limit = a.opts.memory_pressure_limit?;
    (pressure.under_pressure_for(now) >= limit).then_some(Stop::Pressure(limit))
}

/// Stops a job that has not exited (SIGTERM to its process group, the
/// grace period, then its cgroup killed), then kills whatever it left
/// behind. Returns the CLI's exit status.
pub(super) async fn stop_and_reap(a: &Attempt, proc: &mut Proc, w: &Watched) -> ExitStatus {
    let mut exit = w.exit;
    if let (Some(reason), None) = (&w.stop, exit) {
        a.cell.emit(JobEvent::Stopping {
            reason: reason.describe(),
        });
        tracing::info!(job_id = %a.cell.id, reason = %reason.describe(), "stopping job");
        process::signal_group(proc.pid, libc::SIGTERM);
        exit = match timeout(a.opts.kill_grace, proc.child.wait()).await {
            Ok(st) => st.ok(),
            Err(_) => {
                kill_tree(proc.group.clone(), proc.pid).await;
                proc.child.wait().await.ok()
            }
        };
    }
    // Whatever the CLI left behind (background shells, tool processes) goes too.
    kill_tree(proc.group.clone(), proc.pid).await;
    a.cell.set_running(None);
    exit.unwrap_or_else(|| ExitStatus::from_raw(0xff00))
}

/// Kills what is left in the job's group (on a blocking thread: the kill
/// loop sleeps); an empty group, the usual case at a job's end, costs one
/// read of its process list here.
async fn kill_tree(group: Option<Arc<dyn JobGroup>>, pid: u32) {
    match group {
        Some(g) if g.is_empty() => {}
        Some(g) => {
            let _ = tokio::task::spawn_blocking(move || g.kill_all(pid as i32)).await;
        }
        None => process::signal_group(pid, libc::SIGKILL),
    }
}

async fn sleep_opt(at: Option<Instant>) {
    match at {
        Some(t) => sleep_until(t).await,
        None => std::future::pending().await,
    }
}
