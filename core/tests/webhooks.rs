//! Webhook deliveries: one signed POST per final state, from the store's
//! outbox, retried after a failure, also by the next manager when the one
//! that failed was stopped before it could retry.
mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use claude_jobs::{JobManager, JobState};
use common::*;
use hmac::{Hmac, Mac};
use sha2::Sha256;

const SECRET: &str = "webhook-test-secret";

/// One request the receiver got, and whether it answered 200.
#[derive(Debug, Clone)]
struct Hit {
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    ok: bool,
}

impl Hit {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// A loopback HTTP receiver answering 500 while `accept` is false, 200 when
/// it is true.
fn receiver(accept: Arc<AtomicBool>) -> (String, Arc<Mutex<Vec<Hit>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let hits = Arc::new(Mutex::new(Vec::new()));
    let h = hits.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut r = BufReader::new(stream.try_clone().unwrap());
            let mut headers = Vec::new();
            let mut line = String::new();
            r.read_line(&mut line).unwrap();
            loop {
                line.clear();
                if r.read_line(&mut line).unwrap() == 0 || line == "\r\n" {
                    break;
                }
                if let Some((k, v)) = line.trim_end().split_once(':') {
                    headers.push((k.trim().to_string(), v.trim().to_string()));
                }
            }
            let len: usize = headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
                .map_or(0, |(_, v)| v.parse().unwrap());
            let mut body = vec![0; len];
            r.read_exact(&mut body).unwrap();
            let mut hits = h.lock().unwrap();
            let ok = accept.load(Ordering::SeqCst);
            hits.push(Hit { headers, body, ok });
            let status = if ok { "200 OK" } else { "500 Internal Server Error" };
            let mut s = stream;
            let _ = write!(s, "HTTP/1.1 {status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        }
    });
    (url, hits)
}

async fn manager(dir: &std::path::Path) -> JobManager {
    builder(dir)
        .poll_interval(Duration::from_millis(100))
        .webhook_secret(SECRET)
        .build()
        .await
        .unwrap()
}

fn verify(hit: &Hit) {
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(&hit.body);
    let want: String = mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(hit.header("X-Claude-Jobs-Signature"), Some(format!("sha256={want}").as_str()), "the signature verifies");
}

fn successes(hits: &Arc<Mutex<Vec<Hit>>>, job: &str) -> Vec<Hit> {
    hits.lock().unwrap().iter().filter(|h| h.ok && h.header("X-Claude-Jobs-Job") == Some(job)).cloned().collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_delivery_is_retried_once_by_the_next_manager() {
    let dir = data_dir();
    let accept = Arc::new(AtomicBool::new(false));
    let (url, hits) = receiver(accept.clone());
    let m = manager(dir.path()).await;
    let job = m.submit(slow(100).webhook_url(&url).build().unwrap()).await.unwrap();
    assert_eq!(job.wait().await.state, JobState::Succeeded);
    assert!(eventually(10, || !hits.lock().unwrap().is_empty()).await, "the first delivery was tried");
    // Stopped while the receiver still fails (a retry comes 1 s later, and a
    // slow shutdown may let it run): the outbox keeps the delivery.
    m.shutdown(Duration::from_secs(5)).await;
    drop(m);
    assert!(successes(&hits, job.id()).is_empty());
    accept.store(true, Ordering::SeqCst);
    let m = manager(dir.path()).await;
    assert!(eventually(15, || !successes(&hits, job.id()).is_empty()).await, "the next manager delivered it");
    // A second job, cancelled: a delivery of its own final state.
    let other = m.submit(slow(30_000).webhook_url(&url).build().unwrap()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    other.cancel().await.unwrap();
    assert_eq!(other.wait().await.state, JobState::Cancelled);
    assert!(eventually(10, || !successes(&hits, other.id()).is_empty()).await);
    // Past the retry backoff: nothing is delivered twice.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    for (id, state) in [(job.id(), "succeeded"), (other.id(), "cancelled")] {
        let ok = successes(&hits, id);
        assert_eq!(ok.len(), 1, "exactly one successful delivery for {id}: {ok:?}");
        let hit = &ok[0];
        verify(hit);
        let info: serde_json::Value = serde_json::from_slice(&hit.body).unwrap();
        assert_eq!((info["id"].as_str(), info["state"].as_str()), (Some(id), Some(state)));
        assert_eq!(hit.header("X-Claude-Jobs-State"), Some(state));
        assert_eq!(hit.header("X-Claude-Jobs-Attempt"), Some("1"));
        assert_eq!(hit.header("Content-Type"), Some("application/json"));
    }
    let all = hits.lock().unwrap().clone();
    assert_eq!(all.len(), 3, "one failure, two successes: {all:?}");
    assert!(!all[0].ok && all[0].header("X-Claude-Jobs-Job") == Some(job.id()));
    m.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_secret_deliveries_are_unsigned_and_a_job_without_a_url_sends_none() {
    let dir = data_dir();
    let (url, hits) = receiver(Arc::new(AtomicBool::new(true)));
    let m = builder(dir.path()).poll_interval(Duration::from_millis(100)).build().await.unwrap();
    let quiet = m.submit(slow(50).build().unwrap()).await.unwrap();
    let loud = m.submit(slow(50).webhook_url(&url).build().unwrap()).await.unwrap();
    quiet.wait().await;
    loud.wait().await;
    assert!(eventually(10, || !successes(&hits, loud.id()).is_empty()).await);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let all = hits.lock().unwrap().clone();
    assert_eq!(all.len(), 1, "{all:?}");
    assert_eq!(all[0].header("X-Claude-Jobs-Signature"), None);
    m.shutdown(Duration::from_secs(5)).await;
}
