//! The files the manager writes for an attempt in the job's own directory
//! (`data_dir/jobs/<id>`, the manager's): `mcp-config.json` (the spec's
//! `mcp_servers` as `{"mcpServers": …}`) and `settings.json`. Each attempt
//! writes them afresh (a planted link is replaced, never followed). They may
//! hold secrets: mode 0600, or with `run_as` 0640 and the job's group, so
//! the job's CLI can read them and other users cannot.

use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use crate::safe_fs;
use crate::spec::{JobSpec, RunAs};

pub(super) const MCP_CONFIG: &str = "mcp-config.json";
pub(super) const SETTINGS: &str = "settings.json";

/// The files written for this attempt.
#[derive(Debug, Default)]
pub(super) struct AgentFiles {
    pub mcp_config: Option<PathBuf>,
    pub settings: Option<PathBuf>,
}

/// Writes the spec's MCP configuration and settings into the job's
/// directory `root` (opened as `root_fd`). Blocking.
pub(super) fn write(root: &Path, root_fd: &OwnedFd, spec: &JobSpec) -> Result<AgentFiles, String> {
    let mut files = AgentFiles::default();
    if let Some(servers) = &spec.mcp_servers {
        let body = json!({ "mcpServers": servers });
        files.mcp_config = Some(write_one(root, root_fd, MCP_CONFIG, &body, spec.run_as)?);
    }
    if let Some(settings) = &spec.settings {
        let body = Value::Object(settings.clone());
        files.settings = Some(write_one(root, root_fd, SETTINGS, &body, spec.run_as)?);
    }
    Ok(files)
}

fn write_one(root: &Path, root_fd: &OwnedFd, name: &str, body: &Value, run_as: Option<RunAs>) -> Result<PathBuf, String> {
    let path = root.join(name);
    let err = |e: std::io::Error| format!("cannot write {}: {e}", path.display());
    let bytes = serde_json::to_vec_pretty(body).map_err(|e| format!("cannot encode {name}: {e}"))?;
    let f = safe_fs::replace_file(root_fd, name, 0o600, &bytes).map_err(err)?;
    if let Some(ids) = run_as {
        // SAFETY: geteuid cannot fail.
        let me = unsafe { libc::geteuid() };
        safe_fs::chown_fd(&f, me, ids.gid).map_err(err)?;
        safe_fs::chmod_fd(&f, 0o640).map_err(err)?;
    }
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn files_are_private_and_replace_what_was_there() {
        let d = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink("/etc/hostname", d.path().join(MCP_CONFIG)).unwrap();
        let fd = safe_fs::open_dir(d.path()).unwrap();
        let spec = JobSpec::builder()
            .prompt("p")
            .mcp_server("echo", json!({"command": "/bin/echo", "env": {"TOKEN": "secret-123"}}))
            .settings(json!({"permissions": {"deny": ["WebFetch"]}}))
            .build()
            .unwrap();
        let files = write(d.path(), &fd, &spec).unwrap();
        let mcp = files.mcp_config.unwrap();
        let v: Value = serde_json::from_slice(&std::fs::read(&mcp).unwrap()).unwrap();
        assert_eq!(v["mcpServers"]["echo"]["command"], "/bin/echo");
        assert!(!std::fs::symlink_metadata(&mcp).unwrap().file_type().is_symlink());
        assert_eq!(std::fs::metadata(&mcp).unwrap().permissions().mode() & 0o777, 0o600);
        let s: Value = serde_json::from_slice(&std::fs::read(files.settings.unwrap()).unwrap()).unwrap();
        assert_eq!(s["permissions"]["deny"][0], "WebFetch");
        assert!(write(d.path(), &fd, &JobSpec::from_prompt("p")).unwrap().mcp_config.is_none());
    }
}
