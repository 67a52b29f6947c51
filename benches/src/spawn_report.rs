//! Item 7's rows: job start latency, one job at a time, in the cgroup v2
//! guest (clone3 into the group, attach before exec, bare spawn) and on this
//! host (cgroup v1: attach only).

use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::report::{one_line, Met, Report};
use crate::spawn_latency::{SpawnLatency, WAYS};
use crate::suite::{child, median, progress, Opts, Plan};
use crate::Task;

/// The goal: the CLI born in its group starts within 1.3× the bare spawn.
const GOAL: f64 = 1.3;

fn task(plan: &Plan, way: &str) -> Task {
    Task::SpawnLatency {
        way: way.to_string(),
        jobs: plan.spawn_jobs,
        warmup: 3,
        pause_ms: 100,
    }
}

fn p90(v: &[f64]) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v.get(((v.len() as f64) * 0.9).ceil() as usize - 1).copied().unwrap_or(f64::NAN)
}

/// The three ways in one guest boot: JSON lines on the console.
fn in_guest(opts: &Opts, plan: &Plan) -> Result<Vec<SpawnLatency>, String> {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap_or(Path::new("."));
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let tiny = opts.trivial_cli().0;
    let mut script = String::new();
    for (way, _) in WAYS {
        let json = serde_json::to_string(&task(plan, way)).map_err(|e| e.to_string())?;
        script.push_str(&format!("/bin/claude-jobs-bench child /bin/tiny-cli '{json}'; "));
    }
    let out = Command::new("bash")
        .arg(repo.join("scripts/cgroup-v2-guest.sh"))
        .args(["--mem", "2048", "--timeout", "600"])
        .arg("--file")
        .arg(format!("{}:/bin/claude-jobs-bench", exe.display()))
        .arg("--file")
        .arg(format!("{}:/bin/tiny-cli", tiny.display()))
        .args(["--env", "BENCH_TMP=/tmp", "--", "sh", "-c", &script])
        .output()
        .map_err(|e| format!("cannot run scripts/cgroup-v2-guest.sh: {e}"))?;
    let console = String::from_utf8_lossy(&out.stdout);
    let found: Vec<SpawnLatency> = console
        .lines()
        .filter_map(|l| serde_json::from_str::<SpawnLatency>(l.trim_matches(['\r', ' '])).ok())
        .collect();
    if found.len() != WAYS.len() {
        let err = String::from_utf8_lossy(&out.stderr);
        return Err(format!(
            "the guest printed {} of {} results ({}): {}",
            found.len(),
            WAYS.len(),
            out.status,
            one_line(&format!("{}{}", &console[console.len().saturating_sub(400)..], &err[err.len().saturating_sub(300)..]), 400)
        ));
    }
    Ok(found)
}

fn on_host(opts: &Opts, plan: &Plan) -> Vec<Result<SpawnLatency, String>> {
    ["off", "attach"]
        .iter()
        .map(|w| {
            child(opts, &task(plan, w)).and_then(|v: Value| serde_json::from_value(v).map_err(|e| format!("bad result: {e}")))
        })
        .collect()
}

pub(crate) fn item7(rep: &mut Report, opts: &Opts, plan: &Plan) {
    let bench = |where_: &str, w: &str| {
        format!("7. {} jobs one at a time, 100 ms apart, {where_}: {w}", plan.spawn_jobs)
    };
    progress("item 7: job start latency in the cgroup v2 guest (qemu, software emulation) and on this host");
    let mut details = String::from(
        "#### Item 7: job start latency, one job at a time\n\nms from submit to the `started` event (job accepted, \
         cgroup made and capped, CLI spawned) and to `wait` returning; the tiny CLI, the memory store, one slot, \
         100 ms between jobs (so every migration pays the kernel's RCU grace period: see the analysis).\n\n\
         | where | way | isolation | to started, median | p90 | to done, median |\n|---|---|---|---|---|---|\n",
    );
    let mut row = |rep: &mut Report, where_: &str, r: &SpawnLatency, off: Option<f64>, judged: bool| {
        let label = WAYS.iter().find(|(w, _)| *w == r.way).map(|(_, l)| *l).unwrap_or("?");
        let (s, d) = (median(r.to_started_ms.clone()), median(r.to_done_ms.clone()));
        details.push_str(&format!(
            "| {where_} | {label} | {} | {s:.2} | {:.2} | {d:.2} |\n",
            r.isolation,
            p90(&r.to_started_ms)
        ));
        let (figure, goal, met) = match off {
            Some(o) if r.way != "off" => {
                let x = s / o;
                let goal = if judged { format!("≤ {GOAL}× bare spawn") } else { "report".into() };
                let met = if judged { Met::of(x <= GOAL) } else { Met::Info };
                (format!("{s:.2} ms to started = {x:.2}× bare spawn; {d:.2} ms to done"), goal, met)
            }
            _ => (format!("{s:.2} ms to started; {d:.2} ms to done"), "reference".to_string(), Met::Info),
        };
        rep.row(bench(where_, label), figure, goal, met);
    };
    match in_guest(opts, plan) {
        Ok(rs) => {
            let off = rs.iter().find(|r| r.way == "off").map(|r| median(r.to_started_ms.clone()));
            for r in &rs {
                match &r.error {
                    Some(e) => rep.na(bench("cgroup v2 guest", &r.way), e, "-"),
                    None => row(rep, "cgroup v2 guest", r, off, r.way == "clone3"),
                }
            }
        }
        Err(e) => rep.na(bench("cgroup v2 guest", WAYS[1].1), &e, format!("≤ {GOAL}× bare spawn")),
    }
    let host = on_host(opts, plan);
    let off = host.first().and_then(|r| r.as_ref().ok()).map(|r| median(r.to_started_ms.clone()));
    for r in host {
        match r {
            Ok(r) if r.error.is_none() => row(rep, "this host (cgroup v1)", &r, off, false),
            Ok(r) => rep.na(bench("this host (cgroup v1)", &r.way), r.error.as_deref().unwrap_or(""), "-"),
            Err(e) => rep.na(bench("this host (cgroup v1)", "?"), &e, "-"),
        }
    }
    rep.details.push(details);
}
