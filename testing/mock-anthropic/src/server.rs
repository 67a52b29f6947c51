//! The HTTP side: routes, per-request logging, streaming, shutdown.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use axum::Router;
use serde_json::{json, Value};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tracing::{debug, info, warn};

use crate::plan::{self, Reply};
use crate::record::{Log, Recorded};
use crate::scenario::Scenario;
use crate::sse::{error_json, message_events, message_json, Usage};
use crate::MockConfig;

/// Header the CLI sends with its session id; keys the `overloaded` counter.
const SESSION_HEADER: &str = "x-claude-code-session-id";

struct Shared {
    config: MockConfig,
    /// `/v1/messages` requests seen.
    requests: AtomicUsize,
    /// Source of message, tool-use and request ids.
    ids: AtomicU64,
    /// `overloaded` errors already sent, per session id (or "global").
    overloaded_sent: Mutex<HashMap<String, u32>>,
    /// The latest requests and answers.
    log: Log,
}

impl Shared {
    fn next_id(&self) -> u64 {
        self.ids.fetch_add(1, Ordering::Relaxed) + 1
    }
}

/// A running mock bound to 127.0.0.1.
pub struct MockServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl MockServer {
    /// Binds `127.0.0.1:config.port` (0 = any free port) and starts serving.
    pub async fn start(config: MockConfig) -> std::io::Result<MockServer> {
        let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, config.port)).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            requests: AtomicUsize::new(0),
            ids: AtomicU64::new(0),
            overloaded_sent: Mutex::new(HashMap::new()),
            log: Log::new(config.request_log),
            config,
        });
        let app = Router::new()
            .route("/v1/messages", post(messages))
            .route("/v1/messages/count_tokens", post(count_tokens))
            .route("/v1/models", get(models))
            .route("/api/hello", any(hello))
            .fallback(fallback)
            .layer(DefaultBodyLimit::max(256 * 1024 * 1024))
            .with_state(shared.clone());
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let serve = axum::serve(listener, app).with_graceful_shutdown(async {
                let _ = rx.await;
            });
            if let Err(e) = serve.await {
                warn!("mock-anthropic server error: {e}");
            }
        });
        info!(%addr, scenario = %shared.config.default_scenario, "mock-anthropic listening");
        Ok(MockServer {
            addr,
            shared,
            shutdown: Some(tx),
            task: Some(task),
        })
    }

    /// `http://127.0.0.1:PORT`, for `ANTHROPIC_BASE_URL`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Number of `/v1/messages` requests received so far (errors included).
    pub fn requests(&self) -> usize {
        self.shared.requests.load(Ordering::SeqCst)
    }

    /// The latest `/v1/messages` requests (up to `MockConfig::request_log`),
    /// oldest first, each with what the mock answered.
    pub fn received(&self) -> Vec<Recorded> {
        self.shared.log.all()
    }

    /// Stops accepting, lets in-flight answers finish for up to 2 s, then
    /// aborts whatever is left.
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(mut task) = self.task.take() {
            if tokio::time::timeout(Duration::from_secs(2), &mut task)
                .await
                .is_err()
            {
                task.abort();
                let _ = task.await;
            }
        }
    }
}

impl Drop for MockServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn error_response(
    status: u16,
    body: &Value,
    retry_after_ms: Option<u64>,
    request_id: &str,
) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut resp = (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response();
    let h = resp.headers_mut();
    h.insert(
        "request-id",
        HeaderValue::from_str(request_id).expect("ascii id"),
    );
    if status.as_u16() == 529 || status.as_u16() == 429 || status.is_server_error() {
        h.insert("x-should-retry", HeaderValue::from_static("true"));
    } else {
        h.insert("x-should-retry", HeaderValue::from_static("false"));
    }
    if let Some(ms) = retry_after_ms {
        h.insert("retry-after-ms", HeaderValue::from(ms));
        h.insert("retry-after", HeaderValue::from(ms.div_ceil(1000)));
    }
    resp
}

