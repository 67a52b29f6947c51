//! The agent options against the fake CLI: the command line they become
//! (`--flag=value`), the files the manager writes (MCP config, settings),
//! secrets masked, bad input named, `resume` (inheritance, directories,
//! fork) and a retried attempt that continues its own session.
mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use claude_jobs::wire::{from_value, Style};
use claude_jobs::{Effort, IsolationMode, JobEvent, JobInfo, JobManager, JobSpec, JobState, PermissionMode, SettingSource};
use common::*;
use serde_json::{json, Value};

/// What the fake CLI saw (`FAKE_CLAUDE_RECORD`): argv, stdin, env, cwd.
fn recorded(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

fn argv(rec: &Value) -> Vec<String> {
    rec["argv"].as_array().unwrap().iter().map(|a| a.as_str().unwrap().to_string()).collect()
}

fn has(argv: &[String], want: &str) -> bool {
    argv.iter().any(|a| a == want)
}

async fn ok(m: &JobManager, spec: JobSpec) -> JobInfo {
    let info = m.submit(spec).await.unwrap().wait().await;
    assert_eq!(info.state, JobState::Succeeded, "{info:?}");
    info
}

const SECRET: &str = "mcp-secret-token-4711";

#[tokio::test]
async fn options_become_flag_equals_value_and_files() {
    let dir = data_dir();
    let m = manager(dir.path(), IsolationMode::Auto).await;
    let rec = dir.path().join("rec.json");
    let extra = tempfile::tempdir().unwrap();
    let spec = JobSpec::builder()
        .prompt(format!("say {SECRET}"))
        .model("-weird-model")
        .allowed_tools(["Read", "Bash(git log *)"])
        .disallowed_tools(["Bash(rm *)", "WebFetch"])
        .permission_mode(PermissionMode::AcceptEdits)
        .system_prompt("--you are terse")
        .append_system_prompt("Answer in French.")
        .mcp_server("echo", json!({"command": "/bin/true", "env": {"TOKEN": SECRET}}))
        .add_dir(extra.path())
        .settings(json!({"permissions": {"deny": ["WebSearch"]}}))
        .setting_sources([SettingSource::Project])
        .fallback_model("claude-small")
        .effort(Effort::High)
        .json_schema(json!({"type": "object", "properties": {"a": {"type": "string"}}}))
        .env("FAKE_CLAUDE_RECORD", rec.display().to_string())
        .build()
        .unwrap();
    let job = m.submit(spec).await.unwrap();
    let info = job.wait().await;
    assert_eq!(info.state, JobState::Succeeded, "{info:?}");
    let a = argv(&recorded(&rec));
    let root = info.log_dir.clone().unwrap();
    for want in [
        "--model=-weird-model".to_string(),
        "--allowedTools=Read,Bash(git log *)".into(),
        "--disallowedTools=Bash(rm *),WebFetch".into(),
        "--permission-mode=acceptEdits".into(),
        "--system-prompt=--you are terse".into(),
        "--append-system-prompt=Answer in French.".into(),
        format!("--mcp-config={}", root.join("mcp-config.json").display()),
        "--strict-mcp-config".into(),
        format!("--add-dir={}", extra.path().display()),
        format!("--settings={}", root.join("settings.json").display()),
        "--setting-sources=project".into(),
        "--fallback-model=claude-small".into(),
        "--effort=high".into(),
        r#"--json-schema={"properties":{"a":{"type":"string"}},"type":"object"}"#.into(),
    ] {
        assert!(has(&a, &want), "{want} missing from {a:?}");
    }
    assert!(!a.iter().any(|x| x.starts_with("--resume")), "{a:?}");
    let mcp: Value = serde_json::from_slice(&std::fs::read(root.join("mcp-config.json")).unwrap()).unwrap();
    assert_eq!(mcp["mcpServers"]["echo"]["env"]["TOKEN"], SECRET);
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(root.join("mcp-config.json")).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "the MCP config (secrets) is private");
    let settings: Value = serde_json::from_slice(&std::fs::read(root.join("settings.json")).unwrap()).unwrap();
    assert_eq!(settings["permissions"]["deny"][0], "WebSearch");
    // The MCP secret is masked in what the CLI printed: events and logs.
    let events = job_events(&job).await;
    let text = events.iter().find_map(|e| match e {
        JobEvent::AssistantText { text } => Some(text.clone()),
        _ => None,
    });
    assert_eq!(text.as_deref(), Some("echo: say [REDACTED]"));
    assert_eq!(info.result.as_deref(), Some("echo: say [REDACTED]"));
    let log = std::fs::read_to_string(root.join("stdout.log")).unwrap();
    assert!(!log.contains(SECRET) && log.contains("[REDACTED]"), "{log}");
    assert_eq!(info.work_dir, Some(root.join("work")));
    assert_eq!(info.config_dir, Some(root.join("claude-config")));
    assert!(info.permission_denials.is_empty() && info.structured_output.is_none());
}

