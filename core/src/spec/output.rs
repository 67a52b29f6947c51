//! [`OutputSpec`]: the file a job writes and where it is collected, and the
//! file-name rule that keeps collected names inside their folder.

use serde::{Deserialize, Serialize};

/// Where a job's output goes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutputSpec {
    /// The file the job writes in its working directory.
    pub file: String,
    /// The folder under the data dir it is collected into.
    pub folder: String,
    /// The collected file's name (a template over the variables); made safe.
    #[serde(default)]
    pub name: Option<String>,
}

/// A file name that cannot leave its folder: only `[A-Za-z0-9._-]`, no
/// leading dots or dashes, never empty, at most 120 bytes.
///
/// ```
/// assert_eq!(claude_jobs::templates::safe_file_name("../../etc/x"), "etc-x");
/// assert_eq!(claude_jobs::templates::safe_file_name("ACME Inc.-brief.md"), "ACME-Inc.-brief.md");
/// ```
pub fn safe_file_name(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for c in raw.chars() {
        if c.is_ascii_alphanumeric() || c == '.' || c == '_' || c == '-' {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    let mut s = out
        .trim_start_matches(['.', '-'])
        .trim_end_matches('-')
        .to_string();
    while s.contains("..") {
        s = s.replace("..", ".");
    }
    s.truncate(120);
    if s.is_empty() || s == "." {
        "output".into()
    } else {
        s
    }
}
