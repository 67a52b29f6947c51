//! cgroup v1: one group per controller (memory, cpu, cpuacct, pids), each
//! nested under the manager's own group in that hierarchy. No freezer group:
//! to kill a tree, `pids.max` is set to 0 first, so nothing in the group can
//! fork between reading its process list and the kills (one directory less
//! to make and remove per job).

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::GroupError;
use super::cgfs::{self, CgDir, Dir};
use super::{JobGroup, Sample, CPU_PERIOD_US, PARENT_DIR};
use crate::state::{IsolationKind, ResourceStats};
use crate::limits::ResourceLimits;

const REQUIRED: [&str; 3] = ["memory", "cpu", "pids"];
const OPTIONAL: [&str; 1] = ["cpuacct"];

/// The manager's groups in each v1 hierarchy.
#[derive(Debug)]
pub(crate) struct V1Root {
    /// `(controller, <mount>/<own>/claude-jobs)`.
    parents: Vec<(&'static str, PathBuf)>,
    mgr_name: String,
    /// Whether the memory hierarchy has swap accounting (`memory.memsw.*`).
    memsw: bool,
}

impl V1Root {
    /// Finds the v1 hierarchies and this process's place in them. `None` when
    /// there is no v1 memory hierarchy.
    pub(crate) fn detect() -> Option<Result<V1Root, String>> {
        let mounts = cgroups_rs::fs::hierarchies::mountinfo_self();
        let own = cgfs::own_cgroups();
        let mount_of = |ctrl: &str| {
            mounts
                .iter()
                .find(|m| m.fs_type.0 == "cgroup" && m.super_opts.iter().any(|o| o == ctrl))
        };
        mount_of("memory")?;
        let mut parents = Vec::new();
        for ctrl in REQUIRED.iter().chain(OPTIONAL.iter()) {
            let Some(m) = mount_of(ctrl) else {
                if REQUIRED.contains(ctrl) {
                    return Some(Err(format!("the v1 {ctrl} controller is not mounted")));
                }
                continue;
            };
            let own_path = own
                .iter()
                .find(|(c, _)| c.split(',').any(|c| c == *ctrl))
                .map(|(_, p)| p.clone())
                .unwrap_or_else(|| "/".into());
            let rel = Path::new(&own_path)
                .strip_prefix(&m.mount_root)
                .map(Path::to_path_buf)
                .unwrap_or_else(|_| PathBuf::from(own_path.trim_start_matches('/')));
            parents.push((*ctrl, m.mount_point.join(rel).join(PARENT_DIR)));
        }
        // Swap accounting shows in this process's own memory group.
        let memsw = parents
            .iter()
            .find(|(c, _)| *c == "memory")
            .and_then(|(_, p)| p.parent())
            .is_some_and(|own| own.join("memory.memsw.limit_in_bytes").exists());
        Some(Ok(V1Root {
            parents,
            mgr_name: cgfs::manager_dir_name(),
            memsw,
        }))
    }

    /// Creates this manager's directories (and so checks we may write there).
    /// The memory group gets `memory.swappiness` 0, which v1 copies into each
    /// job group made under it (so jobs do not swap, without a write per job).
    pub(crate) fn prepare(&self) -> Result<(), String> {
        for (ctrl, parent) in &self.parents {
            let dir = parent.join(&self.mgr_name);
            std::fs::create_dir_all(&dir).map_err(|e| {
                format!(
                    "cannot create the {ctrl} cgroup {}: {e} (run as root, or give this user a writable cgroup subtree)",
                    dir.display()
                )
            })?;
            if *ctrl == "memory" {
                let _ = cgfs::write(&dir, "memory.swappiness", "0");
            }
        }
        Ok(())
    }

    /// Kills and removes groups left by managers that are gone. Returns how many
    /// job groups were swept.
    pub(crate) fn sweep_stale(&self) -> usize {
        let mut swept = 0;
        // Kill through the first hierarchy (memory): every job process is in all of them.
        if let Some((_, parent)) = self.parents.first() {
            for mgr in cgfs::stale_manager_dirs(parent) {
                for job in subdirs(&mgr) {
                    let name = job.file_name().unwrap_or_default().to_owned();
                    let group = self
                        .group_at(self.paths_at(|p| p.join(mgr.file_name().unwrap()).join(&name)));
                    group.kill_all(0);
                    swept += 1;
                }
            }
        }
        for (_, parent) in &self.parents {
            for mgr in cgfs::stale_manager_dirs(parent) {
                let _ = cgfs::remove_dir(&mgr);
            }
        }
        swept
    }