/// The field an error names: read through the wire (as the bindings and
/// HTTP do), then submitted.
async fn field_of(m: &JobManager, v: Value) -> String {
    let err = match from_value::<JobSpec>(v.clone(), Style::Snake) {
        Err(e) => e,
        Ok(spec) => m.submit(spec).await.map(|_| ()).expect_err(&v.to_string()),
    };
    assert_eq!(err.kind(), claude_jobs::ErrorKind::InvalidSpec, "{v}: {err}");
    err.field().unwrap_or_default().to_string()
}

#[tokio::test]
async fn bad_agent_options_are_named_and_the_manager_goes_on() {
    let dir = data_dir();
    let m = builder(dir.path()).max_concurrent(1).isolation(IsolationMode::Auto).build().await.unwrap();
    let done = ok(&m, JobSpec::from_prompt("first")).await;
    let running = m.submit(slow(30_000).build().unwrap()).await.unwrap();
    let queued_dep = m
        .submit(JobSpec::builder().prompt("later").depends_on(running.id()).build().unwrap())
        .await
        .unwrap();
    let never_ran = m.submit(JobSpec::builder().prompt("never").depends_on(running.id()).build().unwrap()).await.unwrap();
    never_ran.cancel().await.unwrap();
    assert_eq!(never_ran.wait().await.state, JobState::Cancelled);
    let p = |extra: Value| {
        let mut v = json!({"prompt": "hi"});
        v.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        v
    };
    let cases = [
        (json!({"permission_mode": "yolo"}), "permission_mode"),
        (json!({"effort": "extreme"}), "effort"),
        (json!({"setting_sources": ["user", "team"]}), "setting_sources"),
        (json!({"json_schema": "{\"type\": \"object\"}"}), "json_schema"),
        (json!({"json_schema": ["type"]}), "json_schema"),
        (json!({"mcp_servers": {"echo": "npx echo"}}), "mcp_servers"),
        (json!({"mcp_servers": {"echo": {"args": []}}}), "mcp_servers"),
        (json!({"mcp_servers": ["echo"]}), "mcp_servers"),
        (json!({"mcp_servers": {"mcpServers": {"echo": {"command": "x"}}}}), "mcp_servers"),
        (json!({"mcp_servers": {"echo": {"command": "x", "env": {"K": "a\u{0}b"}}}}), "mcp_servers"),
        (json!({"settings": 5}), "settings"),
        (json!({"settings": {"a": "x\u{0}"}}), "settings"),
        (json!({"system_prompt": "be\u{0}nice"}), "system_prompt"),
        (json!({"append_system_prompt": "x\u{0}"}), "append_system_prompt"),
        (json!({"system_prompt": "x".repeat(200 * 1024)}), "system_prompt"),
        (json!({"disallowed_tools": ["Bash\u{0}"]}), "disallowed_tools"),
        (json!({"disallowed_tools": [""]}), "disallowed_tools"),
        (json!({"fallback_model": "a\u{0}"}), "fallback_model"),
        (json!({"add_dirs": ["/no/such/dir/anywhere"]}), "add_dirs"),
        (json!({"add_dirs": ["/etc/hostname"]}), "add_dirs"),
        (json!({"fork_session": true}), "fork_session"),
        (json!({"resume": "0190aaaa-no-such-job"}), "resume"),
        (json!({"resume": running.id()}), "resume"),
        (json!({"resume": queued_dep.id()}), "resume"),
        (json!({"resume": never_ran.id()}), "resume"),
        (json!({"resume": done.id, "run_as": {"uid": 65534, "gid": 65534}}), "resume"),
        (json!({"resume": done.id, "working_dir": "/tmp"}), "working_dir"),
        (json!({"prompt": "a\u{0}b"}), "prompt"),
        (json!({"allowed_tools": ["Read\u{0}"]}), "allowed_tools"),
        (json!({"add_dirs": ["/tmp\u{0}/x"]}), "add_dirs"),
        (json!({"model": "m\u{0}"}), "model"),
        (json!({"resume": "a\u{0}b"}), "resume"),
        (json!({"labels": {"k": "v\u{0}"}}), "labels"),
    ];
    for (extra, field) in cases {
        assert_eq!(field_of(&m, p(extra.clone())).await, field, "{extra}");
    }
    // SAFETY: geteuid cannot fail.
    if unsafe { libc::geteuid() } == 0 {
        let f = field_of(&m, p(json!({"permission_mode": "bypassPermissions"}))).await;
        assert_eq!(f, "permission_mode", "the CLI refuses bypassPermissions as root");
    }
    let e = m.submit(JobSpec::builder().prompt("x").resume(running.id()).build().unwrap()).await.unwrap_err();
    assert!(e.to_string().contains("is still running"), "{e}");
    let e = m.submit(JobSpec::builder().prompt("x").resume(never_ran.id()).build().unwrap()).await.unwrap_err();
    assert!(e.to_string().contains("no Claude session"), "{e}");
    let e = JobSpec::builder().prompt("x").json_schema(json!(["not", "an object"])).build().unwrap_err();
    assert_eq!(e.field(), Some("json_schema"));
    let e = from_value::<JobSpec>(json!({"prompt": "x", "permissionMode": "nope"}), Style::Camel).unwrap_err();
    assert_eq!(e.field(), Some("permissionMode"));
    // Still serving.
    running.cancel().await.unwrap();
    assert_eq!(queued_dep.wait().await.state, JobState::Cancelled);
    ok(&m, JobSpec::from_prompt("still here")).await;
}

