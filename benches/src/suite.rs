//! `claude-jobs-bench run`: every item of issue #8 in one run, each
//! measurement in a child process; then the table and RESULTS.md.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use serde_json::Value;

use crate::jobs::{QueueResult, Store, StreamResult};
use crate::real_cli::RealCliResult;
use crate::report::{one_line, Met, Report};
use crate::{BatchResult, Driver, PipeFloorResult, Task};

const BALLAST_MB: usize = 2048;

struct Opts {
    quick: bool,
    rounds: Option<usize>,
    only: Option<Vec<u32>>,
    fake: PathBuf,
    prepared: PathBuf,
    results: PathBuf,
    write: bool,
}

/// Sizes of the runs.
struct Plan {
    rounds: usize,
    /// Item 1: jobs per measured batch, and warm-up jobs before it.
    jobs: usize,
    warmup: usize,
    /// Item 2 (2 GB resident): jobs per batch.
    ballast_jobs: usize,
    stream_mb: u64,
    queue_memory: usize,
    queue_sqlite: usize,
    /// Item 4 stops submitting after this long (a slow store).
    queue_max_s: f64,
    seq_jobs: usize,
    seq_warmup: usize,
    real_runs: usize,
}

impl Opts {
    fn parse(args: &[String]) -> Opts {
        let exe = std::env::current_exe().expect("own path");
        let bin_dir = exe.parent().expect("bin dir").to_path_buf();
        let repo = Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("repo root").to_path_buf();
        let mut o = Opts {
            quick: false,
            rounds: None,
            only: None,
            fake: bin_dir.join("fake-claude"),
            prepared: repo.join("target/bench"),
            results: Path::new(env!("CARGO_MANIFEST_DIR")).join("RESULTS.md"),
            write: true,
        };
        let mut it = args.iter();
        while let Some(a) = it.next() {
            let mut val = || it.next().cloned().unwrap_or_else(|| panic!("{a} needs a value"));
            match a.as_str() {
                "--quick" => o.quick = true,
                "--rounds" => o.rounds = Some(val().parse().expect("--rounds N")),
                "--only" => o.only = Some(val().split(',').map(|s| s.trim().parse().expect("--only 1,2,…")).collect()),
                "--fake" => o.fake = PathBuf::from(val()),
                "--prepared" => o.prepared = PathBuf::from(val()),
                "--results" => o.results = PathBuf::from(val()),
                "--no-write" => o.write = false,
                other => panic!("unknown option {other}"),
            }
        }
        o
    }

    fn wants(&self, item: u32) -> bool {
        self.only.as_ref().map(|v| v.contains(&item)).unwrap_or(true)
    }

    fn plan(&self) -> Plan {
        let mut p = if self.quick {
            Plan {
                rounds: 1,
                jobs: 200,
                warmup: 20,
                ballast_jobs: 100,
                stream_mb: 50,
                queue_memory: 10_000,
                queue_sqlite: 2_000,
                queue_max_s: 10.0,
                seq_jobs: 100,
                seq_warmup: 10,
                real_runs: 1,
            }
        } else {
            Plan {
                rounds: 3,
                jobs: 2000,
                warmup: 100,
                ballast_jobs: 300,
                stream_mb: 500,
                queue_memory: 100_000,
                queue_sqlite: 100_000,
                queue_max_s: 25.0,
                seq_jobs: 500,
                seq_warmup: 50,
                real_runs: 5,
            }
        };
        if let Some(r) = self.rounds {
            p.rounds = r.max(1);
        }
        p
    }

    /// What `make bench` prepared: `<name>` holds a path, `<name>.na` why not.
    fn prepared(&self, name: &str) -> Result<String, String> {
        let ok = self.prepared.join(name);
        let na = self.prepared.join(format!("{name}.na"));
        if let Ok(s) = std::fs::read_to_string(&ok) {
            let s = s.trim().to_string();
            if !s.is_empty() {
                return Ok(s);
            }
        }
        Err(std::fs::read_to_string(&na)
            .map(|s| one_line(&s, 300))
            .unwrap_or_else(|_| format!("not prepared: run `make bench` (no {})", ok.display())))
    }
}

