//! End-to-end runs of the real Claude Code CLI (pinned by
//! scripts/install-claude.sh, path in `CLAUDE_BIN`) against the loopback mock
//! Messages API, tools included.
mod common;
#[path = "common/real_cli.rs"]
mod real_cli;

use std::time::Duration;

use claude_jobs::{IsolationMode, Job, JobEvent, JobSpec, JobState};
use common::*;
use mock_anthropic::Scenario;
use real_cli::{real_env, Env};

async fn env(test: &str, scenario: Scenario, max: usize, isolation: IsolationMode) -> Option<Env> {
    if isolation == IsolationMode::Required && !cgroups_available(test) {
        return None;
    }
    real_env(test, scenario, |b, _| b.max_concurrent(max).isolation(isolation)).await
}

fn prompt(text: &str) -> claude_jobs::JobSpecBuilder {
    JobSpec::builder()
        .prompt(text)
        .timeout(Duration::from_secs(120))
}

#[tokio::test]
async fn a_brief_written_through_the_write_tool() {
    let Some(e) = env(
        "a_brief_written_through_the_write_tool",
        Scenario::Write,
        3,
        IsolationMode::Auto,
    )
    .await
    else {
        return;
    };
    let job = e
        .manager
        .submit(
            JobSpec::builder()
                .template("brief")
                .variable("brand", "Kettle Co")
                .variable("research", "Kettles since 1921.")
                .build()
                .unwrap(),
        )
        .await
        .unwrap();
    let info = job.wait().await;
    assert_eq!(info.state, JobState::Succeeded, "{info:?}");
    let ev = job_events(&job).await;
    assert!(
        ev.iter()
            .any(|e| matches!(e, JobEvent::ToolUse { name, .. } if name == "Write")),
        "the model used Write"
    );
    assert!(!ev.iter().any(
        |e| matches!(e, JobEvent::Warning { message, .. } if message.contains("did not write"))
    ));
    let out = std::fs::read_to_string(&info.outputs[0]).unwrap();
    assert!(out.contains("Offline sample text"), "{out}");
    assert!(info.outputs[0].ends_with("brief-outputs/Kettle-Co-brief.md"));
    assert!(info.cost_usd.unwrap() > 0.0);
    assert!(info.usage.as_ref().unwrap().output_tokens > 0);
    assert!(info.session_id.is_some());
    assert!(
        info.cli_version.as_deref().unwrap().starts_with("2."),
        "{:?}",
        info.cli_version
    );
    assert_eq!(info.num_turns, Some(2));
}

#[tokio::test]
async fn the_whole_workflow_for_one_brand() {
    let Some(e) = env(
        "the_whole_workflow_for_one_brand",
        Scenario::Write,
        3,
        IsolationMode::Auto,
    )
    .await
    else {
        return;
    };
    let vars = [("brand".to_string(), "Kettle Co".to_string())].into();
    let wf = e.manager.submit_workflow("brand", &vars).await.unwrap();
    let mut infos = Vec::new();
    for (_, j) in &wf.steps {
        infos.push(j.wait().await);
    }
    for i in &infos {
        assert_eq!(i.state, JobState::Succeeded, "{i:?}");
        assert!(std::fs::metadata(&i.outputs[0]).unwrap().len() > 100);
    }
    assert!(infos[0].finished_at <= infos[1].started_at);
    assert!(infos[1].finished_at <= infos[2].started_at);
    // The mock's sample text quotes the prompt: the brief's prompt carried the research.
    let research = std::fs::read_to_string(&infos[0].outputs[0]).unwrap();
    let brief_stdout =
        std::fs::read_to_string(infos[1].log_dir.as_ref().unwrap().join("stdout.log")).unwrap();
    assert!(brief_stdout.contains("Wrote"), "{brief_stdout}");
    assert!(!research.is_empty());
    assert!(
        e.mock.requests() >= 6,
        "two requests per step: {}",
        e.mock.requests()
    );
}

#[tokio::test]
async fn a_64m_cap_is_oom_killed() {
    let Some(e) = env(
        "a_64m_cap_is_oom_killed",
        Scenario::Text,
        3,
        IsolationMode::Required,
    )
    .await
    else {
        return;
    };
    let info = e
        .manager
        .submit(prompt("hello").memory("64M").build().unwrap())
        .await
        .unwrap()
        .wait()
        .await;
    assert_eq!(info.state, JobState::OomKilled, "{info:?}");
    assert!(info.stats.oom_kills >= 1);
}

#[tokio::test]
async fn a_128m_cap_never_hangs_the_manager() {
    let Some(e) = env(
        "a_128m_cap_never_hangs_the_manager",
        Scenario::Text,
        3,
        IsolationMode::Required,
    )
    .await
    else {
        return;
    };
    let job = e
        .manager
        .submit(
            prompt("hello")
                .memory("128M")
                .timeout(Duration::from_secs(30))
                .build()
                .unwrap(),
        )
        .await
        .unwrap();
    let info = tokio::time::timeout(Duration::from_secs(60), job.wait())
        .await
        .expect("the manager ended the job");
    // This CLI version fits in 128 MiB on some kernels and thrashes on others:
    // either it finishes, or it is stopped with memory pressure named.
    match info.state {
        JobState::Succeeded => {}
        JobState::TimedOut => assert!(
            info.error.as_deref().unwrap().contains("memory pressure"),
            "{info:?}"
        ),
        other => panic!("unexpected {other}: {info:?}"),
    }
    assert!(
        info.stats.peak_memory_bytes > 100 << 20,
        "it ran against its cap: {:?}",
        info.stats
    );
    assert!(job_cgroups(&info.id).is_empty());
}

