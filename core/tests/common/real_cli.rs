//! A manager on the real Claude CLI against a loopback mock Messages API:
//! shared by the real-CLI tests (`#[path = "common/real_cli.rs"] mod real_cli;`).

use std::time::Duration;

use claude_jobs::{JobManager, JobManagerBuilder};
use mock_anthropic::{MockConfig, MockServer, Scenario};

use crate::common::{builder, data_dir, real_claude_bin};

pub struct Env {
    pub _dir: tempfile::TempDir,
    pub mock: MockServer,
    pub manager: JobManager,
    /// `TEST_MARKER` in every job's environment: finds its processes.
    pub marker: String,
}

/// The mock answering `scenario` and a manager whose jobs run the real CLI
/// against it; `tweak` sets the rest (concurrency, isolation, …) and gets
/// the data dir. `None` (the test skips, saying so) without `CLAUDE_BIN`.
pub async fn real_env(
    test: &str,
    scenario: Scenario,
    tweak: impl FnOnce(JobManagerBuilder, &std::path::Path) -> JobManagerBuilder,
) -> Option<Env> {
    let bin = real_claude_bin(test)?;
    let mock = MockServer::start(MockConfig {
        default_scenario: scenario,
        ..Default::default()
    })
    .await
    .unwrap();
    let dir = data_dir();
    let marker = format!("{test}-{}", std::process::id());
    let b = builder(dir.path())
        .claude_bin(bin)
        .kill_grace(Duration::from_secs(3))
        .env("ANTHROPIC_BASE_URL", mock.base_url())
        .env("ANTHROPIC_API_KEY", "test-key-not-real")
        .env("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1")
        .env("TEST_MARKER", &marker);
    let manager = tweak(b, dir.path()).build().await.unwrap();
    Some(Env { _dir: dir, mock, manager, marker })
}
