//! Webhook deliveries: one POST per final state of a job whose spec has a
//! `webhook_url`, taken from the store's outbox (written with the final
//! state, in the same transaction), so a delivery survives restarts and is
//! made at least once. The body is the job's info; with a secret, the
//! header `X-Claude-Jobs-Signature: sha256=<hex HMAC-SHA256 of the body>`.
//! `X-Claude-Jobs-Job` and `X-Claude-Jobs-Attempt` let the receiver drop
//! a repeated delivery. Failures are retried with a growing backoff.

use std::sync::Weak;
use std::time::Duration;

use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::inner::every;
use super::Inner;
use crate::store::Delivery;
use crate::util::now_ms;

/// Tries before a delivery is given up (about a day of backoff).
const MAX_TRIES: u32 = 16;
/// How long a delivery is leased to the manager sending it.
const LEASE: Duration = Duration::from_secs(60);

/// `sha256=<hex>`: the signature of `body` under `secret`.
pub fn signature(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(body);
    format!("sha256={}", crate::util::hex(&mac.finalize().into_bytes()))
}

pub(super) async fn delivery_loop(weak: Weak<Inner>) {
    let interval = |m: &Inner| Some(m.opts.poll_interval.min(Duration::from_secs(1)));
    every(weak, interval, |m| async move { deliver_due(&m).await }).await
}

/// Leases the deliveries that are due and sends each once.
async fn deliver_due(m: &Inner) {
    let due = match m.store.store.due_deliveries(16, LEASE).await {
        Ok(d) => d,
        Err(e) => return m.store.failed("reading webhook deliveries", &e),
    };
    for d in due {
        let secret = m.opts.webhook_secret.as_ref().map(|s| s.0.clone());
        let (id, tries) = (d.id, d.tries);
        let sent = tokio::task::spawn_blocking(move || post(&d, secret.as_deref()))
            .await
            .unwrap_or_else(|e| Err(e.to_string()));
        let result = sent.map_err(|e| {
            let next = (tries + 1 < MAX_TRIES).then(|| now_ms() + backoff(tries).as_millis() as u64);
            tracing::warn!(delivery = id, tries = tries + 1, error = %e, "webhook delivery failed");
            (next, e)
        });
        if let Err(e) = m.store.store.delivery_done(id, result).await {
            m.store.failed("recording a webhook delivery", &e);
        }
    }
}

/// 1 s, 2 s, 4 s, … at most 2 hours.
fn backoff(tries: u32) -> Duration {
    Duration::from_secs(1u64 << tries.min(13)).min(Duration::from_secs(7200))
}

/// One POST; a non-2xx answer is an error.
fn post(d: &Delivery, secret: Option<&str>) -> Result<(), String> {
    let mut req = ureq::post(&d.url)
        .timeout(Duration::from_secs(10))
        .set("Content-Type", "application/json")
        .set("User-Agent", concat!("claude-jobs/", env!("CARGO_PKG_VERSION")))
        .set("X-Claude-Jobs-Job", &d.job_id)
        .set("X-Claude-Jobs-Attempt", &d.attempt.to_string())
        .set("X-Claude-Jobs-State", d.state.as_str());
    if let Some(s) = secret {
        req = req.set("X-Claude-Jobs-Signature", &signature(s, d.body.as_bytes()));
    }
    match req.send_string(&d.body) {
        Ok(_) => Ok(()),
        Err(ureq::Error::Status(code, _)) => Err(format!("the receiver answered {code}")),
        Err(e) => Err(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn signatures_are_hmac_sha256_hex() {
        // RFC 4231 test case 2.
        let s = super::signature("Jefe", b"what do ya want for nothing?");
        assert_eq!(s, "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    }
}
