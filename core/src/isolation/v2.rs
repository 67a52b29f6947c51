//! cgroup v2: one group per job under `<own>/claude-jobs/mgr-…/`, with the
//! "no internal processes" rule handled by moving the manager into a leaf.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::GroupError;
use super::cgfs::{self, CgDir, Dir};
use super::{JobGroup, Sample, CPU_PERIOD_US, PARENT_DIR};
use crate::state::{IsolationKind, ResourceStats};
use crate::limits::ResourceLimits;

const CONTROLLERS: [&str; 3] = ["memory", "cpu", "pids"];
/// The leaf the manager moves its own cgroup's processes into.
pub(crate) const MANAGER_LEAF: &str = "claude-jobs-manager";

const HOW_TO_FIX: &str = "run the manager as root, or in a cgroup subtree delegated to its user \
(systemd: a unit with Delegate=yes; containers: a private cgroup namespace with /sys/fs/cgroup mounted read-write)";

#[derive(Debug)]
pub(crate) struct V2Root {
    own: PathBuf,
    parent: PathBuf,
    mgr_name: String,
}

impl V2Root {
    /// Finds the cgroup2 mount holding controllers and our place in it.
    pub(crate) fn detect() -> Option<Result<V2Root, String>> {
        // Prefer a mount with controllers (a hybrid host's `unified` has none).
        let mounts = cgfs::mounts("cgroup2");
        let has_controllers = |m: &&cgfs::Mount| {
            !cgfs::read(&m.point, "cgroup.controllers")
                .unwrap_or_default()
                .is_empty()
        };
        let m = mounts.iter().find(has_controllers).or(mounts.first())?;
        let own_path = cgfs::own_cgroups()
            .into_iter()
            .find(|(c, _)| c.is_empty())
            .map(|(_, p)| p)
            .unwrap_or_else(|| "/".into());
        let rel = Path::new(&own_path)
            .strip_prefix(&m.root)
            .map(Path::to_path_buf)
            .unwrap_or_else(|_| PathBuf::from(own_path.trim_start_matches('/')));
        let mut own = m.point.join(rel);
        // Already moved into our leaf by an earlier manager in this process.
        if own.file_name().map(|n| n == MANAGER_LEAF).unwrap_or(false) {
            own.pop();
        }
        let parent = own.join(PARENT_DIR);
        Some(Ok(V2Root {
            own,
            parent,
            mgr_name: cgfs::manager_dir_name(),
        }))
    }

    /// Enables the controllers down to this manager's directory, moving the
    /// manager's own processes into a leaf first when needed.
    pub(crate) fn prepare(&self) -> Result<(), String> {
        let available = cgfs::read(&self.own, "cgroup.controllers").unwrap_or_default();
        let missing: Vec<&str> = CONTROLLERS
            .iter()
            .copied()
            .filter(|c| !available.split_whitespace().any(|a| a == *c))
            .collect();
        if !missing.is_empty() {
            return Err(format!(
                "the controllers {missing:?} are not available in {} (cgroup.controllers: {available:?}); {HOW_TO_FIX}",
                self.own.display()
            ));
        }
        let is_root =
            self.own.join("cgroup.procs").exists() && !self.own.join("cgroup.type").exists();
        if !is_root && !enabled(&self.own) {
            // No internal processes: move every process of our cgroup into a leaf.
            let leaf = self.own.join(MANAGER_LEAF);
            mkdir(&leaf)?;
            for _ in 0..10 {
                let pids = cgfs::procs(&self.own);
                if pids.is_empty() {
                    break;
                }
                for p in pids {
                    // A process may exit between the read and the write.
                    let _ = cgfs::write(&leaf, "cgroup.procs", &p.to_string());
                }
            }
        }
        enable(&self.own)?;
        mkdir(&self.parent)?;
        enable(&self.parent)?;
        let mgr = self.parent.join(&self.mgr_name);
        mkdir(&mgr)?;
        enable(&mgr)
    }

