//! Item 10's rows: several manager processes on one PostgreSQL (issue 20 item 5).
//!
//! The jobs are queued once, into a template database, by a manager whose
//! claims are held closed (timed apart, not counted). Each run (1, 2 or 4
//! nodes; the order rotated from round to round) gets a copy of it
//! (`CREATE DATABASE … TEMPLATE`) and starts its node processes, which all
//! build their manager at the same agreed instant and run until the queue is
//! empty. Throughput: jobs / (last result stored − that instant).

use std::collections::{BTreeMap, HashMap};
use std::time::Instant;

use serde_json::{json, Value};

use crate::measure::unix_ms;
use crate::nodes_pg::{machine_busy_s, Pg};
use crate::report::{Met, Report};
use crate::spread::Spread;
use crate::suite::{child_on, median, progress, Opts, Plan};
use crate::Task;

const NODES: [usize; 3] = [1, 2, 4];
const CONC: usize = 16;
const TEMPLATE: &str = "cj_bench_nodes_tpl";
/// A new round starts only if, taking as long as the last one, it would end
/// within this many seconds of the first (five rounds take about 8 minutes).
const BUDGET_S: f64 = 660.0;
/// The goal: 4 nodes ≥ 3× the throughput of 1.
const GOAL: f64 = 3.0;

/// Every run, by number of nodes.
type Runs = BTreeMap<usize, Vec<Result<RunOut, String>>>;

/// One run: `nodes` processes on one copy of the queue.
struct RunOut {
    jobs: usize,
    wall_s: f64,
    /// The latest a node built its manager after the agreed instant (ms).
    late_ms: f64,
    mgr_cpu_s: f64,
    cli_cpu_s: f64,
    pg_cpu_s: Option<f64>,
    machine_s: f64,
    claim_us: Vec<u64>,
    claim_n: Vec<u64>,
    per_node: Vec<usize>,
    /// Exactly once: true, and what was checked.
    once: (bool, String),
}

impl RunOut {
    fn rate(&self) -> f64 {
        self.jobs as f64 / self.wall_s
    }
}

fn f(v: &Value, k: &str) -> f64 {
    v[k].as_f64().unwrap_or(0.0)
}

fn u64s(v: &Value, k: &str) -> Vec<u64> {
    v[k].as_array()
        .map(|a| a.iter().filter_map(Value::as_u64).collect())
        .unwrap_or_default()
}

/// Each job claimed once over all nodes, no stale result nor requeue, and in
/// the database: every row succeeded at attempt 1 with exactly one `started` event.
fn exactly_once(pg: &Pg, db: &str, outs: &[Value], jobs: usize) -> Result<(bool, String), String> {
    let mut claimed: HashMap<&str, u32> = HashMap::new();
    for o in outs {
        for id in o["claimed"].as_array().into_iter().flatten() {
            *claimed.entry(id.as_str().unwrap_or_default()).or_default() += 1;
        }
    }
    let twice = claimed.values().filter(|&&c| c > 1).count();
    let stale: u64 = outs.iter().map(|o| o["stale"].as_u64().unwrap_or(0)).sum();
    let requeues: u64 = outs.iter().map(|o| o["requeues"].as_u64().unwrap_or(0)).sum();
    let nums = |q: &str| -> Result<Vec<usize>, String> {
        let s = pg.sql(db, q)?;
        Ok(s.split('|').filter_map(|x| x.trim().parse().ok()).collect())
    };
    let rows = nums(
        "SELECT count(*), count(*) FILTER (WHERE state = 'succeeded' AND attempt = 1) FROM cj_jobs",
    )?;
    let starts = nums(
        "SELECT count(*) FILTER (WHERE c = 1), count(*) FILTER (WHERE c > 1) FROM \
         (SELECT job_id, count(*) AS c FROM cj_events WHERE event->>'type' = 'started' GROUP BY job_id) s",
    )?;
    let (rows_n, ok_n) = (rows.first().copied().unwrap_or(0), rows.get(1).copied().unwrap_or(0));
    let (one, more) = (starts.first().copied().unwrap_or(0), starts.get(1).copied().unwrap_or(0));
    let ok = claimed.len() == jobs
        && twice == 0
        && stale == 0
        && requeues == 0
        && rows_n == jobs
        && ok_n == jobs
        && one == jobs
        && more == 0;
    Ok((
        ok,
        format!(
            "{} ids claimed ({twice} more than once), {stale} stale results, {requeues} requeues; \
             {ok_n} of {rows_n} rows succeeded at attempt 1; {one} jobs with one `started` event, {more} with more"
        , claimed.len()),
    ))
}

