//! Uploads to the `db` artifact store: the logs while the job runs (what the
//! readers write is also spooled here and sent every [`LOG_UPLOAD_INTERVAL`]
//! in chunks of at most [`CHUNK`] bytes), the collected outputs at the end.
//!
//! A chunk that fails is kept as it was (its place and its bytes) and sent
//! again, exactly, before anything newer: a store that kept it although it
//! answered with an error ignores the copy (chunks are written once), so
//! nothing doubles and nothing is lost. At the end, the rest is tried
//! [`FINAL_TRIES`] times. A spool holds at most [`SPOOL_CAP`] bytes while
//! the store is away; from the first write that does not fit, the rest is
//! left out of the uploaded log (never of the local one), with a warning,
//! so that the uploaded log is a whole beginning, never one with holes.
//!
//! An attempt starts by deleting what an earlier run of the same attempt
//! number uploaded (a job put back in the queue by a rate limit runs its
//! attempt again).

use std::io::{Read, Write};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::store::ArtifactStore;

/// How often the logs of a running job are uploaded.
pub(crate) const LOG_UPLOAD_INTERVAL: Duration = Duration::from_secs(2);
/// The largest chunk.
pub(crate) const CHUNK: usize = 256 * 1024;
/// Bytes a spool keeps while uploads fail.
const SPOOL_CAP: usize = 16 << 20;
/// Tries of the last upload (and of each chunk of an output).
const FINAL_TRIES: u32 = 5;

/// The bytes of one log not uploaded yet.
#[derive(Clone, Default)]
pub(super) struct Spool(Arc<Mutex<Pending>>);

#[derive(Default)]
struct Pending {
    bytes: Vec<u8>,
    dropped: u64,
}

impl Spool {
    fn push(&self, b: &[u8]) {
        let mut p = self.0.lock().unwrap();
        if p.dropped > 0 || p.bytes.len() + b.len() > SPOOL_CAP {
            p.dropped += b.len() as u64;
        } else {
            p.bytes.extend_from_slice(b);
        }
    }

    fn take(&self) -> Vec<u8> {
        std::mem::take(&mut self.0.lock().unwrap().bytes)
    }

    /// Puts bytes that were not sent back in front of what came since.
    fn put_back(&self, mut front: Vec<u8>) {
        let mut p = self.0.lock().unwrap();
        front.extend_from_slice(&p.bytes);
        p.bytes = front;
    }
}

/// A log file that also spools what it writes for the upload.
pub(super) struct Log {
    file: std::io::BufWriter<std::fs::File>,
    spool: Option<Spool>,
}

impl Log {
    pub(super) fn new(file: std::fs::File, spool: Option<Spool>) -> Log {
        Log { file: std::io::BufWriter::with_capacity(256 * 1024, file), spool }
    }
}

impl Write for Log {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.file.write(buf)?;
        if let Some(s) = &self.spool {
            s.push(&buf[..n]);
        }
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()
    }
}

/// Where an attempt's artifacts go.
#[derive(Clone)]
pub(super) struct Target {
    pub store: Arc<dyn ArtifactStore>,
    pub job: String,
    pub attempt: u32,
}

/// One log being uploaded: its artifact name, spool, next chunk, and the
/// chunk that failed (sent again as it was, before anything newer).
struct Stream {
    name: &'static str,
    spool: Spool,
    seq: u32,
    failed: Option<Vec<u8>>,
}

impl Stream {
    fn new(name: &'static str, spool: Spool) -> Stream {
        Stream { name, spool, seq: 0, failed: None }
    }

    /// Sends the failed chunk, then what the spool holds; on an error the
    /// chunk is kept as it was and the unsent rest goes back to the spool.
    async fn send(&mut self, t: &dyn Put) -> Result<(), String> {
        if let Some(chunk) = self.failed.take() {
            self.put(t, chunk).await?;
        }
        let bytes = self.spool.take();
        let mut rest = bytes.as_slice();
        while !rest.is_empty() {
            let (chunk, after) = rest.split_at(rest.len().min(CHUNK));
            if let Err(e) = self.put(t, chunk.to_vec()).await {
                self.spool.put_back(after.to_vec());
                return Err(e);
            }
            rest = after;
        }
        Ok(())
    }

