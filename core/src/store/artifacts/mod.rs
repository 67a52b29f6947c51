//! [`ArtifactStore`]: where a job's logs and collected outputs are kept when
//! several machines serve the same jobs (the manager option
//! `artifact_store = "db"`): in the job store itself, in chunks, per attempt.
//!
//! Names are `log/stdout.log`, `log/stderr.log` and `output/<file name>`. A
//! chunk is written once (`job, attempt, name, seq` is its key; writing it
//! again changes nothing), so an upload retried after an error, or by a
//! second writer of the same attempt, never doubles bytes; a reader asks for
//! the job's current attempt, so a killed attempt's partial upload never
//! mixes with the rescuing attempt's.

use async_trait::async_trait;

#[cfg(feature = "s3")]
mod s3;
#[cfg(feature = "s3")]
pub use s3::S3Artifacts;

use crate::error::{Error, Result};

/// Where a manager keeps artifacts (the option `artifact_store`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum ArtifactsAt {
    /// The data dir of the machine that ran the job (the default).
    #[default]
    Local,
    /// The job store ([`ArtifactStore`]).
    Db,
    /// An S3 bucket (`s3://bucket/prefix`), with the `s3` feature.
    S3 {
        /// The bucket.
        bucket: String,
        /// The key prefix (may be empty).
        prefix: String,
    },
}

impl ArtifactsAt {
    /// Reads the option: `local`, `db` or `s3://bucket/prefix`; an error
    /// naming `artifact_store` otherwise.
    ///
    /// ```
    /// use claude_jobs::store::ArtifactsAt;
    /// assert_eq!(ArtifactsAt::parse("db").unwrap(), ArtifactsAt::Db);
    /// let e = ArtifactsAt::parse("nfs:///mnt").unwrap_err();
    /// assert_eq!(e.field(), Some("artifact_store"));
    /// ```
    pub fn parse(s: &str) -> Result<ArtifactsAt> {
        match s {
            "local" => Ok(ArtifactsAt::Local),
            "db" => Ok(ArtifactsAt::Db),
            s if s.starts_with("s3://") => {
                let rest = &s["s3://".len()..];
                let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
                let ok = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.';
                if bucket.len() < 3 || bucket.len() > 63 || !bucket.chars().all(ok) {
                    return Err(Error::invalid("artifact_store", format!("{bucket:?} is not an S3 bucket name")));
                }
                let key_char = |c: char| c.is_ascii_alphanumeric() || "._-/".contains(c);
                if prefix.contains("//") || !prefix.chars().all(key_char) {
                    return Err(Error::invalid("artifact_store", format!("{prefix:?} is not a key prefix (letters, digits, . _ - /)")));
                }
                if !cfg!(feature = "s3") {
                    return Err(Error::invalid("artifact_store", "this build has no S3 artifact store (the `s3` feature)"));
                }
                Ok(ArtifactsAt::S3 { bucket: bucket.into(), prefix: prefix.trim_matches('/').into() })
            }
            other => Err(Error::invalid(
                "artifact_store",
                format!("{other:?} is not an artifact store: use \"local\", \"db\" or \"s3://bucket/prefix\""),
            )),
        }
    }
}

#[async_trait]
pub trait ArtifactStore: Send + Sync + std::fmt::Debug + 'static {
    /// Stores chunk `seq` of the artifact `name` of the job's `attempt`
    /// (nothing happens when that chunk is stored already).
    async fn put_chunk(&self, job: &str, attempt: u32, name: &str, seq: u32, data: &[u8]) -> Result<()>;

    /// The artifact's bytes (its chunks in order), `None` when it has none.
    async fn read_artifact(&self, job: &str, attempt: u32, name: &str) -> Result<Option<Vec<u8>>>;

    /// The names of the attempt's artifacts and their sizes, by name.
    async fn artifact_sizes(&self, job: &str, attempt: u32) -> Result<Vec<(String, u64)>>;

    /// Deletes the jobs' artifacts whose name starts with `prefix` (every
    /// attempt); the number of chunks deleted.
    async fn delete_artifacts(&self, jobs: &[String], prefix: &str) -> Result<u64>;

    /// Deletes every artifact of one attempt of a job (a run of that attempt
    /// number starts again).
    async fn delete_attempt(&self, job: &str, attempt: u32) -> Result<()>;
}
