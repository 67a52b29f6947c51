//! A job's directory, split by who may write where:
//!
//! ```text
//! data_dir/jobs/<id>/          the manager's (0755, never the job's): nothing in it
//!   stdout.log, stderr.log     can be replaced by the job, so the manager
//!   stdout.N.log, …            never follows a link it planted here
//!   work/                      the job's: its default working dir
//!   home/                      the job's HOME (with run_as)
//!   claude-config/             the job's CLAUDE_CONFIG_DIR
//! ```
//!
//! With `run_as`, only `work/`, `home/` and `claude-config/` are given to
//! the job's uid; the logs are created fresh for each attempt (`O_EXCL`,
//! `O_NOFOLLOW`) after the previous attempt's are renamed aside.
//!
//! A job that resumes another (`resume`) runs in that job's working dir and
//! config dir (where the CLI keeps the session), which must still exist on
//! this node; their job's directory is touched, so that retention keeps it
//! `logs_days` after its last use.

use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::safe_fs;
use crate::spec::RunAs;

/// The directories of one attempt.
#[derive(Debug)]
pub(crate) struct JobDirs {
    /// `data_dir/jobs/<id>`.
    pub root: PathBuf,
    /// The same, opened: logs are created relative to it.
    pub root_fd: Arc<OwnedFd>,
    /// The CLI's working directory.
    pub work: PathBuf,
    /// The default working dir, opened (`None` for a caller's working dir).
    pub work_fd: Option<Arc<OwnedFd>>,
    pub config: Option<PathBuf>,
    pub home: Option<PathBuf>,
}

/// What [`prepare`] needs.
pub(crate) struct Layout<'a> {
    pub data_dir: &'a Path,
    pub id: &'a str,
    pub working_dir: Option<&'a Path>,
    pub run_as: Option<RunAs>,
    pub config_dir: bool,
    /// The earlier job's working dir and config dir, for a resumed job.
    pub resumed: Option<(&'a Path, Option<&'a Path>)>,
}

/// Makes (or takes back) the job's directory for a new attempt. Blocking.
pub(crate) fn prepare(l: &Layout<'_>) -> Result<JobDirs, String> {
    let root = l.data_dir.join("jobs").join(l.id);
    let err = |what: &Path, e: std::io::Error| format!("cannot prepare {}: {e}", what.display());
    let jobs = safe_fs::open_dir(&l.data_dir.join("jobs")).map_err(|e| err(&root, e))?;
    let root_fd = safe_fs::ensure_subdir(&jobs, l.id, 0o755).map_err(|e| err(&root, e))?;
    // A job dir given to a job by an older version is taken back.
    // SAFETY: geteuid/getegid cannot fail.
    let (uid, gid) = unsafe { (libc::geteuid(), libc::getegid()) };
    safe_fs::chown_fd(&root_fd, uid, gid).map_err(|e| err(&root, e))?;
    safe_fs::chmod_fd(&root_fd, 0o755).map_err(|e| err(&root, e))?;
    for log in ["stdout", "stderr"] {
        rotate(&root_fd, log).map_err(|e| err(&root.join(format!("{log}.log")), e))?;
    }
    let job_dir = |name: &str, mode: u32| -> Result<(PathBuf, OwnedFd), String> {
        let path = root.join(name);
        let fd = safe_fs::ensure_subdir(&root_fd, name, mode).map_err(|e| err(&path, e))?;
        if let Some(ids) = l.run_as {
            safe_fs::chown_fd(&fd, ids.uid, ids.gid)
                .map_err(|e| format!("cannot give {} to uid {}: {e}", path.display(), ids.uid))?;
        }
        Ok((path, fd))
    };
    let (work, work_fd, config) = match l.resumed {
        Some((w, c)) => resumed(l.data_dir, w, c)?,
        None => {
            let (work, work_fd) = match l.working_dir {
                Some(w) => (w.to_path_buf(), None),
                None => {
                    let (p, fd) = job_dir("work", 0o755)?;
                    (p, Some(Arc::new(fd)))
                }
            };
            let config = if l.config_dir {
                Some(job_dir("claude-config", 0o700)?.0)
            } else {
                None
            };
            (work, work_fd, config)
        }
    };
    let home = match l.run_as {
        Some(_) => Some(job_dir("home", 0o700)?.0),
        None => None,
    };
    Ok(JobDirs {
        root,
        root_fd: Arc::new(root_fd),
        work,
        work_fd,
        config,
        home,
    })
}

type Resumed = (PathBuf, Option<Arc<OwnedFd>>, Option<PathBuf>);

/// The earlier job's working dir and config dir, checked (never through a
/// link as their last component), its job directory touched.
fn resumed(data_dir: &Path, work: &Path, config: Option<&Path>) -> Result<Resumed, String> {
    let gone = |what: &str, p: &Path, e: std::io::Error| {
        format!(
            "cannot resume: the session's {what} {} is gone or not on this node ({e}); \
             a session is resumed on the machine whose data dir holds it",
            p.display()
        )
    };
    let work_fd = safe_fs::open_dir(work).map_err(|e| gone("working dir", work, e))?;
    if let Some(c) = config {
        safe_fs::open_dir(c).map_err(|e| gone("config dir", c, e))?;
    }
    let jobs = data_dir.join("jobs");
    for owner in [Some(work), config].into_iter().flatten().filter_map(Path::parent) {
        if owner.parent() == Some(jobs.as_path()) {
            if let Ok(fd) = safe_fs::open_dir(owner) {
                let _ = safe_fs::touch_fd(&fd);
            }
        }
    }
    Ok((work.to_path_buf(), Some(Arc::new(work_fd)), config.map(Path::to_path_buf)))
}

/// Renames `<log>.log` of an earlier attempt to the first free `<log>.N.log`.
fn rotate(dir: &OwnedFd, log: &str) -> std::io::Result<()> {
    let from = format!("{log}.log");
    for n in 1..10_000 {
        match safe_fs::rename_noreplace(dir, &from, &format!("{log}.{n}.log")) {
            Ok(_) => return Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(())
}