fn progress(msg: &str) {
    eprintln!("[bench] {msg}");
}

/// The last JSON line of a program's stdout.
fn last_json(stdout: &[u8]) -> Option<Value> {
    String::from_utf8_lossy(stdout)
        .lines()
        .rev()
        .find_map(|l| serde_json::from_str::<Value>(l.trim()).ok().filter(Value::is_object))
}

fn run_json(cmd: &mut Command) -> Result<Value, String> {
    let out = cmd
        .stdin(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .map_err(|e| format!("cannot run {:?}: {e}", cmd.get_program()))?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    match last_json(&out.stdout) {
        Some(v) if out.status.success() => Ok(v),
        Some(v) if v.get("error").and_then(Value::as_str).is_some() => {
            Err(v["error"].as_str().unwrap_or_default().to_string())
        }
        _ => Err(format!(
            "{} ({}): {}",
            Path::new(cmd.get_program()).file_name().unwrap_or_default().to_string_lossy(),
            out.status,
            one_line(&stderr[stderr.len().saturating_sub(600)..], 300)
        )),
    }
}

fn child(opts: &Opts, task: &Task) -> Result<Value, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    run_json(
        Command::new(exe)
            .arg("child")
            .arg(&opts.fake)
            .arg(serde_json::to_string(task).expect("task JSON")),
    )
}

fn batch(v: Result<Value, String>) -> Result<BatchResult, String> {
    let b: BatchResult = serde_json::from_value(v?).map_err(|e| format!("bad result: {e}"))?;
    if b.jobs == 0 {
        return Err(b.error.unwrap_or_else(|| "no jobs ran".into()));
    }
    if b.failed > 0 {
        return Err(format!(
            "{} of {} jobs failed: {}",
            b.failed,
            b.jobs,
            b.error.as_deref().unwrap_or("no error given")
        ));
    }
    Ok(b)
}

fn median(mut v: Vec<f64>) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

fn mean_sd(v: &[f64]) -> (f64, f64) {
    let n = v.len() as f64;
    let m = v.iter().sum::<f64>() / n;
    let sd = if v.len() > 1 { (v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (n - 1.0)).sqrt() } else { 0.0 };
    (m, sd)
}

/// A measured configuration over the rounds.
#[derive(Debug, Clone)]
struct Summ {
    /// Median ms per job (wall / jobs).
    ms: f64,
    min: f64,
    max: f64,
    self_cpu_ms: f64,
    children_cpu_ms: f64,
    rounds: usize,
}

impl Summ {
    fn rate(&self) -> f64 {
        1000.0 / self.ms
    }
}

fn summarize(v: &[Result<BatchResult, String>]) -> Result<Summ, String> {
    let ok: Vec<&BatchResult> = v.iter().filter_map(|r| r.as_ref().ok()).collect();
    if ok.is_empty() {
        return Err(v
            .iter()
            .find_map(|r| r.as_ref().err().cloned())
            .unwrap_or_else(|| "not run".into()));
    }
    let ms: Vec<f64> = ok.iter().map(|b| b.ms_per_job()).collect();
    Ok(Summ {
        ms: median(ms.clone()),
        min: ms.iter().cloned().fold(f64::INFINITY, f64::min),
        max: ms.iter().cloned().fold(0.0, f64::max),
        self_cpu_ms: median(ok.iter().map(|b| b.self_cpu_s * 1000.0 / b.jobs as f64).collect()),
        children_cpu_ms: median(ok.iter().map(|b| b.children_cpu_s * 1000.0 / b.jobs as f64).collect()),
        rounds: ok.len(),
    })
}

fn ms_rate(s: &Summ) -> String {
    format!("{:.3} ms/job, {:.0} jobs/s", s.ms, s.rate())
}

/// One trivial-job configuration of items 1 and 2.
struct Cfg {
    key: String,
    run: Run,
}

enum Run {
    Child(Task),
    Asyncio { conc: usize },
}

fn manager_driver(cgroups: bool, store: Store) -> Driver {
    Driver::Manager { cgroups, store }
}

