//! Keeps the embedded SQLite library quiet across `fork()`.
//!
//! SQLite's global locks (allocator, VFS) live in this process's memory. A
//! process that forks while one of its threads holds one gives the child a
//! lock nobody will release: the child's first SQLite call hangs. Python
//! services fork (gunicorn workers, multiprocessing), so the Python binding
//! calls [`pause`] from a `pthread_atfork` prepare handler: new store
//! operations wait, running ones finish, then the fork happens and
//! [`resume`] (parent) or [`reset_in_child`] (child) lets them go on.
//! Every SQLite store operation holds an [`enter`] guard.
//!
//! (Spawning a job's CLI uses `clone`, which runs no fork handlers.)

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::Notify;

static ACTIVE: AtomicUsize = AtomicUsize::new(0);
static PAUSED: AtomicBool = AtomicBool::new(false);
static RESUMED: Notify = Notify::const_new();

/// Marks a store operation as running until dropped.
pub(crate) struct Guard(());

impl Drop for Guard {
    fn drop(&mut self) {
        ACTIVE.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Waits while a fork is being prepared, then counts the caller in.
pub(crate) async fn enter() -> Guard {
    loop {
        if !PAUSED.load(Ordering::SeqCst) {
            ACTIVE.fetch_add(1, Ordering::SeqCst);
            if !PAUSED.load(Ordering::SeqCst) {
                return Guard(());
            }
            ACTIVE.fetch_sub(1, Ordering::SeqCst);
        }
        let resumed = RESUMED.notified();
        tokio::pin!(resumed);
        resumed.as_mut().enable();
        if PAUSED.load(Ordering::SeqCst) {
            resumed.await;
        }
    }
}

/// Stops new store operations and waits up to `timeout` for the running
/// ones to end. True when none runs (safe to fork).
pub fn pause(timeout: Duration) -> bool {
    PAUSED.store(true, Ordering::SeqCst);
    let end = Instant::now() + timeout;
    while ACTIVE.load(Ordering::SeqCst) > 0 {
        if Instant::now() >= end {
            return false;
        }
        std::thread::sleep(Duration::from_micros(200));
    }
    true
}

/// After the fork, in the parent: store operations go on.
pub fn resume() {
    PAUSED.store(false, Ordering::SeqCst);
    RESUMED.notify_waiters();
}

/// After the fork, in the child: only atomic stores (the threads that were
/// counted are gone; nothing waits here yet).
pub fn reset_in_child() {
    ACTIVE.store(0, Ordering::SeqCst);
    PAUSED.store(false, Ordering::SeqCst);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn pause_waits_for_running_operations_and_holds_new_ones() {
        let running = enter().await;
        let t = Instant::now();
        let paused = std::thread::spawn(move || (pause(Duration::from_secs(5)), t.elapsed()));
        // The thread may start late on a loaded machine: new operations wait
        // only once the pause has begun.
        while !PAUSED.load(Ordering::SeqCst) {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        let (tx, mut rx) = tokio::sync::oneshot::channel();
        let waiting = tokio::spawn(async move {
            let _g = enter().await;
            let _ = tx.send(());
        });
        drop(running);
        let (ok, waited) = paused.join().unwrap();
        assert!(ok, "no operation runs once the running one ended");
        assert!(
            waited >= Duration::from_millis(90),
            "pause waited for it: {waited:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(rx.try_recv().is_err(), "a new operation waits while paused");
        resume();
        waiting.await.unwrap();
        assert!(pause(Duration::from_millis(10)), "nothing left running");
        resume();
    }
}