    pub(crate) fn sweep_stale(&self) -> usize {
        let mut swept = 0;
        for mgr in cgfs::stale_manager_dirs(&self.parent) {
            for job in std::fs::read_dir(&mgr).into_iter().flatten().flatten() {
                if job.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                    V2Group {
                        dir: Dir::open(job.path()),
                    }
                    .kill_all(0);
                    swept += 1;
                }
            }
            let _ = cgfs::remove_dir(&mgr);
        }
        swept
    }

    pub(crate) fn create(&self, name: &str, limits: &ResourceLimits) -> Result<V2Group, GroupError> {
        let dir = self.parent.join(&self.mgr_name).join(name);
        mkdir(&dir).map_err(GroupError::Unavailable)?;
        let group = V2Group {
            dir: Dir::open(dir),
        };
        if let Err(e) = group.apply(limits) {
            group.destroy();
            return Err(e);
        }
        Ok(group)
    }

    pub(crate) fn remove(&self) {
        let _ = cgfs::remove_dir(&self.parent.join(&self.mgr_name));
    }
}

fn mkdir(dir: &Path) -> Result<(), String> {
    match std::fs::create_dir(dir) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(format!(
            "cannot create cgroup {}: {e}; {HOW_TO_FIX}",
            dir.display()
        )),
    }
}

fn enabled(dir: &Path) -> bool {
    let cur = cgfs::read(dir, "cgroup.subtree_control").unwrap_or_default();
    CONTROLLERS
        .iter()
        .all(|c| cur.split_whitespace().any(|x| x == *c))
}

fn enable(dir: &Path) -> Result<(), String> {
    if enabled(dir) {
        return Ok(());
    }
    let want = CONTROLLERS.map(|c| format!("+{c}")).join(" ");
    cgfs::write(dir, "cgroup.subtree_control", &want).map_err(|e| format!("{e}; {HOW_TO_FIX}"))?;
    if enabled(dir) {
        Ok(())
    } else {
        Err(format!(
            "controllers were not enabled in {}/cgroup.subtree_control; {HOW_TO_FIX}",
            dir.display()
        ))
    }
}

/// `avg10` of the `some` line of a PSI file
/// (`some avg10=1.23 avg60=… avg300=… total=…`), in percent.
fn some_avg10(text: &str) -> Option<f64> {
    let line = text
        .lines()
        .find(|l| l.split_whitespace().next() == Some("some"))?;
    line.split_whitespace()
        .find_map(|kv| kv.strip_prefix("avg10="))
        .and_then(|v| v.parse().ok())
}

#[derive(Debug)]
pub(crate) struct V2Group {
    dir: Dir,
}

impl V2Group {
    fn apply(&self, limits: &ResourceLimits) -> Result<(), GroupError> {
        let d = &self.dir;
        if cgfs::read(d, "cgroup.type").as_deref() == Ok("domain invalid") {
            return Err(GroupError::Unavailable(format!(
                "{} is 'domain invalid' (a parent holds processes)",
                d.path().display()
            )));
        }
        if let Some(bytes) = limits.memory {
            let page = 4096;
            let want = bytes / page * page;
            let ok = |s: &str| s.parse::<u64>().map(|v| v == want).unwrap_or(false);
            let refused = GroupError::refused("memory");
            cgfs::write_checked(d, "memory.max", &bytes.to_string(), ok).map_err(refused)?;
            if d.path().join("memory.swap.max").exists() {
                cgfs::write_checked(d, "memory.swap.max", "0", |s| s == "0").map_err(refused)?;
            }
            cgfs::write_checked(d, "memory.oom.group", "1", |s| s == "1").map_err(refused)?;
        }
        if let Some(cpus) = limits.cpus {
            let quota = ((cpus * CPU_PERIOD_US as f64).round() as u64).max(1000);
            let v = format!("{quota} {CPU_PERIOD_US}");
            cgfs::write_checked(d, "cpu.max", &v, |s| s == v).map_err(GroupError::refused("cpus"))?;
        }
        if let Some(pids) = limits.pids {
            let v = pids.to_string();
            cgfs::write_checked(d, "pids.max", &v, |s| s == v).map_err(GroupError::refused("pids"))?;
        }
        Ok(())
    }

    fn populated(&self) -> bool {
        cgfs::keyed(&self.dir, "cgroup.events", "populated").unwrap_or(0) != 0
    }
}

