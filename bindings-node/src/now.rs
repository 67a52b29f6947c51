//! Core futures that are often ready at once, answered without a Promise.
//!
//! A napi `async fn` always settles its Promise from tokio: a task, a new
//! threadsafe function and a wake-up of the JS event loop per call. A submit
//! to the memory store or the wait of a finished job needs none of that: the
//! future is polled once here, on the JS thread, and its value returned as
//! is. `index.js` awaits either, so the public methods still return Promises.

use std::future::Future;
use std::task::{Context, Poll, Waker};

use napi::bindgen_prelude::{within_runtime_if_available, Either, PromiseRaw, ToNapiValue};
use napi::Env;

/// `fut`'s value when it is ready on the first poll (its error thrown), else
/// a Promise of it that tokio settles.
pub(crate) fn now_or_promise<T, F>(env: &Env, fut: F) -> napi::Result<Either<T, PromiseRaw<'_, T>>>
where
    T: ToNapiValue + Send + 'static,
    F: Future<Output = napi::Result<T>> + Send + 'static,
{
    let mut fut = Box::pin(fut);
    let first =
        within_runtime_if_available(|| fut.as_mut().poll(&mut Context::from_waker(Waker::noop())));
    match first {
        Poll::Ready(result) => result.map(Either::A),
        Poll::Pending => env.spawn_future(fut).map(Either::B),
    }
}
