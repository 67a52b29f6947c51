//! The binding's tokio runtime, rebuilt after `fork()`.
//!
//! `pyo3_async_runtimes::tokio` keeps its runtime in a `OnceLock` that can
//! never be replaced. Tokio's worker threads do not survive `fork()`, so a
//! child process (multiprocessing's `fork` start method, gunicorn workers)
//! that inherited such a runtime would hang on its first `await`.
//!
//! Like lancedb's binding, we keep our own runtime behind a raw pointer and
//! plug it into `pyo3_async_runtimes` through its `generic` traits. A
//! `pthread_atfork` child handler (registered when the module is imported)
//! clears the pointer with plain atomic stores, the only safe thing to do in
//! a freshly forked child; the next call builds a new runtime there.
//!
//! Runtimes are never freed: one is built per process (plus one per fork in
//! the child), and a runtime that is dropped from one of its own worker
//! threads panics. Leaking is cheap and always safe; it also lets
//! [`runtime`] hand out `&'static` references.

use std::future::Future;
use std::pin::Pin;
use std::ptr;
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicUsize, Ordering};
use std::sync::Once;
use std::task::{Context, Poll, Waker};

use pyo3::conversion::IntoPyObject;
use pyo3::intern;
use pyo3::IntoPyObjectExt;
use pyo3::prelude::*;
use pyo3_async_runtimes::generic::{ContextExt, JoinError, Runtime as GenericRuntime};
use pyo3_async_runtimes::TaskLocals;
use tokio::runtime::Runtime;

/// The current runtime (`Box::into_raw`, never freed), or null.
static RUNTIME: AtomicPtr<Runtime> = AtomicPtr::new(ptr::null_mut());
/// A spin lock around building the runtime. Not a `Mutex`: the fork handler
/// must be able to release it with one atomic store, whichever (now
/// vanished) thread held it in the parent.
static BUILDING: AtomicBool = AtomicBool::new(false);
static ATFORK: Once = Once::new();
/// Tasks spawned through [`ForkSafeRuntime`] that have not ended: each may
/// take the GIL once more (to complete its asyncio future).
static IN_FLIGHT: AtomicUsize = AtomicUsize::new(0);

/// Counts a task in [`IN_FLIGHT`] until dropped.
struct InFlight;

