//! The child gets the prompt on stdin, the stream-json flags, an explicit
//! environment and its own config dir.
mod common;

use claude_jobs::{IsolationMode, JobSpec};
use common::*;

#[tokio::test]
async fn prompt_on_stdin_flags_and_clean_env() {
    std::env::set_var("CLAUDECODE", "1");
    std::env::set_var("CLAUDE_CODE_ENTRYPOINT", "cli");
    std::env::set_var("UNRELATED_SECRET_URL", "postgres://u:p@db/x");
    let dir = data_dir();
    let m = manager(dir.path(), IsolationMode::Auto).await;
    let record = dir.path().join("record.json");
    let prompt = "a long prompt ".repeat(20_000);
    let spec = JobSpec::builder()
        .prompt(&prompt)
        .model("claude-test")
        .allowed_tools(["Read", "Write"])
        .max_turns(4)
        .env("FAKE_CLAUDE_RECORD", record.display().to_string())
        .build()
        .unwrap();
    let info = m.submit(spec).await.unwrap().wait().await;
    assert_eq!(info.state, claude_jobs::JobState::Succeeded, "{info:?}");
    let rec: serde_json::Value = serde_json::from_slice(&std::fs::read(&record).unwrap()).unwrap();
    assert_eq!(
        rec["stdin"].as_str().unwrap(),
        prompt,
        "prompt on stdin, whole"
    );
    let argv: Vec<&str> = rec["argv"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert!(argv
        .windows(4)
        .any(|w| w == ["-p", "--output-format", "stream-json", "--verbose"]));
    // Values a user gives go as --flag=value (a value cannot become a flag).
    assert!(argv.contains(&"--model=claude-test"));
    assert!(argv.contains(&"--allowedTools=Read,Write"));
    assert!(argv.contains(&"--max-turns=4"));
    assert!(
        !argv.iter().any(|a| a.contains("a long prompt")),
        "never on argv"
    );
    let env = rec["env"].as_object().unwrap();
    assert!(!env.contains_key("CLAUDECODE"));
    assert!(!env.contains_key("CLAUDE_CODE_ENTRYPOINT"));
    assert!(
        !env.contains_key("UNRELATED_SECRET_URL"),
        "no leak of the host environment"
    );
    assert!(env.contains_key("PATH"));
    assert_eq!(env["DISABLE_AUTOUPDATER"], "1");
    let cfg = env["CLAUDE_CONFIG_DIR"].as_str().unwrap();
    assert!(
        cfg.starts_with(info.log_dir.as_ref().unwrap().to_str().unwrap()),
        "{cfg}"
    );
    let cwd = rec["cwd"].as_str().unwrap();
    assert!(
        cwd.ends_with("/work") && cwd.contains(&info.id),
        "fresh working dir: {cwd}"
    );
}
