//! The S3 artifact store (`artifact_store = "s3://bucket/prefix"`), on any
//! S3-compatible server, through the `object_store` crate. Endpoint, region
//! and credentials come from the usual AWS variables (`AWS_ENDPOINT_URL`,
//! `AWS_REGION`, `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
//! `AWS_SESSION_TOKEN`; `AWS_ALLOW_HTTP=true` for a plain-HTTP endpoint).
//!
//! One object per chunk: `<prefix>/jobs/<job>/<attempt>/<name>/<seq, 8 digits>`.
//! A chunk's bytes never change (the spool sends the same bytes again after
//! an error), so writing one again is harmless. `object_store` retries
//! transient errors itself (with backoff); the uploader retries on top.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use futures_util::TryStreamExt;
use object_store::aws::AmazonS3Builder;
use object_store::path::Path;
use object_store::{ObjectStore, PutPayload};

use super::ArtifactStore;
use crate::error::{Error, Result};

/// Chunks as objects of an S3 bucket (see the module docs).
pub struct S3Artifacts {
    store: Arc<dyn ObjectStore>,
    bucket: String,
    prefix: String,
}

impl std::fmt::Debug for S3Artifacts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "S3Artifacts(s3://{}/{})", self.bucket, self.prefix)
    }
}

impl S3Artifacts {
    /// The store for `s3://bucket/prefix`, configured from the environment.
    pub fn open(bucket: &str, prefix: &str) -> Result<S3Artifacts> {
        let mut b = AmazonS3Builder::from_env().with_bucket_name(bucket);
        if std::env::var_os("AWS_REGION").is_none() && std::env::var_os("AWS_DEFAULT_REGION").is_none() {
            b = b.with_region("us-east-1");
        }
        let store = b.build().map_err(|e| Error::invalid("artifact_store", format!("s3://{bucket}: {e}")))?;
        Ok(S3Artifacts { store: Arc::new(store), bucket: bucket.into(), prefix: prefix.trim_matches('/').into() })
    }

    fn err(&self, what: &str, e: object_store::Error) -> Error {
        Error::Store(format!("artifact store s3://{}: {what}: {e}", self.bucket))
    }

    /// `<prefix>/jobs/<job>/[<attempt>/]`, with its trailing slash.
    fn dir(&self, job: &str, attempt: Option<u32>) -> String {
        let mut p = if self.prefix.is_empty() { String::new() } else { format!("{}/", self.prefix) };
        p.push_str(&format!("jobs/{job}/"));
        if let Some(a) = attempt {
            p.push_str(&format!("{a}/"));
        }
        p
    }

    /// Every chunk under `dir`: (name, seq, key, size), in order.
    async fn chunks(&self, dir: &str) -> Result<Vec<(String, u32, Path, u64)>> {
        let listed = self.store.list(Some(&Path::from(dir)));
        let metas: Vec<_> = listed.try_collect().await.map_err(|e| self.err("list", e))?;
        let base = dir;
        let mut out: Vec<_> = metas
            .into_iter()
            .filter_map(|m| {
                let rel = m.location.as_ref().strip_prefix(base)?.to_string();
                let (name, seq) = rel.rsplit_once('/')?;
                Some((name.to_string(), seq.parse().ok()?, m.location.clone(), m.size))
            })
            .collect();
        out.sort_by(|a, b| (&a.0, a.1).cmp(&(&b.0, b.1)));
        Ok(out)
    }
}

#[async_trait]
impl ArtifactStore for S3Artifacts {
    async fn put_chunk(&self, job: &str, attempt: u32, name: &str, seq: u32, data: &[u8]) -> Result<()> {
        let key = Path::from(format!("{}{name}/{seq:08}", self.dir(job, Some(attempt))));
        self.store
            .put(&key, PutPayload::from(bytes::Bytes::copy_from_slice(data)))
            .await
            .map(|_| ())
            .map_err(|e| self.err("put", e))
    }

    async fn read_artifact(&self, job: &str, attempt: u32, name: &str) -> Result<Option<Vec<u8>>> {
        let chunks = self.chunks(&self.dir(job, Some(attempt))).await?;
        let mut out = None;
        for (_, _, key, _) in chunks.iter().filter(|c| c.0 == name) {
            let bytes = self.store.get(key).await.map_err(|e| self.err("get", e))?.bytes().await;
            out.get_or_insert_with(Vec::new).extend_from_slice(&bytes.map_err(|e| self.err("get", e))?);
        }
        Ok(out)
    }

    async fn artifact_sizes(&self, job: &str, attempt: u32) -> Result<Vec<(String, u64)>> {
        let mut sizes = BTreeMap::new();
        for (name, _, _, size) in self.chunks(&self.dir(job, Some(attempt))).await? {
            *sizes.entry(name).or_insert(0) += size;
        }
        Ok(sizes.into_iter().collect())
    }

    async fn delete_artifacts(&self, jobs: &[String], prefix: &str) -> Result<u64> {
        let mut n = 0;
        for job in jobs {
            let dir = self.dir(job, None);
            for (name, _, key, _) in self.chunks(&dir).await? {
                // `name` here is `<attempt>/<artifact name>`.
                if name.split_once('/').is_some_and(|(_, n)| n.starts_with(prefix)) {
                    self.store.delete(&key).await.map_err(|e| self.err("delete", e))?;
                    n += 1;
                }
            }
        }
        Ok(n)
    }

    async fn delete_attempt(&self, job: &str, attempt: u32) -> Result<()> {
        for (_, _, key, _) in self.chunks(&self.dir(job, Some(attempt))).await? {
            self.store.delete(&key).await.map_err(|e| self.err("delete", e))?;
        }
        Ok(())
    }
}
