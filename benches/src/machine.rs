//! The machine the figures come from.

use std::process::Command;

pub struct Machine {
    pub rows: Vec<(&'static str, String)>,
}

fn first_line(cmd: &str, args: &[&str]) -> String {
    Command::new(cmd)
        .args(args)
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.lines().next().map(str::to_string))
        .unwrap_or_else(|| "unknown".into())
}

fn cgroup_version() -> String {
    let v1_memory = std::path::Path::new("/sys/fs/cgroup/memory/memory.limit_in_bytes").exists()
        || crate::floor::v1_own_dir("memory").is_some();
    let v2_root = std::path::Path::new("/sys/fs/cgroup/cgroup.controllers").exists();
    match (v1_memory, v2_root) {
        (true, _) => {
            let unified = std::path::Path::new("/sys/fs/cgroup/unified/cgroup.procs").exists();
            if unified {
                "v1 (hybrid: v1 controllers, an empty cgroup2 at /sys/fs/cgroup/unified)".into()
            } else {
                "v1".into()
            }
        }
        (false, true) => "v2".into(),
        _ => "none found".into(),
    }
}

pub fn describe() -> Machine {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu_model = cpuinfo
        .lines()
        .find_map(|l| {
            l.strip_prefix("model name")
                .and_then(|r| r.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        })
        .unwrap_or_else(|| "unknown".into());
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let mem_kb: u64 = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|r| r.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0);
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .unwrap_or_default()
        .trim()
        .to_string();
    let os = std::fs::read_to_string("/etc/os-release")
        .unwrap_or_default()
        .lines()
        .find_map(|l| {
            l.strip_prefix("PRETTY_NAME=")
                .map(|v| v.trim_matches('"').to_string())
        })
        .unwrap_or_else(|| "unknown".into());
    let thp = std::fs::read_to_string("/sys/kernel/mm/transparent_hugepage/enabled")
        .unwrap_or_default()
        .trim()
        .to_string();
    let rows = vec![
        (
            "nproc",
            std::thread::available_parallelism()
                .map(|n| n.get().to_string())
                .unwrap_or_default(),
        ),
        (
            "memory",
            format!("{:.1} GiB", mem_kb as f64 / (1024.0 * 1024.0)),
        ),
        ("CPU", cpu_model),
        ("kernel", kernel),
        ("OS", os),
        ("cgroups", cgroup_version()),
        ("transparent huge pages", thp),
        ("rustc", first_line("rustc", &["--version"])),
        ("python3", first_line("python3", &["--version"])),
        ("node", first_line("node", &["--version"])),
        ("git", {
            let head = first_line("git", &["rev-parse", "--short", "HEAD"]);
            let dirty = Command::new("git")
                // RESULTS.md is what the run writes: a previous run's copy is not a change.
                .args([
                    "status",
                    "--porcelain",
                    "--untracked-files=no",
                    "--",
                    ":(top)",
                    ":(top,exclude)benches/RESULTS.md",
                ])
                .output()
                .map(|o| !o.stdout.is_empty())
                .unwrap_or(false);
            if dirty {
                format!("{head} + uncommitted changes in the working tree")
            } else {
                head
            }
        }),
    ];
    Machine { rows }
}
