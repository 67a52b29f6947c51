//! The scenarios. Each prints its lines and returns the exit code
//! (some never return). Numeric knobs come from `FAKE_CLAUDE_*` env vars.

use std::str::FromStr;
use std::time::{Duration, Instant};

use crate::json::{num_array, Obj};
use crate::messages::{self as m, Result};
use crate::out::{err, err_bytes, Out};
use crate::{sys, Ctx};

pub type Scenario = fn(&Ctx, &mut Out) -> i32;

const SCENARIOS: &[(&str, Scenario)] = &[
    ("ok", ok),
    ("trivial", trivial),
    ("slow", slow),
    ("alloc", alloc),
    ("thrash", thrash),
    ("cpu", cpu),
    ("fork-tree", fork_tree),
    ("garbage", garbage),
    ("long-line", long_line),
    ("no-result", no_result),
    ("hang-after-result", hang_after_result),
    ("ignore-sigterm", ignore_sigterm),
    ("stderr-flood", stderr_flood),
    ("error-result", error_result),
    ("api-retry", api_retry),
    ("rate-limit", rate_limit),
    ("tool-use", tool_use),
    ("leak-env", leak_env),
    ("exit-code", exit_code),
    ("big-output", big_output),
    ("env-dump", env_dump),
    ("hostile", crate::hostile::hostile),
    ("oom-child", crate::hostile::oom_child),
    ("leak-escaped", crate::hostile::leak_escaped),
    ("ticker", crate::ticker::ticker),
];

pub fn lookup(name: &str) -> Option<Scenario> {
    SCENARIOS.iter().find(|(n, _)| *n == name).map(|(_, f)| *f)
}

pub fn names() -> Vec<&'static str> {
    SCENARIOS.iter().map(|(n, _)| *n).collect()
}

/// `$name` parsed as T, or `default` if unset; exits 2 if unparsable.
fn param<T: FromStr>(name: &str, default: T) -> T {
    match std::env::var(name) {
        Err(_) => default,
        Ok(v) if v.is_empty() => default,
        Ok(v) => v.parse().unwrap_or_else(|_| {
            err(&format!("fake-claude: bad value for {name}: {v:?}\n"));
            std::process::exit(2);
        }),
    }
}

/// `$FAKE_CLAUDE_SECONDS` (fractions allowed).
fn seconds(default: f64) -> Duration {
    let s: f64 = param("FAKE_CLAUDE_SECONDS", default);
    Duration::from_secs_f64(s.clamp(0.0, 1e9))
}

const MIB: usize = 1 << 20;

/// The usual ending: an assistant echo line and a success result.
fn normal_tail(ctx: &Ctx, out: &mut Out) {
    let text = ctx.echo();
    out.line(&m::assistant_text(ctx, &text));
    out.line(&m::result(ctx, &text));
}

fn ok(ctx: &Ctx, out: &mut Out) -> i32 {
    out.line(&m::init(ctx));
    normal_tail(ctx, out);
    0
}

fn trivial(ctx: &Ctx, out: &mut Out) -> i32 {
    out.line(&m::init(ctx));
    out.line(&m::assistant_text(ctx, "ok"));
    out.line(&m::result(ctx, "ok"));
    0
}

fn slow(ctx: &Ctx, out: &mut Out) -> i32 {
    let interval = Duration::from_millis(param("FAKE_CLAUDE_INTERVAL_MS", 500u64).max(1));
    let total = seconds(30.0);
    out.line(&m::init(ctx));
    let start = Instant::now();
    let end = start + total;
    let mut ticks = 0u64;
    let mut next = start;
    while Instant::now() < end {
        ticks += 1;
        out.line(&m::assistant_text(ctx, &format!("tick {ticks}")));
        next += interval;
        let wake = next.min(end);
        let now = Instant::now();
        if wake > now {
            std::thread::sleep(wake - now);
        }
    }
    let text = format!(
        "slow: {ticks} ticks in {:.3} s",
        start.elapsed().as_secs_f64()
    );
    let r = Result {
        duration_ms: ctx.start.elapsed().as_millis(),
        ..Result::ok(&text)
    };
    out.line(&r.build(ctx));
    0
}

