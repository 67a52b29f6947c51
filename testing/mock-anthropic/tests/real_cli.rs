//! Runs the real Claude Code CLI against the mock (write scenario).
//!
//! Needs `CLAUDE_BIN` (e.g. `CLAUDE_BIN=$(scripts/install-claude.sh | tail -n1)`);
//! without it the test prints `SKIP: CLAUDE_BIN not set` and passes.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use mock_anthropic::{MockConfig, MockServer, Scenario};
use serde_json::Value;
use tokio::io::AsyncWriteExt;
use tokio::process::Command;

struct TempDir(PathBuf);

impl TempDir {
    fn new() -> TempDir {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let p = std::env::temp_dir().join(format!(
            "mock-anthropic-real-cli-{}-{nanos}",
            std::process::id()
        ));
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p.canonicalize().unwrap())
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_cli_write_scenario() {
    let Some(bin) = std::env::var_os("CLAUDE_BIN").filter(|v| !v.is_empty()) else {
        println!("SKIP: CLAUDE_BIN not set");
        return;
    };
    let server = MockServer::start(MockConfig {
        default_scenario: Scenario::Text,
        ..MockConfig::default()
    })
    .await
    .expect("start mock");
    let dir = TempDir::new();
    let prompt =
        "Write a short brief about offline testing.\nOutput file: brief.md\nmock-scenario: write\n";

    let mut child = Command::new(&bin)
        .args([
            "-p",
            "--output-format",
            "stream-json",
            "--verbose",
            "--allowedTools",
            "Write,Bash",
        ])
        .current_dir(&dir.0)
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("HOME", &dir.0)
        .env("CLAUDE_CONFIG_DIR", dir.0.join(".cfg"))
        .env("ANTHROPIC_BASE_URL", server.base_url())
        .env("ANTHROPIC_API_KEY", "test-key")
        .env("DISABLE_AUTOUPDATER", "1")
        .env("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn CLAUDE_BIN");
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(prompt.as_bytes()).await.unwrap();
    drop(stdin);

    let out = tokio::time::timeout(Duration::from_secs(120), child.wait_with_output())
        .await
        .expect("CLI did not finish within 120 s")
        .expect("wait for CLI");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);

    let lines: Vec<Value> = stdout
        .lines()
        .filter(|l| l.starts_with('{'))
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let result = lines
        .iter()
        .rev()
        .find(|v| v["type"] == "result")
        .unwrap_or_else(|| panic!("no result line\nstdout:\n{stdout}\nstderr:\n{stderr}"));

    let file = dir.0.join("brief.md");
    assert!(
        file.is_file(),
        "{} was not created\nstdout:\n{stdout}\nstderr:\n{stderr}",
        file.display()
    );
    let content = std::fs::read_to_string(&file).unwrap();
    assert!(
        content.contains("Write a short brief about offline testing."),
        "{content}"
    );
    assert!(content.contains("Offline sample text"), "{content}");

    assert_eq!(result["is_error"], Value::Bool(false), "result: {result}");
    let session = result["session_id"].as_str().unwrap_or("");
    assert!(!session.is_empty(), "result has no session_id: {result}");
    assert!(
        result["total_cost_usd"].as_f64().unwrap_or(0.0) > 0.0,
        "result: {result}"
    );
    assert!(
        out.status.success(),
        "exit status {:?}\nstderr:\n{stderr}",
        out.status
    );
    // One request for the tool call, one carrying the tool result.
    assert!(
        server.requests() >= 2,
        "only {} requests",
        server.requests()
    );
    println!(
        "real CLI: session {session}, {} requests, cost {}, result {:?}",
        server.requests(),
        result["total_cost_usd"],
        result["result"]
    );
    server.shutdown().await;
}