const DRIVERS: [(&str, &str); 9] = [
    ("asyncio", "asyncio + semaphore (Python, the seed's design)"),
    ("spawn", "bare posix_spawn + waitpid (floor)"),
    ("fork", "diagnostic: the same with fork (empty pre_exec hook)"),
    ("cgfloor", "cgroup floor: spawn + wait + memory/cpu/pids cgroups"),
    ("cgvfork", "diagnostic: cgroup floor with clone(CLONE_VM|CLONE_VFORK)"),
    ("mgr-off-memory", "JobManager, isolation off, memory store"),
    ("mgr-cg-memory", "JobManager, cgroups (required), memory store"),
    ("mgr-off-sqlite", "JobManager, isolation off, SQLite store"),
    ("mgr-cg-sqlite", "JobManager, cgroups (required), SQLite store"),
];

fn driver_of(name: &str) -> Option<Driver> {
    Some(match name {
        "spawn" => Driver::Spawn,
        "fork" => Driver::ForkFloor,
        "cgfloor" => Driver::CgroupFloor,
        "cgvfork" => Driver::CgroupFloorVfork,
        "mgr-off-memory" => manager_driver(false, Store::Memory),
        "mgr-cg-memory" => manager_driver(true, Store::Memory),
        "mgr-off-sqlite" => manager_driver(false, Store::Sqlite),
        "mgr-cg-sqlite" => manager_driver(true, Store::Sqlite),
        _ => return None,
    })
}

fn is_diagnostic(name: &str) -> bool {
    matches!(name, "fork" | "cgvfork")
}

fn trivial_configs(opts: &Opts, plan: &Plan) -> Vec<Cfg> {
    let mut cfgs = Vec::new();
    if opts.wants(1) {
        for conc in [3usize, 2] {
            for (name, _) in DRIVERS {
                if conc != 3 && is_diagnostic(name) {
                    continue;
                }
                let run = match driver_of(name) {
                    Some(driver) => Run::Child(Task::Trivial {
                        driver,
                        conc,
                        jobs: plan.jobs,
                        warmup: plan.warmup,
                        ballast_mb: 0,
                    }),
                    None => Run::Asyncio { conc },
                };
                cfgs.push(Cfg { key: format!("c{conc}/{name}"), run });
            }
        }
    }
    if opts.wants(2) {
        for ballast in [0, BALLAST_MB] {
            for name in ["spawn", "fork", "cgfloor", "cgvfork", "mgr-off-memory", "mgr-cg-memory"] {
                cfgs.push(Cfg {
                    key: format!("big{ballast}/{name}"),
                    run: Run::Child(Task::Trivial {
                        driver: driver_of(name).unwrap(),
                        conc: 3,
                        jobs: plan.ballast_jobs,
                        warmup: plan.warmup.min(plan.ballast_jobs / 5),
                        ballast_mb: ballast,
                    }),
                });
            }
        }
    }
    cfgs
}

fn asyncio(opts: &Opts, plan: &Plan, conc: usize) -> Result<Value, String> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("asyncio_baseline.py");
    let python = std::env::var("BENCH_PYTHON3").unwrap_or_else(|_| "python3".into());
    run_json(
        Command::new(python)
            .arg(script)
            .arg("--claude-bin")
            .arg(&opts.fake)
            .args(["--jobs", &plan.jobs.to_string()])
            .args(["--warmup", &plan.warmup.to_string()])
            .args(["--concurrency", &conc.to_string()]),
    )
}