fn alloc(ctx: &Ctx, out: &mut Out) -> i32 {
    const CHUNK: usize = 8 * MIB;
    const REPORT_EVERY: usize = 64 * MIB;
    let total = param("FAKE_CLAUDE_ALLOC_MB", 2048usize) * MIB;
    out.line(&m::init(ctx));
    let mut chunks: Vec<Vec<u8>> = Vec::new();
    let mut done = 0;
    let mut next_report = REPORT_EVERY;
    while done < total {
        let size = CHUNK.min(total - done);
        let mut chunk = Vec::<u8>::with_capacity(size);
        let p = chunk.as_mut_ptr();
        for off in (0..size).step_by(4096) {
            // SAFETY: off < size <= capacity. Writing makes the page resident.
            unsafe { p.add(off).write_volatile(0xa5) };
        }
        chunks.push(chunk);
        done += size;
        if done >= next_report {
            let msg = format!("allocated {} MiB", done / MIB);
            out.line(&m::assistant_text(ctx, &msg));
            next_report += REPORT_EVERY;
        }
    }
    std::thread::sleep(Duration::from_secs(1));
    let text = format!("alloc: held {} MiB", done / MIB);
    let r = Result {
        duration_ms: ctx.start.elapsed().as_millis(),
        ..Result::ok(&text)
    };
    out.line(&r.build(ctx));
    std::hint::black_box(&chunks);
    0
}

/// Holds `FAKE_CLAUDE_ALLOC_MB` (default 40) MiB of anonymous memory, then
/// re-reads a `FAKE_CLAUDE_FILE_MB` (default 64) MiB file in its working dir
/// for `FAKE_CLAUDE_SECONDS` (default 3600): under a cap that fits the
/// anonymous memory but not the file's pages, the page cache is evicted and
/// re-read forever (thrashing, like a CLI whose binary pages do not fit), and
/// the job makes no progress without being OOM-killed.
fn thrash(ctx: &Ctx, out: &mut Out) -> i32 {
    use std::io::{Read, Seek, SeekFrom, Write};
    let anon = param("FAKE_CLAUDE_ALLOC_MB", 40usize) * MIB;
    let file_size = param("FAKE_CLAUDE_FILE_MB", 64usize) * MIB;
    let until = Instant::now() + seconds(3600.0);
    out.line(&m::init(ctx));
    let mut held = vec![0u8; anon];
    for off in (0..anon).step_by(4096) {
        held[off] = 0x5a;
    }
    let path = std::path::Path::new("fake-thrash.bin");
    let mut f = match std::fs::OpenOptions::new().create(true).truncate(true).read(true).write(true).open(path) {
        Ok(f) => f,
        Err(e) => {
            err(&format!("fake-claude: cannot create {}: {e}\n", path.display()));
            return 1;
        }
    };
    let block = vec![0x42u8; MIB];
    for _ in 0..file_size / MIB {
        if f.write_all(&block).is_err() {
            break;
        }
    }
    let _ = f.sync_all();
    let mut buf = vec![0u8; MIB];
    let mut passes = 0u64;
    while Instant::now() < until {
        let _ = f.seek(SeekFrom::Start(0));
        while let Ok(n) = f.read(&mut buf) {
            if n == 0 {
                break;
            }
        }
        passes += 1;
        if passes.is_multiple_of(16) {
            out.line(&m::assistant_text(ctx, &format!("thrash: {passes} passes over the file")));
        }
    }
    std::hint::black_box(&held);
    let r = Result {
        duration_ms: ctx.start.elapsed().as_millis(),
        ..Result::ok("thrash: done")
    };
    out.line(&r.build(ctx));
    0
}

