//! A manager with a policy: each refused spec is a `PolicyViolation` naming
//! the field and the manager keeps serving; unset caps take the policy's
//! defaults; the forbidden tools reach the CLI as `--disallowedTools`; a
//! tenant's rules replace the top level's; a resumed job is checked with
//! what it inherits.
mod common;

use std::time::Duration;

use claude_jobs::{ErrorKind, JobManager, JobSpec, JobState, PermissionMode, Policy};
use common::*;
use serde_json::Value;

async fn with_policy(dir: &std::path::Path, policy: Policy) -> JobManager {
    builder(dir)
        .policy(policy)
        .env("FAKE_CLAUDE_RECORD", dir.join("rec.json").display().to_string())
        .build()
        .await
        .unwrap()
}

async fn refused(m: &JobManager, spec: claude_jobs::JobSpecBuilder) -> String {
    let e = m.submit(spec.build().unwrap()).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::PolicyViolation, "{e}");
    e.field().expect("a violation names its field").to_string()
}

fn prompt() -> claude_jobs::JobSpecBuilder {
    JobSpec::builder().prompt("policy test")
}

#[tokio::test]
async fn the_safe_policy_refuses_naming_the_field_and_keeps_serving() {
    let dir = data_dir();
    let m = with_policy(dir.path(), Policy::safe()).await;
    let cases: Vec<(&str, claude_jobs::JobSpecBuilder)> = vec![
        ("allowed_tools", prompt().allowed_tools(["Bash"])),
        ("allowed_tools", prompt().allowed_tools(["Read", "Bash(ls *)"])),
        ("memory", prompt().memory("8G")),
        ("pids", prompt().pids(100_000)),
        ("timeout", prompt().timeout(Duration::from_secs(7200))),
        ("env", prompt().env("X", "y")),
        ("extra_args", prompt().extra_args(["--bare"])),
        ("mcp_servers", prompt().mcp_server("x", serde_json::json!({"command": "/bin/true"}))),
        ("add_dirs", prompt().add_dir(dir.path())),
        ("settings", prompt().settings(serde_json::json!({"hooks": {}}))),
        ("webhook_url", prompt().webhook_url("http://127.0.0.1:9/h")),
        ("permission_mode", prompt().permission_mode(PermissionMode::BypassPermissions)),
    ];
    for (want, spec) in cases {
        assert_eq!(refused(&m, spec).await, want);
    }
    let page = m.list(&Default::default()).await.unwrap();
    assert!(page.jobs.is_empty(), "nothing refused was queued: {:?}", page.jobs);
    // Still serving; the defaults capped the job, Bash is removed by the CLI.
    let info = m.submit(prompt().allowed_tools(["Read"]).build().unwrap()).await.unwrap().wait().await;
    assert_eq!(info.state, JobState::Succeeded, "{info:?}");
    assert_eq!((info.limits.cpus, info.limits.memory, info.limits.pids), (Some(1.0), Some(1 << 30), Some(256)));
    let rec: Value = serde_json::from_slice(&std::fs::read(dir.path().join("rec.json")).unwrap()).unwrap();
    let argv: Vec<&str> = rec["argv"].as_array().unwrap().iter().map(|a| a.as_str().unwrap()).collect();
    assert!(argv.contains(&"--disallowedTools=Bash"), "{argv:?}");
    assert!(argv.contains(&"--allowedTools=Read"), "{argv:?}");
    m.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test]
async fn a_tenants_rules_replace_the_top_level() {
    let dir = data_dir();
    let policy = Policy::from_yaml(
        "max_memory: 512M\nmax_pids: 512\nmax_cpus: 2\nmax_timeout: 30m\n\
         default_limits: { cpus: 1, memory: 256M, pids: 64, timeout: 5m }\n\
         tenants:\n  big: { max_memory: 2G, max_running: 1 }\n",
    )
    .unwrap();
    let m = with_policy(dir.path(), policy).await;
    assert_eq!(refused(&m, prompt().memory("1G")).await, "memory");
    assert_eq!(refused(&m, prompt().tenant("small").memory("1G")).await, "memory");
    let info = m.submit(prompt().tenant("big").memory("1G").build().unwrap()).await.unwrap().wait().await;
    assert_eq!(info.state, JobState::Succeeded, "{info:?}");
    assert_eq!(info.tenant.as_deref(), Some("big"));
    assert_eq!(info.limits.memory, Some(1 << 30));
    // The policy's tenant quota is in the store.
    assert_eq!(m.tenant_usage("big").await.unwrap().quota.max_running, Some(1));
    m.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test]
async fn a_resumed_job_is_checked_with_what_it_inherits_and_stays_in_its_tenant() {
    let dir = data_dir();
    let m = builder(dir.path()).build().await.unwrap();
    let first = m.submit(prompt().tenant("a").build().unwrap()).await.unwrap().wait().await;
    assert_eq!(first.state, JobState::Succeeded, "{first:?}");
    // Another tenant's job is unknown to it.
    let e = m.submit(prompt().tenant("b").resume(&first.id).build().unwrap()).await.unwrap_err();
    assert_eq!((e.kind(), e.field()), (ErrorKind::InvalidSpec, Some("resume")));
    assert!(e.to_string().contains("unknown job"), "{e}");
    // No tenant given: it takes the earlier job's.
    let again = m.submit(prompt().resume(&first.id).build().unwrap()).await.unwrap().wait().await;
    assert_eq!(again.state, JobState::Succeeded, "{again:?}");
    assert_eq!(again.tenant.as_deref(), Some("a"));
    m.shutdown(Duration::from_secs(5)).await;
}
