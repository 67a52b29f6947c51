//! Item 10, the child side: several manager processes on one PostgreSQL (issue 20 item 5).

use std::path::Path;

/// Runs the measurement described by `params` and returns its figures as JSON
/// (`{"error": …}` when it cannot run).
pub(crate) fn child(_fake: &Path, _params: serde_json::Value) -> serde_json::Value {
    serde_json::json!({ "error": "not built yet" })
}
