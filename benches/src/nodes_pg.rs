//! Item 10, the report side's PostgreSQL: the throwaway server of
//! scripts/postgres.sh, databases copied from a seeded template, `psql`
//! queries, and the CPU time of the server's processes (from /proc).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::report::one_line;

/// The port scripts/postgres.sh uses when `PG_PORT` is not set.
const DEFAULT_PORT: u16 = 54329;

pub(crate) struct Pg {
    pub(crate) port: u16,
    /// `PG_PORT` and `PG_DIR` for scripts/postgres.sh.
    env: Vec<(String, String)>,
    /// This item started the server (and stops it at the end).
    pub(crate) started_here: bool,
    psql: PathBuf,
    /// The postmaster's pid, whose children are the server's processes.
    postmaster: Option<i32>,
}

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap_or(Path::new("."))
        .join("scripts/postgres.sh")
}

fn psql_path() -> Result<PathBuf, String> {
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map_err(|e| format!("no PostgreSQL in /usr/lib/postgresql: {e}"))?
        .filter_map(|e| e.ok())
        .map(|e| e.path().join("bin/psql"))
        .filter(|p| p.exists())
        .collect();
    found.sort();
    found.pop().ok_or_else(|| "no psql under /usr/lib/postgresql".into())
}

impl Pg {
    /// Starts the server if it is not running (installing it if needed) and
    /// makes an empty database `db`; returns the server and that URL.
    ///
    /// Another port than the default gets its own data directory
    /// (/tmp/claude-jobs-pg-PORT) unless `PG_DIR` says: the script's default
    /// directory serves one server at a time, maybe another run's.
    pub(crate) fn start(db: &str) -> Result<(Pg, String), String> {
        let port: u16 = match std::env::var("PG_PORT") {
            Ok(p) => p.trim().parse().map_err(|_| format!("PG_PORT={p}: not a port"))?,
            Err(_) => DEFAULT_PORT,
        };
        let mut env = vec![("PG_PORT".to_string(), port.to_string())];
        match std::env::var("PG_DIR") {
            Ok(d) => env.push(("PG_DIR".into(), d)),
            Err(_) if port != DEFAULT_PORT => env.push(("PG_DIR".into(), format!("/tmp/claude-jobs-pg-{port}"))),
            Err(_) => {}
        }
        let mut pg = Pg {
            port,
            env,
            started_here: false,
            psql: PathBuf::new(),
            postmaster: None,
        };
        pg.started_here = !pg.script(&["status"]).is_ok_and(|s| s.contains("server is running"));
        let url = pg.script(&["fresh", db])?;
        let url = url.lines().last().unwrap_or_default().trim().to_string();
        pg.psql = psql_path()?;
        let data = pg.sql("postgres", "SHOW data_directory")?;
        pg.postmaster = std::fs::read_to_string(Path::new(data.trim()).join("postmaster.pid"))
            .ok()
            .and_then(|s| s.lines().next().and_then(|l| l.trim().parse().ok()));
        Ok((pg, url))
    }

    fn script(&self, args: &[&str]) -> Result<String, String> {
        let out = Command::new("bash")
            .arg(script())
            .args(args)
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .output()
            .map_err(|e| format!("scripts/postgres.sh: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "scripts/postgres.sh {} ({}): {}",
                args.join(" "),
                out.status,
                one_line(&String::from_utf8_lossy(&out.stderr), 300)
            ));
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// One statement as the `postgres` superuser; its rows, `|`-separated.
    pub(crate) fn sql(&self, db: &str, query: &str) -> Result<String, String> {
        let out = Command::new(&self.psql)
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string(), "-U", "postgres", "-d", db])
            .args(["-v", "ON_ERROR_STOP=1", "-qtA", "-c", query])
            .output()
            .map_err(|e| format!("psql: {e}"))?;
        if !out.status.success() {
            return Err(format!("psql: {}", one_line(&String::from_utf8_lossy(&out.stderr), 300)));
        }
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    }

    /// The URL of database `db` on this server (as the script's user).
    pub(crate) fn url(&self, db: &str) -> String {
        format!("postgres://claude_jobs:claude_jobs_pw@127.0.0.1:{}/{db}", self.port)
    }

    /// A new database `name`, a copy of `template` (which nobody may be using).
    pub(crate) fn copy_db(&self, name: &str, template: &str) -> Result<String, String> {
        self.drop_db(name)?;
        self.sql("postgres", &format!("CREATE DATABASE {name} TEMPLATE {template} OWNER claude_jobs"))?;
        Ok(self.url(name))
    }

    pub(crate) fn drop_db(&self, name: &str) -> Result<(), String> {
        self.sql("postgres", &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .map(|_| ())
    }

    /// Stops the server if this item started it.
    pub(crate) fn finish(&self) -> Option<String> {
        if !self.started_here {
            return None;
        }
        self.script(&["stop"]).err()
    }

    /// CPU seconds of the server so far: the postmaster (with the children
    /// it has reaped: backends of closed connections) and its live children.
    pub(crate) fn cpu_s(&self) -> Option<f64> {
        let pm = self.postmaster?;
        let (own, reaped, _) = proc_stat(pm)?;
        let mut total = own + reaped;
        for e in std::fs::read_dir("/proc").ok()?.flatten() {
            let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else {
                continue;
            };
            if let Some((cpu, _, ppid)) = proc_stat(pid) {
                if ppid == pm {
                    total += cpu;
                }
            }
        }
        Some(total)
    }
}

fn clk_tck() -> f64 {
    // SAFETY: sysconf reads a constant.
    (unsafe { libc::sysconf(libc::_SC_CLK_TCK) }).max(1) as f64
}

/// (utime + stime, cutime + cstime, ppid) of a process, in seconds.
fn proc_stat(pid: i32) -> Option<(f64, f64, i32)> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let f: Vec<&str> = s.get(s.rfind(')')? + 1..)?.split_whitespace().collect();
    let n = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok());
    let ppid = f.get(1)?.parse().ok()?;
    let t = clk_tck();
    Some(((n(11)? + n(12)?) / t, (n(13)? + n(14)?) / t, ppid))
}

/// Busy CPU seconds of the whole machine so far (all but idle and iowait), from /proc/stat.
pub(crate) fn machine_busy_s() -> f64 {
    let s = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let v: Vec<f64> = s
        .lines()
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .skip(1)
        .filter_map(|x| x.parse().ok())
        .collect();
    if v.len() < 5 {
        return 0.0;
    }
    // user nice system idle iowait irq softirq steal (guest counted in user).
    let busy: f64 = v.iter().take(8).sum::<f64>() - v[3] - v[4];
    busy / clk_tck()
}
