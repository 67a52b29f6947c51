//! Item 8's rows: many running jobs followed by subscribers (issue 20 item 3).
//!
//! The manager's run (running.rs, in a child process) and the asyncio
//! reference (asyncio_stream.py) alternately, `rounds` times (five in a full
//! run), the median of each figure reported with its min and max; then as
//! many runs of SSE clients following one job through the FastAPI service
//! (sse_clients.py, with the bench venv's Python).

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::jobs::TempDir;
use crate::report::{Met, Report};
use crate::running::Params;
use crate::spread::Spread;
use crate::suite::{child, median, progress, python_script, run_json, Opts, Plan};
use crate::Task;

const CPU_GOAL: f64 = 0.5;
const P99_GOAL_MS: f64 = 20.0;
const RSS_GOAL_KIB: f64 = 1024.0;
const SSE_P99_GOAL_MS: f64 = 50.0;

struct Sizes {
    params: Params,
    clients: usize,
    rounds: usize,
}

fn sizes(opts: &Opts, plan: &Plan) -> Sizes {
    let (jobs, seconds, clients) = if opts.quick { (20, 5.0, 10) } else { (200, 30.0, 100) };
    Sizes {
        params: Params {
            jobs,
            seconds,
            interval_ms: 10,
            isolation_off: false,
        },
        clients,
        // A 30 s workload (about 75 s a run): five rounds of the two sides
        // and of the SSE run in a full `make bench`.
        rounds: plan.rounds.clamp(1, 5),
    }
}

fn f(v: &Value, k: &str) -> f64 {
    v.get(k).and_then(Value::as_f64).unwrap_or(f64::NAN)
}

/// The figures of one run, derived.
#[derive(Debug, Clone, Copy)]
struct Fig {
    cpu_per_1k_ms: f64,
    p50: f64,
    p99: f64,
    max: f64,
    /// KiB per job: all of the growth, and beyond the event buffer.
    rss_kib: f64,
    rss_beyond_kib: f64,
    buffer_kib: f64,
    running: f64,
}

fn fig(v: &Value) -> Fig {
    let jobs = f(v, "jobs").max(1.0);
    let growth = (f(v, "rss_steady") - f(v, "rss_before")) / 1024.0 / jobs;
    let buffer = v.get("buffer_bytes_est").and_then(Value::as_f64).unwrap_or(0.0) / 1024.0 / jobs;
    Fig {
        cpu_per_1k_ms: f(v, "cpu_s") * 1e6 / f(v, "events").max(1.0),
        p50: f(v, "p50_ms"),
        p99: f(v, "p99_ms"),
        max: f(v, "max_ms"),
        rss_kib: growth,
        rss_beyond_kib: growth - buffer,
        buffer_kib: buffer,
        running: f(v, "running_at_start"),
    }
}

fn asyncio(opts: &Opts, p: &Params) -> Result<Value, String> {
    run_json(
        python_script("asyncio_stream.py", &opts.fake)
            .args(["--jobs", &p.jobs.to_string()])
            .args(["--seconds", &p.seconds.to_string()])
            .args(["--interval-ms", &p.interval_ms.to_string()]),
    )
}

fn checked(r: Result<Value, String>) -> Result<Value, String> {
    let v = r?;
    if let Some(e) = v.get("error").and_then(Value::as_str) {
        return Err(e.to_string());
    }
    if f(&v, "failed") > 0.0 {
        return Err(format!("{} jobs failed", f(&v, "failed")));
    }
    Ok(v)
}

type Runs = (Vec<Result<Value, String>>, Vec<Result<Value, String>>);

