//! Messages API response encoding: server-sent events for `stream: true`,
//! a plain message object otherwise, and error bodies.

use serde_json::{json, Value};

/// One content block of an assistant message.
#[derive(Clone, Debug, PartialEq)]
pub enum Block {
    /// Text, sent as one `text_delta` per element.
    Text { deltas: Vec<String> },
    /// A tool call, its input sent as `input_json_delta` pieces.
    ToolUse {
        id: String,
        name: String,
        input: Value,
    },
}

impl Block {
    /// A text block split into deltas of at most `chunk_bytes` bytes.
    pub fn text(text: &str, chunk_bytes: usize) -> Block {
        Block::Text {
            deltas: chunks(text, chunk_bytes)
                .into_iter()
                .map(str::to_string)
                .collect(),
        }
    }

    fn full_text(&self) -> String {
        match self {
            Block::Text { deltas } => deltas.concat(),
            Block::ToolUse { input, .. } => input.to_string(),
        }
    }
}

/// Token counts reported to the client.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Usage {
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cache_creation_input_tokens: u64,
    pub cache_read_input_tokens: u64,
}

impl Usage {
    /// Rough token estimate (4 bytes per token) for a request body and blocks.
    pub fn estimate(request_bytes: usize, blocks: &[Block]) -> Usage {
        let out: usize = blocks.iter().map(|b| b.full_text().len()).sum();
        Usage {
            input_tokens: (request_bytes / 4).max(1) as u64,
            output_tokens: (out / 4).max(1) as u64,
            cache_creation_input_tokens: 0,
            cache_read_input_tokens: 0,
        }
    }

    fn to_json(self, output_tokens: u64) -> Value {
        json!({
            "input_tokens": self.input_tokens,
            "cache_creation_input_tokens": self.cache_creation_input_tokens,
            "cache_read_input_tokens": self.cache_read_input_tokens,
            "output_tokens": output_tokens,
            "service_tier": "standard",
        })
    }
}

/// One server-sent event.
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    pub name: &'static str,
    pub data: Value,
}

impl Event {
    fn new(name: &'static str, data: Value) -> Event {
        Event { name, data }
    }

    /// `event: NAME\ndata: JSON\n\n`.
    pub fn encode(&self) -> String {
        format!("event: {}\ndata: {}\n\n", self.name, self.data)
    }

    pub fn is_delta(&self) -> bool {
        self.name == "content_block_delta"
    }
}

/// Splits `s` into pieces of at most `max_bytes` bytes on char boundaries.
pub fn chunks(s: &str, max_bytes: usize) -> Vec<&str> {
    let max_bytes = max_bytes.max(4);
    let mut out = Vec::new();
    let mut rest = s;
    while !rest.is_empty() {
        let mut end = rest.len().min(max_bytes);
        while !rest.is_char_boundary(end) {
            end -= 1;
        }
        out.push(&rest[..end]);
        rest = &rest[end..];
    }
    out
}

/// The full event sequence of one streamed message.
pub fn message_events(
    id: &str,
    model: &str,
    blocks: &[Block],
    stop_reason: &str,
    usage: Usage,
) -> Vec<Event> {
    let mut ev = vec![
        Event::new(
            "message_start",
            json!({"type": "message_start", "message": {
                "id": id, "type": "message", "role": "assistant", "model": model,
                "content": [], "stop_reason": null, "stop_sequence": null,
                "usage": usage.to_json(1),
            }}),
        ),
        Event::new("ping", json!({"type": "ping"})),
    ];
    for (index, block) in blocks.iter().enumerate() {
        match block {
            Block::Text { deltas } => {
                ev.push(Event::new(
                    "content_block_start",
                    json!({"type": "content_block_start", "index": index,
                           "content_block": {"type": "text", "text": ""}}),
                ));
                for d in deltas {
                    ev.push(Event::new(
                        "content_block_delta",
                        json!({"type": "content_block_delta", "index": index,
                               "delta": {"type": "text_delta", "text": d}}),
                    ));
                }
            }
            Block::ToolUse { id, name, input } => {
                ev.push(Event::new(
                    "content_block_start",
                    json!({"type": "content_block_start", "index": index,
                           "content_block": {"type": "tool_use", "id": id, "name": name, "input": {}}}),
                ));
                let raw = input.to_string();
                for piece in chunks(&raw, 256) {
                    ev.push(Event::new(
                        "content_block_delta",
                        json!({"type": "content_block_delta", "index": index,
                               "delta": {"type": "input_json_delta", "partial_json": piece}}),
                    ));
                }
            }
        }
        ev.push(Event::new(
            "content_block_stop",
            json!({"type": "content_block_stop", "index": index}),
        ));
    }
    ev.push(Event::new(
        "message_delta",
        json!({"type": "message_delta",
               "delta": {"stop_reason": stop_reason, "stop_sequence": null},
               "usage": {"output_tokens": usage.output_tokens}}),
    ));
    ev.push(Event::new("message_stop", json!({"type": "message_stop"})));
    ev
}

