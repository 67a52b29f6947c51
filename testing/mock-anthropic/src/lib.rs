//! A loopback mock of the Anthropic Messages API, good enough for the real
//! Claude Code CLI to run whole jobs (tools included) offline.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use mock_anthropic::{MockConfig, MockServer, Scenario};
//! let server = MockServer::start(MockConfig { default_scenario: Scenario::Write, ..Default::default() }).await?;
//! // run the CLI with ANTHROPIC_BASE_URL=server.base_url()
//! println!("{} requests", server.requests());
//! for r in server.received() {
//!     println!("{:?}: {} tools offered", r.session_id(), r.tool_names().len());
//! }
//! server.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! See README.md for scenarios, prompt directives and what the real CLI does.

use std::time::Duration;

pub mod plan;
mod record;
pub mod scenario;
pub mod schema;
mod server;
pub mod sse;

pub use record::Recorded;
pub use scenario::{Directives, Scenario, UnknownScenario};
pub use server::MockServer;

/// Server settings. `Default` gives the values documented in README.md.
#[derive(Clone, Debug)]
pub struct MockConfig {
    /// Scenario for requests whose prompt has no `mock-scenario:` line.
    pub default_scenario: Scenario,
    /// Port on 127.0.0.1; 0 picks a free one.
    pub port: u16,
    /// `overloaded`: how many 529s to send per CLI session before succeeding
    /// (prompt directive `mock-overloaded-count: N` overrides).
    pub overloaded_count: u32,
    /// `overloaded`: value for the `retry-after-ms` (and, rounded up to
    /// seconds, `retry-after`) headers. `None` (the default) sends none.
    /// CLI 2.1.332 waits about this long plus jitter, but never less than
    /// about 1 s when a header is present; without one its first retries come
    /// after about 0.5 s and 1 s, so leaving it unset is fastest.
    pub overloaded_retry_after_ms: Option<u64>,
    /// `slow`: total streaming time (prompt `mock-slow-seconds: N` overrides).
    pub slow_seconds: f64,
    /// `slow`: pause before each text delta.
    pub slow_interval: Duration,
    /// `large`: size of the answer text in bytes (prompt `mock-large-bytes: N`
    /// overrides). The default, 1.1 MB, makes the CLI's `assistant` and
    /// `result` lines longer than 1 MiB (a common line-length cap).
    pub large_bytes: usize,
    /// How many requests [`MockServer::received`] keeps (the latest; 0: none).
    pub request_log: usize,
    /// The first N `/v1/messages` requests the server receives (from any
    /// session) are answered HTTP 429 `rate_limit_error`, with
    /// `retry-after` headers of [`rate_limit_retry_after_ms`](Self::rate_limit_retry_after_ms).
    pub rate_limited_first: u32,
    /// The `retry-after-ms` (and, in whole seconds, `retry-after`) of those 429s.
    pub rate_limit_retry_after_ms: u64,
}

impl Default for MockConfig {
    fn default() -> Self {
        MockConfig {
            default_scenario: Scenario::Text,
            port: 0,
            overloaded_count: 1,
            overloaded_retry_after_ms: None,
            slow_seconds: 5.0,
            slow_interval: Duration::from_millis(200),
            large_bytes: 1_100_000,
            request_log: 256,
            rate_limited_first: 0,
            rate_limit_retry_after_ms: 3000,
        }
    }
}