/// A job whose CLI recorded what it saw in `rec`.
fn recording(prompt: &str, rec: &Path) -> claude_jobs::JobSpecBuilder {
    JobSpec::builder().prompt(prompt).env("FAKE_CLAUDE_RECORD", rec.display().to_string())
}

#[tokio::test]
async fn a_resumed_job_continues_the_session_in_its_dirs_with_its_options() {
    let dir = data_dir();
    let m = manager(dir.path(), IsolationMode::Auto).await;
    let rec = dir.path().join("rec.json");
    let add = tempfile::tempdir().unwrap();
    let a = ok(
        &m,
        recording("first", &rec)
            .model("claude-a")
            .allowed_tools(["Read"])
            .disallowed_tools(["Bash(rm *)"])
            .system_prompt("You are A.")
            .append_system_prompt("Be brief.")
            .mcp_server("echo", json!({"command": "/bin/true"}))
            .settings(json!({"x": 1}))
            .add_dir(add.path())
            .effort(Effort::Low)
            .fallback_model("claude-f")
            .permission_mode(PermissionMode::Plan)
            .max_turns(7)
            .memory("300M")
            .pids(99)
            .json_schema(json!({"type": "object"}))
            .build()
            .unwrap(),
    )
    .await;
    let session = a.session_id.clone().unwrap();
    let a_rec = recorded(&rec);
    let b_job = m.submit(recording("second", &rec).resume(&a.id).build().unwrap()).await.unwrap();
    let b = b_job.wait().await;
    assert_eq!(b.state, JobState::Succeeded, "{b:?}");
    let b_rec = recorded(&rec);
    let flags = argv(&b_rec);
    for want in [
        format!("--resume={session}"),
        "--model=claude-a".into(),
        "--allowedTools=Read".into(),
        "--disallowedTools=Bash(rm *)".into(),
        "--system-prompt=You are A.".into(),
        "--append-system-prompt=Be brief.".into(),
        "--strict-mcp-config".into(),
        format!("--add-dir={}", add.path().display()),
        "--effort=low".into(),
        "--fallback-model=claude-f".into(),
        "--permission-mode=plan".into(),
        "--max-turns=7".into(),
    ] {
        assert!(has(&flags, &want), "{want} missing from {flags:?}");
    }
    assert!(flags.iter().any(|f| f.starts_with("--mcp-config=") && f.contains(&b.id)), "B's own copy: {flags:?}");
    assert!(flags.iter().any(|f| f.starts_with("--settings=")), "{flags:?}");
    assert!(!flags.iter().any(|f| f.starts_with("--json-schema")), "a schema is not inherited: {flags:?}");
    assert!(!has(&flags, "--fork-session"));
    assert_eq!(b_rec["stdin"], "second", "the new prompt");
    assert_eq!(b_rec["cwd"], a_rec["cwd"], "the same working dir");
    assert_eq!(b_rec["env"]["CLAUDE_CONFIG_DIR"], a_rec["env"]["CLAUDE_CONFIG_DIR"], "the same config dir");
    assert_eq!(b.session_id.as_deref(), Some(session.as_str()), "the same session");
    assert_eq!(b.resumed_session.as_deref(), Some(session.as_str()));
    assert_eq!((b.work_dir.clone(), b.config_dir.clone()), (a.work_dir.clone(), a.config_dir.clone()));
    assert_eq!((b.limits.memory, b.limits.pids), (Some(300 << 20), Some(99)));
    let ev = job_events(&b_job).await;
    assert!(
        ev.iter().any(|e| matches!(e, JobEvent::Resuming { session_id, from_job, fork: false } if *session_id == session && *from_job == a.id)),
        "{ev:?}"
    );
    // Forked, with a model of its own: a new session, the same messages.
    let c = ok(&m, recording("third", &rec).resume(&b.id).fork_session(true).model("claude-c").build().unwrap()).await;
    let c_flags = argv(&recorded(&rec));
    assert!(has(&c_flags, "--fork-session") && has(&c_flags, &format!("--resume={session}")), "{c_flags:?}");
    assert!(has(&c_flags, "--model=claude-c") && has(&c_flags, "--allowedTools=Read"), "{c_flags:?}");
    assert_ne!(c.session_id.as_deref(), Some(session.as_str()), "a fork has its own session");
    assert_eq!(c.work_dir, a.work_dir, "a chain of resumes stays in the first job's dirs");
    let transcript = find_transcript(a.config_dir.as_ref().unwrap(), c.session_id.as_ref().unwrap());
    let t = std::fs::read_to_string(transcript).unwrap();
    assert!(t.contains("first") && t.contains("second") && t.contains("third"), "{t}");
}

