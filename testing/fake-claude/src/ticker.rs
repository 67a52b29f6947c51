//! The `ticker` scenario, for the benchmark of many running jobs: init, then
//! an assistant line `tick N t=<unix ns>` every interval (each stamped with
//! CLOCK_REALTIME just before its write(2), so a reader can tell how long a
//! line took to reach it), then a result `ticker: N ticks in S s`.
//!
//! The interval is `FAKE_CLAUDE_INTERVAL_MS` (default 10: 100 lines a
//! second) and the length `FAKE_CLAUDE_SECONDS` (default 30, fractions
//! allowed); a prompt line `fake-interval-ms: N` or `fake-seconds: S` wins
//! over the variable (a manager passes only some variables to the CLI).
//! Lines are paced by absolute deadlines (start + k × interval), so the rate
//! does not drift with the time a write takes; a late tick is written at once.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::messages::{self as m, Result};
use crate::out::{err, Out};
use crate::Ctx;

/// A prompt directive, else the variable, else `default`; exits 2 if unparsable.
fn knob(ctx: &Ctx, directive: &str, var: &str, default: f64) -> f64 {
    let raw = crate::prompt_directive(&ctx.prompt, directive)
        .or_else(|| std::env::var(var).ok().filter(|v| !v.is_empty()));
    match raw {
        None => default,
        Some(v) => v.trim().parse().unwrap_or_else(|_| {
            err(&format!("fake-claude: bad value for {var}: {v:?}\n"));
            std::process::exit(2);
        }),
    }
}

fn unix_ns() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0)
}

pub fn ticker(ctx: &Ctx, out: &mut Out) -> i32 {
    let interval_ms = knob(ctx, "fake-interval-ms:", "FAKE_CLAUDE_INTERVAL_MS", 10.0);
    let interval = Duration::from_secs_f64((interval_ms / 1000.0).clamp(1e-6, 3600.0));
    let total = knob(ctx, "fake-seconds:", "FAKE_CLAUDE_SECONDS", 30.0);
    let total = Duration::from_secs_f64(total.clamp(0.0, 1e9));
    out.line(&m::init(ctx));
    let start = Instant::now();
    let end = start + total;
    let mut ticks = 0u64;
    let mut next = start + interval;
    while next <= end {
        let now = Instant::now();
        if next > now {
            std::thread::sleep(next - now);
        }
        ticks += 1;
        let text = format!("tick {ticks} t={}", unix_ns());
        out.line(&m::assistant_text(ctx, &text));
        next += interval;
    }
    let text = format!(
        "ticker: {ticks} ticks in {:.3} s",
        start.elapsed().as_secs_f64()
    );
    let r = Result {
        duration_ms: ctx.start.elapsed().as_millis(),
        ..Result::ok(&text)
    };
    out.line(&r.build(ctx));
    0
}
