//! What the read-only result classes (`JobInfo`, `Usage`, `ResourceStats`,
//! `ResourceLimits`) share: attribute access *and* mapping access
//! (`info.state` and `info["state"]`, `keys()`, `get()`, `dict(info)`),
//! `to_dict()` giving JSON-ready plain values, `repr` and `==`.

use pyo3::exceptions::PyKeyError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyTuple};

/// `obj[key]` for a record with these field names.
pub fn getitem<'py>(obj: &Bound<'py, PyAny>, fields: &[&str], key: &str) -> PyResult<Bound<'py, PyAny>> {
    if fields.contains(&key) {
        obj.getattr(key)
    } else {
        Err(PyKeyError::new_err(key.to_owned()))
    }
}

/// A JSON-ready value: records become dicts, paths strings, lists and
/// dicts are converted item by item.
pub fn plain<'py>(v: Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    let py = v.py();
    if v.hasattr("to_dict")? {
        return v.call_method0("to_dict");
    }
    let os = py.import("os")?;
    if v.is_instance(&os.getattr("PathLike")?)? {
        return os.call_method1("fspath", (v,));
    }
    if let Ok(list) = v.cast::<PyList>() {
        let out = PyList::empty(py);
        for x in list.iter() {
            out.append(plain(x)?)?;
        }
        return Ok(out.into_any());
    }
    if let Ok(t) = v.cast::<PyTuple>() {
        let out = PyList::empty(py);
        for x in t.iter() {
            out.append(plain(x)?)?;
        }
        return Ok(out.into_any());
    }
    if let Ok(d) = v.cast::<PyDict>() {
        let out = PyDict::new(py);
        for (k, x) in d.iter() {
            out.set_item(k, plain(x)?)?;
        }
        return Ok(out.into_any());
    }
    Ok(v)
}

/// `to_dict()` of a record.
pub fn to_dict<'py>(obj: &Bound<'py, PyAny>, fields: &[&str]) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(obj.py());
    for f in fields {
        d.set_item(*f, plain(obj.getattr(*f)?)?)?;
    }
    Ok(d)
}

/// `repr()` of a record: `Name(field=value, ...)`.
pub fn repr(obj: &Bound<'_, PyAny>, name: &str, fields: &[&str]) -> PyResult<String> {
    let mut parts = Vec::with_capacity(fields.len());
    for f in fields {
        parts.push(format!("{f}={}", obj.getattr(*f)?.repr()?));
    }
    Ok(format!("{name}({})", parts.join(", ")))
}

/// Generates the shared `#[pymethods]` of a record class whose fields are
/// listed in its `FIELDS` constant. Extra methods go in the braces.
macro_rules! record_class {
    ($ty:ident, $name:literal, { $($extra:tt)* }) => {
        #[pymethods]
        impl $ty {
            /// `record[key]`: the same value as the attribute.
            fn __getitem__<'py>(slf: &Bound<'py, Self>, key: &str) -> PyResult<Bound<'py, PyAny>> {
                crate::records::getitem(slf.as_any(), Self::FIELDS, key)
            }

            /// The value of `key`, or `default`.
            #[pyo3(signature = (key, default=None))]
            fn get<'py>(
                slf: &Bound<'py, Self>,
                key: &str,
                default: Option<Bound<'py, PyAny>>,
            ) -> PyResult<Bound<'py, PyAny>> {
                if Self::FIELDS.contains(&key) {
                    slf.as_any().getattr(key)
                } else {
                    Ok(default.unwrap_or_else(|| slf.py().None().into_bound(slf.py())))
                }
            }

            fn __contains__(&self, key: &str) -> bool {
                Self::FIELDS.contains(&key)
            }

            /// The field names.
            fn keys(&self) -> Vec<&'static str> {
                Self::FIELDS.to_vec()
            }

            /// A plain, JSON-ready dict (nested records as dicts, paths as strings).
            fn to_dict<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, pyo3::types::PyDict>> {
                crate::records::to_dict(slf.as_any(), Self::FIELDS)
            }

            fn __repr__(slf: &Bound<'_, Self>) -> PyResult<String> {
                crate::records::repr(slf.as_any(), $name, Self::FIELDS)
            }

            fn __eq__(slf: &Bound<'_, Self>, other: &Bound<'_, PyAny>) -> PyResult<bool> {
                if !other.is_instance_of::<Self>() {
                    return Ok(false);
                }
                let a = crate::records::to_dict(slf.as_any(), Self::FIELDS)?;
                let b = crate::records::to_dict(other, Self::FIELDS)?;
                a.eq(b)
            }

            $($extra)*
        }
    };
}

pub(crate) use record_class;
