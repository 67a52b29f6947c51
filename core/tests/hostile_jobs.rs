//! A job that runs as another user (`run_as`) is untrusted: whatever it
//! plants in its directory, the manager (root here) must not write, read or
//! copy anything outside the job, nor block on it. Each test runs a fake CLI
//! that attacks the way a hostile job would (see fake-claude's `hostile`).
mod common;

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

use claude_jobs::{IsolationMode, JobEvent, JobManager, JobSpec, JobState, OutputSpec};
use common::*;

const NOBODY: u32 = 65534;

fn root() -> bool {
    if unsafe { libc::geteuid() } == 0 {
        return true;
    }
    if std::env::var("CLAUDE_JOBS_REQUIRE_CGROUPS").as_deref() == Ok("1") {
        panic!("these tests must run as root here (they run jobs as another user)");
    }
    eprintln!("SKIP hostile_jobs: needs root to run jobs as another user");
    false
}

/// A data dir the job's user can traverse, and a copy of the CLI it can run.
async fn setup(tweak: impl FnOnce(claude_jobs::JobManagerBuilder) -> claude_jobs::JobManagerBuilder) -> (tempfile::TempDir, JobManager) {
    let dir = data_dir();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let cli = dir.path().join("fake-claude");
    std::fs::copy(fake_claude(), &cli).unwrap();
    let b = builder(dir.path())
        .claude_bin(&cli)
        .isolation(IsolationMode::Auto)
        .retry_backoff(Duration::from_millis(50), Duration::from_millis(100));
    let m = tweak(b).build().await.unwrap();
    (dir, m)
}

fn hostile(plan: &str) -> claude_jobs::JobSpecBuilder {
    JobSpec::builder()
        .prompt("attack")
        .env("FAKE_CLAUDE_SCENARIO", "hostile")
        .env("FAKE_CLAUDE_HOSTILE", plan)
        .run_as(NOBODY, NOBODY)
}

/// A file only root may read or write, with `content`.
fn root_file(dir: &Path, name: &str, content: &str, mode: u32) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, content).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
    p
}

/// What the fake CLI said of each action it tried.
fn hostile_results(events: &[JobEvent]) -> Vec<serde_json::Value> {
    events
        .iter()
        .filter_map(|e| match e {
            JobEvent::Other { raw, .. } if raw["subtype"] == "fake_hostile" => Some(raw["results"].clone()),
            _ => None,
        })
        .collect()
}