async fn messages(
    State(s): State<Arc<Shared>>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let n = s.requests.fetch_add(1, Ordering::SeqCst) + 1;
    let request_id = format!("req_mock_{:06}", s.next_id());
    let req: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => {
            warn!(n, path = %uri, "request body is not JSON: {e}");
            let body = error_json("invalid_request_error", &format!("body is not JSON: {e}"));
            return error_response(400, &body, None, &request_id);
        }
    };
    let session = header_str(&headers, SESSION_HEADER)
        .unwrap_or("global")
        .to_string();
    let a = plan::analyze(&req, s.config.default_scenario);
    let stream = req.get("stream").and_then(Value::as_bool).unwrap_or(false);
    let model = req
        .get("model")
        .and_then(Value::as_str)
        .unwrap_or("claude-mock")
        .to_string();
    let max_tokens = req.get("max_tokens").and_then(Value::as_u64).unwrap_or(0);
    let n_messages = req
        .get("messages")
        .and_then(Value::as_array)
        .map_or(0, Vec::len);
    let n_tools = req
        .get("tools")
        .and_then(Value::as_array)
        .map_or(0, Vec::len);
    info!(
        n,
        path = %uri,
        session = %session,
        scenario = %a.scenario,
        model = %model,
        stream,
        max_tokens,
        messages = n_messages,
        tools = n_tools,
        bytes = body.len(),
        "POST /v1/messages"
    );
    // Only harmless headers are logged; never the API key.
    debug!(
        user_agent = header_str(&headers, "user-agent").unwrap_or(""),
        anthropic_version = header_str(&headers, "anthropic-version").unwrap_or(""),
        anthropic_beta = header_str(&headers, "anthropic-beta").unwrap_or(""),
        retry_count = header_str(&headers, "x-stainless-retry-count").unwrap_or(""),
        has_api_key = headers.contains_key("x-api-key"),
        has_authorization = headers.contains_key(header::AUTHORIZATION),
        "request headers"
    );
    debug!(body = %String::from_utf8_lossy(&body), "request body");

    if n <= s.config.rate_limited_first as usize {
        info!(n, "answering 429 rate_limit_error");
        if let Reply::Error { status, body, retry_after_ms } = plan::rate_limited(s.config.rate_limit_retry_after_ms) {
            remember(&s, n, &headers, &req, json!({"status": status, "error": body}));
            return error_response(status, &body, retry_after_ms, &request_id);
        }
    }
    if a.scenario == Scenario::Overloaded {
        let limit = a
            .directives
            .overloaded_count
            .unwrap_or(s.config.overloaded_count);
        let mut sent = s.overloaded_sent.lock().expect("overloaded map");
        let count = sent.entry(session.clone()).or_insert(0);
        if *count < limit {
            *count += 1;
            info!(n, session = %session, attempt = *count, limit, "answering 529 overloaded_error");
            drop(sent);
            if let Reply::Error {
                status,
                body,
                retry_after_ms,
            } = plan::overloaded(s.config.overloaded_retry_after_ms)
            {
                remember(&s, n, &headers, &req, json!({"status": status, "error": body}));
                return error_response(status, &body, retry_after_ms, &request_id);
            }
        }
    }

    let tool_id = format!("toolu_mock_{:06}", s.next_id());
    match plan::answer(&req, &a, &s.config, &tool_id) {
        Reply::Error {
            status,
            body,
            retry_after_ms,
        } => {
            info!(n, status, "answering error");
            remember(&s, n, &headers, &req, json!({"status": status, "error": body}));
            error_response(status, &body, retry_after_ms, &request_id)
        }
        Reply::Message {
            blocks,
            stop_reason,
            delta_interval,
        } => {
            let msg_id = format!("msg_mock_{:06}", s.next_id());
            let usage = Usage::estimate(body.len(), &blocks);
            info!(
                n,
                stop_reason,
                input_tokens = usage.input_tokens,
                output_tokens = usage.output_tokens,
                "answering message"
            );
            remember(&s, n, &headers, &req, message_json(&msg_id, &model, &blocks, stop_reason, usage));
            if !stream {
                let m = message_json(&msg_id, &model, &blocks, stop_reason, usage);
                let mut resp =
                    ([(header::CONTENT_TYPE, "application/json")], m.to_string()).into_response();
                resp.headers_mut().insert(
                    "request-id",
                    HeaderValue::from_str(&request_id).expect("ascii id"),
                );
                return resp;
            }
            let events = message_events(&msg_id, &model, &blocks, stop_reason, usage);
            let body_stream =
                futures_util::stream::unfold(events.into_iter(), move |mut it| async move {
                    let ev = it.next()?;
                    if let (Some(iv), true) = (delta_interval, ev.is_delta()) {
                        tokio::time::sleep(iv).await;
                    }
                    Some((Ok::<_, Infallible>(Bytes::from(ev.encode())), it))
                });
            let mut resp = Response::new(Body::from_stream(body_stream));
            let h = resp.headers_mut();
            h.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/event-stream; charset=utf-8"),
            );
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
            h.insert(
                "request-id",
                HeaderValue::from_str(&request_id).expect("ascii id"),
            );
            resp
        }
    }
}

/// Keeps the request and its answer in the request log.
fn remember(s: &Shared, n: usize, headers: &HeaderMap, req: &Value, reply: Value) {
    s.log.push(Recorded {
        n,
        at: std::time::SystemTime::now(),
        session_header: header_str(headers, SESSION_HEADER).map(String::from),
        body: req.clone(),
        reply,
    });
}

async fn count_tokens(body: Bytes) -> Response {
    let tokens = (body.len() / 4).max(1);
    info!(bytes = body.len(), tokens, "POST /v1/messages/count_tokens");
    (
        [(header::CONTENT_TYPE, "application/json")],
        json!({"input_tokens": tokens}).to_string(),
    )
        .into_response()
}

async fn models() -> Response {
    info!("GET /v1/models");
    let body = json!({
        "data": [{"type": "model", "id": "claude-mock", "display_name": "Mock model", "created_at": "2025-01-01T00:00:00Z"}],
        "has_more": false, "first_id": "claude-mock", "last_id": "claude-mock"
    });
    (
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

/// Connectivity probe (`HEAD /api/hello`) the CLI sends unless
/// `CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC` is set.
async fn hello(method: Method) -> Response {
    info!(%method, "/api/hello");
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        "{}",
    )
        .into_response()
}

async fn fallback(method: Method, uri: Uri, body: Bytes) -> Response {
    warn!(%method, path = %uri, bytes = body.len(), "unhandled request");
    let body = error_json(
        "not_found_error",
        &format!("mock-anthropic does not implement {method} {}", uri.path()),
    );
    (
        StatusCode::NOT_FOUND,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}