    /// The group's directory in each hierarchy.
    fn paths_at(&self, f: impl Fn(&Path) -> PathBuf) -> Vec<(&'static str, PathBuf)> {
        self.parents.iter().map(|(c, p)| (*c, f(p))).collect()
    }

    /// The group whose directories exist at `paths`.
    fn group_at(&self, paths: Vec<(&'static str, PathBuf)>) -> V1Group {
        V1Group {
            dirs: paths.into_iter().map(|(c, p)| (c, Dir::open(p))).collect(),
            memsw: self.memsw,
        }
    }

    /// Creates the job's groups and writes (then reads back) the limits.
    pub(crate) fn create(&self, name: &str, limits: &ResourceLimits) -> Result<V1Group, GroupError> {
        let paths = self.paths_at(|p| p.join(&self.mgr_name).join(name));
        for (i, (_, dir)) in paths.iter().enumerate() {
            if paths[..i].iter().any(|(_, d)| d == dir) {
                continue;
            }
            std::fs::create_dir(dir)
                .or_else(|e| {
                    if e.kind() == std::io::ErrorKind::AlreadyExists {
                        Ok(())
                    } else {
                        Err(e)
                    }
                })
                .map_err(|e| {
                    // The hierarchies made before this one go again.
                    for (_, made) in &paths[..i] {
                        let _ = cgfs::remove_dir(made);
                    }
                    GroupError::Unavailable(format!("cannot create cgroup {}: {e}", dir.display()))
                })?;
        }
        let group = self.group_at(paths);
        if let Err(e) = group.apply(limits) {
            group.destroy();
            return Err(e);
        }
        Ok(group)
    }

    /// Removes this manager's directories.
    pub(crate) fn remove(&self) {
        for (_, parent) in &self.parents {
            let _ = cgfs::remove_dir(&parent.join(&self.mgr_name));
        }
    }
}

fn subdirs(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .filter(|e| e.file_type().map(|t| t.is_dir()).unwrap_or(false))
                .map(|e| e.path())
                .collect()
        })
        .unwrap_or_default()
}

/// One job's groups.
#[derive(Debug)]
pub(crate) struct V1Group {
    dirs: Vec<(&'static str, Dir)>,
    /// Swap accounting: the memory+swap cap is written too (no swap for jobs).
    memsw: bool,
}

impl V1Group {
    fn dir(&self, ctrl: &str) -> Option<&Dir> {
        self.dirs.iter().find(|(c, _)| *c == ctrl).map(|(_, d)| d)
    }

    fn unique_dirs(&self) -> Vec<PathBuf> {
        let mut out: Vec<PathBuf> = Vec::new();
        for (_, d) in &self.dirs {
            if !out.iter().any(|p| p == d.path()) {
                out.push(d.path().to_path_buf());
            }
        }
        out
    }

    fn apply(&self, limits: &ResourceLimits) -> Result<(), GroupError> {
        let missing = |c: &str| GroupError::Unavailable(format!("no {c} cgroup"));
        let mem = self.dir("memory").ok_or_else(|| missing("memory"))?;
        if let Some(bytes) = limits.memory {
            let page = 4096;
            let want = bytes / page * page;
            let ok = |s: &str| s.parse::<u64>().map(|v| v == want).unwrap_or(false);
            let refused = GroupError::refused("memory");
            cgfs::write_checked(mem, "memory.limit_in_bytes", &bytes.to_string(), ok).map_err(refused)?;
            // Disable swap for the job: memory+swap capped at the same value
            // (and swappiness 0, inherited from the manager's group).
            if self.memsw {
                cgfs::write_checked(mem, "memory.memsw.limit_in_bytes", &bytes.to_string(), ok)
                    .map_err(refused)?;
            }
        }
        self.apply_cpu_pids(limits)
    }