pub fn run(args: &[String]) {
    let opts = Opts::parse(args);
    let plan = opts.plan();
    let started = Instant::now();
    let date = Command::new("date")
        .args(["-u", "+%Y-%m-%d %H:%M UTC"])
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    if !opts.fake.exists() {
        eprintln!("the fake CLI is not at {} (cargo build --release -p fake-claude)", opts.fake.display());
        std::process::exit(1);
    }
    let load_start = loadavg();
    let machine = crate::machine::describe();
    let mut rep = Report::default();

    // Items 1 and 2: every configuration once per round, the order rotated
    // from round to round; the median round is reported.
    let cfgs = trivial_configs(&opts, &plan);
    let mut res: BTreeMap<String, Vec<Result<BatchResult, String>>> = BTreeMap::new();
    for round in 0..plan.rounds {
        for k in 0..cfgs.len() {
            let cfg = &cfgs[(k + round * 3) % cfgs.len()];
            progress(&format!("round {}/{}: {}", round + 1, plan.rounds, cfg.key));
            let r = match &cfg.run {
                Run::Child(task) => batch(child(&opts, task)),
                Run::Asyncio { conc } => batch(asyncio(&opts, &plan, *conc)),
            };
            if let Err(e) = &r {
                progress(&format!("  {}: {e}", cfg.key));
            }
            res.entry(cfg.key.clone()).or_default().push(r);
        }
    }
    let summ: BTreeMap<String, Result<Summ, String>> =
        res.iter().map(|(k, v)| (k.clone(), summarize(v))).collect();
    if opts.wants(1) {
        item1(&mut rep, &summ, &plan);
    }
    if opts.wants(2) {
        item2(&mut rep, &summ, &plan);
    }
    if opts.wants(3) {
        item3(&mut rep, &opts, &plan);
    }
    if opts.wants(4) {
        item4(&mut rep, &opts, &plan);
    }
    if opts.wants(5) {
        item5(&mut rep, &opts, &plan);
    }
    if opts.wants(6) {
        item6(&mut rep, &opts, &plan);
    }

    let took = started.elapsed().as_secs_f64();
    let load_end = loadavg();
    println!();
    print!("{}", rep.text_table());
    println!(
        "(measured in {took:.0} s; load average {load_start} at the start, {load_end} at the end; details in {})",
        opts.results.display()
    );

    let mut md = String::new();
    md.push_str(&format!(
        "Generated by `make bench` on {date}, in {took:.0} s{}.\n\n",
        if opts.quick { " (--quick: small sizes, not for citing)" } else { "" }
    ));
    md.push_str("### Machine\n\n| | |\n|---|---|\n");
    for (k, v) in &machine.rows {
        md.push_str(&format!("| {k} | {} |\n", v.replace('|', "\\|")));
    }
    md.push_str(&format!(
        "| load average (1, 5, 15 min) | {load_start} at the start, {load_end} at the end of the run |\n"
    ));
    md.push_str("\n### Summary\n\n");
    md.push_str(&rep.markdown_table());
    md.push_str("\n### Details\n\n");
    md.push_str(&details_trivial(&res, &summ));
    for d in &rep.details {
        md.push_str(d);
        md.push('\n');
    }
    if opts.write {
        match crate::report::write_results(&opts.results, &md) {
            Ok(()) => progress(&format!("wrote {}", opts.results.display())),
            Err(e) => progress(&format!("cannot write {}: {e}", opts.results.display())),
        }
    }
}

/// /proc/loadavg's first three fields: other work on the machine skews the figures.
fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

fn get<'a>(summ: &'a BTreeMap<String, Result<Summ, String>>, key: &str) -> Result<&'a Summ, String> {
    match summ.get(key) {
        Some(Ok(s)) => Ok(s),
        Some(Err(e)) => Err(e.clone()),
        None => Err("not run".into()),
    }
}

