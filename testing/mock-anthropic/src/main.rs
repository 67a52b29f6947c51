//! `mock-anthropic [--port N] [--scenario NAME] [--overloaded-count N]
//! [--retry-after-ms MS] [--rate-limited-first N] [--rate-limit-retry-after-ms MS]`: serve the mock on 127.0.0.1 until killed.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use mock_anthropic::{MockConfig, MockServer};

const USAGE: &str = "usage: mock-anthropic [--port N] [--scenario text|write|bash|overloaded|unauthorized|slow|large|mcp]
                      [--overloaded-count N] [--retry-after-ms MS (0 = no header)]
                      [--rate-limited-first N] [--rate-limit-retry-after-ms MS (default 3000)]
Binds 127.0.0.1 (port 0 = random), prints `listening on http://127.0.0.1:PORT`, serves until killed.
Log level: RUST_LOG (default mock_anthropic=info; debug logs request bodies).";

fn parse_args() -> Result<MockConfig, String> {
    let mut cfg = MockConfig::default();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_string(), Some(v.to_string())),
            _ => (arg.clone(), None),
        };
        let mut value = |name: &str| {
            inline
                .clone()
                .or_else(|| args.next())
                .ok_or(format!("{name} needs a value"))
        };
        match flag.as_str() {
            "--port" | "-p" => {
                cfg.port = value("--port")?
                    .parse()
                    .map_err(|e| format!("--port: {e}"))?
            }
            "--scenario" | "-s" => {
                cfg.default_scenario = value("--scenario")?.parse().map_err(|e| format!("{e}"))?
            }
            "--overloaded-count" => {
                cfg.overloaded_count = value("--overloaded-count")?
                    .parse()
                    .map_err(|e| format!("--overloaded-count: {e}"))?
            }
            "--retry-after-ms" => {
                let ms: u64 = value("--retry-after-ms")?
                    .parse()
                    .map_err(|e| format!("--retry-after-ms: {e}"))?;
                cfg.overloaded_retry_after_ms = (ms > 0).then_some(ms);
            }
            "--rate-limited-first" => {
                cfg.rate_limited_first = value("--rate-limited-first")?
                    .parse()
                    .map_err(|e| format!("--rate-limited-first: {e}"))?
            }
            "--rate-limit-retry-after-ms" => {
                cfg.rate_limit_retry_after_ms = value("--rate-limit-retry-after-ms")?
                    .parse()
                    .map_err(|e| format!("--rate-limit-retry-after-ms: {e}"))?
            }
            "--help" | "-h" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(cfg)
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("mock_anthropic=info")),
        )
        .init();
    let cfg = match parse_args() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("mock-anthropic: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let server = match MockServer::start(cfg).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("mock-anthropic: cannot bind: {e}");
            return ExitCode::FAILURE;
        }
    };
    {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "listening on {}", server.base_url());
        let _ = out.flush();
    }
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
    server.shutdown().await;
    ExitCode::SUCCESS
}