    fn apply_cpu_pids(&self, limits: &ResourceLimits) -> Result<(), GroupError> {
        let missing = |c: &str| GroupError::Unavailable(format!("no {c} cgroup"));
        if let Some(cpus) = limits.cpus {
            let refused = GroupError::refused("cpus");
            let cpu = self.dir("cpu").ok_or_else(|| missing("cpu"))?;
            let quota = ((cpus * CPU_PERIOD_US as f64).round() as u64).max(1000);
            // A new group has the default period (100 ms): read, and written
            // (then read back) only when it differs.
            let period = CPU_PERIOD_US.to_string();
            if cgfs::read(cpu, "cpu.cfs_period_us").ok().as_deref() != Some(period.as_str()) {
                cgfs::write_checked(cpu, "cpu.cfs_period_us", &period, |s| s == period).map_err(refused)?;
            }
            let q = quota.to_string();
            cgfs::write_checked(cpu, "cpu.cfs_quota_us", &q, |s| s == q).map_err(refused)?;
        }
        if let Some(pids) = limits.pids {
            let dir = self.dir("pids").ok_or_else(|| missing("pids"))?;
            let v = pids.to_string();
            cgfs::write_checked(dir, "pids.max", &v, |s| s == v).map_err(GroupError::refused("pids"))?;
        }
        Ok(())
    }

    /// Times the cap was hit: with swap capped too, failed charges count on
    /// the memory+swap counter, so take the larger of the two.
    fn cap_hits(&self) -> u64 {
        self.dir("memory")
            .map(|d| {
                let memsw = if self.memsw {
                    cgfs::read_u64(d, "memory.memsw.failcnt")
                } else {
                    0
                };
                cgfs::read_u64(d, "memory.failcnt").max(memsw)
            })
            .unwrap_or(0)
    }
}

impl JobGroup for V1Group {
    fn kind(&self) -> IsolationKind {
        IsolationKind::CgroupV1
    }

    fn attach_paths(&self) -> Vec<PathBuf> {
        self.unique_dirs()
            .into_iter()
            .map(|d| d.join("cgroup.procs"))
            .collect()
    }

    fn procs(&self) -> Vec<i32> {
        self.dir("memory").map(cgfs::procs).unwrap_or_default()
    }

    fn kill_all(&self, leader: i32) {
        let mut forks_stopped = false;
        for _ in 0..50 {
            let pids = self.procs();
            if pids.is_empty() {
                return;
            }
            // No fork succeeds in the group from here on, so the list read
            // above can only shrink.
            if !forks_stopped {
                forks_stopped = self
                    .dir("pids")
                    .is_some_and(|d| cgfs::write(d, "pids.max", "0").is_ok());
            }
            cgfs::kill_and_reap(&pids, leader);
            std::thread::sleep(Duration::from_millis(2));
            cgfs::reap(&pids, leader);
        }
    }

    fn oom_kills(&self) -> u64 {
        self.dir("memory")
            .and_then(|d| cgfs::keyed(d, "memory.oom_control", "oom_kill"))
            .unwrap_or(0)
    }

    fn sample(&self) -> Sample {
        let mem = self.dir("memory");
        Sample {
            memory_bytes: mem
                .map(|d| cgfs::read_u64(d, "memory.usage_in_bytes"))
                .unwrap_or(0),
            memory_cap_hits: self.cap_hits(),
            refaults: mem.map(cgfs::refaults).unwrap_or(0),
            pressure_avg10: None,
            processes: self
                .dir("pids")
                .map(|d| cgfs::read_u64(d, "pids.current"))
                .unwrap_or(0),
        }
    }

    fn stats(&self) -> ResourceStats {
        let mem = self.dir("memory");
        let [throttled_ns, nr_throttled] = self
            .dir("cpu")
            .map(|d| cgfs::keyed_many(d, "cpu.stat", ["throttled_time", "nr_throttled"]))
            .unwrap_or_default();
        ResourceStats {
            peak_memory_bytes: mem
                .map(|d| cgfs::read_u64(d, "memory.max_usage_in_bytes"))
                .unwrap_or(0),
            cpu_usage_usec: self
                .dir("cpuacct")
                .map(|d| cgfs::read_u64(d, "cpuacct.usage") / 1000)
                .unwrap_or(0),
            cpu_throttled_usec: throttled_ns / 1000,
            nr_throttled,
            peak_processes: 0,
            memory_cap_hits: self.cap_hits(),
            memory_refaults: mem.map(cgfs::refaults).unwrap_or(0),
            oom_kills: self.oom_kills(),
        }
    }

    fn destroy(&self) -> bool {
        let mut ok = true;
        for d in self.unique_dirs() {
            ok &= cgfs::remove_dir(&d).is_ok();
        }
        ok
    }

    fn try_destroy(&self) -> bool {
        self.unique_dirs().iter().all(|d| cgfs::remove_dir_once(d))
    }

    fn paths(&self) -> Vec<PathBuf> {
        self.unique_dirs()
    }
}