fn item1(rep: &mut Report, summ: &BTreeMap<String, Result<Summ, String>>, plan: &Plan) {
    for conc in [3, 2] {
        let key = |n: &str| format!("c{conc}/{n}");
        let asy = get(summ, &key("asyncio"));
        let cgf = get(summ, &key("cgfloor"));
        for (name, label) in DRIVERS {
            if conc != 3 && is_diagnostic(name) {
                continue;
            }
            let bench = format!("1. {} trivial jobs, c={conc}: {label}", plan.jobs);
            let s = match get(summ, &key(name)) {
                Ok(s) => s,
                Err(e) => {
                    let goal = match name {
                        "mgr-off-memory" | "mgr-off-sqlite" => "≥ 2× asyncio jobs/s",
                        "mgr-cg-memory" | "mgr-cg-sqlite" => "≤ 1.3× cgroup floor ms/job",
                        _ => "-",
                    };
                    rep.na(bench, &e, goal);
                    continue;
                }
            };
            match name {
                "mgr-off-memory" | "mgr-off-sqlite" => match &asy {
                    Ok(a) => {
                        let x = s.rate() / a.rate();
                        rep.row(bench, format!("{} = {x:.2}× asyncio", ms_rate(s)), "≥ 2× asyncio jobs/s", Met::of(x >= 2.0));
                    }
                    Err(_) => rep.row(bench, ms_rate(s), "≥ 2× asyncio jobs/s", Met::Na),
                },
                "mgr-cg-memory" | "mgr-cg-sqlite" => match &cgf {
                    Ok(f) => {
                        let x = s.ms / f.ms;
                        rep.row(bench, format!("{} = {x:.2}× cgroup floor", ms_rate(s)), "≤ 1.3× cgroup floor ms/job", Met::of(x <= 1.3));
                    }
                    Err(_) => rep.row(bench, ms_rate(s), "≤ 1.3× cgroup floor ms/job", Met::Na),
                },
                "asyncio" => rep.row(bench, ms_rate(s), "baseline", Met::Info),
                n if is_diagnostic(n) => rep.row(bench, ms_rate(s), "diagnostic", Met::Info),
                _ => rep.row(bench, ms_rate(s), "floor", Met::Info),
            }
        }
    }
}

fn item2(rep: &mut Report, summ: &BTreeMap<String, Result<Summ, String>>, plan: &Plan) {
    for (name, label, goal) in [
        ("mgr-off-memory", "JobManager, isolation off", true),
        ("mgr-cg-memory", "JobManager, cgroups", true),
        ("spawn", "posix_spawn floor", false),
        ("fork", "fork floor (empty pre_exec)", false),
        ("cgfloor", "cgroup floor (fork + pre_exec)", false),
        ("cgvfork", "cgroup floor with CLONE_VM|CLONE_VFORK", false),
    ] {
        let bench = format!("2. {} trivial jobs, c=3, host process holding 2 GB: {label}", plan.ballast_jobs);
        let (g, with, without) = (
            if goal { "flat: ≤ 1.10× without" } else { "reference" },
            get(summ, &format!("big{BALLAST_MB}/{name}")),
            get(summ, &format!("big0/{name}")),
        );
        match (with, without) {
            (Ok(w), Ok(wo)) => {
                let x = w.ms / wo.ms;
                let met = if goal { Met::of(x <= 1.10) } else { Met::Info };
                rep.row(bench, format!("{:.3} vs {:.3} ms/job without = {x:.2}×", w.ms, wo.ms), g, met);
            }
            (Err(e), _) | (_, Err(e)) => rep.na(bench, &e, g),
        }
    }
}

fn details_trivial(res: &BTreeMap<String, Vec<Result<BatchResult, String>>>, summ: &BTreeMap<String, Result<Summ, String>>) -> String {
    if res.is_empty() {
        return String::new();
    }
    let mut s = String::from(
        "#### Items 1 and 2: trivial jobs\n\n\
         Each configuration runs in a fresh process: warm-up jobs, then the measured batch, submitted at once \
         and waited for. ms/job = wall time / jobs (so jobs/s = 1000 / ms/job); the median of the rounds is \
         reported, min and max beside it. CPU columns: the CPU time of the process running the jobs (the \
         manager, the Python interpreter, the floor's threads) and of its children (the fake CLIs), per job. \
         `c3/…`, `c2/…`: concurrency 3 and 2; `big0/…`, `big2048/…`: item 2 without and with 2 GB resident.\n\n\
         | configuration | ms/job (median) | min | max | jobs/s | runner CPU ms/job | CLI CPU ms/job | rounds |\n\
         |---|---|---|---|---|---|---|---|\n",
    );
    for (k, r) in summ {
        match r {
            Ok(x) => s.push_str(&format!(
                "| {k} | {:.3} | {:.3} | {:.3} | {:.0} | {:.3} | {:.3} | {} |\n",
                x.ms,
                x.min,
                x.max,
                x.rate(),
                x.self_cpu_ms,
                x.children_cpu_ms,
                x.rounds
            )),
            Err(e) => s.push_str(&format!("| {k} | n/a: {} | | | | | | 0 |\n", one_line(e, 200).replace('|', "\\|"))),
        }
    }
    s.push('\n');
    s
}