fn find_transcript(config: &Path, session: &str) -> PathBuf {
    for e in std::fs::read_dir(config.join("projects")).unwrap().flatten() {
        let p = e.path().join(format!("{session}.jsonl"));
        if p.exists() {
            return p;
        }
    }
    panic!("no transcript of {session} in {}", config.display());
}

#[tokio::test]
async fn a_retried_attempt_continues_its_own_session() {
    let dir = data_dir();
    let m = builder(dir.path())
        .isolation(IsolationMode::Auto)
        .retry_backoff(Duration::from_millis(50), Duration::from_millis(100))
        .build()
        .await
        .unwrap();
    let rec = dir.path().join("rec.json");
    // The first attempt prints its session and dies without a result (a
    // retryable failure); the second one is sent the continuation, not
    // this prompt, so it runs the default (successful) scenario.
    let job = m
        .submit(recording("do the work\nfake-scenario: no-result", &rec).max_attempts(2).build().unwrap())
        .await
        .unwrap();
    let info = job.wait().await;
    assert_eq!(info.state, JobState::Succeeded, "{info:?}");
    assert_eq!(info.attempt, 2);
    let ev = job_events(&job).await;
    let first = ev
        .iter()
        .find_map(|e| match e {
            JobEvent::Init { session_id, .. } => session_id.clone(),
            _ => None,
        })
        .unwrap();
    let retry = ev.iter().position(|e| matches!(e, JobEvent::Retrying { .. })).expect("retried");
    let resuming = ev.iter().position(|e| matches!(e, JobEvent::Resuming { session_id, from_job, fork: false } if *session_id == first && *from_job == info.id));
    assert!(resuming.is_some_and(|r| r > retry), "{ev:?}");
    let rec = recorded(&rec);
    assert!(has(&argv(&rec), &format!("--resume={first}")), "{rec}");
    assert!(rec["stdin"].as_str().unwrap().starts_with("[claude-jobs] The previous run of this task was cut off"), "{rec}");
    assert_eq!(info.session_id.as_deref(), Some(first.as_str()));
}

