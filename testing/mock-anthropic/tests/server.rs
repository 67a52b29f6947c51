//! Talks HTTP/1.1 to a running mock with a plain TCP socket.

use std::time::{Duration, Instant};

use mock_anthropic::{MockConfig, MockServer, Scenario};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

struct HttpResponse {
    status: u16,
    headers: String,
    body: String,
}

async fn post(server: &MockServer, path: &str, session: &str, body: &Value) -> HttpResponse {
    let body = body.to_string();
    let mut s = TcpStream::connect(server.addr()).await.unwrap();
    let req = format!(
        "POST {path} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nx-api-key: k\r\n\
         x-claude-code-session-id: {session}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        server.addr(),
        body.len()
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).await.unwrap();
    let raw = String::from_utf8(raw).unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap();
    let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    let headers = head.to_ascii_lowercase();
    let body = if headers.contains("transfer-encoding: chunked") {
        dechunk(body)
    } else {
        body.to_string()
    };
    HttpResponse {
        status,
        headers,
        body,
    }
}

fn dechunk(mut s: &str) -> String {
    let mut out = String::new();
    loop {
        let (size, rest) = s.split_once("\r\n").unwrap();
        let n = usize::from_str_radix(size.trim(), 16).unwrap();
        if n == 0 {
            return out;
        }
        out.push_str(&rest[..n]);
        s = &rest[n + 2..];
    }
}

/// `(event name, data)` pairs of an SSE body.
fn events(body: &str) -> Vec<(String, Value)> {
    body.split("\n\n")
        .filter(|e| !e.trim().is_empty())
        .map(|e| {
            let mut lines = e.lines();
            let name = lines
                .next()
                .unwrap()
                .strip_prefix("event: ")
                .unwrap()
                .to_string();
            let data = lines.next().unwrap().strip_prefix("data: ").unwrap();
            (name, serde_json::from_str(data).unwrap())
        })
        .collect()
}

fn request(prompt: &str, stream: bool) -> Value {
    json!({
        "model": "claude-test", "max_tokens": 1000, "stream": stream,
        "messages": [{"role": "user", "content": [{"type": "text", "text": prompt}]}],
        "system": [{"type": "text", "text": "Working directory: /job"}],
        "tools": [{"name": "Write", "input_schema": {}}, {"name": "Bash", "input_schema": {}}]
    })
}

