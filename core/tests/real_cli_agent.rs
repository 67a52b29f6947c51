//! The agent options end to end: the real Claude Code CLI (pinned by
//! scripts/install-claude.sh, path in `CLAUDE_BIN`) against the loopback
//! mock Messages API, whose request log shows what the CLI sent: structured
//! output, resume and fork, a killed run resumed on its second attempt,
//! tool rules, the appended system prompt and an MCP tool (`mcp-echo`).
mod common;
#[path = "common/real_cli.rs"]
mod real_cli;

use std::time::Duration;

use claude_jobs::{IsolationMode, Job, JobEvent, JobInfo, JobSpec, JobSpecBuilder, JobState};
use common::*;
use mock_anthropic::{MockServer, Recorded, Scenario};
use real_cli::{real_env, Env};
use serde_json::{json, Value};

async fn env(test: &str, scenario: Scenario) -> Option<Env> {
    real_env(test, scenario, |b, dir| {
        // A HOME of the jobs' own: the CLI's shell sources no rc file of this
        // host's (a killed shell must not leave, say, a stale pyenv lock).
        let home = dir.join("home");
        std::fs::create_dir_all(&home).unwrap();
        b.max_concurrent(2)
            .isolation(IsolationMode::Auto)
            .retry_backoff(Duration::from_millis(200), Duration::from_millis(500))
            .env("HOME", home.display().to_string())
    })
    .await
}

fn prompt(text: &str) -> JobSpecBuilder {
    JobSpec::builder().prompt(text).timeout(Duration::from_secs(120))
}

async fn succeeded(job: &Job) -> JobInfo {
    let info = job.wait().await;
    assert_eq!(info.state, JobState::Succeeded, "{info:?}");
    info
}

/// The requests the mock received after the first `after`, in order.
fn requests_after(mock: &MockServer, after: usize) -> Vec<Recorded> {
    mock.received().into_iter().filter(|r| r.n > after).collect()
}

#[tokio::test]
async fn structured_output_reaches_the_info_and_a_dependent_job() {
    let Some(e) = env("structured_output_reaches_the_info_and_a_dependent_job", Scenario::Text).await else {
        return;
    };
    let schema = json!({
        "type": "object",
        "properties": {"brand": {"type": "string"}, "founded": {"type": "integer"}, "kettles": {"type": "array", "items": {"type": "string"}}},
        "required": ["brand", "founded"]
    });
    let job = e
        .manager
        .submit(prompt("Profile the brand Kettle Co.").json_schema(schema.clone()).build().unwrap())
        .await
        .unwrap();
    let info = succeeded(&job).await;
    let log = e.mock.received();
    let offered = log[0].body["tools"].as_array().unwrap().iter().find(|t| t["name"] == "StructuredOutput").cloned();
    assert_eq!(offered.expect("the StructuredOutput tool is offered")["input_schema"], schema);
    let answered = log.iter().find_map(|r| r.answered_tool_input("StructuredOutput")).expect("the mock answered with it").clone();
    assert_eq!(info.structured_output.as_ref(), Some(&answered), "{info:?}");
    assert_eq!(answered["brand"], "sample brand");
    let as_text = answered.to_string();
    // A dependent job gets it as JSON text.
    let n = e.mock.requests();
    let brief = e
        .manager
        .submit(JobSpec::builder().template("brief").variable("brand", "Kettle Co").input("research", &info.id).build().unwrap())
        .await
        .unwrap();
    succeeded(&brief).await;
    let first = &requests_after(&e.mock, n)[0];
    assert!(first.prompts().iter().any(|p| p.contains(&as_text)), "{:?} lacks {as_text}", first.prompts());
}

