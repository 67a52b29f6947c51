//! Job cgroups left by a manager that died are killed and removed at start-up.
mod common;

use std::path::PathBuf;

use claude_jobs::IsolationMode;
use common::*;

fn own_memory_cgroup() -> PathBuf {
    let own = std::fs::read_to_string("/proc/self/cgroup").unwrap();
    let path = own.lines().find_map(|l| {
        l.split(':')
            .nth(1)
            .filter(|c| c.split(',').any(|c| c == "memory"))
            .map(|_| l.splitn(3, ':').nth(2).unwrap().to_string())
    });
    match path {
        Some(p) => PathBuf::from("/sys/fs/cgroup/memory").join(p.trim_start_matches('/')),
        None => PathBuf::from("/sys/fs/cgroup")
            .join(own.lines().find(|l| l.starts_with("0::")).unwrap()[3..].trim_start_matches('/')),
    }
}

#[tokio::test]
async fn stale_job_cgroups_are_swept() {
    if !cgroups_available("stale_job_cgroups_are_swept") {
        return;
    }
    // A "dead manager" directory: pid 999999999 never exists.
    let stale = own_memory_cgroup().join("claude-jobs/mgr-999999999-1/job-stale");
    std::fs::create_dir_all(&stale).unwrap();
    let child = std::process::Command::new("sleep")
        .arg("600")
        .spawn()
        .unwrap();
    let pid = child.id() as i32;
    std::fs::write(stale.join("cgroup.procs"), pid.to_string()).unwrap();
    let dir = data_dir();
    let _m = manager(dir.path(), IsolationMode::Required).await;
    // The sweep kills it (and, as it is our child here, may also reap it).
    assert!(
        eventually(30, || !alive(pid)).await,
        "the leftover process was killed"
    );
    drop(child);
    assert!(!stale.exists(), "the stale cgroup was removed");
    assert!(!stale.parent().unwrap().exists());
}