#[tokio::test]
async fn streams_text_and_counts_requests() {
    let server = MockServer::start(MockConfig::default()).await.unwrap();
    assert!(server.base_url().starts_with("http://127.0.0.1:"));
    let r = post(
        &server,
        "/v1/messages?beta=true",
        "s1",
        &request("Hello there", true),
    )
    .await;
    assert_eq!(r.status, 200);
    assert!(r.headers.contains("content-type: text/event-stream"));
    let ev = events(&r.body);
    assert_eq!(ev.first().unwrap().0, "message_start");
    assert_eq!(ev.last().unwrap().0, "message_stop");
    assert_eq!(ev[0].1["message"]["model"], "claude-test");
    let text: String = ev
        .iter()
        .filter(|(n, _)| n == "content_block_delta")
        .map(|(_, d)| d["delta"]["text"].as_str().unwrap().to_string())
        .collect();
    assert!(text.contains("offline sample text"), "{text}");
    assert!(text.contains("Hello there"));

    let r = post(&server, "/v1/messages", "s1", &request("Hello", false)).await;
    assert_eq!(r.status, 200);
    let m: Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(m["stop_reason"], "end_turn");
    assert!(m["usage"]["input_tokens"].as_u64().unwrap() > 0);

    let r = post(
        &server,
        "/v1/messages/count_tokens",
        "s1",
        &request("Hello", false),
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(
        server.requests(),
        2,
        "count_tokens is not a messages request"
    );

    let r = post(&server, "/v1/nope", "s1", &json!({})).await;
    assert_eq!(r.status, 404);
    server.shutdown().await;
}

#[tokio::test]
async fn write_tool_call_over_sse() {
    let server = MockServer::start(MockConfig {
        default_scenario: Scenario::Write,
        ..Default::default()
    })
    .await
    .unwrap();
    let r = post(
        &server,
        "/v1/messages",
        "s",
        &request("Draft it\nOutput file: out/a.md", true),
    )
    .await;
    let ev = events(&r.body);
    let json: String = ev
        .iter()
        .filter(|(n, d)| n == "content_block_delta" && d["delta"]["type"] == "input_json_delta")
        .map(|(_, d)| d["delta"]["partial_json"].as_str().unwrap().to_string())
        .collect();
    let input: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(input["file_path"], "/job/out/a.md");
    let md = ev.iter().find(|(n, _)| n == "message_delta").unwrap();
    assert_eq!(md.1["delta"]["stop_reason"], "tool_use");
    server.shutdown().await;
}

#[tokio::test]
async fn overloaded_then_ok_per_session_and_unauthorized() {
    let server = MockServer::start(MockConfig::default()).await.unwrap();
    let req = request(
        "mock-scenario: overloaded\nmock-overloaded-count: 2\nhi",
        true,
    );
    for _ in 0..2 {
        let r = post(&server, "/v1/messages", "a", &req).await;
        assert_eq!(r.status, 529);
        assert!(r.headers.contains("x-should-retry: true"));
        let body: Value = serde_json::from_str(&r.body).unwrap();
        assert_eq!(body["error"]["type"], "overloaded_error");
    }
    assert_eq!(post(&server, "/v1/messages", "a", &req).await.status, 200);
    assert_eq!(
        post(&server, "/v1/messages", "b", &req).await.status,
        529,
        "new session, new counter"
    );

    let r = post(
        &server,
        "/v1/messages",
        "c",
        &request("mock-scenario: unauthorized", true),
    )
    .await;
    assert_eq!(r.status, 401);
    assert!(r.headers.contains("x-should-retry: false"));
    let body: Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(body["error"]["type"], "authentication_error");
    assert_eq!(server.requests(), 5);
    server.shutdown().await;
}

#[tokio::test]
async fn slow_stream_takes_its_time() {
    let server = MockServer::start(MockConfig {
        slow_interval: Duration::from_millis(50),
        ..Default::default()
    })
    .await
    .unwrap();
    let t = Instant::now();
    let r = post(
        &server,
        "/v1/messages",
        "s",
        &request("mock-scenario: slow\nmock-slow-seconds: 0.5", true),
    )
    .await;
    let took = t.elapsed();
    assert_eq!(r.status, 200);
    assert!(took >= Duration::from_millis(450), "{took:?}");
    assert!(took < Duration::from_secs(3), "{took:?}");
    let deltas = events(&r.body)
        .iter()
        .filter(|(n, _)| n == "content_block_delta")
        .count();
    assert_eq!(deltas, 10);
    server.shutdown().await;
}

#[tokio::test]
async fn the_request_log_keeps_bodies_and_answers() {
    let server = MockServer::start(MockConfig {
        request_log: 2,
        ..Default::default()
    })
    .await
    .unwrap();
    let mut req = request("give me json", false);
    req["tools"] = json!([{"name": "StructuredOutput", "input_schema": {"type": "object", "properties": {"n": {"type": "integer"}}}}]);
    for _ in 0..3 {
        assert_eq!(post(&server, "/v1/messages", "sess-9", &req).await.status, 200);
    }
    let log = server.received();
    assert_eq!(log.len(), 2, "only the latest two are kept");
    assert_eq!(log[1].n, 3);
    assert_eq!(log[1].session_id().as_deref(), Some("sess-9"));
    assert_eq!(log[1].prompts(), ["give me json"]);
    assert_eq!(log[1].tool_names(), ["StructuredOutput"]);
    assert!(log[1].system_text().contains("Working directory: /job"));
    assert_eq!(log[1].answered_tool_input("StructuredOutput"), Some(&json!({"n": 1})));
    server.shutdown().await;
}
