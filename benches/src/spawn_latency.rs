//! Item 7: how long a job takes to start, one job at a time after a pause
//! (the case of a service that gets a request now and then): submit → the
//! `started` event (job accepted, cgroup made and capped, CLI spawned) and
//! submit → done, through the manager with the memory store, for:
//! isolation off (the bare spawn), cgroups with the CLI born in its group
//! (`clone3` + `CLONE_INTO_CGROUP`, cgroup v2) and cgroups with the CLI
//! moved in before exec (`CLAUDE_JOBS_SPAWN_ATTACH=1`: the way before, and
//! the only one on cgroup v1). Run in the cgroup v2 guest by `make bench`
//! (scripts/cgroup-v2-guest.sh), and on the host for the v1 figures.

use std::path::Path;
use std::time::{Duration, Instant};

use claude_jobs::{IsolationMode, JobEvent, JobSpec, JobState};
use serde::{Deserialize, Serialize};

use crate::jobs::{self, Store, TempDir};

/// The ways measured, in the order of [`SpawnLatency::ways`].
pub const WAYS: [(&str, &str); 3] = [
    ("off", "isolation off (bare spawn)"),
    ("clone3", "cgroups, CLI born in its group (clone3 + CLONE_INTO_CGROUP)"),
    ("attach", "cgroups, CLI moved in before exec (CLAUDE_JOBS_SPAWN_ATTACH=1)"),
];

/// One way's jobs, in ms.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct SpawnLatency {
    pub way: String,
    /// Submit → `started`, per job.
    pub to_started_ms: Vec<f64>,
    /// Submit → `wait` returned, per job.
    pub to_done_ms: Vec<f64>,
    pub isolation: String,
    pub error: Option<String>,
}

/// Runs `jobs` trivial jobs one at a time, `pause` apart, the way `way`
/// (see [`WAYS`]); the first `warmup` are not recorded.
pub async fn run(cli: &Path, way: &str, jobs: usize, warmup: usize, pause: Duration) -> SpawnLatency {
    let mut out = SpawnLatency {
        way: way.to_string(),
        ..Default::default()
    };
    if way == "attach" {
        // Read by the manager at every spawn; this process runs this way only.
        std::env::set_var("CLAUDE_JOBS_SPAWN_ATTACH", "1");
    }
    let cgroups = way != "off";
    let iso = if cgroups { IsolationMode::Required } else { IsolationMode::Off };
    let dir = TempDir::new("spawn");
    let m = match jobs::manager(cli, &dir.0, 1, iso, Store::Memory).await {
        Ok(m) => m,
        Err(e) => {
            out.error = Some(e.to_string());
            return out;
        }
    };
    // The trivial job with caps that fit the guest (2 GB, its initramfs in RAM).
    let b = JobSpec::builder().prompt(crate::floor::PROMPT).env("FAKE_CLAUDE_SCENARIO", "trivial");
    let b = if cgroups { b.memory("256M").cpus(1.0).pids(256) } else { b };
    let spec = b.build().expect("a valid spec");
    for i in 0..warmup + jobs {
        tokio::time::sleep(pause).await;
        let t0 = Instant::now();
        let job = match m.submit(spec.clone()).await {
            Ok(j) => j,
            Err(e) => {
                out.error = Some(e.to_string());
                break;
            }
        };
        let mut events = job.events(0);
        let mut started = None;
        while let Some(rec) = events.next().await {
            if matches!(rec.event, JobEvent::Started { .. }) {
                started = Some(t0.elapsed());
                break;
            }
        }
        let info = job.wait().await;
        let done = t0.elapsed();
        if info.state != JobState::Succeeded {
            out.error = Some(format!("{}: {}", info.state, info.error.unwrap_or_default()));
            break;
        }
        out.isolation = info.isolation.to_string();
        if i >= warmup {
            out.to_started_ms.push(started.unwrap_or(done).as_secs_f64() * 1000.0);
            out.to_done_ms.push(done.as_secs_f64() * 1000.0);
        }
    }
    m.shutdown(Duration::from_secs(5)).await;
    out
}
