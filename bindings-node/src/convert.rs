//! Reading plain JS objects (arrived as `serde_json::Value`) field by field,
//! with errors that name the field as the caller spelled it.
//!
//! `undefined` members never arrive (napi skips them) and `null` counts as
//! absent, so `{ model: undefined }` and `{ model: null }` both mean "unset".
//! Unknown keys are errors: a typo such as `timeout` for `timeoutMs` must not
//! silently drop a limit.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use serde_json::{Map, Value};

use crate::errors::JsError;

pub(crate) type Result<T> = std::result::Result<T, JsError>;

/// A JS object being read; `prefix` makes nested names (`defaultLimits.memory`).
pub(crate) struct Fields<'a> {
    map: &'a Map<String, Value>,
    prefix: String,
    known: BTreeSet<&'static str>,
}

impl<'a> Fields<'a> {
    /// Reads `value` as an object; `what` names it in the error.
    pub(crate) fn of(value: &'a Value, what: &str) -> Result<Self> {
        match value {
            Value::Object(map) => Ok(Fields {
                map,
                prefix: String::new(),
                known: BTreeSet::new(),
            }),
            _ => Err(JsError::invalid(what, "must be an object")),
        }
    }

    /// A nested object under `key`, or `None` when absent.
    pub(crate) fn nested(&mut self, key: &'static str) -> Result<Option<Fields<'a>>> {
        let name = self.name(key);
        match self.get(key) {
            None => Ok(None),
            Some(Value::Object(map)) => Ok(Some(Fields {
                map,
                prefix: format!("{name}."),
                known: BTreeSet::new(),
            })),
            Some(_) => Err(JsError::invalid(name, "must be an object")),
        }
    }

    /// The full JS name of `key` (with the prefix of a nested object).
    pub(crate) fn name(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }

    fn get(&mut self, key: &'static str) -> Option<&'a Value> {
        self.known.insert(key);
        self.map.get(key).filter(|v| !v.is_null())
    }

    fn bad(&self, key: &str, expected: &str) -> JsError {
        JsError::invalid(self.name(key), format!("must be {expected}"))
    }

    /// The raw value (for fields that accept several types).
    pub(crate) fn raw(&mut self, key: &'static str) -> Option<&'a Value> {
        self.get(key)
    }

    pub(crate) fn string(&mut self, key: &'static str) -> Result<Option<String>> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(self.bad(key, "a string")),
        }
    }

    pub(crate) fn boolean(&mut self, key: &'static str) -> Result<Option<bool>> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(_) => Err(self.bad(key, "a boolean")),
        }
    }

    /// A finite number.
    pub(crate) fn number(&mut self, key: &'static str) -> Result<Option<f64>> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Number(n)) => match n.as_f64() {
                Some(f) if f.is_finite() => Ok(Some(f)),
                _ => Err(self.bad(key, "a finite number")),
            },
            Some(_) => Err(self.bad(key, "a number")),
        }
    }

    /// A whole number in `min..=max`.
    pub(crate) fn integer(&mut self, key: &'static str, min: i64, max: i64) -> Result<Option<i64>> {
        let Some(f) = self.number(key)? else {
            return Ok(None);
        };
        if f.fract() != 0.0 || f < min as f64 || f > max as f64 {
            return Err(self.bad(key, &format!("a whole number from {min} to {max}")));
        }
        Ok(Some(f as i64))
    }

    /// Milliseconds (a number ≥ 0; fractions are rounded to whole ms).
    pub(crate) fn millis(&mut self, key: &'static str) -> Result<Option<Duration>> {
        match self.number(key)? {
            None => Ok(None),
            Some(ms) if (0.0..=1e15).contains(&ms) => {
                Ok(Some(Duration::from_millis(ms.round() as u64)))
            }
            Some(_) => Err(self.bad(key, "a number of milliseconds, 0 or more")),
        }
    }

    /// An array of strings.
    pub(crate) fn strings(&mut self, key: &'static str) -> Result<Option<Vec<String>>> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Array(items)) => items
                .iter()
                .map(|v| {
                    v.as_str()
                        .map(str::to_string)
                        .ok_or_else(|| self.bad(key, "an array of strings"))
                })
                .collect::<Result<Vec<_>>>()
                .map(Some),
            Some(_) => Err(self.bad(key, "an array of strings")),
        }
    }

    /// An object whose values are strings (numbers and booleans are written
    /// as text, since template variables and labels often come from JSON).
    pub(crate) fn string_map(
        &mut self,
        key: &'static str,
    ) -> Result<Option<BTreeMap<String, String>>> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Object(m)) => {
                let mut out = BTreeMap::new();
                for (k, v) in m {
                    let text = match v {
                        Value::String(s) => s.clone(),
                        Value::Number(n) => n.to_string(),
                        Value::Bool(b) => b.to_string(),
                        _ => {
                            let name = format!("{}.{k}", self.name(key));
                            return Err(JsError::invalid(name, "must be a string"));
                        }
                    };
                    out.insert(k.clone(), text);
                }
                Ok(Some(out))
            }
            Some(_) => Err(self.bad(key, "an object of strings")),
        }
    }

    /// A byte size: a number of bytes or a string such as `"512M"`.
    pub(crate) fn size(&mut self, key: &'static str) -> Result<Option<u64>> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => claude_jobs::parse_size(s)
                .map(Some)
                .map_err(|reason| JsError::invalid(self.name(key), reason)),
            Some(Value::Number(_)) => match self.integer(key, 0, i64::MAX)? {
                Some(n) => Ok(Some(n as u64)),
                None => Ok(None),
            },
            Some(_) => Err(self.bad(
                key,
                "a size: a number of bytes or a string such as \"512M\"",
            )),
        }
    }

    /// Fails on any key that no accessor asked for.
    pub(crate) fn finish(self) -> Result<()> {
        for key in self.map.keys() {
            if !self.known.contains(key.as_str()) {
                let name = self.name(key);
                let known: Vec<&str> = self.known.iter().copied().collect();
                return Err(JsError::invalid(
                    name,
                    format!("unknown key (known: {})", known.join(", ")),
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn names_nested_and_unknown_fields() {
        let v = json!({"limits": {"memory": "lots"}, "oops": 1});
        let mut f = Fields::of(&v, "options").unwrap();
        let mut limits = f.nested("limits").unwrap().unwrap();
        assert_eq!(
            limits.size("memory").unwrap_err().field.as_deref(),
            Some("limits.memory")
        );
        assert_eq!(f.finish().unwrap_err().field.as_deref(), Some("oops"));
    }

    #[test]
    fn null_is_absent() {
        let v = json!({"model": null});
        let mut f = Fields::of(&v, "spec").unwrap();
        assert_eq!(f.string("model").unwrap(), None);
        f.finish().unwrap();
    }
}