impl InFlight {
    fn new() -> InFlight {
        IN_FLIGHT.fetch_add(1, Ordering::SeqCst);
        InFlight
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        IN_FLIGHT.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Waits, with the GIL released, up to `timeout_s` seconds for the tasks the
/// binding spawned to end. Registered with `atexit` at import: a task that
/// took the GIL while the interpreter finalizes is ended by CPython in the
/// middle of the call, and the objects it then dropped crashed the process
/// (SIGSEGV after the script's last line). Returns at once when none runs.
#[pyfunction]
#[pyo3(name = "_drain_at_exit")]
pub fn drain_at_exit(py: Python<'_>, timeout_s: f64) {
    if IN_FLIGHT.load(Ordering::SeqCst) == 0 {
        return;
    }
    let end = std::time::Instant::now() + std::time::Duration::from_secs_f64(timeout_s.max(0.0));
    py.detach(|| {
        while IN_FLIGHT.load(Ordering::SeqCst) > 0 && std::time::Instant::now() < end {
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
    });
}

/// The runtime of this process, built on first use (and again after fork).
pub fn runtime() -> &'static Runtime {
    let p = RUNTIME.load(Ordering::Acquire);
    if !p.is_null() {
        // SAFETY: the pointer came from `Box::into_raw` and is never freed.
        return unsafe { &*p };
    }
    while BUILDING
        .compare_exchange_weak(false, true, Ordering::AcqRel, Ordering::Acquire)
        .is_err()
    {
        std::thread::yield_now();
    }
    let _unlock = Unlock;
    let p = RUNTIME.load(Ordering::Acquire);
    if !p.is_null() {
        // SAFETY: as above.
        return unsafe { &*p };
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("claude-jobs-rt")
        .build()
        .unwrap_or_else(|e| panic!("cannot start the tokio runtime: {e}"));
    let p = Box::into_raw(Box::new(rt));
    RUNTIME.store(p, Ordering::Release);
    // SAFETY: just created, never freed.
    unsafe { &*p }
}

/// Releases [`BUILDING`] on scope exit, also when building panics.
struct Unlock;

impl Drop for Unlock {
    fn drop(&mut self) {
        BUILDING.store(false, Ordering::Release);
    }
}

/// Runs in the child right after `fork()`: forget the parent's runtime (its
/// threads are gone) so that the next [`runtime`] call builds a fresh one.
/// Plain atomic stores only: nothing else is safe here.
extern "C" fn after_fork_in_child() {
    RUNTIME.store(ptr::null_mut(), Ordering::SeqCst);
    BUILDING.store(false, Ordering::SeqCst);
    IN_FLIGHT.store(0, Ordering::SeqCst);
    claude_jobs::store::fork_gate::reset_in_child();
}

/// Before `fork()`: SQLite store operations of every manager in the process
/// finish and new ones wait (see `claude_jobs::store::fork_gate`), so the
/// child never inherits one of SQLite's locks held mid-call.
extern "C" fn before_fork() {
    claude_jobs::store::fork_gate::pause(std::time::Duration::from_secs(2));
}

extern "C" fn after_fork_in_parent() {
    claude_jobs::store::fork_gate::resume();
}

/// Registers the fork handlers once per process (called at import).
pub fn install_fork_handler() {
    ATFORK.call_once(|| {
        // SAFETY: the child handler only performs atomic stores; the prepare
        // and parent handlers run in the forking thread as ordinary code.
        unsafe {
            libc::pthread_atfork(
                Some(before_fork),
                Some(after_fork_in_parent),
                Some(after_fork_in_child),
            );
        }
    });
}

/// Runs the future `make()` returns to completion on the runtime, with the
/// GIL released, for the synchronous entry points (the `JobManager`
/// constructor). The future is made on the blocking thread, so it need not
/// be `Send` itself.
pub fn block_on<M, F>(py: Python<'_>, make: M) -> F::Output
where
    M: FnOnce() -> F + Send,
    F: Future,
    F::Output: Send,
{
    py.detach(move || runtime().block_on(make()))
}

/// The process id, to tell objects inherited across `fork()` from ours.
pub fn current_pid() -> u32 {
    std::process::id()
}

/// Marker type that plugs [`runtime`] into `pyo3_async_runtimes::generic`.
pub struct ForkSafeRuntime;

/// `tokio::task::JoinError` in a newtype (orphan rule).
pub struct TaskJoinError(tokio::task::JoinError);

impl JoinError for TaskJoinError {
    fn is_panic(&self) -> bool {
        self.0.is_panic()
    }
    fn into_panic(self) -> Box<dyn std::any::Any + Send + 'static> {
        self.0.into_panic()
    }
}

type BoxedJoin = Pin<Box<dyn Future<Output = Result<(), TaskJoinError>> + Send>>;

impl GenericRuntime for ForkSafeRuntime {
    type JoinError = TaskJoinError;
    type JoinHandle = BoxedJoin;

    fn spawn<F>(fut: F) -> Self::JoinHandle
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let guard = InFlight::new();
        let handle = runtime().spawn(async move {
            let _guard = guard;
            fut.await
        });
        Box::pin(async move { handle.await.map_err(TaskJoinError) })
    }

    fn spawn_blocking<F>(f: F) -> Self::JoinHandle
    where
        F: FnOnce() + Send + 'static,
    {
        let guard = InFlight::new();
        let handle = runtime().spawn_blocking(move || {
            let _guard = guard;
            f()
        });
        Box::pin(async move { handle.await.map_err(TaskJoinError) })
    }
}

tokio::task_local! {
    static TASK_LOCALS: std::cell::OnceCell<TaskLocals>;
}

impl ContextExt for ForkSafeRuntime {
    fn scope<F, R>(locals: TaskLocals, fut: F) -> Pin<Box<dyn Future<Output = R> + Send>>
    where
        F: Future<Output = R> + Send + 'static,
    {
        let cell = std::cell::OnceCell::new();
        let _ = cell.set(locals);
        Box::pin(TASK_LOCALS.scope(cell, fut))
    }

    fn get_task_locals() -> Option<TaskLocals> {
        TASK_LOCALS.try_with(|c| c.get().cloned()).unwrap_or_default()
    }
}

/// `pyo3_async_runtimes::tokio::future_into_py` on the fork-safe runtime:
/// returns an asyncio future at once; `fut` runs on tokio without the GIL.
/// Needs a running asyncio loop in the calling thread.
pub fn future_into_py<F, T>(py: Python<'_>, fut: F) -> PyResult<Bound<'_, PyAny>>
where
    F: Future<Output = PyResult<T>> + Send + 'static,
    T: for<'py> IntoPyObject<'py> + Send + 'static,
{
    pyo3_async_runtimes::generic::future_into_py::<ForkSafeRuntime, _, T>(py, fut)
}

/// [`future_into_py`] for the calls that are often done at once (a submit
/// to the memory store, the wait of a finished job): `fut` is polled once
/// here first, in the runtime's context, and when it is ready the asyncio
/// future comes back already done. That skips the round trip a pending one
/// takes (two tokio tasks, a blocking thread for the GIL, then
/// `call_soon_threadsafe` waking the event loop). Only for futures that do
/// no blocking work before their first await point: the first poll runs on
/// the event loop's thread, with the GIL held.
pub fn eager_future_into_py<F, T>(py: Python<'_>, fut: F) -> PyResult<Bound<'_, PyAny>>
where
    F: Future<Output = PyResult<T>> + Send + 'static,
    T: for<'py> IntoPyObject<'py> + Send + 'static,
{
    let event_loop = pyo3_async_runtimes::get_running_loop(py)?;
    let mut fut = Box::pin(fut);
    let first = {
        let _context = runtime().enter();
        fut.as_mut().poll(&mut Context::from_waker(Waker::noop()))
    };
    match first {
        Poll::Ready(result) => done_future(&event_loop, result.and_then(|v| v.into_py_any(py))),
        Poll::Pending => {
            let locals = TaskLocals::new(event_loop).copy_context(py)?;
            pyo3_async_runtimes::generic::future_into_py_with_locals::<ForkSafeRuntime, _, T>(
                py, locals, fut,
            )
        }
    }
}

/// A future of `event_loop` that is already done: `result`, or its exception.
fn done_future<'py>(
    event_loop: &Bound<'py, PyAny>,
    result: PyResult<Py<PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    let py = event_loop.py();
    let fut = event_loop.call_method0(intern!(py, "create_future"))?;
    match result {
        Ok(v) => fut.call_method1(intern!(py, "set_result"), (v,))?,
        Err(e) => fut.call_method1(intern!(py, "set_exception"), (e.into_value(py),))?,
    };
    Ok(fut)
}
