//! Collecting a job's output file into `data_dir/<folder>/<name>`: read
//! beneath the job's working directory without following links, only a
//! regular file, at most `max_output_bytes`, on a blocking thread.

use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::safe_fs;
use crate::spec::{safe_file_name, OutputSpec};

/// Where the output went.
#[derive(Debug)]
pub(super) struct Collected {
    pub path: PathBuf,
    /// Warnings for the job's events (a cut file, the result text used).
    pub warnings: Vec<String>,
}

/// What [`collect`] reads and writes.
pub(super) struct Source {
    pub data_dir: PathBuf,
    /// The default working dir, opened; else the caller's working dir.
    pub work_fd: Option<Arc<OwnedFd>>,
    pub work: PathBuf,
    pub id: String,
    pub max_bytes: u64,
}

/// Copies the job's output file (or, failing that, its result text).
pub(super) async fn collect(src: Source, out: OutputSpec, result: Option<String>) -> Result<Collected, String> {
    tokio::task::spawn_blocking(move || collect_blocking(&src, &out, result.as_deref()))
        .await
        .map_err(|e| format!("collecting the output failed: {e}"))?
}

fn collect_blocking(src: &Source, out: &OutputSpec, result: Option<&str>) -> Result<Collected, String> {
    let folder = src.data_dir.join(safe_file_name(&out.folder));
    std::fs::create_dir_all(&folder).map_err(|e| format!("cannot create {}: {e}", folder.display()))?;
    let folder_fd = safe_fs::open_dir(&folder).map_err(|e| format!("cannot open {}: {e}", folder.display()))?;
    let (name, mut dest) = create_dest(&folder_fd, &folder, out, &src.id)?;
    let mut warnings = Vec::new();
    let file = safe_file_name(&out.file);
    match open_source(src, &file) {
        Ok(mut f) => {
            let cut = safe_fs::copy_capped(&mut f, &mut dest, src.max_bytes)
                .map_err(|e| format!("cannot collect {file}: {e}"))?;
            if cut {
                warnings.push(format!(
                    "{file} is larger than max_output_bytes ({} bytes): the collected copy was cut there",
                    src.max_bytes
                ));
            }
            return Ok(Collected { path: folder.join(name), warnings });
        }
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            warnings.push(format!("{file} was not collected: {e}"));
        }
        Err(_) => {}
    }
    match result {
        Some(text) if !text.trim().is_empty() => {
            use std::io::Write;
            dest.write_all(text.as_bytes())
                .map_err(|e| format!("cannot write {}: {e}", folder.join(&name).display()))?;
            warnings.push(format!("the job did not write {file}; its result text was saved instead"));
            Ok(Collected { path: folder.join(name), warnings })
        }
        _ => {
            let _ = std::fs::remove_file(folder.join(&name));
            Err(format!("the job wrote no {} and returned no text", out.file))
        }
    }
}

fn open_source(src: &Source, file: &str) -> std::io::Result<std::fs::File> {
    let dir = match &src.work_fd {
        Some(fd) => return safe_fs::open_regular(fd, file),
        None => safe_fs::open_dir(&src.work)?,
    };
    safe_fs::open_regular(&dir, file)
}

/// A new file for the output: its safe name, or with the job's short id
/// when that name is taken.
fn create_dest(dir: &OwnedFd, folder: &Path, out: &OutputSpec, id: &str) -> Result<(String, std::fs::File), String> {
    let name = safe_file_name(out.name.as_deref().unwrap_or(&out.file));
    let short = &id[id.len().saturating_sub(8)..];
    let other = match name.rsplit_once('.') {
        Some((stem, ext)) => format!("{stem}-{short}.{ext}"),
        None => format!("{name}-{short}"),
    };
    let mut last = None;
    for n in [name, other] {
        match safe_fs::create_new(dir, &n, 0o644) {
            Ok(f) => return Ok((n, f)),
            Err(e) => last = Some((n, e)),
        }
    }
    let (n, e) = last.expect("two names tried");
    Err(format!("cannot create {}: {e}", folder.join(n).display()))
}
