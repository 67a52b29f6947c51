//! Conversions between Python values and the core's types.
//!
//! Python → Rust: every keyword argument is read through one of the
//! `*_arg` functions, which turn a value of the wrong type into an
//! `InvalidSpecError` naming the field (never a bare `TypeError`).
//! Rust → Python: [`json_to_py`] turns a `serde_json::Value` into plain
//! Python objects (dict, list, str, int, float, bool, None).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString};

use crate::errors::invalid;

/// The Python type name of `obj`, for messages.
fn type_name(obj: &Bound<'_, PyAny>) -> String {
    obj.get_type()
        .name()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "?".into())
}

/// `None` for a missing or `None` argument.
fn present<'a, 'py>(obj: Option<&'a Bound<'py, PyAny>>) -> Option<&'a Bound<'py, PyAny>> {
    obj.filter(|o| !o.is_none())
}

/// A string.
pub fn str_arg(field: &str, obj: Option<&Bound<'_, PyAny>>) -> PyResult<Option<String>> {
    let Some(o) = present(obj) else { return Ok(None) };
    if let Ok(s) = o.cast::<PyString>() {
        return Ok(Some(s.to_cow()?.into_owned()));
    }
    Err(invalid(field, format!("expected a string, got {}", type_name(o))))
}

/// A path: `str` or `os.PathLike`.
pub fn path_arg(field: &str, obj: Option<&Bound<'_, PyAny>>) -> PyResult<Option<PathBuf>> {
    let Some(o) = present(obj) else { return Ok(None) };
    o.extract::<PathBuf>()
        .map(Some)
        .map_err(|_| invalid(field, format!("expected a path (str or os.PathLike), got {}", type_name(o))))
}

