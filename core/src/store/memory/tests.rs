//! Tests of the in-memory store.

use super::*;
use crate::events::{approx_size, JobEvent};
use crate::spec::JobSpec;

fn text(seq: u64, n: usize) -> EventRecord {
    EventRecord {
        seq,
        at_ms: 0,
        event: JobEvent::AssistantText {
            text: "x".repeat(n),
        },
    }
}

#[tokio::test]
async fn the_running_limit_counts_claims_finishes_and_requeues() {
    let store = MemoryStore::new();
    for id in ["a", "b", "c", "d"] {
        let spec = JobSpec::from_prompt("x");
        let info = JobInfo::queued(id.into(), &spec, 0);
        store.insert(&JobRecord { info, spec }, &[]).await.unwrap();
    }
    let opts = ClaimOptions {
        max_running: Some(2),
        ..ClaimOptions::new(std::time::Duration::from_secs(60))
    };
    let first = store.claim("n", 4, &opts).await.unwrap();
    assert_eq!(first.len(), 2);
    assert!(store.claim("n", 4, &opts).await.unwrap().is_empty());
    // One finishes: one slot.
    let mut done = first[0].record.info.clone();
    done.state = JobState::Succeeded;
    assert!(store.finish(&done, first[0].lease, false).await.unwrap());
    let second = store.claim("n", 4, &opts).await.unwrap();
    assert_eq!(second.len(), 1);
    // One goes back to the queue: a slot again, and it can be claimed.
    let req = Requeue {
        run_at_ms: 0,
        count_attempt: true,
        error: None,
        only_if_expired: false,
    };
    assert!(store
        .requeue(&second[0].record.info.id, second[0].lease, &req)
        .await
        .unwrap());
    let third = store.claim("n", 4, &opts).await.unwrap();
    assert_eq!(third.len(), 1);
    assert!(store.claim("n", 4, &opts).await.unwrap().is_empty());
}

#[tokio::test]
async fn events_are_kept_within_the_byte_bound_even_when_written_first() {
    let store = MemoryStore::new();
    let spec = JobSpec::from_prompt("x");
    store.append_events("a", &[text(1, 10)]).await.unwrap();
    let info = JobInfo::queued("a".into(), &spec, 0);
    store.insert(&JobRecord { info, spec }, &[]).await.unwrap();
    assert_eq!(store.events("a", 0).await.unwrap().len(), 1);
    let big: Vec<_> = (2..=3000).map(|s| text(s, 4000)).collect();
    store.append_events("a", &big).await.unwrap();
    let kept = store.events("a", 0).await.unwrap();
    let bytes: usize = kept.iter().map(approx_size).sum();
    assert!(bytes <= MEMORY_STORE_EVENT_BYTES, "{bytes}");
    assert!(kept.len() > 400, "{}", kept.len());
    assert_eq!(kept.last().unwrap().seq, 3000);
    assert_eq!(store.get("a").await.unwrap().unwrap().info.id, "a");
}
