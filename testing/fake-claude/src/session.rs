//! Sessions as the real CLI keeps them, enough for resume tests: the
//! session id is `--resume`'s (a new one with `--fork-session`), and with
//! `$CLAUDE_CONFIG_DIR` set the prompt is appended to the transcript
//! `$CLAUDE_CONFIG_DIR/projects/<cwd, non-alphanumerics as '-'>/<session>.jsonl`.
//! `--resume` of a session without a transcript fails as the CLI does.

use std::io::Write;
use std::path::PathBuf;

use crate::json::Obj;

/// The transcript of `session` for this working dir, when a config dir is set.
fn transcript(cwd: &str, session: &str) -> Option<PathBuf> {
    let cfg = std::env::var_os("CLAUDE_CONFIG_DIR")?;
    let escaped: String = cwd.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '-' }).collect();
    Some(PathBuf::from(cfg).join("projects").join(escaped).join(format!("{session}.jsonl")))
}

/// The session of this run: `resume` (or, forked, `fresh`), checked.
/// `Err`: the message the real CLI prints for a session it cannot find.
pub fn open(cwd: &str, resume: Option<String>, fork: bool, fresh: String) -> Result<String, String> {
    let Some(old) = resume else { return Ok(fresh) };
    let Some(path) = transcript(cwd, &old) else {
        return Ok(if fork { fresh } else { old });
    };
    if !path.is_file() {
        return Err(format!("No conversation found with session ID: {old}\n"));
    }
    if !fork {
        return Ok(old);
    }
    if let Some(new) = transcript(cwd, &fresh) {
        let _ = std::fs::copy(&path, new);
    }
    Ok(fresh)
}

/// Appends the prompt to the session's transcript (errors ignored: a
/// config dir the run cannot write is not the fake's business).
pub fn record(cwd: &str, session: &str, prompt: &str) {
    let Some(path) = transcript(cwd, session) else { return };
    if let Some(dir) = path.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    let line = Obj::new()
        .str("type", "user")
        .str("sessionId", session)
        .raw("message", &Obj::new().str("role", "user").str("content", prompt).build())
        .build();
    if let Ok(mut f) = std::fs::OpenOptions::new().create(true).append(true).open(path) {
        let _ = writeln!(f, "{line}");
    }
}