    async fn put(&mut self, t: &dyn Put, chunk: Vec<u8>) -> Result<(), String> {
        match t.put(self.name, self.seq, &chunk).await {
            Ok(()) => {
                self.seq += 1;
                Ok(())
            }
            Err(e) => {
                self.failed = Some(chunk);
                Err(format!("cannot upload {}: {e}", self.name))
            }
        }
    }
}

/// Where a stream's chunks go (the target's store, or a test's).
#[async_trait::async_trait]
trait Put: Send + Sync {
    async fn put(&self, name: &str, seq: u32, data: &[u8]) -> crate::Result<()>;
}

#[async_trait::async_trait]
impl Put for Target {
    async fn put(&self, name: &str, seq: u32, data: &[u8]) -> crate::Result<()> {
        self.store.put_chunk(&self.job, self.attempt, name, seq, data).await
    }
}

/// The upload of an attempt's two logs.
pub(super) struct LogUpload {
    stop: watch::Sender<bool>,
    task: JoinHandle<Vec<String>>,
}

impl LogUpload {
    /// Starts uploading; returns the spools for stdout and stderr.
    pub(super) fn start(t: Target) -> (LogUpload, Spool, Spool) {
        let (out, err) = (Spool::default(), Spool::default());
        let streams = vec![Stream::new("log/stdout.log", out.clone()), Stream::new("log/stderr.log", err.clone())];
        let (stop, rx) = watch::channel(false);
        let task = tokio::spawn(upload_loop(t, streams, rx));
        (LogUpload { stop, task }, out, err)
    }

    /// Sends the rest (after the readers are done); the problems, if any.
    pub(super) async fn finish(self) -> Vec<String> {
        let _ = self.stop.send(true);
        self.task.await.unwrap_or_else(|e| vec![format!("the log upload failed: {e}")])
    }
}

async fn upload_loop(t: Target, mut streams: Vec<Stream>, mut stop: watch::Receiver<bool>) -> Vec<String> {
    // What an earlier run of this attempt number left (see the module docs).
    if let Err(e) = t.store.delete_attempt(&t.job, t.attempt).await {
        tracing::warn!(job_id = %t.job, "cannot clear attempt {}'s earlier artifacts: {e}", t.attempt);
    }
    loop {
        tokio::select! {
            _ = tokio::time::sleep(LOG_UPLOAD_INTERVAL) => {}
            _ = stop.changed() => break,
        }
        for s in &mut streams {
            if let Err(e) = s.send(&t).await {
                tracing::warn!(job_id = %t.job, "{e} (tried again in {LOG_UPLOAD_INTERVAL:?})");
            }
        }
    }
    let mut problems = Vec::new();
    for s in &mut streams {
        let mut wait = Duration::from_millis(250);
        for tries in 1..=FINAL_TRIES {
            match s.send(&t).await {
                Ok(()) => break,
                Err(e) if tries == FINAL_TRIES => problems.push(e),
                Err(_) => tokio::time::sleep(wait).await,
            }
            wait *= 2;
        }
        let dropped = s.spool.0.lock().unwrap().dropped;
        if dropped > 0 {
            problems.push(format!("{dropped} bytes of {} were not uploaded (the store was away)", s.name));
        }
    }
    problems
}

/// Runs `f` up to [`FINAL_TRIES`] times, 0.25 s, 0.5 s, 1 s … apart.
async fn retried<F, Fut>(mut f: F) -> Result<(), String>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<(), String>>,
{
    let mut wait = Duration::from_millis(250);
    let mut last = String::new();
    for _ in 0..FINAL_TRIES {
        match f().await {
            Ok(()) => return Ok(()),
            Err(e) => last = e,
        }
        tokio::time::sleep(wait).await;
        wait *= 2;
    }
    Err(last)
}

