//! JSON → Python: [`json_to_py`] turns a `serde_json::Value` into plain
//! Python objects (dict, list, str, int, float, bool, None); the core's
//! serde types reach Python through it. (Python → JSON is `wire.rs`.)

use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyList, PyString};

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

/// A JSON value that becomes plain Python objects when a future's result is
/// converted (with the GIL, outside the tokio workers), or when a record's
/// attribute is read (a new object each time: the record stays immutable).
#[derive(Clone, Debug)]
pub struct Json(pub serde_json::Value);

impl Json {
    /// Any serializable core value.
    pub fn of<T: serde::Serialize>(value: &T) -> Json {
        Json(serde_json::to_value(value).unwrap_or(serde_json::Value::Null))
    }
}

impl<'py> IntoPyObject<'py> for Json {
    type Target = PyAny;
    type Output = Bound<'py, PyAny>;
    type Error = PyErr;

    fn into_pyobject(self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        json_to_py(py, &self.0)
    }
}

impl<'py> IntoPyObject<'py> for &Json {
    type Target = PyAny;
    type Output = Bound<'py, PyAny>;
    type Error = PyErr;

    fn into_pyobject(self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        json_to_py(py, &self.0)
    }
}