/// The non-streaming (`stream: false`) form of the same message.
pub fn message_json(
    id: &str,
    model: &str,
    blocks: &[Block],
    stop_reason: &str,
    usage: Usage,
) -> Value {
    let content: Vec<Value> = blocks
        .iter()
        .map(|b| match b {
            Block::Text { deltas } => json!({"type": "text", "text": deltas.concat()}),
            Block::ToolUse { id, name, input } => {
                json!({"type": "tool_use", "id": id, "name": name, "input": input})
            }
        })
        .collect();
    json!({
        "id": id, "type": "message", "role": "assistant", "model": model,
        "content": content, "stop_reason": stop_reason, "stop_sequence": null,
        "usage": usage.to_json(usage.output_tokens),
    })
}

/// An Anthropic error body: `{"type":"error","error":{"type":T,"message":M}}`.
pub fn error_json(error_type: &str, message: &str) -> Value {
    json!({"type": "error", "error": {"type": error_type, "message": message}})
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usage() -> Usage {
        Usage {
            input_tokens: 1000,
            output_tokens: 20,
            ..Usage::default()
        }
    }

    #[test]
    fn encodes_one_event() {
        let e = Event::new("ping", json!({"type": "ping"}));
        assert_eq!(e.encode(), "event: ping\ndata: {\"type\":\"ping\"}\n\n");
    }

    #[test]
    fn chunks_respect_char_boundaries() {
        let s = "héllo wörld ✓✓✓";
        let parts = chunks(s, 4);
        assert_eq!(parts.concat(), s);
        assert!(parts.iter().all(|p| p.len() <= 4 && !p.is_empty()));
        assert!(chunks("", 10).is_empty());
    }

    #[test]
    fn text_message_sequence() {
        let blocks = [Block::text("Hello, world", 5)];
        let ev = message_events("msg_1", "claude-x", &blocks, "end_turn", usage());
        let names: Vec<&str> = ev.iter().map(|e| e.name).collect();
        assert_eq!(
            names,
            [
                "message_start",
                "ping",
                "content_block_start",
                "content_block_delta",
                "content_block_delta",
                "content_block_delta",
                "content_block_stop",
                "message_delta",
                "message_stop"
            ]
        );
        assert_eq!(ev[0].data["message"]["id"], "msg_1");
        assert_eq!(ev[0].data["message"]["model"], "claude-x");
        assert_eq!(ev[0].data["message"]["usage"]["input_tokens"], 1000);
        let text: String = ev
            .iter()
            .filter(|e| e.is_delta())
            .map(|e| e.data["delta"]["text"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(text, "Hello, world");
        assert_eq!(ev[7].data["delta"]["stop_reason"], "end_turn");
        assert_eq!(ev[7].data["usage"]["output_tokens"], 20);
        // Every event encodes to a parseable data line.
        for e in &ev {
            let enc = e.encode();
            let data = enc.lines().nth(1).unwrap().strip_prefix("data: ").unwrap();
            let v: Value = serde_json::from_str(data).unwrap();
            assert_eq!(v["type"], e.name);
        }
    }

    #[test]
    fn tool_use_sequence_reassembles_input() {
        let input = json!({"file_path": "/tmp/x.md", "content": "a".repeat(1000)});
        let blocks = [
            Block::text("Writing.", 100),
            Block::ToolUse {
                id: "toolu_1".into(),
                name: "Write".into(),
                input: input.clone(),
            },
        ];
        let ev = message_events("msg_2", "m", &blocks, "tool_use", usage());
        let start = ev
            .iter()
            .find(|e| e.name == "content_block_start" && e.data["index"] == 1)
            .unwrap();
        assert_eq!(start.data["content_block"]["type"], "tool_use");
        assert_eq!(start.data["content_block"]["name"], "Write");
        let json: String = ev
            .iter()
            .filter(|e| e.is_delta() && e.data["index"] == 1)
            .map(|e| {
                e.data["delta"]["partial_json"]
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect();
        assert_eq!(serde_json::from_str::<Value>(&json).unwrap(), input);
        assert!(
            ev.iter()
                .filter(|e| e.is_delta() && e.data["index"] == 1)
                .count()
                > 1
        );
        let md = ev.iter().find(|e| e.name == "message_delta").unwrap();
        assert_eq!(md.data["delta"]["stop_reason"], "tool_use");
    }

    #[test]
    fn non_streaming_message() {
        let blocks = [Block::text("Hi", 1)];
        let m = message_json("msg_3", "m", &blocks, "end_turn", usage());
        assert_eq!(m["content"][0]["text"], "Hi");
        assert_eq!(m["usage"]["output_tokens"], 20);
        assert_eq!(m["stop_reason"], "end_turn");
    }

    #[test]
    fn error_body() {
        let e = error_json("overloaded_error", "Overloaded");
        assert_eq!(
            e,
            json!({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}})
        );
    }
}