fn item3(rep: &mut Report, opts: &Opts, plan: &Plan) {
    let mb = plan.stream_mb;
    progress(&format!("item 3: one job printing {mb} MB of stream-json"));
    let stream = child(opts, &Task::Stream { mb }).and_then(|v| {
        serde_json::from_value::<StreamResult>(v).map_err(|e| format!("bad result: {e}"))
    });
    let floor = child(opts, &Task::PipeFloor { mb }).and_then(|v| {
        serde_json::from_value::<PipeFloorResult>(v).map_err(|e| format!("bad result: {e}"))
    });
    let bench = format!("3. one job printing {mb} MB of stream-json: manager CPU");
    let rss_bench = format!("3. {mb} MB stream: manager peak RSS growth (VmHWM)");
    let mut detail = format!("#### Item 3: a {mb} MB stream\n\n");
    match stream {
        Ok(s) if s.state == "succeeded" => {
            let cpu = s.cpu_user_s + s.cpu_sys_s;
            let per100 = cpu * 100.0 / mb as f64;
            let rate = mb as f64 / cpu;
            rep.row(
                bench,
                format!("{per100:.3} CPU s per 100 MB = {rate:.0} MB/s per core"),
                "≥ 300 MB/s per core",
                Met::of(rate >= 300.0),
            );
            let growth = s.hwm_after.saturating_sub(s.hwm_before) as f64 / 1048576.0;
            rep.row(
                rss_bench,
                format!("{growth:.1} MB (VmHWM {:.1} → {:.1} MB)", s.hwm_before as f64 / 1048576.0, s.hwm_after as f64 / 1048576.0),
                "< 16 MB",
                Met::of(growth < 16.0),
            );
            rep.row(
                format!("3. {mb} MB stream: wall time, submit → wait"),
                format!("{:.2} s = {:.0} MB/s", s.wall_s, mb as f64 / s.wall_s),
                "-",
                Met::Info,
            );
            detail.push_str(&format!(
                "Manager (isolation off, memory store): wall {:.2} s; CPU user {:.2} s + sys {:.2} s = {:.2} s; \
                 VmHWM {} → {} KiB, VmRSS {} → {} KiB; stdout.log {} bytes; outcome {}.\n\n",
                s.wall_s,
                s.cpu_user_s,
                s.cpu_sys_s,
                cpu,
                s.hwm_before / 1024,
                s.hwm_after / 1024,
                s.rss_before / 1024,
                s.rss_after / 1024,
                s.lines_logged,
                s.state
            ));
        }
        Ok(s) => {
            let why = format!("the job ended {}: {}", s.state, s.error.unwrap_or_default());
            rep.na(bench, &why, "≥ 300 MB/s per core");
            rep.na(rss_bench, &why, "< 16 MB");
        }
        Err(e) => {
            rep.na(bench, &e, "≥ 300 MB/s per core");
            rep.na(rss_bench, &e, "< 16 MB");
        }
    }
    match floor {
        Ok(f) => {
            let mbs = f.bytes as f64 / 1048576.0;
            rep.row(
                format!("3. {mb} MB stream: bare pipe read into a 256 KiB buffer (floor)"),
                format!("{:.3} CPU s per 100 MB, {:.2} s wall", f.cpu_s * 100.0 / mbs, f.wall_s),
                "floor",
                Met::Info,
            );
            detail.push_str(&format!(
                "Floor: read(2) of the same output into a 256 KiB buffer: {} bytes, CPU {:.3} s, wall {:.2} s.\n\n",
                f.bytes, f.cpu_s, f.wall_s
            ));
        }
        Err(e) => rep.na(format!("3. {mb} MB stream: bare pipe read (floor)"), &e, "floor"),
    }
    rep.details.push(detail);
}

