//! Item 9's rows: a store that has kept a million jobs (issue 20 item 4),
//! SQLite and PostgreSQL, one child process each (big_store.rs): five rounds
//! on one seeded store, then five pruning passes over its age bands.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::report::{Met, Report};
use crate::spread::Spread;
use crate::suite::{child_on, progress, Opts, Plan};
use crate::Task;

const LIST_GOAL_MS: f64 = 5.0;
const STARTUP_GOAL_MS: f64 = 1000.0;
const PRUNE_CLAIM_GOAL_MS: f64 = 50.0;

fn params(opts: &Opts, plan: &Plan, store: &str) -> Value {
    let (jobs, pages, reference_s, rounds) =
        if opts.quick { (20_000, 20, 2.0, 2) } else { (1_000_000, 100, 10.0, plan.rounds.clamp(1, 5)) };
    serde_json::json!({
        "store": store, "jobs": jobs, "seed": 200, "pages": pages,
        "claim_every_ms": 20, "reference_s": reference_s, "rounds": rounds,
    })
}

fn postgres_sh(args: &[&str]) -> std::io::Result<std::process::Output> {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap_or(Path::new("."));
    Command::new("bash").arg(repo.join("scripts/postgres.sh")).args(args).output()
}

/// A fresh PostgreSQL database (scripts/postgres.sh), or why not.
fn postgres_url() -> Result<String, String> {
    let out = postgres_sh(&["fresh", "cj_bench_big"])
        .map_err(|e| format!("cannot run scripts/postgres.sh: {e}"))?;
    let url = String::from_utf8_lossy(&out.stdout).lines().last().unwrap_or("").trim().to_string();
    if !out.status.success() || !url.starts_with("postgres") {
        let err = String::from_utf8_lossy(&out.stderr);
        return Err(format!("scripts/postgres.sh fresh failed: {}", crate::report::one_line(&err, 200)));
    }
    Ok(url)
}

pub(crate) fn item9(rep: &mut Report, opts: &Opts, plan: &Plan) {
    let pg_was_up = postgres_sh(&["status"]).is_ok_and(|o| o.status.success());
    let mut details = String::from("#### Item 9: a store that has kept a million jobs (issue 20 item 4)\n\n");
    for (label, store) in [("SQLite", Ok("sqlite".to_string())), ("PostgreSQL", postgres_url())] {
        let bench = |what: &str| format!("9. a store of {} finished jobs, {label}: {what}", params(opts, plan, "")["jobs"]);
        let store = match store {
            Ok(s) => s,
            Err(e) => {
                rep.na(bench("all figures"), &e, "-");
                continue;
            }
        };
        progress(&format!("item 9: {label}"));
        let task = Task::BigStore { params: params(opts, plan, &store) };
        let v = match child_on(opts.trivial_cli().0, &task) {
            Ok(v) if v.get("error").is_none_or(Value::is_null) => v,
            Ok(v) => {
                rep.na(bench("all figures"), v["error"].as_str().unwrap_or("?"), "-");
                continue;
            }
            Err(e) => {
                rep.na(bench("all figures"), &e, "-");
                continue;
            }
        };
        rows(rep, &v, &bench);
        details.push_str(&detail(label, &v));
    }
    // The million rows' gigabytes go; a server this item started stops.
    let _ = postgres_sh(&["fresh", "cj_bench_big"]);
    if !pg_was_up {
        let _ = postgres_sh(&["stop"]);
    }
    let rounds = params(opts, plan, "")["rounds"].as_u64().unwrap_or(1);
    details.push_str(&format!(
        "Seeding: 200 real trivial jobs (tiny CLI, through a manager) copied in SQL to the size above (big_store_seed.rs): \
         one in ten `failed`, one in a hundred `cancelled`, made evenly from 75 to 35 days ago, each with its source's events. \
         PostgreSQL gets `VACUUM ANALYZE` after the load (what autovacuum does after a bulk load). \
         {rounds} rounds on the full store, each with a new manager: start-up (`JobManager::builder()…build()`, then a job \
         submitted and claimed); pages of 100 jobs through `JobManager::list`, per filter 100 pages from the newest on \
         following the cursor, then 100 from random places (a cursor at a random job, other places each round); the \
         reference claim latency for 10 s without pruning. Claim latency: a job's `started_at` (the store's claim time) − \
         its `created_at` (the submit), one trivial job every 20 ms, max_concurrent 4, isolation off. Then {rounds} retention \
         passes (batches of 500), each on a new manager whose `jobs_days` reaches one more equal age band of the copies \
         (the `jobs_days` of each pass in the tables above; the last 31 days, below the newest copy), with the same \
         claims while the pass runs. \
         The rows give the median of the rounds (or passes) with min and max; seeding a million jobs once takes minutes. \
         The SQLite file lies in the data dir on `BENCH_TMP` (tmpfs by default); \
         PostgreSQL is scripts/postgres.sh's server (`fsync=off`).\n",
    ));
    rep.details.push(details);
}

fn f(v: &Value, path: &[&str]) -> f64 {
    path.iter().fold(v, |v, k| &v[*k]).as_f64().unwrap_or(f64::NAN)
}

/// One figure of every round.
fn per_round(v: &Value, g: &dyn Fn(&Value) -> f64) -> Spread {
    Spread::of(v["rounds"].as_array().map(Vec::as_slice).unwrap_or_default().iter().map(g))
}

