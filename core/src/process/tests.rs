use std::collections::BTreeMap;
use std::path::Path;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::*;

fn env() -> BTreeMap<String, String> {
    BTreeMap::from([("PATH".to_string(), "/usr/bin:/bin".to_string())])
}

async fn run(script: &str, cwd: &Path, stdin: &str) -> (String, std::process::ExitStatus, u32) {
    let args = vec!["-c".to_string(), script.to_string()];
    let env = env();
    let mut child = spawn(SpawnPlan {
        program: Path::new("sh"),
        args: &args,
        env: &env,
        cwd,
        attach: vec![],
        into_cgroup: None,
        run_as: None,
    })
    .expect("spawn sh");
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin.as_bytes()).await.unwrap();
    drop(input);
    let mut out = String::new();
    child.stdout.take().unwrap().read_to_string(&mut out).await.unwrap();
    let pid = child.id();
    (out, child.wait().await.unwrap(), pid)
}

/// The mask field of /proc/self/status named `name`, as a bit set.
fn mask(status: &str, name: &str) -> u64 {
    let line = status.lines().find(|l| l.starts_with(name)).expect(name);
    u64::from_str_radix(line.split_whitespace().nth(1).unwrap(), 16).unwrap()
}

#[tokio::test]
async fn child_gets_stdin_cwd_env_own_group_and_clean_signals() {
    let dir = tempfile::tempdir().unwrap();
    let (out, st, pid) = run(
        "read line; echo \"in=$line\"; echo \"cwd=$(pwd)\"; echo \"pgid=$(ps -o pgid= $$ | tr -d ' ')\"; \
         echo \"me=$$\"; cat /proc/self/status",
        dir.path(),
        "hello\n",
    )
    .await;
    assert!(st.success(), "{st:?}: {out}");
    assert!(out.contains("in=hello\n"), "{out}");
    let cwd = std::fs::canonicalize(dir.path()).unwrap();
    assert!(out.contains(&format!("cwd={}\n", cwd.display())), "{out}");
    assert!(out.contains(&format!("me={pid}\n")), "{out}");
    assert!(out.contains(&format!("pgid={pid}\n")), "the child leads its own group: {out}");
    // `cat` inherits the shell's: nothing blocked, SIGPIPE not ignored.
    assert_eq!(mask(&out, "SigBlk:"), 0, "{out}");
    assert_eq!(mask(&out, "SigIgn:") & (1 << (libc::SIGPIPE - 1)), 0, "{out}");
}

#[tokio::test]
async fn exit_codes_and_signals_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let (_, st, _) = run("exit 3", dir.path(), "").await;
    assert_eq!(st.code(), Some(3));
    let (_, st, _) = run("kill -TERM $$", dir.path(), "").await;
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(st.signal(), Some(libc::SIGTERM));
}

#[tokio::test]
async fn failures_name_their_cause() {
    let dir = tempfile::tempdir().unwrap();
    let env = env();
    let plan = |program: &'static str, cwd: &'static str| SpawnPlan {
        program: Path::new(program),
        args: &[],
        env: &env,
        cwd: Path::new(cwd),
        attach: vec![],
        into_cgroup: None,
        run_as: None,
    };
    let e = spawn(plan("/nonexistent/claude", "/")).err().unwrap();
    assert_eq!(e.kind(), io::ErrorKind::NotFound, "{e}");
    let e = spawn(plan("no-such-program-here", "/")).err().unwrap();
    assert_eq!(e.kind(), io::ErrorKind::NotFound, "{e}");
    let not_executable = dir.path().join("claude");
    std::fs::write(&not_executable, "#!/bin/sh\n").unwrap();
    let e = spawn(SpawnPlan {
        program: &not_executable,
        ..plan("sh", "/")
    })
    .err()
    .unwrap();
    assert_eq!(e.kind(), io::ErrorKind::PermissionDenied, "{e}");
    let e = spawn(plan("sh", "/nonexistent-dir")).err().unwrap();
    assert!(e.to_string().contains("working dir /nonexistent-dir"), "{e}");
    let bad = dir.path().join("cgroup.procs-not-there");
    let e = spawn(SpawnPlan {
        attach: vec![bad.clone()],
        into_cgroup: None,
        ..plan("sh", "/")
    })
    .err()
    .unwrap();
    assert!(e.to_string().contains("cgroup.procs-not-there"), "{e}");
}

#[tokio::test]
async fn dropping_a_running_child_kills_and_reaps_it() {
    let args = vec!["-c".to_string(), "sleep 30".to_string()];
    let env = env();
    let child = spawn(SpawnPlan {
        program: Path::new("sh"),
        args: &args,
        env: &env,
        cwd: Path::new("/"),
        attach: vec![],
        into_cgroup: None,
        run_as: None,
    })
    .unwrap();
    let pid = child.id();
    drop(child);
    let proc_dir = format!("/proc/{pid}");
    for _ in 0..200 {
        if !Path::new(&proc_dir).exists() {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("{proc_dir} is still there 2 s after the drop (killed but not reaped?)");
}
