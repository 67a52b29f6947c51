//! The Claude session an attempt continues (`--resume`), decided before it
//! starts:
//!
//! - an earlier attempt of this job printed a session (a retry after the CLI
//!   died, a requeue after its node was lost, a rate-limit snooze): that
//!   session, when its transcript is still in the config dir. If the
//!   transcript holds the job's prompt, the attempt sends [`CONTINUE_PROMPT`]
//!   instead of the prompt again;
//! - else, for a job that resumes another (`resume`): that job's session
//!   (with `--fork-session` when the spec asks), which must still be there;
//! - else none.
//!
//! The CLI finds a session only under the same `CLAUDE_CONFIG_DIR` and
//! working dir, in `projects/<escaped cwd>/<session>.jsonl`.

use std::io::Read;
use std::path::Path;

use crate::safe_fs;
use crate::spec::JobSpec;
use crate::state::JobInfo;

/// What a retried attempt says when it continues its own session.
pub(super) const CONTINUE_PROMPT: &str = "[claude-jobs] The previous run of this task was cut off before it \
finished (the process ended or was stopped). Continue the same task from where it stopped, using the \
conversation above; do not redo work that is already done.";

/// The most of a transcript searched for the job's prompt.
const MAX_SCAN_BYTES: u64 = 64 << 20;
/// The most entries of `projects/` looked at.
const MAX_PROJECTS: usize = 10_000;

/// The session to continue.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Plan {
    pub session_id: String,
    pub fork: bool,
    /// The job whose session it is (this job's own id after a retry).
    pub from_job: String,
    /// What to send instead of the job's prompt.
    pub prompt: Option<String>,
}

/// Decides what this attempt resumes. Blocking (reads the config dir).
/// `Err`: the job cannot run (the session it must resume is gone).
pub(super) fn plan(
    id: &str,
    spec: &JobSpec,
    info: &JobInfo,
    config: Option<&Path>,
    prompt: &str,
    warnings: &mut Vec<String>,
) -> Result<Option<Plan>, String> {
    if let Some(own) = info.session_id.as_deref() {
        match find(config, own) {
            Ok(found) => {
                let continues = found.is_some_and(|t| holds_prompt(&t, prompt));
                return Ok(Some(Plan {
                    session_id: own.to_string(),
                    fork: false,
                    from_job: id.to_string(),
                    prompt: continues.then(|| CONTINUE_PROMPT.to_string()),
                }));
            }
            Err(why) => warnings.push(format!("not resuming this job's earlier session {own}: {why}; starting afresh")),
        }
    }
    let Some(earlier) = info.resumed_session.as_deref() else {
        return Ok(None);
    };
    let from = spec.resume.clone().unwrap_or_default();
    find(config, earlier).map_err(|why| format!("cannot resume job {from}'s session {earlier}: {why}"))?;
    Ok(Some(Plan {
        session_id: earlier.to_string(),
        fork: spec.fork_session,
        from_job: from,
        prompt: None,
    }))
}

/// The session's transcript in `config` (`None` without a config dir of the
/// job's own: nothing to look in, the CLI is trusted to find it).
fn find(config: Option<&Path>, session: &str) -> Result<Option<std::fs::File>, String> {
    let ok_name = !session.is_empty()
        && session.len() <= 128
        && session.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !ok_name {
        return Err(format!("{session:?} is not a session id"));
    }
    let Some(config) = config else { return Ok(None) };
    let gone = |e: std::io::Error| format!("its transcript is not in {} ({e})", config.display());
    let cfg = safe_fs::open_dir(config).map_err(gone)?;
    let projects = safe_fs::open_subdir(&cfg, "projects").map_err(gone)?;
    let file = format!("{session}.jsonl");
    let names = std::fs::read_dir(config.join("projects")).map_err(gone)?;
    for entry in names.take(MAX_PROJECTS).flatten() {
        let Some(name) = entry.file_name().to_str().map(String::from) else { continue };
        let Ok(dir) = safe_fs::open_subdir(&projects, &name) else { continue };
        if let Ok(f) = safe_fs::open_regular(&dir, &file) {
            return Ok(Some(f));
        }
    }
    Err(format!("its transcript {file} is not in {}/projects", config.display()))
}