/// The worst p99 of the filters in a round: (filter, ms).
fn worst(round: &Value) -> (String, f64) {
    round["list"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .map(|e| (e[0].as_str().unwrap_or("?").to_string(), f(&e[1], &["p99"])))
        .fold(("?".to_string(), f64::NAN), |a, b| if a.1.is_nan() || b.1 > a.1 { b } else { a })
}

fn rows(rep: &mut Report, v: &Value, bench: &dyn Fn(&str) -> String) {
    let rounds = v["rounds"].as_array().cloned().unwrap_or_default();
    let list = per_round(v, &|r| worst(r).1);
    let filters: Vec<String> = rounds
        .first()
        .and_then(|r| r["list"].as_array())
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .enumerate()
        .map(|(i, e)| {
            let s = per_round(v, &|r| f(&r["list"][i][1], &["p99"]));
            format!("{} {:.2}", e[0].as_str().unwrap_or("?"), s.med)
        })
        .collect();
    let worst_by_round: Vec<String> = rounds.iter().map(|r| worst(r).0).collect();
    rep.row(
        bench("paged list with a state filter, p99 per page"),
        format!(
            "worst filter of each round: median {:.2} ms ({}; {} rounds, worst filters {}); p99 by filter, median, ms: {}",
            list.med,
            list.range(2),
            list.n,
            worst_by_round.join(", "),
            filters.join(", ")
        ),
        format!("≤ {LIST_GOAL_MS} ms"),
        Met::of(list.med <= LIST_GOAL_MS),
    );
    let startup = per_round(v, &|r| f(r, &["build_ms"]) + f(r, &["submit_to_claim_ms"]));
    rep.row(
        bench("manager start-up to first claim"),
        format!(
            "median {:.0} ms ({}; build {:.0} ms, submit to claim {:.1} ms, medians of {} rounds)",
            startup.med,
            startup.range(0),
            per_round(v, &|r| f(r, &["build_ms"])).med,
            per_round(v, &|r| f(r, &["submit_to_claim_ms"])).med,
            startup.n
        ),
        format!("≤ {STARTUP_GOAL_MS} ms"),
        Met::of(startup.med <= STARTUP_GOAL_MS),
    );
    let prunes = v["prunes"].as_array().cloned().unwrap_or_default();
    let p99 = Spread::of(prunes.iter().map(|x| f(x, &["claims", "p99"])));
    let secs = Spread::of(prunes.iter().map(|x| f(x, &["seconds"])));
    let deleted: u64 = prunes
        .iter()
        .map(|x| x["copies_before"].as_u64().unwrap_or(0).saturating_sub(x["copies_after"].as_u64().unwrap_or(0)))
        .sum();
    let reference = per_round(v, &|r| f(r, &["reference_claims", "p99"]));
    rep.row(
        bench("claim latency while retention prunes them all, p99"),
        format!(
            "median of {} passes {:.0} ms ({}); all {} claims together p99 {:.0} ms, max {:.0}; passes of {:.0} s ({}) deleting \
             {deleted} jobs in all; without pruning p99 {:.0} ms ({})",
            p99.n,
            p99.med,
            p99.range(0),
            v["prune_claims_all"]["n"],
            f(v, &["prune_claims_all", "p99"]),
            f(v, &["prune_claims_all", "max"]),
            secs.med,
            secs.range(0),
            reference.med,
            reference.range(0)
        ),
        format!("≤ {PRUNE_CLAIM_GOAL_MS} ms"),
        Met::of(p99.med <= PRUNE_CLAIM_GOAL_MS),
    );
}

fn detail(label: &str, v: &Value) -> String {
    let mut s = format!(
        "{label}: {} jobs added in {:.0} s ({} event rows in all, the database {:.0} MB).\n\n\
         | round | start-up ms (build + submit to claim) | list p99 ms: all / succeeded / failed / cancelled | list max ms (any filter) | reference claims | claim p50 / p99 / max ms |\n\
         |---|---|---|---|---|---|\n",
        v["seeded"]["added"],
        f(v, &["seeded", "seconds"]),
        v["seeded"]["events"],
        f(v, &["seeded", "db_bytes"]) / 1e6,
    );
    for (i, r) in v["rounds"].as_array().cloned().unwrap_or_default().iter().enumerate() {
        let list = r["list"].as_array().cloned().unwrap_or_default();
        let p99s: Vec<String> = list.iter().map(|e| format!("{:.2}", f(&e[1], &["p99"]))).collect();
        let max = list.iter().map(|e| f(&e[1], &["max"])).fold(f64::NAN, f64::max);
        s.push_str(&format!(
            "| {} | {:.0} + {:.1} | {} | {max:.2} | {} | {:.0} / {:.0} / {:.0} |\n",
            i + 1,
            f(r, &["build_ms"]),
            f(r, &["submit_to_claim_ms"]),
            p99s.join(" / "),
            r["reference_claims"]["n"],
            f(r, &["reference_claims", "p50"]),
            f(r, &["reference_claims", "p99"]),
            f(r, &["reference_claims", "max"]),
        ));
    }
    s.push_str("\n| pruning pass | jobs_days | copies before → after | seconds | claims | claim p50 / p99 / max ms |\n|---|---|---|---|---|---|\n");
    for (i, x) in v["prunes"].as_array().cloned().unwrap_or_default().iter().enumerate() {
        s.push_str(&format!(
            "| {} | {} | {} → {} | {:.1} | {} | {:.0} / {:.0} / {:.0} |\n",
            i + 1,
            x["jobs_days"],
            x["copies_before"],
            x["copies_after"],
            f(x, &["seconds"]),
            x["claims"]["n"],
            f(x, &["claims", "p50"]),
            f(x, &["claims", "p99"]),
            f(x, &["claims", "max"]),
        ));
    }
    s.push('\n');
    s
}