/// Uploads a collected output file as `output/<file name>`.
pub(super) async fn upload_output(t: &Target, path: &Path) -> Result<(), String> {
    let name = path.file_name().and_then(|n| n.to_str()).ok_or("an output without a file name")?;
    let file = path.to_path_buf();
    let bytes = tokio::task::spawn_blocking(move || -> std::io::Result<Vec<u8>> {
        let mut f = crate::safe_fs::open_regular_path(&file)?;
        let mut v = Vec::new();
        f.read_to_end(&mut v)?;
        Ok(v)
    })
    .await
    .map_err(|e| e.to_string())?
    .map_err(|e| format!("cannot read the output {name}: {e}"))?;
    let artifact = format!("output/{name}");
    // An empty output is one empty chunk, so that it is listed.
    let chunks: Vec<&[u8]> = if bytes.is_empty() { vec![&[]] } else { bytes.chunks(CHUNK).collect() };
    for (seq, chunk) in chunks.into_iter().enumerate() {
        retried(|| async {
            t.store
                .put_chunk(&t.job, t.attempt, &artifact, seq as u32, chunk)
                .await
                .map_err(|e| format!("cannot store the output {name}: {e}"))
        })
        .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    /// Chunks by (name, seq), written once; the calls listed in `fail` keep
    /// the chunk (or not) and then answer with an error.
    #[derive(Default)]
    struct Flaky {
        chunks: Mutex<BTreeMap<(String, u32), Vec<u8>>>,
        calls: Mutex<u32>,
        /// (call number, whether the chunk is kept before the error)
        fail: Vec<(u32, bool)>,
    }

    impl Flaky {
        fn log(&self, name: &str) -> Vec<u8> {
            let c = self.chunks.lock().unwrap();
            let seqs: Vec<u32> = c.keys().filter(|k| k.0 == name).map(|k| k.1).collect();
            assert!(seqs.iter().enumerate().all(|(i, s)| i as u32 == *s), "chunks in a row: {seqs:?}");
            c.iter().filter(|(k, _)| k.0 == name).flat_map(|(_, v)| v.clone()).collect()
        }
    }

    #[async_trait::async_trait]
    impl Put for Flaky {
        async fn put(&self, name: &str, seq: u32, data: &[u8]) -> crate::Result<()> {
            let call = {
                let mut n = self.calls.lock().unwrap();
                *n += 1;
                *n
            };
            let failing = self.fail.iter().find(|(c, _)| *c == call);
            if failing.is_none_or(|(_, kept)| *kept) {
                self.chunks.lock().unwrap().entry((name.to_string(), seq)).or_insert_with(|| data.to_vec());
            }
            match failing {
                Some(_) => Err(crate::Error::Store("connection reset".into())),
                None => Ok(()),
            }
        }
    }

    /// Writes `parts` one by one, sending after each; the bytes written.
    async fn run(store: &Flaky, parts: &[&[u8]]) -> Vec<u8> {
        let spool = Spool::default();
        let mut s = Stream::new("log/stdout.log", spool.clone());
        let mut all = Vec::new();
        for p in parts {
            spool.push(p);
            all.extend_from_slice(p);
            let _ = s.send(store).await;
        }
        for _ in 0..5 {
            if s.send(store).await.is_ok() && s.failed.is_none() {
                break;
            }
        }
        all
    }

    #[tokio::test]
    async fn a_chunk_the_store_kept_despite_an_error_is_neither_lost_nor_doubled() {
        // Call 2 stores its chunk and then fails; call 4 fails without storing.
        let store = Flaky { fail: vec![(2, true), (4, false)], ..Default::default() };
        let parts: Vec<Vec<u8>> = (0..6).map(|i| format!("line {i}\n").repeat(i + 1).into_bytes()).collect();
        let refs: Vec<&[u8]> = parts.iter().map(|p| p.as_slice()).collect();
        let written = run(&store, &refs).await;
        assert_eq!(store.log("log/stdout.log"), written);
    }

    #[tokio::test]
    async fn a_large_write_is_cut_into_chunks_in_order() {
        let store = Flaky::default();
        let big: Vec<u8> = (0..(CHUNK * 2 + 17)).map(|i| (i % 251) as u8).collect();
        let written = run(&store, &[&big]).await;
        assert_eq!(store.log("log/stdout.log"), written);
        assert_eq!(store.chunks.lock().unwrap().len(), 3);
    }

    #[test]
    fn a_full_spool_keeps_a_whole_beginning() {
        let s = Spool::default();
        s.push(&vec![b'a'; SPOOL_CAP - 10]);
        s.push(&[b'b'; 20]); // does not fit: dropped
        s.push(&[b'c'; 5]); // would fit, but after a drop: dropped too
        let p = s.0.lock().unwrap();
        assert_eq!((p.bytes.len(), p.dropped), (SPOOL_CAP - 10, 25));
    }
}