/// Manager and asyncio alternately, the order swapped every round.
fn rounds(opts: &Opts, s: &Sizes) -> Runs {
    let task = Task::Running {
        params: serde_json::to_value(&s.params).expect("params JSON"),
    };
    let (mut mgr, mut py) = (Vec::new(), Vec::new());
    for round in 0..s.rounds {
        for k in 0..2 {
            let label = format!("round {}/{}", round + 1, s.rounds);
            if (k + round) % 2 == 0 {
                progress(&format!("item 8: {label}: manager, {} ticker jobs", s.params.jobs));
                mgr.push(checked(child(opts, &task)));
            } else {
                progress(&format!("item 8: {label}: asyncio reference, {} ticker jobs", s.params.jobs));
                py.push(checked(asyncio(opts, &s.params)));
            }
            let last = if (k + round) % 2 == 0 { mgr.last() } else { py.last() };
            if let Some(Err(e)) = last {
                progress(&format!("  failed: {e}"));
            }
        }
    }
    (mgr, py)
}

/// The median of each figure over the rounds, and the rounds that worked.
fn summary(runs: &[Result<Value, String>]) -> Result<(Fig, Vec<Fig>), String> {
    let ok: Vec<Fig> = runs.iter().filter_map(|r| r.as_ref().ok()).map(fig).collect();
    if ok.is_empty() {
        return Err(runs
            .iter()
            .find_map(|r| r.as_ref().err().cloned())
            .unwrap_or_else(|| "not run".into()));
    }
    let med = |g: fn(&Fig) -> f64| median(ok.iter().map(g).collect());
    let m = Fig {
        cpu_per_1k_ms: med(|x| x.cpu_per_1k_ms),
        p50: med(|x| x.p50),
        p99: med(|x| x.p99),
        max: med(|x| x.max),
        rss_kib: med(|x| x.rss_kib),
        rss_beyond_kib: med(|x| x.rss_beyond_kib),
        buffer_kib: med(|x| x.buffer_kib),
        running: med(|x| x.running),
    };
    Ok((m, ok))
}

pub(crate) fn item8(rep: &mut Report, opts: &Opts, plan: &Plan) {
    let s = sizes(opts, plan);
    let p = &s.params;
    let head = format!(
        "8. {} running jobs ({} events/s each, {} s), cgroups, SQLite, one subscriber each",
        p.jobs,
        1000 / p.interval_ms.max(1),
        p.seconds
    );
    let (mgr, py) = rounds(opts, &s);
    let m = summary(&mgr);
    let a = summary(&py);
    // Round i ran mgr[i] and py[i]: their CPU ratio, rounds where both worked.
    let by_round = Spread::of(mgr.iter().zip(&py).filter_map(|(m, a)| {
        Some(fig(m.as_ref().ok()?).cpu_per_1k_ms / fig(a.as_ref().ok()?).cpu_per_1k_ms)
    }));
    job_rows(rep, &head, (&m, &a), by_round);
    let sse: Vec<_> = (0..s.rounds).map(|round| sse(opts, &s, round)).collect();
    sse_rows(rep, &s, &sse);
    rep.details.push(details(&s, &mgr, &py, &sse));
}

type Summary = Result<(Fig, Vec<Fig>), String>;

/// One figure of every round that worked.
fn of(ok: &[Fig], g: fn(&Fig) -> f64) -> Spread {
    Spread::of(ok.iter().map(g))
}

