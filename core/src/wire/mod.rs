//! One serde definition of the manager options and the job spec, read in the
//! spelling of each language that embeds the core.
//!
//! The structs ([`crate::JobSpec`], [`crate::ManagerOptions`]) derive
//! `Deserialize` once, with snake_case field names and durations as
//! [`crate::units::duration`] fields. [`from_value`] reads a JSON value
//! written in a [`Style`]:
//!
//! - [`Style::Snake`] (Python, HTTP bodies, files): `allowed_tools`, durations
//!   in seconds (`timeout: 90`) or as text (`"10m"`).
//! - [`Style::Camel`] (JavaScript): `allowedTools`, durations in milliseconds
//!   under a key ending in `Ms` (`timeoutMs: 90000`) or as text.
//!
//! Unknown keys are errors that name them; every error names the field as the
//! caller spelled it (`defaultLimits.cpus`, `timeoutMs`). Keys of free-form
//! maps (`env`, `labels`, `variables`, `mcp_servers`) are never renamed. The
//! store reads its own JSON with plain `serde_json`, which ignores keys it
//! does not know (a newer node's fields).
//!
//! ```
//! use claude_jobs::{wire::{from_value, Style}, JobSpec};
//! let spec: JobSpec = from_value(
//!     serde_json::json!({"prompt": "hi", "allowedTools": ["Read"], "timeoutMs": 1500}),
//!     Style::Camel,
//! )?;
//! assert_eq!(spec.timeout, Some(std::time::Duration::from_millis(1500)));
//! let err = from_value::<JobSpec>(serde_json::json!({"prompt": "hi", "maxTurn": 3}), Style::Camel)
//!     .unwrap_err();
//! assert_eq!(err.field(), Some("maxTurn"));
//! # Ok::<(), claude_jobs::Error>(())
//! ```

use std::cell::RefCell;
use std::collections::BTreeMap;

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::{Error, Result};

mod de;

/// How the keys and durations of a JSON value are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// snake_case keys; durations in seconds (or text such as `"10m"`).
    Snake,
    /// camelCase keys; durations in milliseconds under `…Ms` keys (or text).
    Camel,
}

impl Style {
    /// A field path (`default_limits.cpus`) spelled in this style
    /// (`defaultLimits.cpus`). Durations get their `Ms` suffix only where the
    /// caller wrote them (see [`Spelling`]); this is the plain conversion.
    pub fn spell(self, path: &str) -> String {
        match self {
            Style::Snake => path.to_string(),
            Style::Camel => path.split('.').map(camel).collect::<Vec<_>>().join("."),
        }
    }
}

/// Reads `T` from `value` written in `style`. Errors are `InvalidSpec` with
/// the field as the caller spelled it.
pub fn from_value<T: DeserializeOwned>(value: Value, style: Style) -> Result<T> {
    Ok(from_value_spelled(value, style)?.0)
}

/// Like [`from_value`], also returning how each field was spelled, so that
/// later errors about a field (from `validate()`) name it the same way.
pub fn from_value_spelled<T: DeserializeOwned>(value: Value, style: Style) -> Result<(T, Spelling)> {
    let spelling = Spelling {
        style,
        seen: RefCell::new(BTreeMap::new()),
    };
    let out = T::deserialize(de::Styled::root(value, style, &spelling)).map_err(|e| {
        let field = e.field.or_else(|| missing_field(&e.message));
        Error::InvalidSpec {
            field: field.unwrap_or_else(|| "value".into()),
            reason: e.message,
        }
    })?;
    Ok((out, spelling))
}

/// The spelling of the fields a caller gave: canonical path → their key path.
#[derive(Debug)]
pub struct Spelling {
    style: Style,
    seen: RefCell<BTreeMap<String, String>>,
}

impl Spelling {
    /// The caller's spelling of a canonical field path.
    pub fn of(&self, path: &str) -> String {
        self.seen
            .borrow()
            .get(path)
            .cloned()
            .unwrap_or_else(|| self.style.spell(path))
    }

    /// Re-spells the field of an `InvalidSpec` / `CapacityExceeded` error.
    pub fn error(&self, err: Error) -> Error {
        match err {
            Error::InvalidSpec { field, reason } => Error::InvalidSpec {
                field: self.of(&field),
                reason,
            },
            Error::CapacityExceeded { field, reason } => Error::CapacityExceeded {
                field: self.of(&field),
                reason,
            },
            Error::PolicyViolation { field, reason } => Error::PolicyViolation {
                field: self.of(&field),
                reason,
            },
            other => other,
        }
    }

    pub(crate) fn note(&self, canonical: String, spelled: String) {
        self.seen.borrow_mut().insert(canonical, spelled);
    }
}

/// serde's "missing field `x`" names the field only in its text.
fn missing_field(msg: &str) -> Option<String> {
    let rest = msg.strip_prefix("missing field `")?;
    Some(rest.split('`').next()?.to_string())
}

/// `allowed_tools` → `allowedTools`.
pub(crate) fn camel(snake: &str) -> String {
    let mut out = String::with_capacity(snake.len());
    let mut up = false;
    for c in snake.chars() {
        if c == '_' {
            up = true;
        } else if up {
            out.extend(c.to_uppercase());
            up = false;
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests;
