//! Item 9, the child side: a store that has kept a million jobs (issue 20 item 4).

use std::path::Path;

/// Runs the measurement described by `params` and returns its figures as JSON
/// (`{"error": …}` when it cannot run).
pub(crate) fn child(_fake: &Path, _params: serde_json::Value) -> serde_json::Value {
    serde_json::json!({ "error": "not built yet" })
}