fn item4(rep: &mut Report, opts: &Opts, plan: &Plan) {
    let mut detail = String::from("#### Item 4: queue scale\n\n");
    for (store, n) in [(Store::Memory, plan.queue_memory), (Store::Sqlite, plan.queue_sqlite)] {
        progress(&format!("item 4: {n} jobs queued, {} store", store.label()));
        let r = child(opts, &Task::Queue { store, jobs: n, max_s: plan.queue_max_s })
            .and_then(|v| serde_json::from_value::<QueueResult>(v).map_err(|e| format!("bad result: {e}")));
        let queued = r.as_ref().map(|q| q.jobs).unwrap_or(n);
        let bench = if queued < n {
            format!("4. {queued} queued jobs (of {n}: {:.0} s cap), {} store", plan.queue_max_s, store.label())
        } else {
            format!("4. {n} queued jobs, {} store", store.label())
        };
        match r {
            Ok(q) if q.error.is_none() && q.jobs > 0 => {
                let rate = q.jobs as f64 / q.submit_s;
                let per = q.rss_after.saturating_sub(q.rss_before) as f64 / q.jobs as f64;
                rep.row(format!("{bench}: submit rate"), format!("{rate:.0} jobs/s"), "-", Met::Info);
                rep.row(
                    format!("{bench}: manager RSS per queued job"),
                    format!("{:.2} KB (RSS +{:.1} MB)", per / 1024.0, (q.rss_after.saturating_sub(q.rss_before)) as f64 / 1048576.0),
                    "< 2 KB",
                    Met::of(per < 2048.0),
                );
                detail.push_str(&format!(
                    "{} store: {} jobs submitted in {:.2} s; VmRSS {} → {} KiB; shutdown {:.2} s.\n\n",
                    store.label(),
                    q.jobs,
                    q.submit_s,
                    q.rss_before / 1024,
                    q.rss_after / 1024,
                    q.shutdown_s
                ));
            }
            Ok(q) => {
                let e = q.error.unwrap_or_else(|| "no job queued".into());
                rep.na(format!("{bench}: submit rate"), &e, "-");
                rep.na(format!("{bench}: manager RSS per queued job"), &e, "< 2 KB");
            }
            Err(e) => {
                rep.na(format!("{bench}: submit rate"), &e, "-");
                rep.na(format!("{bench}: manager RSS per queued job"), &e, "< 2 KB");
            }
        }
    }
    rep.details.push(detail);
}

fn item5(rep: &mut Report, opts: &Opts, plan: &Plan) {
    let data = std::env::temp_dir().join(format!("claude-jobs-bench-{}-bindings", std::process::id()));
    let python = opts.prepared("python");
    let node = opts.prepared("node");
    let script_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("bindings");
    let (jobs, warmup) = (plan.seq_jobs.to_string(), plan.seq_warmup.to_string());
    let mut rust: BTreeMap<&str, Vec<Result<BatchResult, String>>> = BTreeMap::new();
    let mut py = Vec::new();
    let mut js = Vec::new();
    let mut node_store = String::from("memory");
    for round in 0..plan.rounds {
        progress(&format!("item 5, round {}/{}: submit → wait, sequential", round + 1, plan.rounds));
        for store in [Store::Memory, Store::Sqlite] {
            let task = Task::Sequential { jobs: plan.seq_jobs, warmup: plan.seq_warmup, store };
            rust.entry(store.label()).or_default().push(batch(child(opts, &task)));
        }
        if let Ok(interp) = &python {
            let _ = std::fs::remove_dir_all(&data);
            py.push(batch(run_json(
                Command::new(interp)
                    .arg(script_dir.join("python_bench.py"))
                    .arg("--claude-bin")
                    .arg(&opts.fake)
                    .arg("--data-dir")
                    .arg(&data)
                    .args(["--jobs", &jobs, "--warmup", &warmup]),
            )));
        }
        if let Ok(pkg) = &node {
            let _ = std::fs::remove_dir_all(&data);
            let v = run_json(
                Command::new("node")
                    .arg(script_dir.join("node_bench.js"))
                    .args(["--pkg", pkg])
                    .arg("--claude-bin")
                    .arg(&opts.fake)
                    .arg("--data-dir")
                    .arg(&data)
                    .args(["--jobs", &jobs, "--warmup", &warmup]),
            );
            if let Some(s) = v.as_ref().ok().and_then(|v| v.get("store")).and_then(Value::as_str) {
                node_store = s.to_string();
            }
            js.push(batch(v));
        }
    }
    let _ = std::fs::remove_dir_all(&data);
    let goal = "< 0.3 ms added";
    let r_mem = summarize(rust.get("memory").map(Vec::as_slice).unwrap_or(&[]));
    let r_sql = summarize(rust.get("SQLite").map(Vec::as_slice).unwrap_or(&[]));
    let bench = |who: &str| format!("5. {} trivial jobs, submit → wait one at a time: {who}", plan.seq_jobs);
    for (label, r) in [("Rust, memory store", &r_mem), ("Rust, SQLite store", &r_sql)] {
        match r {
            Ok(s) => rep.row(bench(label), format!("{:.3} ms/job", s.ms), "reference", Met::Info),
            Err(e) => rep.na(bench(label), e, "reference"),
        }
    }
    let mut binding = |who: &str, prepared: &Result<String, String>, runs: &[Result<BatchResult, String>], reference: &Result<Summ, String>| {
        let b = bench(who);
        let s = match prepared {
            Err(e) => return rep.na(b, e, goal),
            Ok(_) => summarize(runs),
        };
        match (s.as_ref(), reference) {
            (Ok(s), Ok(r)) => {
                let added = s.ms - r.ms;
                rep.row(b, format!("{:.3} ms/job = {added:+.3} ms vs Rust", s.ms), goal, Met::of(added < 0.3));
            }
            (Err(e), _) | (_, Err(e)) => rep.na(b, e, goal),
        }
    };
    binding("Python binding (memory store)", &python, &py, &r_mem);
    let node_ref = if node_store == "memory" { &r_mem } else { &r_sql };
    let node_label = if node_store == "memory" {
        "Node binding (memory store)".to_string()
    } else {
        "Node binding (its default store; it takes no storeUrl)".to_string()
    };
    binding(&node_label, &node, &js, node_ref);
}

