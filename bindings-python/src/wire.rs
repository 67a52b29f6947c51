//! Python values ⇄ the core's serde types, in Python's spelling.
//!
//! In: keyword arguments become one JSON value ([`to_json`]: None, bool,
//! int, float, str, list, tuple, dict; `os.PathLike` as its path,
//! `datetime.timedelta` as seconds, a `Job` as its id) that the core reads
//! with [`claude_jobs::wire`] in [`Style::Snake`]: the core names unknown
//! keys and bad values. Nothing here knows a field.
//!
//! Out: [`spec_to_json`] gives a job's spec with durations in seconds, the
//! unit the caller used, so `submit(**job.spec())` submits the same job.

use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use claude_jobs::wire::{from_value, from_value_spelled, Spelling, Style};

use crate::errors::{invalid, IntoPyResult};
use crate::job::Job;

/// Reads `T` from keyword arguments; a keyword given as `None` counts as
/// not given. Errors are `InvalidSpecError` naming the key.
pub fn read<T: DeserializeOwned>(kwargs: Option<&Bound<'_, PyDict>>) -> PyResult<(T, Spelling)> {
    let mut map = Map::new();
    if let Some(kwargs) = kwargs {
        for (k, v) in kwargs.iter() {
            let key: String = k.extract()?;
            if !v.is_none() {
                let value = to_json(&v, &key)?;
                map.insert(key, value);
            }
        }
    }
    from_value_spelled(Value::Object(map), Style::Snake).py_err()
}

/// The JSON value of a Python argument; `path` names it in errors.
pub fn to_json(obj: &Bound<'_, PyAny>, path: &str) -> PyResult<Value> {
    if obj.is_none() {
        Ok(Value::Null)
    } else if let Ok(b) = obj.cast::<PyBool>() {
        Ok(Value::Bool(b.is_true()))
    } else if obj.is_instance_of::<PyInt>() {
        match obj.extract::<i64>() {
            Ok(i) => Ok(i.into()),
            Err(_) => obj.extract::<u64>().map(Value::from).map_err(|_| invalid(path, "integer out of range")),
        }
    } else if obj.is_instance_of::<PyFloat>() {
        let x: f64 = obj.extract()?;
        serde_json::Number::from_f64(x)
            .map(Value::Number)
            .ok_or_else(|| invalid(path, format!("must be a finite number, got {x}")))
    } else if let Ok(s) = obj.cast::<PyString>() {
        Ok(Value::String(s.to_cow()?.into_owned()))
    } else if let Ok(job) = obj.cast::<Job>() {
        Ok(Value::String(job.get().id_str()?.to_owned()))
    } else if let Ok(d) = obj.cast::<PyDict>() {
        let mut map = Map::new();
        for (k, v) in d.iter() {
            let Ok(key) = k.cast::<PyString>() else {
                return Err(invalid(path, format!("keys must be strings, found {}", type_name(&k))));
            };
            let key = key.to_cow()?.into_owned();
            let value = to_json(&v, &format!("{path}.{key}"))?;
            map.insert(key, value);
        }
        Ok(Value::Object(map))
    } else if obj.is_instance_of::<PyList>() || obj.is_instance_of::<PyTuple>() {
        let items: PyResult<Vec<Value>> = obj.try_iter()?.map(|item| to_json(&item?, path)).collect();
        Ok(Value::Array(items?))
    } else {
        other_to_json(obj, path)
    }
}

/// Paths (`os.PathLike`) and durations (`datetime.timedelta`).
fn other_to_json(obj: &Bound<'_, PyAny>, path: &str) -> PyResult<Value> {
    let py = obj.py();
    let os = py.import("os")?;
    if obj.is_instance(&os.getattr("PathLike")?)? {
        return to_json(&os.call_method1("fspath", (obj,))?, path);
    }
    if obj.is_instance(&py.import("datetime")?.getattr("timedelta")?)? {
        return to_json(&obj.call_method0("total_seconds")?, path);
    }
    Err(invalid(path, format!("unsupported type {}", type_name(obj))))
}

fn type_name(obj: &Bound<'_, PyAny>) -> String {
    obj.get_type().name().map(|n| n.to_string()).unwrap_or_else(|_| "?".into())
}

/// A job's spec as plain JSON for Python: the core's snake_case keys, with
/// each duration (the core serializes milliseconds) in seconds. Which keys
/// are durations is asked of the core (see [`is_duration`]).
pub fn spec_to_json(spec: &claude_jobs::JobSpec) -> Value {
    let Ok(Value::Object(map)) = serde_json::to_value(spec) else { return Value::Null };
    let out = map
        .into_iter()
        .map(|(k, v)| match v.as_f64() {
            Some(ms) if is_duration::<claude_jobs::JobSpec>(&k) => (k, Value::from(ms / 1000.0)),
            _ => (k, v),
        })
        .collect();
    Value::Object(out)
}

/// Whether the field `key` of `T` is a duration: the core's camelCase
/// reading takes a `…Ms` key for durations only.
pub fn is_duration<T: DeserializeOwned>(key: &str) -> bool {
    let probe = serde_json::json!({ format!("{}Ms", Style::Camel.spell(key)): 1 });
    from_value::<T>(probe, Style::Camel).is_ok()
}

/// A duration argument: seconds, `timedelta` or text such as `"10s"`.
pub fn duration_arg(obj: &Bound<'_, PyAny>, field: &str) -> PyResult<std::time::Duration> {
    let secs = match to_json(obj, field)? {
        Value::String(s) => claude_jobs::parse_duration(&s).map_err(|e| invalid(field, e))?.as_secs_f64(),
        v => v.as_f64().ok_or_else(|| invalid(field, "expected seconds or a duration such as \"10s\""))?,
    };
    std::time::Duration::try_from_secs_f64(secs).map_err(|e| invalid(field, e.to_string()))
}