/// An integer (bools are refused).
pub fn int_arg<T>(field: &str, obj: Option<&Bound<'_, PyAny>>, what: &str) -> PyResult<Option<T>>
where
    T: for<'a, 'py> FromPyObject<'a, 'py>,
{
    let Some(o) = present(obj) else { return Ok(None) };
    if o.is_instance_of::<PyBool>() || !o.is_instance_of::<PyInt>() {
        return Err(invalid(field, format!("expected {what}, got {}", type_name(o))));
    }
    o.extract::<T>()
        .map(Some)
        .map_err(|_| invalid(field, format!("expected {what}, got {}", o.repr().map(|r| r.to_string()).unwrap_or_default())))
}

/// A float (ints accepted, bools refused).
pub fn float_arg(field: &str, obj: Option<&Bound<'_, PyAny>>, what: &str) -> PyResult<Option<f64>> {
    let Some(o) = present(obj) else { return Ok(None) };
    if o.is_instance_of::<PyBool>() || !(o.is_instance_of::<PyFloat>() || o.is_instance_of::<PyInt>()) {
        return Err(invalid(field, format!("expected {what}, got {}", type_name(o))));
    }
    let v: f64 = o.extract().map_err(|e: PyErr| invalid(field, e.to_string()))?;
    if !v.is_finite() {
        return Err(invalid(field, format!("expected {what}, got {v}")));
    }
    Ok(Some(v))
}

/// A bool.
pub fn bool_arg(field: &str, obj: Option<&Bound<'_, PyAny>>) -> PyResult<Option<bool>> {
    let Some(o) = present(obj) else { return Ok(None) };
    match o.cast::<PyBool>() {
        Ok(b) => Ok(Some(b.is_true())),
        Err(_) => Err(invalid(field, format!("expected True or False, got {}", type_name(o)))),
    }
}

/// A duration: seconds as int/float, a `datetime.timedelta`, or a string
/// such as `"30s"`, `"10m"`. Must be positive.
pub fn duration_arg(field: &str, obj: Option<&Bound<'_, PyAny>>) -> PyResult<Option<Duration>> {
    let Some(o) = present(obj) else { return Ok(None) };
    let secs = if let Ok(s) = o.cast::<PyString>() {
        claude_jobs::parse_duration(&s.to_cow()?)
            .map_err(|e| invalid(field, e))?
            .as_secs_f64()
    } else if o.hasattr("total_seconds")? && !o.is_instance_of::<PyInt>() {
        o.call_method0("total_seconds")?
            .extract::<f64>()
            .map_err(|_| invalid(field, "total_seconds() did not return a number"))?
    } else {
        float_arg(field, Some(o), "seconds (a number, a timedelta or a string like \"10m\")")?.unwrap_or(0.0)
    };
    if !secs.is_finite() || secs < 0.0 {
        return Err(invalid(field, format!("must be a positive number of seconds, got {secs}")));
    }
    Duration::try_from_secs_f64(secs)
        .map(Some)
        .map_err(|e| invalid(field, e.to_string()))
}

/// A byte size: an int (bytes) or a string such as `"512M"`, `"1.5G"`.
pub fn size_arg(field: &str, obj: Option<&Bound<'_, PyAny>>) -> PyResult<Option<u64>> {
    let Some(o) = present(obj) else { return Ok(None) };
    if let Ok(s) = o.cast::<PyString>() {
        return claude_jobs::parse_size(&s.to_cow()?).map(Some).map_err(|e| invalid(field, e));
    }
    int_arg::<u64>(field, Some(o), "a size in bytes (int) or a string like \"512M\"")
}

/// A list of strings (a list or tuple; a lone string is refused because it
/// would otherwise be taken character by character).
pub fn str_list_arg(field: &str, obj: Option<&Bound<'_, PyAny>>) -> PyResult<Option<Vec<String>>> {
    let Some(o) = present(obj) else { return Ok(None) };
    if o.is_instance_of::<PyString>() {
        return Err(invalid(field, "expected a list of strings, got a single string"));
    }
    let mut out = Vec::new();
    let iter = o
        .try_iter()
        .map_err(|_| invalid(field, format!("expected a list of strings, got {}", type_name(o))))?;
    for item in iter {
        let item = item?;
        match item.cast::<PyString>() {
            Ok(s) => out.push(s.to_cow()?.into_owned()),
            Err(_) => return Err(invalid(field, format!("expected strings, found {}", type_name(&item)))),
        }
    }
    Ok(Some(out))
}

/// A mapping of strings to strings. With `stringify`, int and float values
/// are accepted and turned into strings (template variables).
pub fn str_map_arg(
    field: &str,
    obj: Option<&Bound<'_, PyAny>>,
    stringify: bool,
) -> PyResult<Option<BTreeMap<String, String>>> {
    let Some(o) = present(obj) else { return Ok(None) };
    let dict = match o.cast::<PyDict>() {
        Ok(d) => d.clone(),
        Err(_) => {
            if !o.hasattr("keys")? {
                return Err(invalid(field, format!("expected a dict of strings, got {}", type_name(o))));
            }
            let builtins = o.py().import("builtins")?;
            builtins
                .getattr("dict")?
                .call1((o,))
                .and_then(|d| Ok(d.cast_into::<PyDict>()?))
                .map_err(|_| invalid(field, format!("expected a dict of strings, got {}", type_name(o))))?
        }
    };
    let mut out = BTreeMap::new();
    for (k, v) in dict.iter() {
        let key = match k.cast::<PyString>() {
            Ok(s) => s.to_cow()?.into_owned(),
            Err(_) => return Err(invalid(field, format!("keys must be strings, found {}", type_name(&k)))),
        };
        let value = if let Ok(s) = v.cast::<PyString>() {
            s.to_cow()?.into_owned()
        } else if stringify
            && !v.is_instance_of::<PyBool>()
            && (v.is_instance_of::<PyInt>() || v.is_instance_of::<PyFloat>())
        {
            v.str()?.to_cow()?.into_owned()
        } else {
            return Err(invalid(field, format!("value of {key:?} must be a string, got {}", type_name(&v))));
        };
        out.insert(key, value);
    }
    Ok(Some(out))
}

/// A Python object for a JSON value (the core's serde types go through this).
pub fn json_to_py<'py>(py: Python<'py>, v: &serde_json::Value) -> PyResult<Bound<'py, PyAny>> {
    use serde_json::Value;
    Ok(match v {
        Value::Null => py.None().into_bound(py),
        Value::Bool(b) => PyBool::new(py, *b).to_owned().into_any(),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                i.into_pyobject(py)?.into_any()
            } else if let Some(u) = n.as_u64() {
                u.into_pyobject(py)?.into_any()
            } else {
                n.as_f64().unwrap_or(f64::NAN).into_pyobject(py)?.into_any()
            }
        }
        Value::String(s) => PyString::new(py, s).into_any(),
        Value::Array(a) => {
            let list = PyList::empty(py);
            for x in a {
                list.append(json_to_py(py, x)?)?;
            }
            list.into_any()
        }
        Value::Object(m) => {
            let d = PyDict::new(py);
            for (k, x) in m {
                d.set_item(k, json_to_py(py, x)?)?;
            }
            d.into_any()
        }
    })
}

/// A dict for any serializable core value.
pub fn to_py_dict<'py, T: serde::Serialize>(py: Python<'py>, value: &T) -> PyResult<Bound<'py, PyAny>> {
    let v = serde_json::to_value(value)
        .map_err(|e| pyo3::exceptions::PyRuntimeError::new_err(format!("cannot convert to a dict: {e}")))?;
    json_to_py(py, &v)
}