fn run_one(opts: &Opts, pg: &Pg, n: usize, round: usize, jobs: usize) -> Result<RunOut, String> {
    let db = format!("cj_bench_nodes_r{round}_n{n}");
    let url = pg.copy_db(&db, TEMPLATE)?;
    // Time for the node processes to start and connect.
    let start_at = (unix_ms() + 1500.0 + 300.0 * n as f64) as u64;
    let tiny = opts.trivial_cli().0;
    let (before, results, after) = std::thread::scope(|s| {
        let before = s.spawn(|| {
            let wait = start_at as f64 - unix_ms();
            if wait > 0.0 {
                std::thread::sleep(std::time::Duration::from_secs_f64(wait / 1000.0));
            }
            (pg.cpu_s(), machine_busy_s())
        });
        let nodes: Vec<_> = (0..n)
            .map(|i| {
                let task = Task::Nodes {
                    params: json!({ "mode": "node", "url": url, "conc": CONC, "node_id": format!("bench-node{i}-r{round}"),
                        "start_at_ms": start_at, "max_s": 300.0 }),
                };
                s.spawn(move || child_on(tiny, &task))
            })
            .collect();
        let results: Vec<Result<Value, String>> = nodes.into_iter().map(|h| h.join().unwrap()).collect();
        let after = (pg.cpu_s(), machine_busy_s());
        (before.join().unwrap(), results, after)
    });
    let outs: Vec<Value> = results.into_iter().collect::<Result<_, _>>()?;
    let last = outs
        .iter()
        .filter(|o| o["finished"].as_u64().unwrap_or(0) > 0)
        .map(|o| f(o, "last_finish_ms"))
        .fold(f64::NAN, f64::max);
    let once = exactly_once(pg, &db, &outs, jobs)?;
    let _ = pg.drop_db(&db);
    Ok(RunOut {
        jobs,
        wall_s: (last - start_at as f64) / 1000.0,
        late_ms: outs.iter().map(|o| f(o, "built_ms")).fold(0.0, f64::max),
        mgr_cpu_s: outs.iter().map(|o| f(o, "self_cpu_s")).sum(),
        cli_cpu_s: outs.iter().map(|o| f(o, "children_cpu_s")).sum(),
        pg_cpu_s: after.0.zip(before.0).map(|(a, b)| a - b),
        machine_s: after.1 - before.1,
        claim_us: outs.iter().flat_map(|o| u64s(o, "claim_us")).collect(),
        claim_n: outs.iter().flat_map(|o| u64s(o, "claim_n")).collect(),
        per_node: outs.iter().map(|o| o["claimed"].as_array().map_or(0, Vec::len)).collect(),
        once,
    })
}

fn pct(v: &[u64], p: f64) -> f64 {
    let mut v = v.to_vec();
    v.sort_unstable();
    if v.is_empty() {
        return f64::NAN;
    }
    let i = ((v.len() as f64 * p).ceil() as usize).clamp(1, v.len()) - 1;
    v[i] as f64 / 1000.0
}

/// Seeds the template, then every configuration once per round.
fn measure(opts: &Opts, pg: &Pg, jobs: usize, rounds: usize) -> Result<(f64, Runs), String> {
    progress(&format!("item 10: queueing {jobs} trivial jobs in PostgreSQL (port {})", pg.port));
    let task = Task::Nodes {
        params: json!({ "mode": "seed", "url": pg.url(TEMPLATE), "jobs": jobs }),
    };
    let seeded = child_on(opts.trivial_cli().0, &task)?;
    if seeded["queued"].as_u64() != Some(jobs as u64) {
        return Err(format!("seeding queued {} of {jobs} jobs", seeded["queued"]));
    }
    progress(&format!("item 10: queued in {:.1} s", f(&seeded, "submit_s")));
    let t0 = Instant::now();
    let mut runs = Runs::new();
    for round in 0..rounds {
        let per_round = t0.elapsed().as_secs_f64() / round.max(1) as f64;
        if round > 0 && t0.elapsed().as_secs_f64() + per_round > BUDGET_S {
            progress(&format!("item 10: stopping after {round} of {rounds} rounds (a {BUDGET_S} s budget)"));
            break;
        }
        for k in 0..NODES.len() {
            let n = NODES[(k + round) % NODES.len()];
            progress(&format!("item 10: round {}/{rounds}: {n} node(s)", round + 1));
            let r = run_one(opts, pg, n, round, jobs);
            match &r {
                Ok(o) => progress(&format!("  {:.0} jobs/s, exactly once: {}", o.rate(), o.once.0)),
                Err(e) => progress(&format!("  {n} nodes: {e}")),
            }
            runs.entry(n).or_default().push(r);
        }
    }
    Ok((f(&seeded, "submit_s"), runs))
}