fn cpu(ctx: &Ctx, out: &mut Out) -> i32 {
    let wall = seconds(3.0);
    out.line(&m::init(ctx));
    let start = Instant::now();
    let mut x = 1u64;
    while start.elapsed() < wall {
        for _ in 0..10_000 {
            x = std::hint::black_box(
                x.wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407),
            );
        }
    }
    let text = format!(
        "cpu: wall_ms={} cpu_ms={}",
        start.elapsed().as_millis(),
        sys::process_cpu_time().as_millis()
    );
    let r = Result {
        duration_ms: ctx.start.elapsed().as_millis(),
        ..Result::ok(&text)
    };
    out.line(&r.build(ctx));
    0
}

/// Forked sleeper: renames itself, sleeps 600 s, exits. Inherits stdout/stderr.
fn sleeper() -> ! {
    sys::set_comm(c"fake-sleeper");
    sys::sleep_secs(600);
    sys::exit_now(0)
}

fn fork_tree(ctx: &Ctx, out: &mut Out) -> i32 {
    out.line(&m::init(ctx));

    // (a) a plain child.
    let child = sys::fork();
    if child == 0 {
        sleeper();
    }

    // (b) a double-forked daemon in its own session; its pid comes back through a pipe.
    let (rd, wr) = sys::pipe();
    let middle = sys::fork();
    if middle == 0 {
        sys::close(rd);
        sys::setsid();
        if sys::fork() == 0 {
            sys::write_pid(wr, sys::getpid());
            sys::close(wr);
            sleeper();
        }
        sys::exit_now(0);
    }
    sys::close(wr);
    sys::wait(middle);
    let Some(daemon) = sys::read_pid(rd) else {
        err("fake-claude: daemon grandchild did not report its pid\n");
        return 1;
    };
    sys::close(rd);

    out.line(
        &m::system("fake_pids")
            .raw("pids", &num_array([child, daemon]))
            .raw("exited_pids", &num_array([middle]))
            .str("session_id", &ctx.session_id)
            .build(),
    );
    sys::sleep_forever()
}

