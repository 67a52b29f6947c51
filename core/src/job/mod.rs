//! A job's shared record and its handle.
//!
//! - [`JobCell`] (`cell.rs`): the one in-memory record of a job that handles,
//!   the runner and the manager share: spec, latest info, event log, the
//!   "done" signal and the stop request.
//! - [`Stop`] (`stop.rs`): why a running job is stopped, one enum for the
//!   requests from outside (cancel, shutdown, lost lease) and the runner's
//!   own reasons (timeouts, memory pressure, a CLI that lingers).
//! - [`Job`] (`handle.rs`): the public handle; it reaches the manager only
//!   through the [`Control`] trait, so this module depends on no manager.
//!
//! A job is ended only by the manager's `end` (see `manager/end.rs`), which
//! calls [`JobCell::record_end`] and [`JobCell::wake`].

mod cell;
mod handle;
mod stop;

pub(crate) use cell::{JobCell, Running};
pub(crate) use handle::Control;
pub use handle::Job;
pub(crate) use stop::Stop;