/// Whether the transcript holds the prompt (its first line, as JSON writes
/// it): the run that printed the session got as far as recording it.
fn holds_prompt(f: &std::fs::File, prompt: &str) -> bool {
    let line = prompt.trim_start().lines().next().unwrap_or("").trim_end();
    let line = crate::util::truncate(line, 200);
    if line.is_empty() {
        return false;
    }
    let quoted = serde_json::to_string(line).unwrap_or_default();
    let needle = quoted.as_bytes()[1..quoted.len() - 1].to_vec();
    let finder = memchr::memmem::Finder::new(&needle);
    let mut buf = vec![0u8; 1 << 20];
    let mut carry: Vec<u8> = Vec::new();
    let mut reader = f.take(MAX_SCAN_BYTES);
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) | Err(_) => return false,
            Ok(n) => n,
        };
        carry.extend_from_slice(&buf[..n]);
        if finder.find(&carry).is_some() {
            return true;
        }
        let keep = needle.len().min(carry.len());
        carry.drain(..carry.len() - keep);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config_with(session: &str, body: &str) -> tempfile::TempDir {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("projects/-tmp-work");
        std::fs::create_dir_all(&p).unwrap();
        std::fs::write(p.join(format!("{session}.jsonl")), body).unwrap();
        d
    }

    fn info(own: Option<&str>, resumed: Option<&str>) -> JobInfo {
        let mut i = JobInfo::queued("job-b".into(), &JobSpec::from_prompt("p"), 0);
        i.session_id = own.map(String::from);
        i.resumed_session = resumed.map(String::from);
        i
    }

    #[test]
    fn a_retry_continues_its_own_session() {
        let cfg = config_with("s-own", r#"{"type":"user","message":{"content":"Write \"the\" brief\nmore"}}"#);
        let spec = JobSpec::from_prompt("x");
        let mut w = Vec::new();
        let p = plan("job-b", &spec, &info(Some("s-own"), None), Some(cfg.path()), "Write \"the\" brief\nmore", &mut w)
            .unwrap()
            .unwrap();
        assert_eq!((p.session_id.as_str(), p.fork, p.from_job.as_str()), ("s-own", false, "job-b"));
        assert_eq!(p.prompt.as_deref(), Some(CONTINUE_PROMPT));
        // A transcript without the prompt: resumed, with the prompt sent again.
        let p = plan("job-b", &spec, &info(Some("s-own"), None), Some(cfg.path()), "other task", &mut w).unwrap().unwrap();
        assert_eq!(p.prompt, None);
        // No transcript: a fresh start, with a warning.
        assert_eq!(plan("job-b", &spec, &info(Some("s-gone"), None), Some(cfg.path()), "x", &mut w).unwrap(), None);
        assert!(w[0].contains("starting afresh"), "{w:?}");
    }

    #[test]
    fn a_resuming_job_needs_the_earlier_session() {
        let cfg = config_with("s-a", "{}");
        let spec = JobSpec::builder().prompt("p").resume("job-a").fork_session(true).build().unwrap();
        let mut w = Vec::new();
        let p = plan("job-b", &spec, &info(None, Some("s-a")), Some(cfg.path()), "p", &mut w).unwrap().unwrap();
        assert_eq!((p.session_id.as_str(), p.fork, p.from_job.as_str(), p.prompt), ("s-a", true, "job-a", None));
        let e = plan("job-b", &spec, &info(None, Some("s-x")), Some(cfg.path()), "p", &mut w).unwrap_err();
        assert!(e.contains("cannot resume job job-a's session s-x"), "{e}");
        assert!(plan("job-b", &spec, &info(None, Some("../x")), Some(cfg.path()), "p", &mut w).is_err());
    }
}