#[tokio::test]
async fn resume_carries_the_conversation_and_a_fork_gets_a_new_session() {
    let Some(e) = env("resume_carries_the_conversation_and_a_fork_gets_a_new_session", Scenario::Text).await else {
        return;
    };
    let a = succeeded(&e.manager.submit(prompt("First question: name a kettle.").build().unwrap()).await.unwrap()).await;
    let session = a.session_id.clone().unwrap();
    let n = e.mock.requests();
    let b_job = e.manager.submit(prompt("Second question: and its price?").resume(&a.id).build().unwrap()).await.unwrap();
    let b = succeeded(&b_job).await;
    let first_b = &requests_after(&e.mock, n)[0];
    assert_eq!(first_b.session_id().as_deref(), Some(session.as_str()), "the mock saw A's session");
    assert_eq!(first_b.prompts(), ["First question: name a kettle.", "Second question: and its price?"]);
    let texts: Vec<String> = first_b.blocks("text").iter().filter_map(|b| b["text"].as_str().map(String::from)).collect();
    assert!(texts.iter().any(|t| t.contains("> First question: name a kettle.")), "A's answer is in B's request");
    assert_eq!(b.session_id.as_deref(), Some(session.as_str()), "B continues A's session");
    assert_eq!(b.work_dir, a.work_dir);
    assert!(b.result.unwrap().contains("Second question"), "B's own prompt was answered");
    let ev = job_events(&b_job).await;
    assert!(ev.iter().any(|e| matches!(e, JobEvent::Resuming { from_job, fork: false, .. } if *from_job == a.id)));
    // Forked from B: a new session id, the same prior messages.
    let n = e.mock.requests();
    let c = succeeded(&e.manager.submit(prompt("Third question").resume(&b.id).fork_session(true).build().unwrap()).await.unwrap()).await;
    let first_c = &requests_after(&e.mock, n)[0];
    assert_ne!(c.session_id.as_deref(), Some(session.as_str()), "a fork has a session of its own");
    assert_eq!(first_c.session_id(), c.session_id, "the mock saw the new session");
    assert_eq!(first_c.prompts(), ["First question: name a kettle.", "Second question: and its price?", "Third question"]);
}

#[tokio::test]
async fn a_job_killed_mid_run_resumes_on_its_second_attempt() {
    let Some(e) = env("a_job_killed_mid_run_resumes_on_its_second_attempt", Scenario::Text).await else {
        return;
    };
    // Both attempts run the command: 10 s is long enough for attempt 1 to be
    // killed while it runs (its transcript write may lag a few seconds).
    let spec = prompt("Run the long command.\nmock-scenario: bash\nmock-bash-command: echo 'mock: started' && sleep 10")
        .allowed_tools(["Bash"])
        .max_attempts(2)
        .build()
        .unwrap();
    let job = e.manager.submit(spec).await.unwrap();
    // Wait for the first attempt's Bash command, then kill its CLI.
    let mut events = job.events(0);
    let mut tool_id = None;
    while let Some(r) = events.next().await {
        if let JobEvent::ToolUse { name, id, .. } = &r.event {
            if name == "Bash" {
                tool_id = id.clone();
                break;
            }
        }
    }
    let tool_id = tool_id.expect("the first attempt called Bash");
    let sleeping = eventually(30, || {
        processes_with_env(&e.marker)
            .iter()
            .any(|p| std::fs::read_to_string(format!("/proc/{p}/cmdline")).is_ok_and(|c| c.contains("sleep")))
    })
    .await;
    assert!(sleeping, "the command runs");
    // The CLI writes its transcript on its own schedule, after stdout: a kill
    // before that write loses the call from the session (CI, a loaded machine).
    let config = info_dir(&job).join("claude-config/projects");
    let written = eventually(30, || transcript_has(&config, &tool_id)).await;
    assert!(written, "the CLI wrote the Bash call to its transcript");
    let first_session = job.info().session_id.expect("the session is known while the job runs");
    let n = e.mock.requests();
    let pid = job.info().pid.unwrap();
    // SAFETY: kill(2) on the CLI's pid, a process of this test's job.
    unsafe { libc::kill(pid as i32, libc::SIGKILL) };
    let info = succeeded(&job).await;
    assert_eq!(info.attempt, 2);
    assert_eq!(info.session_id.as_deref(), Some(first_session.as_str()), "the same session goes on");
    let ev = job_events(&job).await;
    let retry = ev.iter().position(|e| matches!(e, JobEvent::Retrying { .. })).expect("retried");
    let resume = ev.iter().position(
        |e| matches!(e, JobEvent::Resuming { session_id, from_job, .. } if *session_id == first_session && *from_job == info.id),
    );
    assert!(resume.is_some_and(|r| r > retry), "{ev:?}");
    // The second attempt's first request carries the first attempt's conversation.
    let first = &requests_after(&e.mock, n)[0];
    assert_eq!(first.session_id().as_deref(), Some(first_session.as_str()));
    let calls: Vec<&Value> = first.blocks("tool_use");
    assert!(calls.iter().any(|b| b["id"] == tool_id.as_str()), "attempt 1's Bash call is in it");
    let results = first.blocks("tool_result");
    assert!(results.iter().any(|b| b["tool_use_id"] == tool_id.as_str()), "with the CLI's 'interrupted' result");
    let prompts = first.prompts();
    assert_eq!(prompts[0], "Run the long command.\nmock-scenario: bash\nmock-bash-command: echo 'mock: started' && sleep 10");
    assert!(prompts.last().unwrap().contains("cut off"), "the continuation: {prompts:?}");
}

