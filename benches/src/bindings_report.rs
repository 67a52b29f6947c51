//! Item 5's rows: the Python and Node bindings against the Rust reference,
//! trivial jobs submitted and waited for one at a time.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::jobs::{self, Store};
use crate::report::{Met, Report};
use crate::suite::{batch, child, progress, run_json, summarize, Opts, Plan, Summ};
use crate::{BatchResult, Task};

pub(crate) fn item5(rep: &mut Report, opts: &Opts, plan: &Plan) {
    // The same file system as the Rust reference's data dirs (tmpfs): on the
    // disk each job's log dir costs the bindings ~0.1-0.5 ms more.
    let data = jobs::data_base().join(format!("claude-jobs-bench-{}-bindings", std::process::id()));
    let python = opts.prepared("python");
    let node = opts.prepared("node");
    let script_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("bindings");
    let (jobs, warmup) = (plan.seq_jobs.to_string(), plan.seq_warmup.to_string());
    let mut rust: BTreeMap<&str, Vec<Result<BatchResult, String>>> = BTreeMap::new();
    let mut py = Vec::new();
    let mut js = Vec::new();
    let mut node_store = String::from("memory");
    for round in 0..plan.rounds {
        progress(&format!(
            "item 5, round {}/{}: submit → wait, sequential",
            round + 1,
            plan.rounds
        ));
        for store in [Store::Memory, Store::Sqlite] {
            let task = Task::Sequential {
                jobs: plan.seq_jobs,
                warmup: plan.seq_warmup,
                store,
            };
            rust.entry(store.label())
                .or_default()
                .push(batch(child(opts, &task)));
        }
        if let Ok(interp) = &python {
            let _ = std::fs::remove_dir_all(&data);
            py.push(batch(run_json(
                Command::new(interp)
                    .arg(script_dir.join("python_bench.py"))
                    .arg("--claude-bin")
                    .arg(opts.trivial_cli().0)
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
                    .arg(opts.trivial_cli().0)
                    .arg("--data-dir")
                    .arg(&data)
                    .args(["--jobs", &jobs, "--warmup", &warmup]),
            );
            if let Some(s) = v
                .as_ref()
                .ok()
                .and_then(|v| v.get("store"))
                .and_then(Value::as_str)
            {
                node_store = s.to_string();
            }
            js.push(batch(v));
        }
    }
    let _ = std::fs::remove_dir_all(&data);
    let goal = "< 0.3 ms added";
    let r_mem = summarize(rust.get("memory").map(Vec::as_slice).unwrap_or(&[]));
    let r_sql = summarize(rust.get("SQLite").map(Vec::as_slice).unwrap_or(&[]));
    let bench = |who: &str| {
        format!(
            "5. {} trivial jobs, submit → wait one at a time: {who}",
            plan.seq_jobs
        )
    };
    for (label, r) in [
        ("Rust, memory store", &r_mem),
        ("Rust, SQLite store", &r_sql),
    ] {
        match r {
            Ok(s) => rep.row(
                bench(label),
                format!("{:.3} ms/job", s.ms),
                "reference",
                Met::Info,
            ),
            Err(e) => rep.na(bench(label), e, "reference"),
        }
    }
    let mut binding = |who: &str,
                       prepared: &Result<String, String>,
                       runs: &[Result<BatchResult, String>],
                       reference: &Result<Summ, String>| {
        let b = bench(who);
        let s = match prepared {
            Err(e) => return rep.na(b, e, goal),
            Ok(_) => summarize(runs),
        };
        match (s.as_ref(), reference) {
            (Ok(s), Ok(r)) => {
                let added = s.ms - r.ms;
                rep.row(
                    b,
                    format!("{:.3} ms/job = {added:+.3} ms vs Rust", s.ms),
                    goal,
                    Met::of(added < 0.3),
                );
            }
            (Err(e), _) | (_, Err(e)) => rep.na(b, e, goal),
        }
    };
    binding("Python binding (memory store)", &python, &py, &r_mem);
    let node_ref = if node_store == "memory" {
        &r_mem
    } else {
        &r_sql
    };
    let node_label = if node_store == "memory" {
        "Node binding (memory store)".to_string()
    } else {
        "Node binding (its default store; it takes no storeUrl)".to_string()
    };
    binding(&node_label, &node, &js, node_ref);
}