pub(crate) fn item10(rep: &mut Report, opts: &Opts, _plan: &Plan) {
    let (jobs, rounds) = if opts.quick { (500, 1) } else { (10_000, opts.rounds.unwrap_or(5)) };
    let bench = |what: &str| format!("10. {jobs} trivial jobs, managers of max_concurrent {CONC} on one PostgreSQL: {what}");
    let pg = match Pg::start(TEMPLATE) {
        Ok((pg, _)) => pg,
        Err(e) => return rep.na(bench("1, 2, 4 nodes"), &e, format!("≥ {GOAL}× from 1 to 4 nodes")),
    };
    let r = measure(opts, &pg, jobs, rounds);
    let _ = pg.drop_db(TEMPLATE);
    if let Some(e) = pg.finish() {
        progress(&format!("item 10: stopping PostgreSQL: {e}"));
    }
    match r {
        Ok((submit_s, runs)) => rows(rep, &bench, (jobs, rounds), submit_s, &runs),
        Err(e) => rep.na(bench("1, 2, 4 nodes"), &e, format!("≥ {GOAL}× from 1 to 4 nodes")),
    }
}

/// A configuration over its rounds: (jobs/s, the runs that worked).
fn summary(runs: &[Result<RunOut, String>]) -> Option<(Spread, Vec<&RunOut>)> {
    let ok: Vec<&RunOut> = runs.iter().filter_map(|r| r.as_ref().ok()).collect();
    (!ok.is_empty()).then(|| (Spread::of(ok.iter().map(|r| r.rate())), ok))
}

fn rows(rep: &mut Report, bench: &dyn Fn(&str) -> String, (jobs, rounds): (usize, usize), submit_s: f64, runs: &Runs) {
    let mut rates = BTreeMap::new();
    // Cores the machine spent on other work during each configuration.
    let mut others = BTreeMap::new();
    let mut claims = Vec::new();
    for n in NODES {
        let all = runs.get(&n).map(Vec::as_slice).unwrap_or_default();
        let Some((rate, ok)) = summary(all) else {
            let e = all.iter().find_map(|r| r.as_ref().err().cloned()).unwrap_or_else(|| "not run".into());
            rep.na(bench(&format!("{n} node(s)")), &e, "report");
            continue;
        };
        let ours = |r: &RunOut| r.mgr_cpu_s + r.cli_cpu_s + r.pg_cpu_s.unwrap_or(0.0);
        rates.insert(n, rate.med);
        others.insert(n, median(ok.iter().map(|r| (r.machine_s - ours(r)) / r.wall_s).collect()));
        let per_job = |g: &dyn Fn(&RunOut) -> f64| median(ok.iter().map(|r| g(r) * 1000.0 / r.jobs as f64).collect());
        let busy = |g: &dyn Fn(&RunOut) -> f64| median(ok.iter().map(|r| g(r) / r.wall_s).collect());
        rep.row(
            bench(&format!("{n} node(s), throughput")),
            format!("{:.0} jobs/s (median of {} rounds; {})", rate.med, rate.n, rate.range(0)),
            "report",
            Met::Info,
        );
        rep.row(
            bench(&format!("{n} node(s), CPU per job: managers / PostgreSQL / CLIs")),
            format!(
                "{:.2} / {:.2} / {:.2} ms; these use {:.2} of 2 cores, the machine {:.2}",
                per_job(&|r| r.mgr_cpu_s),
                per_job(&|r| r.pg_cpu_s.unwrap_or(f64::NAN)),
                per_job(&|r| r.cli_cpu_s),
                busy(&ours),
                busy(&|r| r.machine_s)
            ),
            "report",
            Met::Info,
        );
        let us: Vec<u64> = ok.iter().flat_map(|r| r.claim_us.iter().copied()).collect();
        claims.push(format!("{n}: {:.1} ms (p50 {:.1})", pct(&us, 0.99), pct(&us, 0.5)));
    }
    if !claims.is_empty() {
        rep.row(bench("p99 claim latency (the store's claim call), by nodes"), claims.join("; "), "report", Met::Info);
    }
    if let (Some(one), Some(four)) = (rates.get(&1), rates.get(&4)) {
        let x = four / one;
        let (o1, o4) = (others.get(&1).copied().unwrap_or(0.0), others.get(&4).copied().unwrap_or(0.0));
        let shared = if o1.max(o4) > 0.25 {
            format!(" (other work on the machine took {o1:.2} cores during 1 node, {o4:.2} during 4: not a clean figure)")
        } else {
            String::new()
        };
        // Each round ran 1 and 4 nodes: their ratio, round by round.
        let rate = |n: usize, i: usize| runs.get(&n).and_then(|v| v.get(i)).and_then(|r| r.as_ref().ok()).map(RunOut::rate);
        let by_round = Spread::of((0..rounds).filter_map(|i| Some(rate(4, i)? / rate(1, i)?)));
        rep.row(
            bench("throughput 4 nodes / 1 node"),
            format!("{x:.2}× (of the medians; by round {}){shared}", by_round.range(2)),
            format!("≥ {GOAL}×"),
            Met::of(x >= GOAL),
        );
    }
    let done: Vec<&RunOut> = runs.values().flatten().filter_map(|r| r.as_ref().ok()).collect();
    if !done.is_empty() {
        let good = done.iter().filter(|r| r.once.0).count();
        rep.row(
            bench("each job ran exactly once (claims, rows, `started` events)"),
            format!("{good} of {} runs: every job exactly once", done.len()),
            "every job exactly once",
            Met::of(good == done.len()),
        );
    }
    rep.details.push(details(jobs, rounds, submit_s, runs));
}

