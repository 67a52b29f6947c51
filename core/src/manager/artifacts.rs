//! Reading a job's logs and collected outputs back, wherever it ran: from
//! this machine's data dir (`artifact_store = "local"`) or from the job
//! store (`"db"`, the chunks of the job's current attempt).

use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{Inner, JobManager};
use crate::error::{Error, Result};
use crate::state::JobInfo;

/// One collected output of a job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutputFile {
    /// The file name (what [`JobManager::read_output`] takes).
    pub name: String,
    /// Its size in bytes.
    pub size: u64,
    /// The SHA-256 of its bytes, lowercase hex.
    pub sha256: String,
}

/// The largest artifact read back (outputs are capped when collected, at
/// `max_output_bytes`; a log is read from its end).
const MAX_READ: u64 = 256 << 20;

impl JobManager {
    /// The job's collected outputs, with size and checksum.
    ///
    /// Errors: `JobNotFound`; `Store` (the `db` artifact store).
    ///
    /// ```no_run
    /// # async fn demo(m: claude_jobs::JobManager, id: &str) -> claude_jobs::Result<()> {
    /// for f in m.outputs(id).await? {
    ///     let bytes = m.read_output(id, &f.name).await?.expect("listed");
    ///     assert_eq!(bytes.len() as u64, f.size);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn outputs(&self, id: &str) -> Result<Vec<OutputFile>> {
        let info = self.inner.get(id).await?.info();
        let mut out = Vec::new();
        for name in self.inner.output_names(&info).await? {
            if let Some(bytes) = self.inner.output_bytes(&info, &name).await? {
                out.push(OutputFile { size: bytes.len() as u64, sha256: crate::util::hex(&Sha256::digest(&bytes)), name });
            }
        }
        Ok(out)
    }

    /// The bytes of the job's output file `name` (a name from
    /// [`outputs`](Self::outputs), never a path); `None` when the job has
    /// no such output.
    ///
    /// Errors: `JobNotFound`; `Store`.
    pub async fn read_output(&self, id: &str, name: &str) -> Result<Option<Vec<u8>>> {
        let info = self.inner.get(id).await?.info();
        self.inner.output_bytes(&info, name).await
    }

    /// The job's `"stdout"` or `"stderr"` log (its current attempt's), the
    /// last `tail_bytes` of it when given; empty before the job starts.
    ///
    /// Errors: `JobNotFound`; `InvalidSpec` naming `stream`; `Store`.
    ///
    /// ```no_run
    /// # async fn demo(m: claude_jobs::JobManager, id: &str) -> claude_jobs::Result<()> {
    /// let end = m.read_log(id, "stderr", Some(4096)).await?;
    /// println!("{}", String::from_utf8_lossy(&end));
    /// # Ok(()) }
    /// ```
    pub async fn read_log(&self, id: &str, stream: &str, tail_bytes: Option<u64>) -> Result<Vec<u8>> {
        let file = match stream {
            "stdout" => "stdout.log",
            "stderr" => "stderr.log",
            _ => return Err(Error::invalid("stream", format!("{stream:?} is not a log: use \"stdout\" or \"stderr\""))),
        };
        let info = self.inner.get(id).await?.info();
        let tail = tail_bytes.unwrap_or(MAX_READ).min(MAX_READ);
        match &self.inner.store.artifacts {
            Some(a) => {
                let bytes = a.read_artifact(&info.id, info.attempt, &format!("log/{file}")).await?.unwrap_or_default();
                let from = bytes.len().saturating_sub(tail as usize);
                Ok(bytes[from..].to_vec())
            }
            None => match &info.log_dir {
                Some(dir) => read_file(dir.join(file), Some(tail)).await.map(Option::unwrap_or_default),
                None => Ok(Vec::new()),
            },
        }
    }
}

impl Inner {
    /// The names of the job's outputs.
    async fn output_names(&self, info: &JobInfo) -> Result<Vec<String>> {
        match &self.store.artifacts {
            Some(a) => Ok(a
                .artifact_sizes(&info.id, info.attempt)
                .await?
                .into_iter()
                .filter_map(|(n, _)| n.strip_prefix("output/").map(String::from))
                .collect()),
            None => Ok(info.outputs.iter().filter_map(|p| file_name(p)).collect()),
        }
    }

    /// The bytes of one output, looked up by name.
    pub(super) async fn output_bytes(&self, info: &JobInfo, name: &str) -> Result<Option<Vec<u8>>> {
        if name.is_empty() || name.contains(['/', '\0']) {
            return Ok(None);
        }
        match &self.store.artifacts {
            Some(a) => a.read_artifact(&info.id, info.attempt, &format!("output/{name}")).await,
            None => match info.outputs.iter().find(|p| file_name(p).as_deref() == Some(name)) {
                Some(p) => read_file(p.clone(), None).await,
                None => Ok(None),
            },
        }
    }
}

fn file_name(p: &Path) -> Option<String> {
    p.file_name().and_then(|n| n.to_str()).map(String::from)
}

/// A regular file (no link followed), its last `tail` bytes when given;
/// `None` when it is gone.
async fn read_file(path: PathBuf, tail: Option<u64>) -> Result<Option<Vec<u8>>> {
    tokio::task::spawn_blocking(move || {
        let mut f = match crate::safe_fs::open_regular_path(&path) {
            Ok(f) => f,
            // Gone, or not a regular file (a link or FIFO a job planted):
            // nothing of the manager's to read.
            Err(e) if matches!(e.kind(), std::io::ErrorKind::NotFound | std::io::ErrorKind::InvalidInput) => return Ok(None),
            Err(e) if e.raw_os_error() == Some(libc::ELOOP) => return Ok(None),
            Err(e) => return Err(Error::io(format!("cannot read {}", path.display()), e)),
        };
        let len = f.metadata().map(|m| m.len()).unwrap_or(0);
        let want = tail.unwrap_or(MAX_READ).min(MAX_READ);
        let io = |e| Error::io(format!("cannot read {}", path.display()), e);
        f.seek(SeekFrom::Start(len.saturating_sub(want))).map_err(io)?;
        let mut v = Vec::new();
        f.take(want).read_to_end(&mut v).map_err(io)?;
        Ok(Some(v))
    })
    .await
    .map_err(|e| Error::Store(format!("a read failed: {e}")))?
}