impl JobGroup for V2Group {
    fn kind(&self) -> IsolationKind {
        IsolationKind::CgroupV2
    }

    fn attach_paths(&self) -> Vec<PathBuf> {
        vec![self.dir.path().join("cgroup.procs")]
    }

    fn spawn_fd(&self) -> Option<std::os::fd::RawFd> {
        self.dir.raw_fd()
    }

    fn procs(&self) -> Vec<i32> {
        cgfs::procs(&self.dir)
    }

    fn is_empty(&self) -> bool {
        // `populated` counts the groups a job may have made under its own.
        !self.populated()
    }

    fn kill_all(&self, leader: i32) {
        let has_kill = self.dir.path().join("cgroup.kill").exists();
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let pids = self.procs();
            if pids.is_empty() && !self.populated() {
                return;
            }
            if has_kill {
                let _ = cgfs::write(&self.dir, "cgroup.kill", "1");
            } else {
                let _ = cgfs::write(&self.dir, "cgroup.freeze", "1");
                cgfs::kill_and_reap(&pids, leader);
                let _ = cgfs::write(&self.dir, "cgroup.freeze", "0");
            }
            std::thread::sleep(Duration::from_millis(2));
            cgfs::reap(&pids, leader);
            if Instant::now() > deadline {
                return;
            }
        }
    }

    fn oom_kills(&self) -> u64 {
        // With memory.oom.group=1 the kernel counts the victim twice in
        // `oom_kill`: once as the victim, once more as a member of the group
        // it then kills (seen on 6.1: one process, oom_kill 2). Each group
        // kill (`oom_group_kill`, 5.16+) adds that one extra count.
        let kills = cgfs::keyed(&self.dir, "memory.events", "oom_kill").unwrap_or(0);
        let groups = cgfs::keyed(&self.dir, "memory.events", "oom_group_kill").unwrap_or(0);
        if groups == 0 {
            kills
        } else {
            kills.saturating_sub(groups).max(groups)
        }
    }

    fn sample(&self) -> Sample {
        // Absent when PSI is off (Debian kernels: psi=1 on the command line turns it on).
        let pressure = std::fs::read_to_string(self.dir.path().join("memory.pressure"))
            .ok()
            .and_then(|s| some_avg10(&s));
        Sample {
            memory_bytes: cgfs::read_u64(&self.dir, "memory.current"),
            memory_cap_hits: cgfs::keyed(&self.dir, "memory.events", "max").unwrap_or(0),
            refaults: cgfs::refaults(&self.dir),
            pressure_avg10: pressure,
            processes: cgfs::read_u64(&self.dir, "pids.current"),
        }
    }

    fn stats(&self) -> ResourceStats {
        let d = &self.dir;
        let [usage, throttled, nr_throttled] = cgfs::keyed_many(
            d,
            "cpu.stat",
            ["usage_usec", "throttled_usec", "nr_throttled"],
        );
        ResourceStats {
            peak_memory_bytes: cgfs::read_u64(d, "memory.peak"),
            cpu_usage_usec: usage,
            cpu_throttled_usec: throttled,
            nr_throttled,
            peak_processes: cgfs::read_u64(d, "pids.peak"),
            memory_cap_hits: cgfs::keyed(d, "memory.events", "max").unwrap_or(0),
            memory_refaults: cgfs::refaults(d),
            oom_kills: self.oom_kills(),
        }
    }

    fn destroy(&self) -> bool {
        cgfs::remove_dir(self.dir.path()).is_ok()
    }

    fn try_destroy(&self) -> bool {
        cgfs::remove_dir_once(self.dir.path())
    }

    fn paths(&self) -> Vec<PathBuf> {
        vec![self.dir.path().to_path_buf()]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn psi_some_avg10() {
        let text = "some avg10=12.50 avg60=3.00 avg300=0.10 total=123456\nfull avg10=7.00 avg60=1.00 avg300=0.00 total=999\n";
        assert_eq!(some_avg10(text), Some(12.5));
        assert_eq!(
            some_avg10("full avg10=7.00 avg60=1.00 avg300=0.00 total=9\n"),
            None
        );
        assert_eq!(some_avg10(""), None);
    }
}