fn warnings(events: &[JobEvent]) -> Vec<String> {
    events
        .iter()
        .filter_map(|e| match e {
            JobEvent::Warning { message, .. } => Some(message.clone()),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn a_job_cannot_make_the_manager_overwrite_files_through_its_logs() {
    if !root() {
        return;
    }
    let (dir, m) = setup(|b| b).await;
    let target = root_file(dir.path(), "precious.txt", "precious\n", 0o644);
    let plan = format!("link-logs={};fifo-log", target.display());
    let spec = hostile(&plan)
        .env("FAKE_CLAUDE_HOSTILE_END", "crash")
        .max_attempts(2)
        .build()
        .unwrap();
    let job = m.submit(spec).await.unwrap();
    let info = tokio::time::timeout(Duration::from_secs(60), job.wait())
        .await
        .expect("the manager is not blocked by anything the job planted");
    assert_eq!(info.state, JobState::Failed, "{info:?}");
    assert_eq!(info.attempt, 2, "the second attempt ran: {info:?}");
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "precious\n", "the target is untouched");
    let events = job_events(&job).await;
    let results = hostile_results(&events);
    assert_eq!(results.len(), 2, "one report per attempt: {events:?}");
    for r in &results {
        for action in ["link-logs", "fifo-log"] {
            let said = r[action].as_str().unwrap_or("");
            assert!(said.starts_with("error"), "{action} must fail for the job: {r}");
        }
    }
    let log_dir = info.log_dir.unwrap();
    for log in ["stdout.log", "stdout.1.log", "stderr.log", "stderr.1.log"] {
        let meta = std::fs::symlink_metadata(log_dir.join(log)).unwrap();
        assert!(meta.file_type().is_file(), "{log} is a regular file");
        assert_eq!(meta.uid(), 0, "{log} is the manager's");
    }
    assert_eq!(std::fs::metadata(&log_dir).unwrap().uid(), 0, "the job dir is the manager's");
    assert_eq!(std::fs::metadata(log_dir.join("work")).unwrap().uid(), NOBODY);
    m.shutdown(Duration::from_secs(5)).await;
}

fn collect_to(folder: &str) -> OutputSpec {
    OutputSpec {
        file: "out.md".into(),
        folder: folder.into(),
        name: None,
    }
}

#[tokio::test]
async fn outputs_are_never_read_through_links_or_a_moved_work_dir() {
    if !root() {
        return;
    }
    let (dir, m) = setup(|b| b).await;
    let secrets = dir.path().join("secrets");
    std::fs::create_dir(&secrets).unwrap();
    std::fs::set_permissions(&secrets, std::fs::Permissions::from_mode(0o700)).unwrap();
    let secret = root_file(&secrets, "out.md", "TOP-SECRET\n", 0o600);
    let mut spec = hostile(&format!("link-output=out.md:{}", secret.display())).build().unwrap();
    spec.output = Some(collect_to("links"));
    let job = m.submit(spec).await.unwrap();
    let info = job.wait().await;
    assert_eq!(info.state, JobState::Succeeded, "{info:?}");
    let copied = std::fs::read_to_string(&info.outputs[0]).unwrap();
    assert!(!copied.contains("TOP-SECRET"), "the link was not followed: {copied}");
    let warned = warnings(&job_events(&job).await);
    assert!(warned.iter().any(|w| w.contains("not collected")), "{warned:?}");

    let mut spec = hostile(&format!("rename-work={}", secrets.display())).build().unwrap();
    spec.output = Some(collect_to("moved"));
    let job = m.submit(spec).await.unwrap();
    let info = job.wait().await;
    let results = hostile_results(&job_events(&job).await);
    assert!(results[0]["rename-work"].as_str().unwrap().starts_with("error"), "{results:?}");
    for out in &info.outputs {
        assert!(!std::fs::read_to_string(out).unwrap().contains("TOP-SECRET"));
    }
    m.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test]
async fn a_fifo_output_does_not_block_the_manager() {
    if !root() {
        return;
    }
    let (_dir, m) = setup(|b| b.max_concurrent(2)).await;
    let mut spec = hostile("fifo-output=out.md").build().unwrap();
    spec.output = Some(collect_to("fifo"));
    let job = m.submit(spec).await.unwrap();
    let info = tokio::time::timeout(Duration::from_secs(30), job.wait())
        .await
        .expect("collecting a FIFO does not block");
    assert_eq!(info.state, JobState::Succeeded, "the result text is saved instead: {info:?}");
    let warned = warnings(&job_events(&job).await);
    assert!(warned.iter().any(|w| w.contains("not a regular file")), "{warned:?}");
    // The manager still serves.
    let other = m.submit(JobSpec::from_prompt("hi")).await.unwrap();
    let other = tokio::time::timeout(Duration::from_secs(30), other.wait()).await.unwrap();
    assert_eq!(other.state, JobState::Succeeded);
    m.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test]
async fn a_huge_sparse_output_is_cut_at_max_output_bytes() {
    if !root() {
        return;
    }
    let (_dir, m) = setup(|b| b.max_output_bytes(1 << 20)).await;
    let mut spec = hostile("sparse-output=out.md:5120").build().unwrap();
    spec.output = Some(collect_to("sparse"));
    let job = m.submit(spec).await.unwrap();
    let info = job.wait().await;
    assert_eq!(info.state, JobState::Succeeded, "{info:?}");
    let meta = std::fs::metadata(&info.outputs[0]).unwrap();
    assert_eq!(meta.len(), 1 << 20, "cut at the cap");
    assert!(meta.blocks() * 512 <= (1 << 20) + (1 << 16), "no more than the cap on disk");
    let warned = warnings(&job_events(&job).await);
    assert!(warned.iter().any(|w| w.contains("max_output_bytes")), "{warned:?}");
    m.shutdown(Duration::from_secs(5)).await;
}
