//! The `claude-jobs run` command line: JSON outcome, exit status, caps.
#![cfg(feature = "cli")]
mod common;

use std::process::Command;

use common::*;

fn run(args: &[&str], data: &std::path::Path) -> (i32, serde_json::Value, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_claude-jobs"))
        .arg("run")
        .args(args)
        .args([
            "--claude-bin",
            fake_claude().to_str().unwrap(),
            "--data-dir",
            data.to_str().unwrap(),
            "--kill-grace",
            "1s",
            "--json",
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let json = serde_json::from_str(stdout.trim()).unwrap_or(serde_json::Value::Null);
    (
        out.status.code().unwrap_or(-1),
        json,
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

#[test]
fn json_outcome_of_a_successful_job() {
    let dir = data_dir();
    let (code, j, stderr) = run(&["--prompt", "hello", "--timeout", "30s"], dir.path());
    assert_eq!(code, 0, "{stderr}");
    for key in [
        "id",
        "state",
        "exit_code",
        "signal",
        "error",
        "result",
        "cost_usd",
        "usage",
        "session_id",
        "num_turns",
        "isolation",
        "stats",
    ] {
        assert!(j.get(key).is_some(), "missing {key} in {j}");
    }
    assert_eq!(j["state"], "succeeded");
    assert_eq!(j["result"], "echo: hello");
    assert!(j["stats"]["peak_memory_bytes"].is_u64());
    assert!(j["stats"]["cpu_usage_usec"].is_u64());
    assert!(["cgroup-v1", "cgroup-v2", "none"].contains(&j["isolation"].as_str().unwrap()));
    assert!(
        stderr.contains("finished: succeeded"),
        "progress on stderr: {stderr}"
    );
}

#[test]
fn oom_over_a_64m_cap() {
    if !cgroups_available("oom_over_a_64m_cap") {
        return;
    }
    let dir = data_dir();
    let (code, j, _) = run(
        &[
            "--prompt",
            "hog\nfake-scenario: alloc",
            "--memory",
            "64M",
            "--isolation",
            "required",
        ],
        dir.path(),
    );
    assert_eq!(code, 1);
    assert_eq!(j["state"], "oom_killed", "{j}");
    assert_eq!(
        j["isolation"],
        "cgroup-v1".to_string().replace(
            "v1",
            if std::path::Path::new("/sys/fs/cgroup/memory/cgroup.procs").exists() {
                "v1"
            } else {
                "v2"
            }
        )
    );
}

#[test]
fn timeout_leaves_no_process_of_a_setsid_grandchild() {
    if !cgroups_available("timeout_leaves_no_process_of_a_setsid_grandchild") {
        return;
    }
    let dir = data_dir();
    let marker = format!("cli-timeout-{}", std::process::id());
    let env = format!("TEST_MARKER={marker}");
    let (code, j, _) = run(
        &[
            "--prompt",
            "x\nfake-scenario: fork-tree",
            "--timeout",
            "2s",
            "--env",
            &env,
        ],
        dir.path(),
    );
    assert_eq!(code, 1);
    assert_eq!(j["state"], "timed_out");
    assert!(
        processes_with_env(&marker).is_empty(),
        "a process of the job survived"
    );
    assert!(job_cgroups(j["id"].as_str().unwrap()).is_empty());
}

#[test]
fn bad_input_exits_2_with_the_field() {
    let dir = data_dir();
    let (code, j, stderr) = run(&["--prompt", "x", "--memory", "lots"], dir.path());
    assert_eq!(code, 2);
    assert_eq!(j["error_code"], "INVALID_SPEC");
    assert_eq!(j["field"], "memory");
    assert!(stderr.contains("memory"));
    let (code, j, _) = run(&["--prompt", "x", "--cpus", "0"], dir.path());
    assert_eq!(code, 2);
    assert_eq!(j["field"], "cpus");
}

#[test]
fn failed_job_exits_1() {
    let dir = data_dir();
    let (code, j, _) = run(&["--prompt", "x\nfake-scenario: no-result"], dir.path());
    assert_eq!(code, 1);
    assert_eq!(j["state"], "failed");
    assert_eq!(j["exit_code"], 1);
}

#[test]
fn every_numeric_flag_takes_a_minus_sign_and_is_named_in_validation() {
    let dir = data_dir();
    for (flag, value, field) in [
        ("--cpus", "-1", "cpus"),
        ("--pids", "-1", "pids"),
        ("--pids", "5000000", "pids"),
        ("--max-turns", "-1", "max_turns"),
        ("--max-budget-usd", "-0.5", "max_budget_usd"),
        ("--timeout", "-1", "timeout"),
        ("--timeout", "1e20", "timeout"),
        ("--idle-timeout", "-5s", "idle_timeout"),
        ("--memory", "-64M", "memory"),
        ("--cpu-budget", "-1", "cpu_budget"),
        ("--memory-budget", "-1", "memory_budget"),
    ] {
        let (code, j, stderr) = run(&["--prompt", "x", flag, value], dir.path());
        assert_eq!(code, 2, "{flag} {value}: {stderr}");
        assert_eq!(j["error_code"], "INVALID_SPEC", "{flag} {value}: {j}");
        assert_eq!(j["field"], field, "{flag} {value}: {j}");
    }
    let out = Command::new(env!("CARGO_BIN_EXE_claude-jobs"))
        .args(["run", "--prompt", "x", "--kill-grace", "-1", "--json", "--data-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    let j: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!((out.status.code(), j["field"].as_str()), (Some(2), Some("kill_grace")), "{j}");
}

#[test]
fn an_error_at_submit_leaves_no_cgroup_directory_behind() {
    if !cgroups_available("an_error_at_submit_leaves_no_cgroup_directory_behind") {
        return;
    }
    let dir = data_dir();
    let child = Command::new(env!("CARGO_BIN_EXE_claude-jobs"))
        .args(["run", "--prompt", "x", "--cpus", "100000", "--isolation", "required", "--json", "--claude-bin"])
        .arg(fake_claude())
        .arg("--data-dir")
        .arg(dir.path())
        .output()
        .unwrap();
    let j: serde_json::Value = serde_json::from_slice(&child.stdout).unwrap();
    assert_eq!(child.status.code(), Some(2));
    assert_eq!(j["field"], "cpus", "{j}");
    // The CLI has exited: its pid is in no manager directory's name.
    let out = Command::new(env!("CARGO_BIN_EXE_claude-jobs"))
        .args(["run", "--prompt", "x", "--cpus", "100000", "--isolation", "required", "--claude-bin"])
        .arg(fake_claude())
        .arg("--data-dir")
        .arg(dir.path())
        .spawn()
        .unwrap();
    let pid = out.id();
    let status = out.wait_with_output().unwrap().status;
    assert_eq!(status.code(), Some(2));
    assert!(manager_cgroups(pid).is_empty(), "left behind: {:?}", manager_cgroups(pid));
}

#[test]
fn agent_flags_reach_the_cli_and_bad_ones_are_named() {
    let dir = data_dir();
    let no_servers = dir.path().join("no-servers.json");
    std::fs::write(&no_servers, r#"{"echo": {"command": "x"}}"#).unwrap();
    let ns = no_servers.to_str().unwrap();
    for (args, field) in [
        (vec!["--json-schema", "not json"], "json_schema"),
        (vec!["--json-schema", "[1, 2]"], "json_schema"),
        (vec!["--permission-mode", "yolo"], "permission_mode"),
        (vec!["--effort", "extreme"], "effort"),
        (vec!["--setting-sources", "user,team"], "setting_sources"),
        (vec!["--add-dir", "/no/such/dir"], "add_dirs"),
        (vec!["--resume", "0190aaaa-no-such-job"], "resume"),
        (vec!["--fork-session"], "fork_session"),
        (vec!["--mcp-config", ns], "mcp_servers"),
        (vec!["--mcp-config", "/no/such/file.json"], "mcp_servers"),
        (vec!["--settings", "{broken"], "settings"),
        (vec!["--settings", "[1]"], "settings"),
    ] {
        let mut a = vec!["--prompt", "x"];
        a.extend(args.iter().copied());
        let (code, j, stderr) = run(&a, dir.path());
        assert_eq!(code, 2, "{args:?}: {stderr}");
        assert_eq!(j["field"], field, "{args:?}: {j}");
    }
    let rec = dir.path().join("rec.json");
    let mcp = dir.path().join("mcp.json");
    std::fs::write(&mcp, r#"{"mcpServers": {"echo": {"command": "/bin/true"}}}"#).unwrap();
    let record = format!("FAKE_CLAUDE_RECORD={}", rec.display());
    let extra = dir.path().display().to_string();
    let (code, first, stderr) = run(
        &[
            "--prompt", "first", "--env", &record,
            "--json-schema", r#"{"type":"object"}"#,
            "--permission-mode", "plan",
            "--disallowed-tools", "Bash(rm *),WebFetch",
            "--system-prompt", "-be terse",
            "--append-system-prompt", "Sign it.",
            "--mcp-config", mcp.to_str().unwrap(),
            "--add-dir", &extra,
            "--settings", r#"{"x": 1}"#,
            "--setting-sources", "",
            "--fallback-model", "claude-small",
            "--effort", "max",
        ],
        dir.path(),
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(first.get("structured_output").is_some() && first["permission_denials"] == serde_json::json!([]), "{first}");
    let r: serde_json::Value = serde_json::from_slice(&std::fs::read(&rec).unwrap()).unwrap();
    let argv: Vec<&str> = r["argv"].as_array().unwrap().iter().map(|a| a.as_str().unwrap()).collect();
    for want in [
        r#"--json-schema={"type":"object"}"#,
        "--permission-mode=plan",
        "--disallowedTools=Bash(rm *),WebFetch",
        "--system-prompt=-be terse",
        "--append-system-prompt=Sign it.",
        "--strict-mcp-config",
        &format!("--add-dir={extra}"),
        "--setting-sources=",
        "--fallback-model=claude-small",
        "--effort=max",
    ] {
        assert!(argv.contains(&want), "{want} missing from {argv:?}");
    }
    // A later run resumes the first one's session (the store is in the data dir).
    let id = first["id"].as_str().unwrap();
    let (code, second, stderr) = run(&["--prompt", "second", "--resume", id, "--env", &record], dir.path());
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(second["session_id"], first["session_id"], "{second}");
    assert_eq!(second["resumed_session"], first["session_id"]);
    assert!(stderr.contains("resuming session"), "{stderr}");
    let r: serde_json::Value = serde_json::from_slice(&std::fs::read(&rec).unwrap()).unwrap();
    assert!(r["argv"].as_array().unwrap().iter().any(|a| a == "--permission-mode=plan"), "inherited: {r}");
}

/// `claude-jobs workflow` with the fake CLI (offline: the mock API is started,
/// the fake never calls it): `--var brand=ACME` and its short form `--brand`.
fn workflow(args: &[&str], data: &std::path::Path) -> (i32, serde_json::Value, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_claude-jobs"))
        .args(["workflow", "--name", "brand"])
        .args(args)
        .args(["--claude-bin", fake_claude().to_str().unwrap(), "--data-dir", data.to_str().unwrap()])
        .args(["--mock-api-bin", mock_anthropic().to_str().unwrap(), "--json"])
        .env_remove("ANTHROPIC_API_KEY")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let json = serde_json::from_str(stdout.trim()).unwrap_or(serde_json::Value::Null);
    (out.status.code().unwrap_or(-1), json, String::from_utf8_lossy(&out.stderr).to_string())
}

#[test]
fn workflow_runs_the_brand_steps_and_brand_is_short_for_var() {
    for form in [["--var", "brand=ACME"], ["--brand", "ACME"]] {
        let dir = data_dir();
        let (code, j, stderr) = workflow(&form, dir.path());
        assert_eq!(code, 0, "{form:?}: {stderr}");
        assert_eq!((j["workflow"].as_str(), j["brand"].as_str()), (Some("brand"), Some("ACME")), "{j}");
        assert_eq!(j["offline"], true, "{j}");
        assert!(stderr.contains("OFFLINE"), "says it runs against the mock: {stderr}");
        let jobs = j["jobs"].as_array().expect("jobs");
        let steps: Vec<_> = jobs.iter().map(|s| s["step"].as_str().unwrap()).collect();
        assert_eq!(steps, ["research", "brief", "draft"], "{form:?}");
        for s in jobs {
            assert_eq!(s["state"], "succeeded", "{form:?}: {s}");
            assert_eq!(s["outputs"].as_array().map(Vec::len), Some(1), "{form:?}: {s}");
        }
        let draft = jobs[2]["outputs"][0].as_str().unwrap();
        assert!(draft.ends_with("ACME-draft.md"), "{draft}");
    }
}

#[test]
fn workflow_bad_variables_exit_2_naming_them() {
    let dir = data_dir();
    let (code, j, _) = workflow(&["--var", "brand"], dir.path());
    assert_eq!((code, j["field"].as_str()), (2, Some("var")), "{j}");
    let (code, j, _) = workflow(&[], dir.path());
    assert_eq!((code, j["error_code"].as_str(), j["field"].as_str()), (2, Some("TEMPLATE_ERROR"), Some("brand")), "{j}");
}
