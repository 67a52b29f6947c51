//! The one error type of the crate, with stable kinds that the bindings map to
//! Python exception classes and JavaScript `error.code` strings.

use std::fmt;

/// A stable classification of [`Error`]s. New kinds may be added; existing
/// names and codes never change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A job spec (or a manager option) has a field with a bad value.
    InvalidSpec,
    /// No job with that id is known to the manager or its store.
    JobNotFound,
    /// The Claude CLI could not be found or started.
    SpawnFailed,
    /// cgroups were required but could not be created, written or read back.
    Isolation,
    /// An instruction template is unknown, or its variables do not fit.
    Template,
    /// The job store failed (database error, corrupt row, migration failure).
    Store,
    /// The manager is shutting down and takes no new work.
    ShuttingDown,
    /// The job asks for more than the manager can ever give it (memory or CPU budget).
    CapacityExceeded,
    /// An I/O error in the manager itself (data dir, logs).
    Io,
    /// The spec breaks the manager's policy (a tool, a cap, an option it does not allow).
    PolicyViolation,
    /// A tenant's quota is used up (queued jobs, daily budget).
    QuotaExceeded,
}

impl ErrorKind {
    /// The stable code used by the Node binding (`err.code`) and in JSON output.
    pub fn code(self) -> &'static str {
        match self {
            ErrorKind::InvalidSpec => "INVALID_SPEC",
            ErrorKind::JobNotFound => "JOB_NOT_FOUND",
            ErrorKind::SpawnFailed => "SPAWN_FAILED",
            ErrorKind::Isolation => "ISOLATION_FAILED",
            ErrorKind::Template => "TEMPLATE_ERROR",
            ErrorKind::Store => "STORE_ERROR",
            ErrorKind::ShuttingDown => "SHUTTING_DOWN",
            ErrorKind::CapacityExceeded => "CAPACITY_EXCEEDED",
            ErrorKind::Io => "IO_ERROR",
            ErrorKind::PolicyViolation => "POLICY_VIOLATION",
            ErrorKind::QuotaExceeded => "QUOTA_EXCEEDED",
        }
    }

    /// Every kind, in a stable order (used to generate binding tables and docs).
    pub const ALL: [ErrorKind; 11] = [
        ErrorKind::InvalidSpec,
        ErrorKind::JobNotFound,
        ErrorKind::SpawnFailed,
        ErrorKind::Isolation,
        ErrorKind::Template,
        ErrorKind::Store,
        ErrorKind::ShuttingDown,
        ErrorKind::CapacityExceeded,
        ErrorKind::Io,
        ErrorKind::PolicyViolation,
        ErrorKind::QuotaExceeded,
    ];
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// Errors returned by the manager. Use [`Error::kind`] to branch on them;
/// [`Error::field`] and [`Error::job_id`] name what the error is about.
///
/// ```
/// use claude_jobs::{JobSpec, ErrorKind};
/// let err = JobSpec::builder().prompt("").build().unwrap_err();
/// assert_eq!(err.kind(), ErrorKind::InvalidSpec);
/// assert_eq!(err.field(), Some("prompt"));
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A field of a job spec or manager option is invalid.
    #[error("invalid {field}: {reason}")]
    InvalidSpec { field: String, reason: String },
    /// The job id is unknown.
    #[error("job {id} not found")]
    JobNotFound { id: String },
    /// The CLI could not be started.
    #[error("cannot start the Claude CLI ({path}): {reason}")]
    Spawn {
        path: String,
        reason: String,
        #[source]
        source: Option<std::io::Error>,
    },
    /// cgroups were required but are unusable.
    #[error("cgroup isolation failed: {0}")]
    Isolation(String),
    /// A template problem; `field` names the variable or template.
    #[error("template {template}: {reason}")]
    Template {
        template: String,
        field: Option<String>,
        reason: String,
    },
    /// The store failed.
    #[error("job store: {0}")]
    Store(String),
    /// The manager is shutting down.
    #[error("the job manager is shutting down")]
    ShuttingDown,
    /// The job can never fit the manager's budget.
    #[error("{field} {reason}")]
    CapacityExceeded { field: String, reason: String },
    /// I/O error in the manager.
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
    /// The spec breaks the policy; `field` names what.
    #[error("policy: {field} {reason}")]
    PolicyViolation { field: String, reason: String },
    /// A tenant's quota is used up; `retry_after` says when it may be tried again.
    #[error("quota of tenant {tenant}: {reason}")]
    QuotaExceeded {
        tenant: String,
        reason: String,
        retry_after: Option<std::time::Duration>,
    },
}

impl Error {
    /// The stable kind of this error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::InvalidSpec { .. } => ErrorKind::InvalidSpec,
            Error::JobNotFound { .. } => ErrorKind::JobNotFound,
            Error::Spawn { .. } => ErrorKind::SpawnFailed,
            Error::Isolation(_) => ErrorKind::Isolation,
            Error::Template { .. } => ErrorKind::Template,
            Error::Store(_) => ErrorKind::Store,
            Error::ShuttingDown => ErrorKind::ShuttingDown,
            Error::CapacityExceeded { .. } => ErrorKind::CapacityExceeded,
            Error::Io { .. } => ErrorKind::Io,
            Error::PolicyViolation { .. } => ErrorKind::PolicyViolation,
            Error::QuotaExceeded { .. } => ErrorKind::QuotaExceeded,
        }
    }

    /// The spec field (or template variable) the error is about, if any.
    pub fn field(&self) -> Option<&str> {
        match self {
            Error::InvalidSpec { field, .. }
            | Error::CapacityExceeded { field, .. }
            | Error::PolicyViolation { field, .. } => Some(field),
            Error::QuotaExceeded { .. } => Some("tenant"),
            Error::Template { field, .. } => field.as_deref(),
            Error::Spawn { .. } => Some("claude_bin"),
            _ => None,
        }
    }

    /// How long to wait before trying again (`QuotaExceeded`), if known.
    pub fn retry_after(&self) -> Option<std::time::Duration> {
        match self {
            Error::QuotaExceeded { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// The job id the error is about, if any.
    pub fn job_id(&self) -> Option<&str> {
        match self {
            Error::JobNotFound { id } => Some(id),
            _ => None,
        }
    }

    /// True for a store or I/O error that says the disk is full (no space
    /// left, SQLite's "database or disk is full"): retrying will not help.
    pub fn is_disk_full(&self) -> bool {
        let io_full = match self {
            Error::Io { source, .. } => source.raw_os_error() == Some(libc::ENOSPC),
            _ => false,
        };
        io_full || says_disk_full(&self.to_string())
    }

    pub(crate) fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Error::InvalidSpec {
            field: field.into(),
            reason: reason.into(),
        }
    }

    pub(crate) fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Error::Io {
            context: context.into(),
            source,
        }
    }
}

/// True when an error's text says the disk is full.
pub(crate) fn says_disk_full(text: &str) -> bool {
    let t = text.to_ascii_lowercase();
    t.contains("disk is full") || t.contains("no space left on device") || t.contains("disk full")
}

/// `Result` with the crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