fn garbage(ctx: &Ctx, out: &mut Out) -> i32 {
    out.line(&m::init(ctx));
    out.bytes_line(b"not json at all");
    out.bytes_line(b"\xff\xfe\xfd{\"x\"");
    out.bytes_line(b"{\"type\": \"assistant\", broken");
    out.bytes_line(br#"{"type":"future_thing","data":1}"#);
    out.bytes_line(b"");
    normal_tail(ctx, out);
    0
}

fn long_line(ctx: &Ctx, out: &mut Out) -> i32 {
    let mb = param("FAKE_CLAUDE_LINE_MB", 10usize);
    out.line(&m::init(ctx));
    out.line(&m::assistant_text(ctx, &"x".repeat(mb * MIB)));
    out.line(&m::result(ctx, &format!("long-line: {mb} MiB")));
    0
}

fn no_result(ctx: &Ctx, out: &mut Out) -> i32 {
    out.line(&m::init(ctx));
    out.line(&m::assistant_text(ctx, &ctx.echo()));
    err("fatal: something broke\n");
    1
}

fn hang_after_result(ctx: &Ctx, out: &mut Out) -> i32 {
    out.line(&m::init(ctx));
    normal_tail(ctx, out);
    sys::sleep_forever()
}

fn ignore_sigterm(ctx: &Ctx, out: &mut Out) -> i32 {
    sys::ignore_sigterm(); // before init, so a SIGTERM sent after init is ignored
    out.line(&m::init(ctx));
    sys::sleep_forever()
}

fn stderr_flood(ctx: &Ctx, out: &mut Out) -> i32 {
    let total = param("FAKE_CLAUDE_STDERR_KB", 1024usize) * 1024;
    out.line(&m::init(ctx));
    // 64-byte lines, truncated to exactly `total` bytes.
    let line = format!("{:<63}\n", "stderr flood: the reader must drain stderr too");
    let mut buf = line.repeat(total / line.len() + 1).into_bytes();
    buf.truncate(total);
    err_bytes(&buf);
    normal_tail(ctx, out);
    0
}

fn error_result(ctx: &Ctx, out: &mut Out) -> i32 {
    out.line(&m::init(ctx));
    let r = Result {
        is_error: true,
        api_error_status: Some(401),
        terminal_reason: "api_error",
        ..Result::ok("Invalid API key · Please run /login")
    };
    out.line(&r.build(ctx));
    1
}

fn api_retry(ctx: &Ctx, out: &mut Out) -> i32 {
    out.line(&m::init(ctx));
    for attempt in 1..=2 {
        out.line(
            &m::system("api_retry")
                .num("attempt", attempt)
                .num("max_retries", 10)
                .num("retry_delay_ms", 100)
                .num("error_status", 529)
                .str("error", "overloaded_error")
                .str("session_id", &ctx.session_id)
                .build(),
        );
    }
    normal_tail(ctx, out);
    0
}

fn rate_limit(ctx: &Ctx, out: &mut Out) -> i32 {
    out.line(&m::init(ctx));
    let info = Obj::new()
        .str("status", "allowed_warning")
        .num("resetsAt", 1767225600u64)
        .str("rateLimitType", "five_hour")
        .build();
    out.line(
        &Obj::new()
            .str("type", "rate_limit_event")
            .raw("rate_limit_info", &info)
            .str("session_id", &ctx.session_id)
            .build(),
    );
    normal_tail(ctx, out);
    0
}

fn tool_use(ctx: &Ctx, out: &mut Out) -> i32 {
    out.line(&m::init(ctx));
    let block = r#"{"type":"tool_use","id":"toolu_1","name":"Write","input":{"file_path":"out.md","content":"hello"}}"#;
    out.line(&m::assistant(ctx, &format!("[{block}]")));
    let (content, is_error) = match std::fs::write("out.md", "hello") {
        Ok(()) => ("File created successfully".to_string(), false),
        Err(e) => (format!("Error writing out.md: {e}"), true),
    };
    out.line(&m::user_tool_result(ctx, "toolu_1", &content, is_error));
    let text = if is_error {
        "Could not write out.md"
    } else {
        "Wrote out.md"
    };
    out.line(&m::assistant_text(ctx, text));
    let r = Result {
        num_turns: 2,
        ..Result::ok(text)
    };
    out.line(&r.build(ctx));
    0
}

fn leak_env(ctx: &Ctx, out: &mut Out) -> i32 {
    let key = std::env::var("ANTHROPIC_API_KEY").unwrap_or_default();
    out.line(&m::init(ctx));
    out.line(&m::assistant_text(ctx, "about to leak the API key"));
    err(&format!("debug: ANTHROPIC_API_KEY={key}\n"));
    out.line(&m::result(ctx, &format!("the key is {key}")));
    0
}

fn exit_code(ctx: &Ctx, out: &mut Out) -> i32 {
    let code = param("FAKE_CLAUDE_EXIT_CODE", 3i32);
    out.line(&m::init(ctx));
    code
}

fn big_output(ctx: &Ctx, out: &mut Out) -> i32 {
    let total = param("FAKE_CLAUDE_OUTPUT_MB", 100usize) * MIB;
    out.line(&m::init(ctx));
    // One template line with a fixed-width counter that is patched in place.
    const DIGITS: usize = 10;
    let text: String = "lorem ipsum dolor sit amet "
        .chars()
        .cycle()
        .take(1024)
        .collect();
    let marker = "#".repeat(DIGITS);
    let line = m::assistant_text(ctx, &format!("{marker} {text}")) + "\n";
    let at = line.find(&marker).expect("marker in template");
    let mut line = line.into_bytes();
    let (mut lines, mut written) = (0u64, 0usize);
    while written < total {
        lines += 1;
        let mut n = lines;
        for d in line[at..at + DIGITS].iter_mut().rev() {
            *d = b'0' + (n % 10) as u8;
            n /= 10;
        }
        out.buffered(&line);
        written += line.len();
    }
    out.flush();
    let text = format!("big-output: {lines} lines, {written} bytes");
    let r = Result {
        duration_ms: ctx.start.elapsed().as_millis(),
        ..Result::ok(&text)
    };
    out.line(&r.build(ctx));
    0
}

fn env_dump(ctx: &Ctx, out: &mut Out) -> i32 {
    out.line(&m::init(ctx));
    out.line(&m::fake_env(ctx));
    normal_tail(ctx, out);
    0
}
