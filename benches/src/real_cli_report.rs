//! Item 6's rows: the real CLI's runs, the time the manager adds to each
//! (paired with the direct run of the same round) and where it goes.

use std::path::PathBuf;

use crate::real_cli::{RealCliResult, Run, WAYS};
use crate::report::{Met, Report};
use crate::spread::Spread;
use crate::suite::{child, median, progress, Opts, Plan};
use crate::Task;

/// The goal: the default configuration adds at most this share of the
/// direct run (median of the paired differences over the median direct run).
const GOAL_PCT: f64 = 1.0;
/// The way the goal is set for (see [`WAYS`]).
const DEFAULT_WAY: usize = 3;

type Segment = fn(&Run) -> f64;
const SEGMENTS: [(&str, Segment); 5] = [
    ("wall", |r| r.wall),
    ("before the spawn", |r| r.before_spawn),
    ("spawn to first line", |r| r.to_first),
    ("first to last line (the CLI)", |r| r.cli),
    ("last line to outcome", |r| r.to_outcome),
];

fn ms(x: f64) -> String {
    format!("{:.1}", x * 1000.0)
}

/// Way `w`'s run minus the direct run of the same round, segment by segment.
fn added(r: &RealCliResult, w: usize, seg: Segment) -> Vec<f64> {
    r.runs[w].iter().zip(&r.runs[0]).map(|(m, d)| seg(m) - seg(d)).collect()
}

pub(crate) fn item6(rep: &mut Report, opts: &Opts, plan: &Plan) {
    let bench = |w: &str| format!("6. real Claude CLI vs the mock API ({} interleaved runs): {w}", plan.real_runs);
    let bin = match opts.prepared("claude") {
        Ok(b) => PathBuf::from(b),
        Err(e) => return rep.na(bench(WAYS[0]), &e, "-"),
    };
    progress(&format!("item 6: the real CLI ({}), {} runs each way", bin.display(), plan.real_runs));
    let task = Task::RealCli { bin, runs: plan.real_runs };
    let r = child(opts, &task)
        .and_then(|v| serde_json::from_value::<RealCliResult>(v).map_err(|e| format!("bad result: {e}")));
    let r = match r {
        Ok(r) if r.error.is_none() && r.runs.len() == WAYS.len() && !r.runs[0].is_empty() => r,
        Ok(r) => return rep.na(bench(WAYS[0]), &r.error.unwrap_or_else(|| "no run".into()), "-"),
        Err(e) => return rep.na(bench(WAYS[0]), &e, "-"),
    };
    let walls = |w: usize| r.runs[w].iter().map(|x| x.wall).collect::<Vec<_>>();
    let d = Spread::of(walls(0));
    let direct = d.med;
    rep.row(
        bench("direct (prompt on stdin, same env)"),
        format!("median {direct:.3} s ({})", d.range(3)),
        "-",
        Met::Info,
    );
    for (w, way) in WAYS.iter().enumerate().skip(1) {
        let diffs = Spread::of(added(&r, w, |x| x.wall));
        let (add, amin, amax) = (diffs.med, diffs.min, diffs.max);
        let pct = add / direct * 100.0;
        let by_segment: Vec<String> = SEGMENTS[1..]
            .iter()
            .map(|(name, seg)| format!("{name} {:+.1}", median(added(&r, w, *seg)) * 1000.0))
            .collect();
        let (goal, met) = if w == DEFAULT_WAY {
            (format!("≤ {GOAL_PCT} % added (median)"), Met::of(pct <= GOAL_PCT))
        } else {
            ("- (report)".to_string(), Met::Info)
        };
        rep.row(
            bench(way),
            format!(
                "median {:.3} s: {:+.1} ms = {pct:+.2} % of the run (min {:+.1}, max {:+.1} ms); by segment, ms: {}",
                median(walls(w)),
                add * 1000.0,
                amin * 1000.0,
                amax * 1000.0,
                by_segment.join(", ")
            ),
            goal,
            met,
        );
    }
    rep.details.push(details(&r));
}

/// The medians of every segment per way, then the added time per segment.
fn details(r: &RealCliResult) -> String {
    let head = SEGMENTS.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(" | ");
    let mut md = format!(
        "#### Item 6: the real CLI, segment by segment\n\n\
         {} rounds after one unrecorded warm-up round; in each round every way runs once, the order \
         rotating from round to round. Segments: before the spawn (direct: `spawn` returning; manager: \
         submit to the `started` event: job stored, cgroup made and capped, process spawned), spawn to \
         the first stdout line (manager: as a subscriber receives its event), first to last line (the \
         `result`: the CLI's own work), last line to the outcome (direct: exit reaped; manager: final \
         state stored and `wait` returned). Medians in ms:\n\n| way | {head} |\n|---|---|---|---|---|---|\n",
        r.runs[0].len()
    );
    for (w, way) in WAYS.iter().enumerate() {
        let cells: Vec<String> = SEGMENTS.iter().map(|(_, seg)| ms(median(r.runs[w].iter().map(seg).collect()))).collect();
        md.push_str(&format!("| {way} | {} |\n", cells.join(" | ")));
    }
    md.push_str(&format!("\nAdded to the direct run of the same round (median of the differences, ms):\n\n| way | {head} |\n|---|---|---|---|---|---|\n"));
    for (w, way) in WAYS.iter().enumerate().skip(1) {
        let cells: Vec<String> = SEGMENTS.iter().map(|(_, seg)| format!("{:+.1}", median(added(r, w, *seg)) * 1000.0)).collect();
        md.push_str(&format!("| {way} | {} |\n", cells.join(" | ")));
    }
    md
}
