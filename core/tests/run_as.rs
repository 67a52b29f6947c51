//! `run_as`: the child joins its cgroup as root, then drops to the given
//! uid/gid before exec; its files are its own.
mod common;

use std::os::unix::fs::PermissionsExt;

use claude_jobs::{IsolationMode, JobSpec, JobState};
use common::*;

fn status_field(pid: u32, field: &str) -> Option<String> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    s.lines().find_map(|l| {
        l.strip_prefix(field)
            .map(|v| v.split_whitespace().next().unwrap_or("").to_string())
    })
}

#[tokio::test]
async fn runs_as_nobody_inside_its_cgroup() {
    if unsafe { libc::geteuid() } != 0 {
        // Where the cgroup tests must run (make test as root), so must this one.
        assert_ne!(
            std::env::var("CLAUDE_JOBS_REQUIRE_CGROUPS").as_deref(),
            Ok("1"),
            "runs_as_nobody_inside_its_cgroup must run as root here"
        );
        eprintln!("SKIP runs_as_nobody_inside_its_cgroup: needs root to change user");
        return;
    }
    if !cgroups_available("runs_as_nobody_inside_its_cgroup") {
        return;
    }
    let dir = data_dir();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    // A copy of the CLI the job's user can reach: the checkout may sit
    // under a directory only root may enter (`mktemp -d` makes them 0700).
    let cli = dir.path().join("fake-claude");
    std::fs::copy(fake_claude(), &cli).unwrap();
    let m = builder(dir.path())
        .claude_bin(&cli)
        .isolation(IsolationMode::Required)
        .build()
        .await
        .unwrap();
    let spec = JobSpec::builder()
        .prompt("x")
        .env("FAKE_CLAUDE_SCENARIO", "slow")
        .env("FAKE_CLAUDE_SECONDS", "2")
        .memory("128M")
        .run_as(65534, 65534)
        .build()
        .unwrap();
    let job = m.submit(spec).await.unwrap();
    assert!(eventually(30, || job.info().pid.is_some()).await);
    let pid = job.info().pid.unwrap();
    assert!(
        eventually(10, || status_field(pid, "Uid:").as_deref() == Some("65534")).await,
        "dropped to uid 65534"
    );
    assert_eq!(status_field(pid, "Gid:").as_deref(), Some("65534"));
    let groups = job_cgroups(job.id());
    assert!(!groups.is_empty());
    let in_group = groups.iter().any(|g| {
        std::fs::read_to_string(g.join("cgroup.procs"))
            .map(|p| p.lines().any(|l| l == pid.to_string()))
            .unwrap_or(false)
    });
    assert!(in_group, "joined its cgroup before dropping privileges");
    let info = job.wait().await;
    assert_eq!(info.state, JobState::Succeeded, "{info:?}");
    use std::os::unix::fs::MetadataExt;
    let work = info.log_dir.unwrap().join("work");
    assert_eq!(
        std::fs::metadata(&work).unwrap().uid(),
        65534,
        "its working dir is its own"
    );
}
