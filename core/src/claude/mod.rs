//! Driving the Claude Code CLI: its command line and environment, and its
//! stream-json output.

pub(crate) mod command;
pub(crate) mod lines;
pub(crate) mod stream;

pub use command::{resolve_program, DEFAULT_PASS_ENV, REMOVED_ENV};
