//! Item 9's rows: a store that has kept a million jobs (issue 20 item 4),
//! SQLite and PostgreSQL, one child process each (big_store.rs).

use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::report::{Met, Report};
use crate::suite::{child_on, progress, Opts, Plan};
use crate::Task;

const LIST_GOAL_MS: f64 = 5.0;
const STARTUP_GOAL_MS: f64 = 1000.0;
const PRUNE_CLAIM_GOAL_MS: f64 = 50.0;

fn params(opts: &Opts, store: &str) -> Value {
    let (jobs, pages, reference_s) = if opts.quick { (20_000, 20, 2.0) } else { (1_000_000, 100, 10.0) };
    serde_json::json!({
        "store": store, "jobs": jobs, "seed": 200, "pages": pages,
        "claim_every_ms": 20, "reference_s": reference_s,
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

pub(crate) fn item9(rep: &mut Report, opts: &Opts, _plan: &Plan) {
    let pg_was_up = postgres_sh(&["status"]).is_ok_and(|o| o.status.success());
    let mut details = String::from("#### Item 9: a store that has kept a million jobs (issue 20 item 4)\n\n");
    for (label, store) in [("SQLite", Ok("sqlite".to_string())), ("PostgreSQL", postgres_url())] {
        let bench = |what: &str| format!("9. a store of {} finished jobs, {label}: {what}", params(opts, "")["jobs"]);
        let store = match store {
            Ok(s) => s,
            Err(e) => {
                rep.na(bench("all figures"), &e, "-");
                continue;
            }
        };
        progress(&format!("item 9: {label}"));
        let task = Task::BigStore { params: params(opts, &store) };
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
    details.push_str(
        "Seeding: 200 real trivial jobs (tiny CLI, through a manager) copied in SQL to the size above (big_store_seed.rs): \
         one in ten `failed`, one in a hundred `cancelled`, all finished 90 days ago, each with its source's events. \
         PostgreSQL gets `VACUUM ANALYZE` after the load (what autovacuum does after a bulk load). \
         Pages: 100 jobs, read through `JobManager::list`; per filter, 100 pages from the newest on following the cursor, \
         then 100 from random places (a cursor at a random job). Start-up: `JobManager::builder()…build()` on the big store, \
         then a job submitted and claimed. Claim latency: a job's `started_at` (the store's claim time) − its `created_at` \
         (the submit), one trivial job every 20 ms, max_concurrent 4, isolation off; the reference without pruning, \
         then while one retention pass (jobs_days 30, batches of 500) deletes every copy. One round: seeding a million \
         jobs takes minutes. The SQLite file lies in the data dir on `BENCH_TMP` (tmpfs by default); \
         PostgreSQL is scripts/postgres.sh's server (`fsync=off`).\n",
    );
    rep.details.push(details);
}

fn f(v: &Value, path: &[&str]) -> f64 {
    path.iter().fold(v, |v, k| &v[*k]).as_f64().unwrap_or(f64::NAN)
}

fn rows(rep: &mut Report, v: &Value, bench: &dyn Fn(&str) -> String) {
    let list = v["list"].as_array().cloned().unwrap_or_default();
    let worst = list
        .iter()
        .map(|e| (e[0].as_str().unwrap_or("?").to_string(), f(&e[1], &["p99"])))
        .fold(("?".to_string(), 0.0f64), |a, b| if b.1 > a.1 { b } else { a });
    let by: Vec<String> = list
        .iter()
        .map(|e| format!("{} {:.2}", e[0].as_str().unwrap_or("?"), f(&e[1], &["p99"])))
        .collect();
    rep.row(
        bench("paged list with a state filter, p99 per page"),
        format!("worst filter `{}`: {:.2} ms (p99 by filter, ms: {})", worst.0, worst.1, by.join(", ")),
        format!("≤ {LIST_GOAL_MS} ms"),
        Met::of(worst.1 <= LIST_GOAL_MS),
    );
    let startup = f(v, &["build_ms"]) + f(v, &["submit_to_claim_ms"]);
    rep.row(
        bench("manager start-up to first claim"),
        format!(
            "{startup:.0} ms (build {:.0} ms, submit to claim {:.1} ms)",
            f(v, &["build_ms"]),
            f(v, &["submit_to_claim_ms"])
        ),
        format!("≤ {STARTUP_GOAL_MS} ms"),
        Met::of(startup <= STARTUP_GOAL_MS),
    );
    let p99 = f(v, &["prune_claims", "p99"]);
    rep.row(
        bench("claim latency while retention prunes them all, p99"),
        format!(
            "{p99:.0} ms (max {:.0}, {} claims over a {:.0} s pass deleting {} jobs); without pruning p99 {:.0} ms",
            f(v, &["prune_claims", "max"]),
            v["prune_claims"]["n"],
            f(v, &["prune_s"]),
            v["jobs_before_prune"].as_u64().unwrap_or(0).saturating_sub(v["jobs_after_prune"].as_u64().unwrap_or(0)),
            f(v, &["reference_claims", "p99"])
        ),
        format!("≤ {PRUNE_CLAIM_GOAL_MS} ms"),
        Met::of(p99 <= PRUNE_CLAIM_GOAL_MS),
    );
}

fn detail(label: &str, v: &Value) -> String {
    let mut s = format!(
        "{label}: {} jobs added in {:.0} s ({} event rows in all, the database {:.0} MB). \
         Before the pruning pass {} jobs, after it {}.\n\n| list filter | pages | p50 ms | p99 ms | max ms |\n|---|---|---|---|---|\n",
        v["seeded"]["added"],
        f(v, &["seeded", "seconds"]),
        v["seeded"]["events"],
        f(v, &["seeded", "db_bytes"]) / 1e6,
        v["jobs_before_prune"],
        v["jobs_after_prune"],
    );
    for e in v["list"].as_array().cloned().unwrap_or_default() {
        s.push_str(&format!(
            "| {} | {} | {:.2} | {:.2} | {:.2} |\n",
            e[0].as_str().unwrap_or("?"),
            e[1]["n"],
            f(&e[1], &["p50"]),
            f(&e[1], &["p99"]),
            f(&e[1], &["max"])
        ));
    }
    s.push_str("\n| claim latency | claims | p50 ms | p99 ms | max ms |\n|---|---|---|---|---|\n");
    for (k, name) in [("reference_claims", "without pruning"), ("prune_claims", "while pruning")] {
        s.push_str(&format!(
            "| {name} | {} | {:.0} | {:.0} | {:.0} |\n",
            v[k]["n"],
            f(v, &[k, "p50"]),
            f(v, &[k, "p99"]),
            f(v, &[k, "max"])
        ));
    }
    s.push('\n');
    s
}
