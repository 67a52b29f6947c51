//! fake-claude: a stand-in for `claude -p --output-format stream-json --verbose`.
//!
//! Reads the prompt from stdin, then plays the scenario chosen by
//! `--fake-scenario NAME` or `$FAKE_CLAUDE_SCENARIO` (default `ok`).
//! Unknown flags are ignored. See README.md for the scenario list.

mod hostile;
mod json;
mod messages;
mod out;
mod scenarios;
mod session;
mod sys;
mod ticker;

use std::io::Read;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// Everything a scenario needs to know about this run.
pub struct Ctx {
    pub argv: Vec<String>,
    /// The whole of stdin (lossily decoded).
    pub prompt: String,
    pub model: String,
    pub session_id: String,
    pub cwd: String,
    pub start: Instant,
}

impl Ctx {
    /// `echo: <first 200 chars of the prompt, trailing whitespace trimmed>`.
    pub fn echo(&self) -> String {
        let mut s = String::from("echo: ");
        s.extend(self.prompt.trim_end().chars().take(200));
        s
    }
}

fn main() {
    let start = Instant::now();
    let argv: Vec<String> = std::env::args_os()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let args = &argv[argv.len().min(1)..];

    if args.iter().any(|a| a == "--version") {
        println!("0.0.0-fake (Claude Code)");
        return;
    }

    let prompt = read_prompt();
    let scenario_name = flag_value(args, "--fake-scenario")
        .or_else(|| prompt_directive(&prompt, "fake-scenario:"))
        .or_else(|| {
            std::env::var("FAKE_CLAUDE_SCENARIO")
                .ok()
                .filter(|s| !s.is_empty())
        })
        .unwrap_or_else(|| "ok".to_string());
    let model = flag_value(args, "--model").unwrap_or_else(|| "claude-fake-model".to_string());

    let cwd = std::env::current_dir()
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_default();
    let fork = args.iter().any(|a| a == "--fork-session");
    let session_id = match session::open(&cwd, flag_value(args, "--resume"), fork, session_id()) {
        Ok(s) => s,
        Err(e) => {
            out::err(&e);
            std::process::exit(1);
        }
    };
    session::record(&cwd, &session_id, &prompt);
    let ctx = Ctx {
        prompt,
        model,
        session_id,
        cwd,
        start,
        argv,
    };

    if let Some(path) = std::env::var_os("FAKE_CLAUDE_RECORD") {
        let line = messages::fake_env(&ctx) + "\n";
        if let Err(e) = std::fs::write(&path, line) {
            out::err(&format!(
                "fake-claude: cannot write FAKE_CLAUDE_RECORD {path:?}: {e}\n"
            ));
            std::process::exit(2);
        }
    }

    let Some(scenario) = scenarios::lookup(&scenario_name) else {
        out::err(&format!(
            "fake-claude: unknown scenario {scenario_name:?}; known: {}\n",
            scenarios::names().join(", ")
        ));
        std::process::exit(2);
    };
    let mut stdout = out::Out::stdout();
    let code = scenario(&ctx, &mut stdout);
    stdout.flush();
    std::process::exit(code);
}

/// Value of `--name VALUE` or `--name=VALUE`; the last occurrence wins.
fn flag_value(args: &[String], name: &str) -> Option<String> {
    let mut found = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if a == name {
            found = it.next().cloned();
        } else if let Some(v) = a.strip_prefix(name).and_then(|r| r.strip_prefix('=')) {
            found = Some(v.to_string());
        }
    }
    found
}

/// All of stdin, unless stdin is a terminal (then the prompt is empty).
fn read_prompt() -> String {
    if sys::stdin_is_tty() {
        return String::new();
    }
    let mut buf = Vec::new();
    // A closed or missing stdin just means an empty prompt.
    let _ = std::io::stdin().lock().read_to_end(&mut buf);
    match String::from_utf8(buf) {
        Ok(s) => s,
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
    }
}

/// A random-looking UUIDv4-shaped id from the clock and the pid.
fn session_id() -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    let mut state = nanos ^ ((std::process::id() as u64) << 32) ^ (&nanos as *const u64 as u64);
    let hi = splitmix64(&mut state);
    let lo = splitmix64(&mut state);
    let hi = (hi & !0xf000) | 0x4000; // version 4
    let lo = (lo & !(0xc << 60)) | (0x8 << 60); // RFC 4122 variant
    format!(
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        hi >> 32,
        (hi >> 16) & 0xffff,
        hi & 0xffff,
        lo >> 48,
        lo & 0xffff_ffff_ffff
    )
}

fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The value of a `NAME: value` line in the prompt (e.g. `fake-scenario: alloc`).
fn prompt_directive(prompt: &str, key: &str) -> Option<String> {
    prompt
        .lines()
        .find_map(|l| l.trim().strip_prefix(key).map(|v| v.trim().to_string()))
        .filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags() {
        let a: Vec<String> = [
            "-p",
            "--model",
            "m1",
            "--x",
            "--model=m2",
            "--fake-scenario",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        assert_eq!(flag_value(&a, "--model").as_deref(), Some("m2"));
        assert_eq!(flag_value(&a, "--fake-scenario"), None);
        assert_eq!(flag_value(&a, "--max-turns"), None);
    }

    #[test]
    fn uuid_shape() {
        let id = session_id();
        let parts: Vec<usize> = id.split('-').map(str::len).collect();
        assert_eq!(parts, [8, 4, 4, 4, 12]);
        assert_eq!(&id[14..15], "4");
    }
}