fn item6(rep: &mut Report, opts: &Opts, plan: &Plan) {
    let bench = |w: &str| format!("6. real Claude CLI vs the mock API ({} runs): {w}", plan.real_runs);
    let bin = match opts.prepared("claude") {
        Ok(b) => PathBuf::from(b),
        Err(e) => {
            rep.na(bench("direct"), &e, "-");
            return;
        }
    };
    progress(&format!("item 6: the real CLI ({}), {} runs each way", bin.display(), plan.real_runs));
    let r = child(opts, &Task::RealCli { bin: bin.clone(), runs: plan.real_runs })
        .and_then(|v| serde_json::from_value::<RealCliResult>(v).map_err(|e| format!("bad result: {e}")));
    let r = match r {
        Ok(r) if r.error.is_none() && !r.direct.is_empty() => r,
        Ok(r) => return rep.na(bench("direct"), &r.error.unwrap_or_else(|| "no run".into()), "-"),
        Err(e) => return rep.na(bench("direct"), &e, "-"),
    };
    let (d, dsd) = mean_sd(&r.direct);
    rep.row(bench("direct (prompt on stdin, same env)"), format!("{:.3} s ± {:.3}", d, dsd), "-", Met::Info);
    for (label, v) in [("through the manager, isolation off", &r.manager_off), ("through the manager, cgroups", &r.manager_cgroups)] {
        let (m, sd) = mean_sd(v);
        let extra = m - d;
        rep.row(
            bench(label),
            format!("{m:.3} s ± {sd:.3}: {:+.1} ms = {:+.2} % of the run", extra * 1000.0, extra / d * 100.0),
            "- (report)",
            Met::Info,
        );
    }
    rep.details.push(format!(
        "#### Item 6: the real CLI\n\nWall seconds per run (after one unrecorded warm-up round; the order rotates each round):\n\n\
         - direct: {:?}\n- manager, isolation off: {:?}\n- manager, cgroups (memory 2 GiB, pids 512, no CPU cap): {:?}\n",
        r.direct.iter().map(|x| (x * 1000.0).round() / 1000.0).collect::<Vec<_>>(),
        r.manager_off.iter().map(|x| (x * 1000.0).round() / 1000.0).collect::<Vec<_>>(),
        r.manager_cgroups.iter().map(|x| (x * 1000.0).round() / 1000.0).collect::<Vec<_>>(),
    ));
}