#[cfg(feature = "test-hooks")]
#[tokio::test]
async fn retention_keeps_a_session_that_a_queued_job_resumes() {
    let dir = data_dir();
    let m = builder(dir.path())
        .max_concurrent(1)
        .isolation(IsolationMode::Auto)
        .retention(claude_jobs::RetentionPolicy { jobs_days: 30, logs_days: 1, outputs_days: None })
        .build()
        .await
        .unwrap();
    let a = ok(&m, JobSpec::from_prompt("first")).await;
    let a_dir = a.log_dir.clone().unwrap();
    let blocker = m.submit(slow(30_000).build().unwrap()).await.unwrap();
    let b = m.submit(JobSpec::builder().prompt("second").resume(&a.id).build().unwrap()).await.unwrap();
    let age = |p: &Path| {
        let old = std::time::SystemTime::now() - Duration::from_secs(10 * 24 * 3600);
        std::fs::File::open(p).unwrap().set_modified(old).unwrap();
    };
    age(&a_dir);
    m.prune_now().await;
    assert!(a_dir.join("claude-config").is_dir(), "kept while a job that resumes it is queued");
    blocker.cancel().await.unwrap();
    assert_eq!(b.wait().await.state, JobState::Succeeded);
    age(&a_dir);
    m.prune_now().await;
    assert!(!a_dir.exists(), "deleted with its logs once nothing live resumes it");
}

#[tokio::test]
async fn a_run_as_job_resumes_as_the_same_user_and_reads_its_files() {
    // SAFETY: geteuid cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("SKIP a_run_as_job_resumes_as_the_same_user_and_reads_its_files: needs root to change user");
        return;
    }
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let dir = data_dir();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let cli = dir.path().join("fake-claude");
    std::fs::copy(fake_claude(), &cli).unwrap();
    let m = builder(dir.path()).claude_bin(&cli).isolation(IsolationMode::Auto).build().await.unwrap();
    let spec = JobSpec::builder()
        .prompt("first")
        .run_as(65534, 65534)
        .mcp_server("echo", json!({"command": "/bin/true", "env": {"TOKEN": SECRET}}))
        .build()
        .unwrap();
    let a = ok(&m, spec).await;
    let mcp = a.log_dir.clone().unwrap().join("mcp-config.json");
    let meta = std::fs::metadata(&mcp).unwrap();
    assert_eq!((meta.uid(), meta.gid(), meta.mode() & 0o777), (0, 65534, 0o640), "the manager's, readable by the job's group");
    // B runs as A's user (inherited) in A's directories, with its own MCP file.
    let rec = dir.path().join("rec");
    std::fs::create_dir(&rec).unwrap();
    std::fs::set_permissions(&rec, std::fs::Permissions::from_mode(0o777)).unwrap();
    let rec = rec.join("b.json");
    let b = ok(&m, recording("second\nfake-scenario: env-dump", &rec).resume(&a.id).build().unwrap()).await;
    assert_eq!(b.session_id, a.session_id, "resumed as uid 65534 (run_as inherited)");
    assert_eq!(b.config_dir, a.config_dir);
    let r = recorded(&rec);
    assert!(argv(&r).iter().any(|f| f.starts_with("--mcp-config=")), "{r}");
    let err = m.submit(JobSpec::builder().prompt("x").resume(&a.id).run_as(65533, 65533).build().unwrap()).await.unwrap_err();
    assert_eq!(err.field(), Some("resume"), "{err}");
    assert!(err.to_string().contains("uid 65534"), "{err}");
}
