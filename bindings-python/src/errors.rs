//! Core errors → the Python exception classes of `claude_jobs.errors`.
//!
//! The class is chosen by [`claude_jobs::ErrorKind`] (through its stable
//! code), never by the message. The classes live in Python because they
//! subclass two bases (`ClaudeJobsError` and a builtin such as `ValueError`),
//! which a native class cannot do.

use std::error::Error as _;

use claude_jobs::Error;
use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::IntoPyObjectExt;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyTuple};

/// `claude_jobs.errors.BY_CODE`, looked up once.
static BY_CODE: PyOnceLock<Py<PyDict>> = PyOnceLock::new();
/// `claude_jobs.errors.ClaudeJobsError`, looked up once.
static BASE: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

fn by_code(py: Python<'_>) -> PyResult<&Bound<'_, PyDict>> {
    let d = BY_CODE.get_or_try_init(py, || -> PyResult<Py<PyDict>> {
        let m = py.import("claude_jobs.errors")?;
        Ok(m.getattr("BY_CODE")?.cast_into::<PyDict>()?.unbind())
    })?;
    Ok(d.bind(py))
}

fn base_class(py: Python<'_>) -> PyResult<&Bound<'_, PyAny>> {
    let c = BASE.get_or_try_init(py, || -> PyResult<Py<PyAny>> {
        Ok(py.import("claude_jobs.errors")?.getattr("ClaudeJobsError")?.unbind())
    })?;
    Ok(c.bind(py))
}

/// What a Python exception is built from.
struct Parts<'a> {
    code: Option<&'a str>,
    message: String,
    field: Option<&'a str>,
    job_id: Option<&'a str>,
}

fn build<'py>(py: Python<'py>, p: Parts<'_>) -> PyResult<Bound<'py, PyAny>> {
    let cls = match p.code {
        Some(code) => match by_code(py)?.get_item(code)? {
            Some(cls) => cls,
            None => base_class(py)?.clone(),
        },
        None => base_class(py)?.clone(),
    };
    let kwargs = PyDict::new(py);
    kwargs.set_item("code", p.code)?;
    kwargs.set_item("field", p.field)?;
    kwargs.set_item("job_id", p.job_id)?;
    cls.call(PyTuple::new(py, [p.message])?, Some(&kwargs))
}

/// The Python exception for a core error: the class for its kind, with
/// `code`, `field` and `job_id` set, and the underlying I/O error (if any)
/// as `__cause__` (an `OSError` with its errno).
pub fn to_py_err(err: Error) -> PyErr {
    Python::attach(|py| to_py_err_in(py, err))
}

fn to_py_err_in(py: Python<'_>, err: Error) -> PyErr {
    {
        let made = build(
            py,
            Parts {
                code: Some(err.kind().code()),
                message: err.to_string(),
                field: err.field(),
                job_id: err.job_id(),
            },
        )
        .and_then(|exc| {
            if let Some(d) = err.retry_after() {
                exc.setattr("retry_after", d.as_secs_f64())?;
            }
            if let Error::QuotaExceeded { tenant, .. } = &err {
                exc.setattr("tenant", tenant)?;
            }
            if let Some(io) = err.source().and_then(|s| s.downcast_ref::<std::io::Error>()) {
                let cause = match io.raw_os_error() {
                    Some(errno) => py
                        .get_type::<pyo3::exceptions::PyOSError>()
                        .call1((errno, io.to_string()))?,
                    None => py.get_type::<pyo3::exceptions::PyOSError>().call1((io.to_string(),))?,
                };
                exc.setattr("__cause__", cause)?;
            }
            Ok(exc)
        });
        match made {
            Ok(exc) => PyErr::from_value(exc),
            // The errors module could not be imported: still raise something.
            Err(e) => PyRuntimeError::new_err(format!("{err} (and building its exception failed: {e})")),
        }
    }
}

/// An `InvalidSpecError` raised by the binding itself (a keyword argument of
/// the wrong type or an unknown name), naming the field.
pub fn invalid(field: &str, reason: impl Into<String>) -> PyErr {
    let reason = reason.into();
    Python::attach(|py| {
        match build(
            py,
            Parts {
                code: Some("INVALID_SPEC"),
                message: format!("invalid {field}: {reason}"),
                field: Some(field),
                job_id: None,
            },
        ) {
            Ok(exc) => PyErr::from_value(exc),
            Err(e) => PyRuntimeError::new_err(format!("invalid {field}: {reason} ({e})")),
        }
    })
}

/// A `ClaudeJobsError` without a core kind (`code` is None).
pub fn plain(message: impl Into<String>) -> PyErr {
    let message = message.into();
    Python::attach(|py| {
        match build(
            py,
            Parts {
                code: None,
                message: message.clone(),
                field: None,
                job_id: None,
            },
        ) {
            Ok(exc) => PyErr::from_value(exc),
            Err(e) => PyRuntimeError::new_err(format!("{message} ({e})")),
        }
    })
}

/// A core result carried out of a future as is, and turned into the value
/// or the exception only when `pyo3_async_runtimes` converts the result
/// (with the GIL, on a blocking thread): the tokio workers never wait for
/// the GIL.
pub struct CoreResult<T>(pub claude_jobs::Result<T>);

impl<'py, T> IntoPyObject<'py> for CoreResult<T>
where
    T: IntoPyObject<'py>,
{
    type Target = PyAny;
    type Output = Bound<'py, PyAny>;
    type Error = PyErr;

    fn into_pyobject(self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        match self.0 {
            Ok(v) => v.into_bound_py_any(py),
            Err(e) => Err(to_py_err_in(py, e)),
        }
    }
}

/// Extension to turn `claude_jobs::Result` into `PyResult`.
pub trait IntoPyResult<T> {
    fn py_err(self) -> PyResult<T>;
}

impl<T> IntoPyResult<T> for claude_jobs::Result<T> {
    fn py_err(self) -> PyResult<T> {
        self.map_err(to_py_err)
    }
}
