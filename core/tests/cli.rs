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