fn job_rows(rep: &mut Report, head: &str, (m, a): (&Summary, &Summary), per_round: Spread) {
    let cpu_goal = format!("≤ {CPU_GOAL}× asyncio");
    match (m, a) {
        (Ok((m, mr)), Ok((a, ar))) => {
            let x = m.cpu_per_1k_ms / a.cpu_per_1k_ms;
            rep.row(
                format!("{head}: manager CPU per 1000 events"),
                format!(
                    "{:.1} ms ({}) vs asyncio {:.1} ms ({}) = {x:.2}× (medians of {} and {} rounds; by round {:.2}–{:.2}×)",
                    m.cpu_per_1k_ms,
                    of(mr, |f| f.cpu_per_1k_ms).range(1),
                    a.cpu_per_1k_ms,
                    of(ar, |f| f.cpu_per_1k_ms).range(1),
                    mr.len(),
                    ar.len(),
                    per_round.min,
                    per_round.max,
                ),
                cpu_goal,
                Met::of(x <= CPU_GOAL),
            );
        }
        (Err(e), _) => rep.na(format!("{head}: manager CPU per 1000 events"), e, cpu_goal),
        (_, Err(e)) => rep.na(format!("{head}: manager CPU per 1000 events"), &format!("asyncio: {e}"), cpu_goal),
    }
    let p99_goal = format!("≤ {P99_GOAL_MS} ms");
    let rss_goal = format!("≤ {RSS_GOAL_KIB:.0} KiB beyond the event buffer");
    match m {
        Ok((m, mr)) => {
            let py = a
                .as_ref()
                .map(|(a, ar)| format!("; asyncio p99 {:.2} ms ({})", a.p99, of(ar, |f| f.p99).range(1)))
                .unwrap_or_default();
            rep.row(
                format!("{head}: p99 line written → event received"),
                format!(
                    "{:.2} ms, median of {} rounds ({}; p50 {:.2}, max {:.1}){py}",
                    m.p99,
                    mr.len(),
                    of(mr, |f| f.p99).range(2),
                    m.p50,
                    m.max
                ),
                p99_goal,
                Met::of(m.p99 <= P99_GOAL_MS),
            );
            let py = a.as_ref().map(|(a, _)| format!("; asyncio {:.0} KiB", a.rss_kib)).unwrap_or_default();
            rep.row(
                format!("{head}: manager RSS per running job"),
                format!(
                    "{:.0} KiB beyond the buffer ({}; {:.0} KiB in all, buffer ~{:.0} KiB){py}",
                    m.rss_beyond_kib,
                    of(mr, |f| f.rss_beyond_kib).range(0),
                    m.rss_kib,
                    m.buffer_kib
                ),
                rss_goal,
                Met::of(m.rss_beyond_kib <= RSS_GOAL_KIB),
            );
        }
        Err(e) => {
            rep.na(format!("{head}: p99 line written → event received"), e, p99_goal);
            rep.na(format!("{head}: manager RSS per running job"), e, rss_goal);
        }
    }
}

/// The bench venv's Python with fastapi and uvicorn (installed from
/// examples/fastapi/requirements.txt when missing).
fn service_python(opts: &Opts) -> Result<String, String> {
    let py = opts.prepared("python")?;
    let has = |py: &str| {
        Command::new(py)
            .args(["-c", "import claude_jobs, fastapi, uvicorn"])
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false)
    };
    if has(&py) {
        return Ok(py);
    }
    progress("item 8: pip install -r examples/fastapi/requirements.txt into the bench venv");
    let req = repo().join("examples/fastapi/requirements.txt");
    let out = Command::new(&py)
        .args(["-m", "pip", "--disable-pip-version-check", "install", "-q", "-r"])
        .arg(&req)
        .output()
        .map_err(|e| format!("cannot run pip: {e}"))?;
    if !out.status.success() || !has(&py) {
        let err = String::from_utf8_lossy(&out.stderr);
        return Err(format!("fastapi/uvicorn not installable: {}", &err[err.len().saturating_sub(200)..]));
    }
    Ok(py)
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap_or(Path::new(".")).to_path_buf()
}

fn sse(opts: &Opts, s: &Sizes, round: usize) -> Result<Value, String> {
    let py = service_python(opts)?;
    progress(&format!(
        "item 8: SSE round {}/{}: {} clients following one job through the FastAPI service",
        round + 1,
        s.rounds,
        s.clients
    ));
    let dir = TempDir::new("sse");
    checked(run_json(
        Command::new(py)
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("sse_clients.py"))
            .arg("--claude-bin")
            .arg(&opts.fake)
            .arg("--app-dir")
            .arg(repo().join("examples/fastapi"))
            .arg("--data-dir")
            .arg(&dir.0)
            .args(["--clients", &s.clients.to_string()])
            .args(["--seconds", &s.params.seconds.to_string()])
            .args(["--interval-ms", &s.params.interval_ms.to_string()]),
    ))
}

