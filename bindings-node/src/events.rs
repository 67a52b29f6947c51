//! A job's events for JavaScript: [`NativeEventStream`] (the native half of
//! `job.events()`, which index.js wraps in an async generator) and the
//! conversion of one [`EventRecord`] into a plain object.

use std::sync::Arc;

use claude_jobs::{EventRecord, EventStream, Usage};
use napi_derive::napi;
use serde_json::{Map, Value};

use claude_jobs::wire::Style;

/// An event as JS sees it: `{ type, seq, atMs, ...fields }`.
///
/// `type` is the core's snake_case tag (`assistant_text`, `tool_use`, …); the
/// event's fields are camelCased at the top level (and inside `usage`), while
/// payloads that are the CLI's own JSON (`tool_use.input`, `other.raw`) are
/// passed through untouched.
pub(crate) fn event_record(rec: &EventRecord) -> Value {
    let mut out = Map::new();
    let fields = match serde_json::to_value(&rec.event) {
        Ok(Value::Object(fields)) => fields,
        _ => Map::new(),
    };
    out.insert(
        "type".into(),
        fields
            .get("type")
            .cloned()
            .unwrap_or_else(|| "other".into()),
    );
    out.insert("seq".into(), rec.seq.into());
    out.insert("atMs".into(), rec.at_ms.into());
    for (key, value) in fields {
        if key == "type" {
            continue;
        }
        let value = match (key.as_str(), value) {
            ("usage", v @ Value::Object(_)) => match serde_json::from_value::<Usage>(v.clone()) {
                Ok(u) => crate::info::usage(&u),
                Err(_) => v,
            },
            (_, v) => v,
        };
        out.insert(Style::Camel.spell(&key), value);
    }
    Value::Object(out)
}

/// The native event cursor of one subscriber: past events first, then live
/// ones, until the job's `finished` event has been delivered.
#[napi]
pub struct NativeEventStream {
    inner: Arc<tokio::sync::Mutex<EventStream>>,
}

impl NativeEventStream {
    pub(crate) fn new(stream: EventStream) -> Self {
        NativeEventStream {
            inner: Arc::new(tokio::sync::Mutex::new(stream)),
        }
    }
}

#[napi]
impl NativeEventStream {
    /// Waits for the next event, then also takes the ones already available,
    /// up to `max` in all (one promise per batch, not per event). Resolves to
    /// an empty array once the job has ended and every event was delivered.
    #[napi(ts_return_type = "Promise<Array<Record<string, unknown>>>")]
    pub async fn next_batch(&self, max: u32) -> napi::Result<Vec<Value>> {
        let inner = self.inner.clone();
        let mut stream = inner.lock().await;
        Ok(stream.next_batch(max as usize).await.iter().map(event_record).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use claude_jobs::JobEvent;

    #[test]
    fn events_get_a_type_seq_and_camel_cased_fields() {
        let rec = EventRecord {
            seq: 7,
            at_ms: 1000,
            event: JobEvent::ToolResult {
                tool_use_id: Some("t1".into()),
                is_error: false,
                content: "ok".into(),
            },
        };
        let v = event_record(&rec);
        assert_eq!(v["type"], "tool_result");
        assert_eq!(v["seq"], 7);
        assert_eq!(v["atMs"], 1000);
        assert_eq!(v["toolUseId"], "t1");
        assert_eq!(v["isError"], false);
    }
}
