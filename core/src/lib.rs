//! # claude-jobs
//!
//! Run Claude Code CLI jobs (brand research, briefs, drafts, or any prompt)
//! as separate OS processes, each in its own Linux cgroup with CPU, memory
//! and process caps; a bounded number at once, the rest queued.
//!
//! - [`JobManager`]: submit a [`JobSpec`], get a [`Job`]; `wait`, `cancel`,
//!   `events`; `get`, `list`, `shutdown`.
//! - Each job: the prompt on the CLI's stdin, its stream-json output parsed
//!   into typed [`JobEvent`]s, raw stdout/stderr kept under
//!   `data_dir/jobs/<id>/`, timeouts and cancel that kill the whole process
//!   tree, and a final [`JobState`]: `succeeded`, `failed`, `cancelled`,
//!   `timed_out`, `oom_killed` or `interrupted`, with [`ResourceStats`].
//! - Errors: one [`Error`] type with a stable [`ErrorKind`].
//!
//! ## Quick start
//!
//! ```no_run
//! use std::time::Duration;
//! use claude_jobs::{JobManager, JobSpec, JobState};
//!
//! #[tokio::main]
//! async fn main() -> claude_jobs::Result<()> {
//!     let manager = JobManager::builder()
//!         .max_concurrent(3)
//!         .data_dir("./claude-jobs-data")
//!         .build()
//!         .await?;
//!     let spec = JobSpec::builder()
//!         .prompt("Write a one-paragraph brief for ACME's spring campaign.")
//!         .cpus(0.8)
//!         .memory("800M")
//!         .timeout(Duration::from_secs(300))
//!         .build()?;
//!     let job = manager.submit(spec).await?;
//!     let mut events = job.events(0);
//!     while let Some(ev) = events.next().await {
//!         println!("{:?}", ev.event);
//!     }
//!     let info = job.wait().await;
//!     assert!(info.state.is_final());
//!     if info.state == JobState::Succeeded {
//!         println!("{}", info.result.unwrap_or_default());
//!     }
//!     println!("peak memory: {} bytes", info.stats.peak_memory_bytes);
//!     manager.shutdown(Duration::from_secs(30)).await;
//!     Ok(())
//! }
//! ```

mod claude;
mod error;
mod events;
mod host;
mod isolation;
mod job;
mod limits;
mod manager;
mod metrics;
mod monitor;
mod options;
mod policy;
mod process;
mod redact;
mod run;
mod safe_fs;
mod schedule;
mod spec;
mod state;
pub mod store;
pub mod templates;
mod units;
mod util;
pub mod wire;

pub use claude::{resolve_program, DEFAULT_PASS_ENV, REMOVED_ENV};
pub use error::{Error, ErrorKind, Result};
pub use events::{EventRecord, EventStream, JobEvent, WarningKind};
pub use host::{available_memory, cpu_count};
pub use isolation::IsolationMode;
pub use job::Job;
pub use limits::{auto_concurrency, Concurrency, ResourceLimits, MAX_PIDS, MIN_MEMORY_BYTES};
pub use manager::{webhook_signature, JobManager, JobManagerBuilder, ManagerStatus, OutputFile, StoreHealth, Workflow};
pub use options::{
    CpuBudget, ManagerOptions, MemoryBudget, RecoveryPolicy, RetentionPolicy, RetryBackoff, Secret,
    MEMORY_RESERVE_BYTES,
};
pub use policy::{Allow, DefaultLimits, Policy, Rules, TenantPolicy, TenantQuota};
pub use units::{parse_duration, parse_size, MAX_DURATION};
pub use spec::{Effort, JobSpec, JobSpecBuilder, PermissionMode, RunAs, SettingSource};
pub use state::{IsolationKind, JobInfo, JobResult, JobState, PermissionDenial, ResourceStats, Usage};
pub use spec::{safe_file_name, OutputSpec};
pub use templates::{Template, TemplateSet, WorkflowDef, WorkflowStep};
pub use store::{JobPage, ListQuery};
pub use schedule::{CatchUp, Schedule, ScheduleOptions};

/// The README's examples, compiled as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;