fn sse_rows(rep: &mut Report, s: &Sizes, runs: &[Result<Value, String>]) {
    let head = format!(
        "8. {} SSE clients following one job ({} events/s) through the FastAPI service",
        s.clients,
        1000 / s.params.interval_ms.max(1)
    );
    let goal = format!("≤ {SSE_P99_GOAL_MS} ms");
    let ok: Vec<&Value> = runs.iter().filter_map(|r| r.as_ref().ok()).collect();
    if ok.is_empty() {
        let e = runs.iter().find_map(|r| r.as_ref().err().cloned()).unwrap_or_else(|| "not run".into());
        rep.na(format!("{head}: p99 line written → SSE event received"), &e, goal);
        rep.na(format!("{head}: the service's CPU"), &e, "report");
        return;
    }
    let by = |g: &dyn Fn(&Value) -> f64| Spread::of(ok.iter().map(|v| g(v)));
    let p99 = by(&|v| f(v, "p99_ms"));
    let cut: f64 = ok.iter().map(|v| f(v, "unfinished_clients").max(0.0)).sum();
    rep.row(
        format!("{head}: p99 line written → SSE event received"),
        format!(
            "{:.1} ms, median of {} rounds ({}; p50 {:.2}, max {:.1}; {:.0} frames a round{})",
            p99.med,
            p99.n,
            p99.range(1),
            by(&|v| f(v, "p50_ms")).med,
            by(&|v| f(v, "max_ms")).med,
            by(&|v| f(v, "frames")).med,
            if cut > 0.0 { format!("; {cut} clients in all cut off 120 s after the job's end") } else { String::new() }
        ),
        goal,
        Met::of(p99.med <= SSE_P99_GOAL_MS),
    );
    let cores = by(&|v| f(v, "service_cpu_s") / f(v, "window_s"));
    let per_1k = by(&|v| f(v, "service_cpu_s") * 1e6 / f(v, "frames").max(1.0));
    rep.row(
        format!("{head}: the service's CPU"),
        format!(
            "{:.2} cores ({}); {:.2} ms per 1000 frames ({}); medians of {} rounds",
            cores.med,
            cores.range(2),
            per_1k.med,
            per_1k.range(1),
            cores.n
        ),
        "report",
        Met::Info,
    );
}

fn round_line(side: &str, i: usize, r: &Result<Value, String>) -> String {
    match r {
        Ok(v) => {
            let g = fig(v);
            format!(
                "| {side} | {} | {:.0}/{:.0} | {:.1} | {:.0} | {:.3} | {:.1} | {:.2} | {:.2} | {:.1} | {:.2} | {:.0} | {:.0} | {} |\n",
                i + 1,
                g.running,
                f(v, "jobs"),
                f(v, "window_s"),
                f(v, "events"),
                f(v, "cpu_s"),
                g.cpu_per_1k_ms,
                g.p50,
                g.p99,
                g.max,
                f(v, "p99_all_ms"),
                g.rss_kib,
                g.buffer_kib,
                // The asyncio script has no sequence numbers.
                v.get("seq_gaps").and_then(Value::as_u64).map_or("-".to_string(), |n| n.to_string()),
            )
        }
        Err(e) => format!("| {side} | {} | failed: {} |||||||||||\n", i + 1, crate::report::one_line(e, 200)),
    }
}