#[tokio::test]
async fn tool_rules_pass_through_unchanged() {
    let Some(e) = env("tool_rules_pass_through_unchanged", Scenario::Text).await else {
        return;
    };
    // A rule denies the call at call time: the CLI reports the denial.
    let job = e
        .manager
        .submit(
            prompt("Touch a file.\nmock-scenario: bash\nmock-bash-command: touch denied.txt")
                .allowed_tools(["Bash"])
                .disallowed_tools(["Bash(touch *)"])
                .build()
                .unwrap(),
        )
        .await
        .unwrap();
    let info = succeeded(&job).await;
    assert_eq!(info.permission_denials.len(), 1, "{info:?}");
    let d = &info.permission_denials[0];
    assert_eq!((d.tool_name.as_str(), d.tool_input["command"].as_str()), ("Bash", Some("touch denied.txt")));
    assert!(!info.work_dir.unwrap().join("denied.txt").exists(), "the command did not run");
    let ev = job_events(&job).await;
    assert!(ev.iter().any(|e| matches!(e, JobEvent::PermissionDenied { tool_name, .. } if tool_name == "Bash")));
    assert!(ev.iter().any(|e| matches!(e, JobEvent::ToolResult { is_error: true, content, .. } if content.contains("has been denied"))));
    // A bare tool name removes the tool: a call gets "No such tool", no denial.
    let n = e.mock.requests();
    let job = e
        .manager
        .submit(
            prompt("Touch a file.\nmock-scenario: bash\nmock-bash-command: touch removed.txt\nmock-tool-anyway: yes")
                .disallowed_tools(["Bash"])
                .build()
                .unwrap(),
        )
        .await
        .unwrap();
    let info = succeeded(&job).await;
    let first = &requests_after(&e.mock, n)[0];
    assert!(!first.tool_names().iter().any(|t| t == "Bash"), "Bash is not offered: {:?}", first.tool_names());
    assert!(info.permission_denials.is_empty(), "{info:?}");
    let ev = job_events(&job).await;
    assert!(!ev.iter().any(|e| matches!(e, JobEvent::PermissionDenied { .. })));
    assert!(
        ev.iter().any(|e| matches!(e, JobEvent::ToolResult { is_error: true, content, .. } if content.contains("No such tool available"))),
        "{ev:?}"
    );
}

#[tokio::test]
async fn append_system_prompt_and_an_mcp_echo_tool() {
    let Some(e) = env("append_system_prompt_and_an_mcp_echo_tool", Scenario::Text).await else {
        return;
    };
    let secret = "mcp-secret-9876";
    let job = e
        .manager
        .submit(
            prompt("Call the echo tool.\nmock-scenario: mcp\nmock-mcp-text: ping from the test")
                .append_system_prompt("Always sign as KettleBot 4711.")
                .mcp_server(
                    "echo",
                    json!({"command": mcp_echo().display().to_string(), "args": [], "env": {"MCP_ECHO_PREFIX": format!("{secret} says: ")}}),
                )
                .allowed_tools(["mcp__echo__echo"])
                .build()
                .unwrap(),
        )
        .await
        .unwrap();
    let info = succeeded(&job).await;
    let log = e.mock.received();
    assert!(log[0].system_text().contains("Always sign as KettleBot 4711."), "{}", log[0].system_text());
    let ev = job_events(&job).await;
    let listed = ev.iter().any(|e| matches!(e, JobEvent::Init { tools, .. } if tools.iter().any(|t| t == "mcp__echo__echo")));
    assert!(listed, "the MCP tool is listed: {ev:?}");
    assert!(ev.iter().any(|e| matches!(e, JobEvent::ToolUse { name, .. } if name == "mcp__echo__echo")));
    let result = ev.iter().find_map(|e| match e {
        JobEvent::ToolResult { content, is_error: false, .. } if content.contains("ping from the test") => Some(content.clone()),
        _ => None,
    });
    assert_eq!(result.as_deref(), Some("[REDACTED]ping from the test"), "the server's env value is masked: {ev:?}");
    let log_text = std::fs::read_to_string(info.log_dir.unwrap().join("stdout.log")).unwrap();
    assert!(!log_text.contains(secret), "masked in stdout.log");
    assert!(info.result.unwrap().contains("ping from the test"));
}

/// The job's directory: the parent of its default working dir.
fn info_dir(job: &Job) -> std::path::PathBuf {
    job.info().work_dir.expect("a running job has a working dir").parent().unwrap().to_path_buf()
}

/// Whether a transcript under `projects` mentions `needle`.
fn transcript_has(projects: &std::path::Path, needle: &str) -> bool {
    let Ok(dirs) = std::fs::read_dir(projects) else { return false };
    dirs.flatten().any(|d| {
        std::fs::read_dir(d.path()).is_ok_and(|files| {
            files.flatten().any(|f| std::fs::read_to_string(f.path()).is_ok_and(|t| t.contains(needle)))
        })
    })
}