async fn wait_for_bash(job: &Job, marker: &str) {
    let mut ev = job.events(0);
    while let Some(r) = ev.next().await {
        if matches!(&r.event, JobEvent::ToolUse { name, .. } if name == "Bash") {
            break;
        }
    }
    // The tool's `sleep 300` is running inside the job.
    let started = eventually(30, || {
        processes_with_env(marker).iter().any(|p| {
            std::fs::read_to_string(format!("/proc/{p}/cmdline"))
                .map(|c| c.contains("sleep"))
                .unwrap_or(false)
        })
    })
    .await;
    assert!(started, "the Bash tool's command started");
}

#[tokio::test]
async fn cancel_during_a_bash_tool_call_leaves_nothing() {
    let Some(e) = env(
        "cancel_during_a_bash_tool_call_leaves_nothing",
        Scenario::Bash,
        3,
        IsolationMode::Required,
    )
    .await
    else {
        return;
    };
    let job = e
        .manager
        .submit(
            prompt("run the long command")
                .allowed_tools(["Bash"])
                .build()
                .unwrap(),
        )
        .await
        .unwrap();
    wait_for_bash(&job, &e.marker).await;
    job.cancel().await.unwrap();
    let info = job.wait().await;
    assert_eq!(info.state, JobState::Cancelled);
    assert!(
        processes_with_env(&e.marker).is_empty(),
        "a process of the job survived"
    );
    assert!(job_cgroups(&info.id).is_empty());
}

#[tokio::test]
async fn timeout_during_a_bash_tool_call_leaves_nothing() {
    let Some(e) = env(
        "timeout_during_a_bash_tool_call_leaves_nothing",
        Scenario::Bash,
        3,
        IsolationMode::Required,
    )
    .await
    else {
        return;
    };
    let spec = prompt("run the long command")
        .allowed_tools(["Bash"])
        .timeout(Duration::from_secs(8))
        .build()
        .unwrap();
    let job = e.manager.submit(spec).await.unwrap();
    wait_for_bash(&job, &e.marker).await;
    let info = job.wait().await;
    assert_eq!(info.state, JobState::TimedOut, "{info:?}");
    assert!(
        processes_with_env(&e.marker).is_empty(),
        "a process of the job survived"
    );
    assert!(job_cgroups(&info.id).is_empty());
}

#[tokio::test]
async fn overloaded_then_success_shows_retries() {
    let Some(e) = env(
        "overloaded_then_success_shows_retries",
        Scenario::Overloaded,
        3,
        IsolationMode::Auto,
    )
    .await
    else {
        return;
    };
    let job = e
        .manager
        .submit(prompt("hello\nmock-overloaded-count: 2").build().unwrap())
        .await
        .unwrap();
    let info = job.wait().await;
    assert_eq!(info.state, JobState::Succeeded, "{info:?}");
    let retries = job_events(&job)
        .await
        .into_iter()
        .filter(|e| {
            matches!(
                e,
                JobEvent::ApiRetry {
                    status: Some(529),
                    ..
                }
            )
        })
        .count();
    assert_eq!(retries, 2);
}

#[tokio::test]
async fn unauthorized_fails_with_a_readable_error() {
    let Some(e) = env(
        "unauthorized_fails_with_a_readable_error",
        Scenario::Unauthorized,
        3,
        IsolationMode::Auto,
    )
    .await
    else {
        return;
    };
    let info = e
        .manager
        .submit(prompt("hello").build().unwrap())
        .await
        .unwrap()
        .wait()
        .await;
    assert_eq!(info.state, JobState::Failed);
    assert_eq!(info.api_error_status, Some(401));
    let err = info.error.unwrap();
    assert!(
        err.contains("401")
            && err.contains("authentication failed")
            && err.contains("ANTHROPIC_API_KEY"),
        "{err}"
    );
    assert!(!err.contains("test-key-not-real"));
}

#[tokio::test]
async fn five_jobs_never_more_than_three_clis() {
    let Some(e) = env(
        "five_jobs_never_more_than_three_clis",
        Scenario::Slow,
        3,
        IsolationMode::Auto,
    )
    .await
    else {
        return;
    };
    let bin = std::fs::canonicalize(std::env::var("CLAUDE_BIN").unwrap()).unwrap();
    let mut jobs = Vec::new();
    for _ in 0..5 {
        jobs.push(
            e.manager
                .submit(prompt("hello\nmock-slow-seconds: 2").build().unwrap())
                .await
                .unwrap(),
        );
    }
    let mut max = 0;
    while jobs.iter().any(|j| !j.state().is_final()) {
        let clis: Vec<i32> = processes_with_env(&e.marker)
            .into_iter()
            .filter(|p| {
                std::fs::read_link(format!("/proc/{p}/exe"))
                    .map(|x| x == bin)
                    .unwrap_or(false)
            })
            .collect();
        // A CLI's child between fork and exec looks like a CLI: count only
        // the CLIs whose parent is not one.
        let clis = clis.iter().filter(|p| !parent(**p).is_some_and(|pp| clis.contains(&pp))).count();
        max = max.max(clis);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for j in &jobs {
        assert_eq!(j.wait().await.state, JobState::Succeeded);
    }
    assert!(max <= 3, "{max} CLIs alive at once");
    assert_eq!(max, 3, "the limit was reached");
}

/// The parent pid of `pid` (from /proc/PID/stat), if it still runs.
fn parent(pid: i32) -> Option<i32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat[stat.rfind(')')? + 2..].split(' ').nth(1)?.parse().ok()
}