fn details(s: &Sizes, mgr: &[Result<Value, String>], py: &[Result<Value, String>], sse: &[Result<Value, String>]) -> String {
    let p = &s.params;
    let record = mgr
        .iter()
        .find_map(|r| r.as_ref().ok())
        .map(|v| f(v, "record_size"))
        .unwrap_or(f64::NAN);
    let mut d = format!(
        "#### Item 8: many running jobs followed by subscribers (issue 20 item 3)\n\n\
         {jobs} jobs at once, each a fake CLI in scenario `ticker`: an assistant line `tick N t=<unix ns>` every \
         {iv} ms for {sec} s (paced by absolute deadlines, one write(2) a line, the CLOCK_REALTIME stamp taken just \
         before the write). **Manager** (benches/src/running.rs, a child process): `max_concurrent` {jobs}, cgroups \
         required (v1 on this host; caps 64M memory, 1 CPU, 64 pids per job), the SQLite store on tmpfs, the default \
         event buffer (10 000 events or 2 MiB per job); one tokio task per job follows `job.events(0)` and records \
         now − written per tick. **asyncio reference** (benches/asyncio_stream.py, the seed's design): \
         `create_subprocess_exec` × {jobs} with the same CLI and env, a reader task per job (`async for line in \
         stdout`, `json.loads`, `put_nowait` on the job's `asyncio.Queue`) and a consumer task per job measuring the \
         same latency; no cgroups, no logs, no store. Both measure over the steady state: from 1 s after every job's \
         first tick reached its subscriber until 0.5 s before the first jobs end. CPU: `getrusage(RUSAGE_SELF)` of \
         the process over that window, so the subscribers (in the same process) are counted, the CLIs (children) \
         are not. RSS per job: (RSS at the end of the window − RSS before the first submit) / jobs; \"beyond the \
         buffer\" subtracts an estimate of the event buffer then held: per event held, the `EventRecord` ({record:.0} \
         B) + its `Arc` header (16 B) + its deque slot (8 B) + its text (allocator slack not counted, so the figure \
         beyond it errs high). Latency percentiles over every tick received in the window. {rounds} round(s), manager \
         and asyncio alternately (the order swapped each round); the table gives the median of each figure over the \
         rounds.\n\n\
         | run | round | running/jobs | window s | events | CPU s | CPU ms/1000 ev | p50 ms | p99 ms | max ms | p99 whole run ms | RSS KiB/job | buffer KiB/job | seq gaps |\n\
         |---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n",
        jobs = p.jobs,
        iv = p.interval_ms,
        sec = p.seconds,
        rounds = s.rounds,
    );
    for (i, r) in mgr.iter().enumerate() {
        d.push_str(&round_line("manager", i, r));
    }
    for (i, r) in py.iter().enumerate() {
        d.push_str(&round_line("asyncio", i, r));
    }
    d.push_str(&format!(
        "\n**SSE** (benches/sse_clients.py with the bench venv's Python): the FastAPI service (examples/fastapi, \
         `python -m uvicorn app:app`, one worker, the fake CLI as `CLAUDE_BIN`, cgroups required, SQLite store on \
         tmpfs); one job `POST /api/jobs` whose prompt chooses the ticker ({iv} ms, {sec} s: the service passes no \
         `FAKE_CLAUDE_*` variable, so the fake reads `fake-interval-ms:`/`fake-seconds:` prompt lines); {c} clients \
         (raw HTTP/1.1 on asyncio streams, one process, on the same 2 cores; each read of up to 64 KiB scanned with \
         one regex and stamped once, so that the clients cost a fraction of the service: `client_cpu_s` below) follow \
         `GET /api/jobs/{{id}}/events`; latency over the ticks written from 0.5 s after the last client connected \
         until the job's end (a service that falls behind keeps sending after it: the clients wait up to 120 s more, \
         `unfinished_clients` counts those cut off then); the \
         service's CPU is its process's utime + stime (/proc/PID/stat) over that window (the CLI is a child, not \
         counted). {rounds} round(s), one raw line each.\n\n",
        iv = p.interval_ms,
        sec = p.seconds,
        c = s.clients,
        rounds = s.rounds,
    ));
    for (i, r) in sse.iter().enumerate() {
        match r {
            Ok(v) => d.push_str(&format!("- round {}: `{v}`\n", i + 1)),
            Err(e) => d.push_str(&format!("- round {}: not measured: {}\n", i + 1, crate::report::one_line(e, 300))),
        }
    }
    d
}
