//! How errors cross into JavaScript.
//!
//! Every failure of the addon (a core [`claude_jobs::Error`], or a bad option
//! found while converting a JS object) becomes a napi error whose message is
//! [`PREFIX`] followed by a JSON payload `{code, message, field?, jobId?}`.
//! `index.js` recognises the prefix and rethrows a `ClaudeJobsError` with
//! `err.code`, `err.field` and `err.jobId` as properties. The code comes from
//! [`claude_jobs::ErrorKind::code`], never from parsing a message.

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
    pub job_id: Option<String>,
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
        napi::Error::new(
            napi::Status::GenericFailure,
            format!("{PREFIX}{}", Value::Object(payload)),
        )
    }
}

impl From<Error> for JsError {
    fn from(e: Error) -> Self {
        let kind = e.kind();
        // Field errors are reworded with the JS name (`invalid timeoutMs: …`).
        let (field, message) = match &e {
            Error::InvalidSpec { field, reason, .. } => {
                let js = js_field_name(field);
                (Some(js.clone()), format!("invalid {js}: {reason}"))
            }
            Error::CapacityExceeded { field, reason, .. } => {
                let js = js_field_name(field);
                (Some(js.clone()), format!("{js} {reason}"))
            }
            // Template errors name a template variable: the caller's own word.
            Error::Template { field, .. } => (field.clone(), e.to_string()),
            _ => (e.field().map(js_field_name), e.to_string()),
        };
        JsError {
            code: kind.code(),
            message,
            field,
            job_id: e.job_id().map(str::to_string),
        }
    }
}

impl From<JsError> for napi::Error {
    fn from(e: JsError) -> Self {
        e.into_napi()
    }
}

/// Converts a core error for a `?` in a function returning `napi::Result`.
pub(crate) fn core(e: Error) -> napi::Error {
    JsError::from(e).into_napi()
}

/// The JavaScript spelling of a core field or option name (`idle_timeout` →
/// `idleTimeoutMs`, `claude_bin` → `claudeBin`).
pub(crate) fn js_field_name(core_name: &str) -> String {
    match core_name {
        "timeout" => "timeoutMs".into(),
        "idle_timeout" => "idleTimeoutMs".into(),
        other => camel_case(other),
    }
}

/// `snake_case` → `camelCase`.
pub(crate) fn camel_case(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut upper = false;
    for c in s.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn core_field_names_are_spelled_for_javascript() {
        assert_eq!(js_field_name("timeout"), "timeoutMs");
        assert_eq!(js_field_name("idle_timeout"), "idleTimeoutMs");
        assert_eq!(js_field_name("max_budget_usd"), "maxBudgetUsd");
        assert_eq!(js_field_name("memory"), "memory");
        assert_eq!(js_field_name("claude_bin"), "claudeBin");
    }

    #[test]
    fn job_not_found_carries_the_id() {
        let e = JsError::from(Error::JobNotFound { id: "abc".into() });
        assert_eq!(e.code, "JOB_NOT_FOUND");
        assert_eq!(e.job_id.as_deref(), Some("abc"));
    }
}
