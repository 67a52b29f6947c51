//! `claude-jobs-bench run`: every item (issues #8 and #20) in one run, each
//! measurement in a child process; then the table and RESULTS.md.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use serde_json::Value;

use crate::{big_store_report, bindings_report, items, nodes_report, real_cli_report, running_report, spawn_report};
use crate::report::{one_line, Report};
use crate::trivial_cfgs::{asyncio, trivial_configs, Run};
pub(crate) use crate::trivial_cfgs::{item2_jobs, is_diagnostic, DRIVERS};
use crate::{BatchResult, Task};

pub(crate) const BALLAST_MB: usize = 2048;

pub(crate) struct Opts {
    pub(crate) quick: bool,
    pub(crate) rounds: Option<usize>,
    pub(crate) only: Option<Vec<u32>>,
    pub(crate) fake: PathBuf,
    /// The tiny CLI of items 1, 2 and 5 (tiny-cli/tiny_cli.c, built by build.rs).
    pub(crate) tiny: PathBuf,
    /// The same program on the C library, beside a freestanding `tiny`
    /// (item 1's report rows); `None` otherwise.
    pub(crate) tiny_libc: Option<PathBuf>,
    pub(crate) prepared: PathBuf,
    pub(crate) results: PathBuf,
    pub(crate) write: bool,
}

/// Sizes of the runs.
pub(crate) struct Plan {
    pub(crate) rounds: usize,
    /// Item 1: jobs per measured batch, and warm-up jobs before it.
    pub(crate) jobs: usize,
    pub(crate) warmup: usize,
    /// Item 2 (2 GB resident): jobs per batch.
    pub(crate) ballast_jobs: usize,
    pub(crate) stream_mb: u64,
    pub(crate) queue_memory: usize,
    pub(crate) queue_sqlite: usize,
    /// Item 4 stops submitting after this long (a slow store).
    pub(crate) queue_max_s: f64,
    pub(crate) seq_jobs: usize,
    pub(crate) seq_warmup: usize,
    pub(crate) real_runs: usize,
    /// Item 7: jobs per way of spawning.
    pub(crate) spawn_jobs: usize,
}

impl Opts {
    fn parse(args: &[String]) -> Opts {
        let exe = std::env::current_exe().expect("own path");
        let bin_dir = exe.parent().expect("bin dir").to_path_buf();
        let repo = Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .expect("repo root")
            .to_path_buf();
        let mut o = Opts {
            quick: false,
            rounds: None,
            only: None,
            fake: bin_dir.join("fake-claude"),
            tiny: PathBuf::from(env!("TINY_CLI")),
            tiny_libc: Some(PathBuf::from(env!("TINY_CLI_LIBC")))
                .filter(|p| !p.as_os_str().is_empty()),
            prepared: repo.join("target/bench"),
            results: Path::new(env!("CARGO_MANIFEST_DIR")).join("RESULTS.md"),
            write: true,
        };
        let mut it = args.iter();
        while let Some(a) = it.next() {
            let mut val = || {
                it.next()
                    .cloned()
                    .unwrap_or_else(|| panic!("{a} needs a value"))
            };
            match a.as_str() {
                "--quick" => o.quick = true,
                "--rounds" => o.rounds = Some(val().parse().expect("--rounds N")),
                "--only" => {
                    o.only = Some(
                        val()
                            .split(',')
                            .map(|s| s.trim().parse().expect("--only 1,2,…"))
                            .collect(),
                    )
                }
                "--fake" => o.fake = PathBuf::from(val()),
                "--tiny" => {
                    o.tiny = PathBuf::from(val());
                    o.tiny_libc = None;
                }
                "--prepared" => o.prepared = PathBuf::from(val()),
                "--results" => o.results = PathBuf::from(val()),
                "--no-write" => o.write = false,
                other => panic!("unknown option {other}"),
            }
        }
        if o.tiny.as_os_str().is_empty() {
            o.tiny = o.fake.clone();
        }
        o
    }

    /// The CLI of trivial jobs (items 1, 2 and 5), and how it was built.
    pub(crate) fn trivial_cli(&self) -> (&Path, String) {
        let how = if self.tiny == self.fake {
            "fake-claude, scenario `trivial` (no C compiler: tiny-cli not built)".to_string()
        } else if self.tiny == Path::new(env!("TINY_CLI")) {
            format!(
                "tiny-cli ({}, benches/tiny-cli/tiny_cli.c)",
                env!("TINY_CLI_LINK")
            )
        } else {
            format!("{} (--tiny)", self.tiny.display())
        };
        (&self.tiny, how)
    }

