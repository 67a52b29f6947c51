//! How errors cross into JavaScript.
//!
//! Every failure of the addon (a core [`claude_jobs::Error`], or a bad option
//! found while converting a JS object) becomes a napi error whose message is
//! [`PREFIX`] followed by a JSON payload `{code, message, field?, jobId?}`.
//! `index.js` recognises the prefix and rethrows a `ClaudeJobsError` with
//! `err.code`, `err.field` and `err.jobId` as properties. The code comes from
//! [`claude_jobs::ErrorKind::code`], never from parsing a message.

use claude_jobs::wire::{Spelling, Style};
use claude_jobs::{Error, ErrorKind};
use serde_json::{json, Map, Value};

/// Marks a message that carries a JSON payload for `index.js`.
pub(crate) const PREFIX: &str = "claude-jobs-error:";

/// A JS-bound error: a stable code, words for people, and what it is about.
/// Cloneable so that a failed manager start can be reported to every caller.
#[derive(Debug, Clone)]
pub(crate) struct JsError {
    pub code: &'static str,
    pub message: String,
    /// The option or spec field, spelled as in JavaScript (`timeoutMs`).
    pub field: Option<String>,
    /// (`Box<str>`, as `tenant`: keeps `Result<_, JsError>` small.)
    pub job_id: Option<Box<str>>,
    /// How long to wait before trying again (`QUOTA_EXCEEDED`), in ms.
    pub retry_after_ms: Option<u64>,
    /// The tenant whose quota refused the job (`QUOTA_EXCEEDED`).
    pub tenant: Option<Box<str>>,
}

impl JsError {
    /// An `INVALID_SPEC` error about `field` (a JS name), worded like the
    /// core's: `invalid <field>: <reason>`.
    pub(crate) fn invalid(field: impl Into<String>, reason: impl std::fmt::Display) -> Self {
        let field = field.into();
        JsError {
            code: ErrorKind::InvalidSpec.code(),
            message: format!("invalid {field}: {reason}"),
            field: Some(field),
            job_id: None,
            retry_after_ms: None,
            tenant: None,
        }
    }

    /// The napi error that carries this payload to `index.js`.
    pub(crate) fn into_napi(self) -> napi::Error {
        let mut payload = Map::new();
        payload.insert("code".into(), json!(self.code));
        payload.insert("message".into(), json!(self.message));
        if let Some(f) = self.field {
            payload.insert("field".into(), json!(f));
        }
        if let Some(id) = self.job_id {
            payload.insert("jobId".into(), json!(id));
        }
        if let Some(ms) = self.retry_after_ms {
            payload.insert("retryAfterMs".into(), json!(ms));
        }
        if let Some(t) = self.tenant {
            payload.insert("tenant".into(), json!(t));
        }
        napi::Error::new(
            napi::Status::GenericFailure,
            format!("{PREFIX}{}", Value::Object(payload)),
        )
    }
}

impl From<Error> for JsError {
    /// A core error whose field is already spelled for JS (the `wire` read,
    /// or [`spelled`]): kept as is. Template errors name a template variable,
    /// the caller's own word.
    fn from(e: Error) -> Self {
        let field = match &e {
            Error::InvalidSpec { field, .. }
            | Error::CapacityExceeded { field, .. }
            | Error::PolicyViolation { field, .. } => Some(field.clone()),
            Error::Template { field, .. } => field.clone(),
            // The manager option at fault (`claude_bin` → `claudeBin`).
            other => other.field().map(|f| Style::Camel.spell(f)),
        };
        let tenant = match &e {
            Error::QuotaExceeded { tenant, .. } => Some(tenant.as_str().into()),
            _ => None,
        };
        JsError {
            code: e.kind().code(),
            message: e.to_string(),
            field,
            job_id: e.job_id().map(Into::into),
            // Rounded up: a caller that waits this long is not refused again
            // for want of a millisecond.
            retry_after_ms: e.retry_after().map(|d| d.as_micros().div_ceil(1000) as u64),
            tenant,
        }
    }
}

impl From<JsError> for napi::Error {
    fn from(e: JsError) -> Self {
        e.into_napi()
    }
}

/// A core error about an object the caller gave (options, spec, query): its
/// field spelled as the caller spelled it.
pub(crate) fn spelled(e: Error, spelling: &Spelling) -> JsError {
    JsError::from(spelling.error(e))
}

/// A core error with no object of the caller's to spell it from: fields in
/// plain camelCase.
pub(crate) fn core(e: Error) -> napi::Error {
    let e = match e {
        Error::InvalidSpec { field, reason } => Error::InvalidSpec {
            field: Style::Camel.spell(&field),
            reason,
        },
        Error::CapacityExceeded { field, reason } => Error::CapacityExceeded {
            field: Style::Camel.spell(&field),
            reason,
        },
        other => other,
    };
    JsError::from(e).into_napi()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_spelled_for_javascript() {
        let spawn = Error::Spawn { path: "x".into(), reason: "gone".into(), source: None };
        assert_eq!(JsError::from(spawn).field.as_deref(), Some("claudeBin"));
        let e = JsError::from(Error::InvalidSpec { field: "env.MY_VAR".into(), reason: "bad".into() });
        assert_eq!(e.field.as_deref(), Some("env.MY_VAR"));
    }

    #[test]
    fn quota_exceeded_carries_the_tenant_and_the_wait() {
        let e = JsError::from(Error::QuotaExceeded {
            tenant: "a".into(),
            reason: "full".into(),
            retry_after: Some(std::time::Duration::from_micros(1500)),
        });
        assert_eq!((e.code, e.tenant.as_deref(), e.retry_after_ms), ("QUOTA_EXCEEDED", Some("a"), Some(2)));
    }

    #[test]
    fn job_not_found_carries_the_id() {
        let e = JsError::from(Error::JobNotFound { id: "abc".into() });
        assert_eq!(e.code, "JOB_NOT_FOUND");
        assert_eq!(e.job_id.as_deref(), Some("abc"));
    }
}
