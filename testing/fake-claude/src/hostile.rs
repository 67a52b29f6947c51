//! Scenarios of a job that attacks its manager (the manager must not act
//! outside the job because of them), and one whose tool process runs out
//! of memory while the CLI itself succeeds.

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use crate::json::Obj;
use crate::messages as m;
use crate::out::Out;
use crate::{sys, Ctx};

const MIB: u64 = 1 << 20;

/// `hostile`: does each action of `FAKE_CLAUDE_HOSTILE` (`;`-separated
/// `action=arg`), prints `{"type":"system","subtype":"fake_hostile",
/// "results":{action: "ok" | "error: …"}}`, then the normal tail; with
/// `FAKE_CLAUDE_HOSTILE_END=crash`, exits 1 without a result instead.
pub fn hostile(ctx: &Ctx, out: &mut Out) -> i32 {
    out.line(&m::init(ctx));
    let plan = std::env::var("FAKE_CLAUDE_HOSTILE").unwrap_or_default();
    let mut results = Obj::new();
    for item in plan.split(';').filter(|s| !s.trim().is_empty()) {
        let (action, arg) = item.split_once('=').unwrap_or((item, ""));
        let r = match act(action.trim(), arg.trim()) {
            Ok(()) => "ok".to_string(),
            Err(e) => format!("error: {e}"),
        };
        results = results.str(action.trim(), &r);
    }
    out.line(
        &m::system("fake_hostile")
            .raw("results", &results.build())
            .str("session_id", &ctx.session_id)
            .build(),
    );
    if std::env::var("FAKE_CLAUDE_HOSTILE_END").as_deref() == Ok("crash") {
        return 1;
    }
    let text = ctx.echo();
    out.line(&m::assistant_text(ctx, &text));
    out.line(&m::result(ctx, &text));
    0
}

fn act(action: &str, arg: &str) -> std::io::Result<()> {
    match action {
        // The logs beside the working dir, replaced by links to `arg`.
        "link-logs" => {
            for log in ["../stdout.log", "../stderr.log"] {
                let _ = std::fs::remove_file(log);
                std::os::unix::fs::symlink(arg, log)?;
            }
            Ok(())
        }
        "fifo-log" => {
            let _ = std::fs::remove_file("../stdout.log");
            mkfifo(Path::new("../stdout.log"))
        }
        // The working dir moved away, a link to `arg` in its place.
        "rename-work" => {
            let cwd = std::env::current_dir()?;
            let parent = cwd.parent().unwrap_or(Path::new("/"));
            std::fs::rename(&cwd, parent.join("work-moved"))?;
            std::os::unix::fs::symlink(arg, &cwd)
        }
        "link-output" => {
            let (name, target) = arg.split_once(':').unwrap_or((arg, "/etc/hostname"));
            std::os::unix::fs::symlink(target, name)
        }
        "fifo-output" => mkfifo(Path::new(arg)),
        "sparse-output" => {
            let (name, mb) = arg.split_once(':').unwrap_or((arg, "1"));
            let mb: u64 = mb.parse().unwrap_or(1);
            std::fs::File::create(name)?.set_len(mb * MIB)
        }
        other => Err(std::io::Error::other(format!("unknown action {other}"))),
    }
}

fn mkfifo(p: &Path) -> std::io::Result<()> {
    let c = CString::new(p.as_os_str().as_bytes()).map_err(std::io::Error::other)?;
    // SAFETY: a valid C string.
    if unsafe { libc::mkfifo(c.as_ptr(), 0o600) } == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// `oom-child`: a child process (a tool) allocates `FAKE_CLAUDE_ALLOC_MB`
/// (300) MiB and touches every page; the CLI waits for it, then succeeds
/// whatever became of the child (as the real CLI reports a tool's death).
pub fn oom_child(ctx: &Ctx, out: &mut Out) -> i32 {
    out.line(&m::init(ctx));
    let mb: usize = std::env::var("FAKE_CLAUDE_ALLOC_MB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300);
    let pid = sys::fork();
    if pid == 0 {
        let mut chunks: Vec<Vec<u8>> = Vec::new();
        for _ in 0..mb.div_ceil(8) {
            let mut c = vec![0u8; 8 << 20];
            for i in (0..c.len()).step_by(4096) {
                c[i] = 1;
            }
            chunks.push(c);
        }
        sys::exit_now(0);
    }
    sys::wait(pid);
    out.line(&m::assistant_text(ctx, "the tool finished"));
    out.line(&m::result(ctx, "done"));
    0
}

/// `leak-escaped`: writes `$ANTHROPIC_API_KEY` in its output with every
/// character as a JSON `\uXXXX` escape (in an assistant text and in the
/// result), so that only a reader that parses the JSON sees the key.
pub fn leak_escaped(ctx: &Ctx, out: &mut Out) -> i32 {
    let key = std::env::var("ANTHROPIC_API_KEY").unwrap_or_default();
    let escaped: String = key.chars().map(|c| format!("\\u{:04x}", c as u32)).collect();
    out.line(&m::init(ctx));
    let block = format!(r#"[{{"type":"text","text":"the key is {escaped}"}}]"#);
    out.line(&m::assistant(ctx, &block));
    out.line(&m::result(ctx, "the key is KEY_HERE").replace("KEY_HERE", &escaped));
    0
}