    pub(crate) fn wants(&self, item: u32) -> bool {
        self.only
            .as_ref()
            .map(|v| v.contains(&item))
            .unwrap_or(true)
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
                real_runs: 2,
                spawn_jobs: 5,
            }
        } else {
            Plan {
                // Five: the ratios of item 1 sit near their goals, and the
                // median of five rounds moves less from run to run.
                rounds: 5,
                jobs: 2000,
                warmup: 100,
                ballast_jobs: 300,
                stream_mb: 500,
                queue_memory: 100_000,
                queue_sqlite: 100_000,
                queue_max_s: 25.0,
                seq_jobs: 500,
                seq_warmup: 50,
                real_runs: 20,
                spawn_jobs: 40,
            }
        };
        if let Some(r) = self.rounds {
            p.rounds = r.max(1);
        }
        p
    }

    /// What `make bench` prepared: `<name>` holds a path, `<name>.na` why not.
    pub(crate) fn prepared(&self, name: &str) -> Result<String, String> {
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

pub(crate) fn progress(msg: &str) {
    eprintln!("[bench] {msg}");
}

/// The last JSON line of a program's stdout.
fn last_json(stdout: &[u8]) -> Option<Value> {
    String::from_utf8_lossy(stdout).lines().rev().find_map(|l| {
        serde_json::from_str::<Value>(l.trim())
            .ok()
            .filter(Value::is_object)
    })
}

/// `python3 benches/<script> --claude-bin <cli> …` (`BENCH_PYTHON3` names
/// another Python), ready for more arguments and [`run_json`].
pub(crate) fn python_script(script: &str, cli: &std::path::Path) -> Command {
    let python = std::env::var("BENCH_PYTHON3").unwrap_or_else(|_| "python3".into());
    let mut cmd = Command::new(python);
    cmd.arg(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(script)).arg("--claude-bin").arg(cli);
    cmd
}

pub(crate) fn run_json(cmd: &mut Command) -> Result<Value, String> {
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
            Path::new(cmd.get_program())
                .file_name()
                .unwrap_or_default()
                .to_string_lossy(),
            out.status,
            one_line(&stderr[stderr.len().saturating_sub(600)..], 300)
        )),
    }
}

pub(crate) fn child(opts: &Opts, task: &Task) -> Result<Value, String> {
    let cli = match task {
        Task::Trivial { .. } | Task::Sequential { .. } => opts.trivial_cli().0,
        _ => &opts.fake,
    };
    child_on(cli, task)
}

pub(crate) fn child_on(cli: &Path, task: &Task) -> Result<Value, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    run_json(
        Command::new(exe)
            .arg("child")
            .arg(cli)
            .arg(serde_json::to_string(task).expect("task JSON")),
    )
}

pub(crate) fn batch(v: Result<Value, String>) -> Result<BatchResult, String> {
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

pub(crate) fn median(mut v: Vec<f64>) -> f64 {
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

/// A measured configuration over the rounds.
#[derive(Debug, Clone)]
pub(crate) struct Summ {
    /// Median ms per job (wall / jobs).
    pub(crate) ms: f64,
    pub(crate) min: f64,
    pub(crate) max: f64,
    pub(crate) self_cpu_ms: f64,
    pub(crate) children_cpu_ms: f64,
    pub(crate) rounds: usize,
}

impl Summ {
    pub(crate) fn rate(&self) -> f64 {
        1000.0 / self.ms
    }
}

pub(crate) fn summarize(v: &[Result<BatchResult, String>]) -> Result<Summ, String> {
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
        self_cpu_ms: median(
            ok.iter()
                .map(|b| b.self_cpu_s * 1000.0 / b.jobs as f64)
                .collect(),
        ),
        children_cpu_ms: median(
            ok.iter()
                .map(|b| b.children_cpu_s * 1000.0 / b.jobs as f64)
                .collect(),
        ),
        rounds: ok.len(),
    })
}

pub(crate) fn ms_rate(s: &Summ) -> String {
    format!("{:.3} ms/job, {:.0} jobs/s", s.ms, s.rate())
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
        eprintln!(
            "the fake CLI is not at {} (cargo build --release -p fake-claude)",
            opts.fake.display()
        );
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
            let cli = cfg.cli.as_deref().unwrap_or(opts.trivial_cli().0);
            let r = match &cfg.run {
                Run::Child(task) => batch(child_on(cli, task)),
                Run::Asyncio { conc } => batch(asyncio(cli, &plan, *conc)),
            };
            if let Err(e) = &r {
                progress(&format!("  {}: {e}", cfg.key));
            }
            // A fork floor with the ballast leaves the kernel freeing copied
            // page tables for a while: the next run measured 5-10 % slower.
            if cfg.key == format!("big{BALLAST_MB}/fork")
                || cfg.key == format!("big{BALLAST_MB}/cgfloor")
            {
                std::thread::sleep(std::time::Duration::from_secs(2));
            }
            res.entry(cfg.key.clone()).or_default().push(r);
        }
    }
    let summ: BTreeMap<String, Result<Summ, String>> =
        res.iter().map(|(k, v)| (k.clone(), summarize(v))).collect();
    if opts.wants(1) {
        items::item1(&mut rep, &summ, &plan);
    }
    if opts.wants(2) {
        items::item2(&mut rep, &summ, &plan);
    }
    if opts.wants(3) {
        items::item3(&mut rep, &opts, &plan);
    }
    if opts.wants(4) {
        items::item4(&mut rep, &opts, &plan);
    }
    if opts.wants(5) {
        bindings_report::item5(&mut rep, &opts, &plan);
    }
    if opts.wants(6) {
        real_cli_report::item6(&mut rep, &opts, &plan);
    }
    if opts.wants(7) {
        spawn_report::item7(&mut rep, &opts, &plan);
    }
    if opts.wants(8) {
        running_report::item8(&mut rep, &opts, &plan);
    }
    if opts.wants(9) {
        big_store_report::item9(&mut rep, &opts, &plan);
    }
    if opts.wants(10) {
        nodes_report::item10(&mut rep, &opts, &plan);
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
        if opts.quick {
            " (--quick: small sizes, not for citing)"
        } else {
            ""
        }
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
    md.push_str(&items::details_trivial(&res, &summ, &opts.trivial_cli().1));
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