fn details(jobs: usize, rounds: usize, submit_s: f64, runs: &Runs) -> String {
    let mut d = format!(
        "#### Item 10: several manager processes on one PostgreSQL\n\n\
         {jobs} trivial jobs (the tiny CLI) queued once into a template database by a manager whose claims are \
         held closed ({submit_s:.1} s, 32 submits in flight; not counted); each run gets a copy of it \
         (`CREATE DATABASE … TEMPLATE`). 1, 2 and 4 node processes (`claude-jobs-bench child`), each a \
         `JobManager` with max_concurrent {CONC}, its own node id, isolation off (this item measures the shared \
         queue, not cgroups), the default poll interval and lease, build their manager at one agreed instant and \
         run until the queue is empty; up to {rounds} rounds (a new one only if it fits in {BUDGET_S:.0} s), the \
         order of 1, 2, 4 rotated from round to round. Throughput: jobs / \
         (the last result stored − that instant). Claim latency: the duration of the store's `claim` call as the \
         manager makes it (a timing wrapper around the `PgStore`, given through the builder's `store`), over \
         every call, including those that found nothing. CPU: the node processes' own (getrusage, from the \
         instant to the queue's end), their reaped CLIs', and PostgreSQL's (the postmaster and its children, \
         from /proc, the same span); the machine's busy time from /proc/stat (other work included). Exactly \
         once: every id claimed once over all nodes (the wrapper records each claim's ids), no stale result \
         nor requeue, every row `succeeded` at attempt 1, each job with exactly one `started` event.\n\n\
         | nodes | round | jobs/s | wall s | late start ms | manager / PG / CLI CPU ms per job | cores (ours) | cores (machine) | claims | jobs per claim | PG CPU / claims, ms | claim p50 / p99 / max ms | jobs per node | exactly once |\n\
         |---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n"
    );
    for (n, rs) in runs {
        for (round, r) in rs.iter().enumerate() {
            match r {
                Ok(r) => {
                    let pgc = r.pg_cpu_s.unwrap_or(f64::NAN);
                    let claimed: u64 = r.claim_n.iter().sum();
                    d.push_str(&format!(
                        "| {n} | {} | {:.0} | {:.2} | {:.0} | {:.3} / {:.3} / {:.3} | {:.2} | {:.2} | {} | {:.2} | {:.1} | {:.1} / {:.1} / {:.1} | {:?} | {}: {} |\n",
                        round + 1,
                        r.rate(),
                        r.wall_s,
                        r.late_ms,
                        r.mgr_cpu_s * 1000.0 / r.jobs as f64,
                        pgc * 1000.0 / r.jobs as f64,
                        r.cli_cpu_s * 1000.0 / r.jobs as f64,
                        (r.mgr_cpu_s + r.cli_cpu_s + pgc) / r.wall_s,
                        r.machine_s / r.wall_s,
                        r.claim_us.len(),
                        claimed as f64 / r.claim_us.len().max(1) as f64,
                        pgc * 1000.0 / r.claim_us.len().max(1) as f64,
                        pct(&r.claim_us, 0.5),
                        pct(&r.claim_us, 0.99),
                        pct(&r.claim_us, 1.0),
                        r.per_node,
                        if r.once.0 { "yes" } else { "NO" },
                        r.once.1
                    ));
                }
                Err(e) => d.push_str(&format!("| {n} | {} | error: {} |\n", round + 1, crate::report::one_line(e, 200))),
            }
        }
    }
    d
}
