//! File helpers for cgroupfs: checked writes, read-back, rmdir with retries,
//! and the per-manager directory naming used to find stale groups.

use std::ffi::CString;
use std::fs;
use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A cgroup directory whose files are read and written: a path, or a
/// [`Dir`] opened once.
pub(crate) trait CgDir {
    fn path(&self) -> &Path;

    /// Opens `file` in the directory, to read or to write.
    fn open_file(&self, file: &str, write: bool) -> io::Result<fs::File> {
        open_by_path(self.path(), file, write)
    }
}

impl CgDir for Path {
    fn path(&self) -> &Path {
        self
    }
}

impl CgDir for PathBuf {
    fn path(&self) -> &Path {
        self
    }
}

fn open_by_path(dir: &Path, file: &str, write: bool) -> io::Result<fs::File> {
    fs::OpenOptions::new()
        .read(!write)
        .write(write)
        .open(dir.join(file))
}

/// A job's cgroup directory held open (`O_PATH`): its files are opened
/// relative to it, one path component to walk instead of the whole path
/// (`/sys/fs/cgroup/memory/<own group>/claude-jobs/mgr-…/job-…/`) for each of
/// the fifteen-odd files a job's limits and counters use. Without the
/// descriptor (the directory could not be opened) files are opened by path.
#[derive(Debug)]
pub(crate) struct Dir {
    path: PathBuf,
    fd: Option<OwnedFd>,
}

impl Dir {
    /// Opens the directory at `path` (made beforehand).
    pub(crate) fn open(path: PathBuf) -> Dir {
        let fd = CString::new(path.as_os_str().as_bytes())
            .ok()
            .and_then(|c| {
                // SAFETY: a valid C string; the result is checked.
                let fd = unsafe {
                    libc::open(
                        c.as_ptr(),
                        libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC,
                    )
                };
                // SAFETY: a descriptor just opened, owned by nobody else.
                (fd >= 0).then(|| unsafe { OwnedFd::from_raw_fd(fd) })
            });
        Dir { path, fd }
    }

    /// The open descriptor, if the directory could be opened.
    pub(crate) fn raw_fd(&self) -> Option<std::os::fd::RawFd> {
        self.fd.as_ref().map(AsRawFd::as_raw_fd)
    }
}

impl CgDir for Dir {
    fn path(&self) -> &Path {
        &self.path
    }

    fn open_file(&self, file: &str, write: bool) -> io::Result<fs::File> {
        let Some(fd) = &self.fd else {
            return open_by_path(&self.path, file, write);
        };
        let name =
            CString::new(file).map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        let mode = if write {
            libc::O_WRONLY
        } else {
            libc::O_RDONLY
        };
        // SAFETY: a valid directory descriptor and C string; the result is checked.
        let r = unsafe {
            libc::openat(
                fd.as_raw_fd(),
                name.as_ptr(),
                mode | libc::O_CLOEXEC | libc::O_NOFOLLOW,
            )
        };
        if r < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: a descriptor just opened, owned by nobody else.
        Ok(unsafe { fs::File::from_raw_fd(r) })
    }
}

fn read_string<D: CgDir + ?Sized>(dir: &D, file: &str) -> io::Result<String> {
    let mut s = String::new();
    dir.open_file(file, false)?.read_to_string(&mut s)?;
    Ok(s)
}

/// Writes `value` to `dir/file`, naming the file in the error.
pub(crate) fn write<D: CgDir + ?Sized>(dir: &D, file: &str, value: &str) -> Result<(), String> {
    dir.open_file(file, true)
        .and_then(|mut f| f.write_all(value.as_bytes()))
        .map_err(|e| {
            format!(
                "cannot write {value:?} to {}: {e}",
                dir.path().join(file).display()
            )
        })
}

/// Reads `dir/file` trimmed.
pub(crate) fn read<D: CgDir + ?Sized>(dir: &D, file: &str) -> Result<String, String> {
    read_string(dir, file)
        .map(|s| s.trim().to_string())
        .map_err(|e| format!("cannot read {}: {e}", dir.path().join(file).display()))
}

/// Reads a number from `dir/file` (`max` counts as `u64::MAX`); 0 when missing.
pub(crate) fn read_u64<D: CgDir + ?Sized>(dir: &D, file: &str) -> u64 {
    match read(dir, file) {
        Ok(s) if s == "max" => u64::MAX,
        Ok(s) => s.parse().unwrap_or(0),
        Err(_) => 0,
    }
}

/// Finds `key value` in a flat-keyed file such as `memory.events` or `cpu.stat`.
pub(crate) fn keyed<D: CgDir + ?Sized>(dir: &D, file: &str, key: &str) -> Option<u64> {
    let text = read_string(dir, file).ok()?;
    text.lines().find_map(|l| {
        let mut it = l.split_whitespace();
        (it.next() == Some(key)).then(|| it.next()?.parse().ok())?
    })
}

/// Several keys of one flat-keyed file, read once (0 for a missing key).
pub(crate) fn keyed_many<D: CgDir + ?Sized, const N: usize>(
    dir: &D,
    file: &str,
    keys: [&str; N],
) -> [u64; N] {
    let mut out = [0; N];
    let Ok(text) = read_string(dir, file) else {
        return out;
    };
    for l in text.lines() {
        let mut it = l.split_whitespace();
        if let (Some(k), Some(v)) = (it.next(), it.next()) {
            if let Some(i) = keys.iter().position(|key| *key == k) {
                out[i] = v.parse().unwrap_or(0);
            }
        }
    }
    out
}

/// Refaults (anonymous + file) from `dir/memory.stat`.
pub(crate) fn refaults<D: CgDir + ?Sized>(dir: &D) -> u64 {
    let [file, anon] = keyed_many(
        dir,
        "memory.stat",
        ["workingset_refault_file", "workingset_refault_anon"],
    );
    file + anon
}

/// Writes then reads back, failing when the kernel kept something else.
/// `accept` decides whether the read value matches.
pub(crate) fn write_checked<D: CgDir + ?Sized>(
    dir: &D,
    file: &str,
    value: &str,
    accept: impl Fn(&str) -> bool,
) -> Result<(), String> {
    write(dir, file, value)?;
    let got = read(dir, file)?;
    if accept(&got) {
        Ok(())
    } else {
        Err(format!(
            "{} reads back {got:?} after writing {value:?}",
            dir.path().join(file).display()
        ))
    }
}

/// Pids listed in `dir/cgroup.procs`.
pub(crate) fn procs<D: CgDir + ?Sized>(dir: &D) -> Vec<i32> {
    read_string(dir, "cgroup.procs")
        .map(|s| s.lines().filter_map(|l| l.trim().parse().ok()).collect())
        .unwrap_or_default()
}

/// One rmdir; true when the directory is gone (a missing one counts).
pub(crate) fn remove_dir_once(dir: &Path) -> bool {
    match fs::remove_dir(dir) {
        Ok(()) => true,
        Err(e) => e.kind() == io::ErrorKind::NotFound,
    }
}

/// rmdir with retries on EBUSY (runc: 10 tries from 1 ms, doubling), removing
/// child groups first when the first try fails. A missing directory is success.
pub(crate) fn remove_dir(dir: &Path) -> io::Result<()> {
    // A job's group has no child groups: one rmdir, no listing.
    if remove_dir_once(dir) {
        return Ok(());
    }
    if let Ok(entries) = fs::read_dir(dir) {
        for e in entries.flatten() {
            if e.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                remove_dir(&e.path())?;
            }
        }
    }
    let mut delay = Duration::from_millis(1);
    let mut last = None;
    for _ in 0..10 {
        match fs::remove_dir(dir) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) => last = Some(e),
        }
        std::thread::sleep(delay);
        delay *= 2;
    }
    Err(last.unwrap_or_else(|| io::Error::other("rmdir failed")))
}

/// Sends SIGKILL to each pid; reaps those that are our own children
/// (orphans re-parented to us as child subreaper), except `leader`, whose
/// status belongs to whoever spawned it.
pub(crate) fn kill_and_reap(pids: &[i32], leader: i32) {
    for &p in pids {
        unsafe {
            libc::kill(p, libc::SIGKILL);
        }
    }
    reap(pids, leader);
}

/// Reaps pids that are zombie children of this process, except `leader`;
/// leaves others alone.
pub(crate) fn reap(pids: &[i32], leader: i32) {
    for &p in pids {
        if p == leader {
            continue;
        }
        unsafe {
            let mut status = 0;
            libc::waitpid(p, &mut status, libc::WNOHANG);
        }
    }
}

/// The start time (clock ticks since boot) of a process, from `/proc/PID/stat`.
pub(crate) fn process_start_time(pid: u32) -> Option<u64> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Field 22, counted after the ")" that ends the command name.
    let rest = &stat[stat.rfind(')')? + 2..];
    rest.split_whitespace().nth(19)?.parse().ok()
}

/// The directory name of this manager instance: `mgr-PID-STARTTIME-N`, N
/// counting the managers of this process (each one's `shutdown` removes its
/// own directory only, never the directory of another manager in the process).
pub(crate) fn manager_dir_name() -> String {
    static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let pid = std::process::id();
    format!("mgr-{pid}-{}-{n}", process_start_time(pid).unwrap_or(0))
}

/// True when a `mgr-PID-START[-N]` directory belongs to a process that is gone.
pub(crate) fn manager_dir_is_stale(name: &str) -> bool {
    let mut parts = name.strip_prefix("mgr-").unwrap_or("").split('-');
    let (Some(pid), Some(start)) = (parts.next(), parts.next()) else {
        return false;
    };
    let (Ok(pid), Ok(start)) = (pid.parse::<u32>(), start.parse::<u64>()) else {
        return false;
    };
    process_start_time(pid) != Some(start)
}

/// Stale manager directories under `parent`.
pub(crate) fn stale_manager_dirs(parent: &Path) -> Vec<PathBuf> {
    fs::read_dir(parent)
        .map(|rd| {
            rd.flatten()
                .filter(|e| {
                    let name = e.file_name();
                    let name = name.to_string_lossy();
                    name.starts_with("mgr-") && manager_dir_is_stale(&name)
                })
                .map(|e| e.path())
                .collect()
        })
        .unwrap_or_default()
}

/// Own cgroup paths from `/proc/self/cgroup`: `(controllers, path)` per line.
pub(crate) fn own_cgroups() -> Vec<(String, String)> {
    fs::read_to_string("/proc/self/cgroup")
        .unwrap_or_default()
        .lines()
        .filter_map(|l| {
            let mut it = l.splitn(3, ':');
            let _id = it.next()?;
            let ctrls = it.next()?.to_string();
            let path = it.next()?.to_string();
            Some((ctrls, path))
        })
        .collect()
}

/// One cgroup mount from `/proc/self/mountinfo`.
#[derive(Debug, Clone)]
pub(crate) struct Mount {
    /// The path inside the hierarchy that is mounted (field 4).
    pub root: PathBuf,
    pub point: PathBuf,
}

/// The mounts of type `fs_type` (`cgroup2`, `cgroup`) in `/proc/self/mountinfo`.
/// (cgroups-rs's `mountinfo_self` keeps only `cgroup`, never `cgroup2`.)
pub(crate) fn mounts(fs_type: &str) -> Vec<Mount> {
    fs::read_to_string("/proc/self/mountinfo")
        .unwrap_or_default()
        .lines()
        .filter_map(|line| {
            let (left, right) = line.split_once(" - ")?;
            let left: Vec<&str> = left.split(' ').collect();
            let ty = right.split(' ').next()?;
            (left.len() >= 5 && ty == fs_type).then(|| Mount {
                root: PathBuf::from(unescape(left[3])),
                point: PathBuf::from(unescape(left[4])),
            })
        })
        .collect()
}

/// Undoes mountinfo's octal escapes (`\040` for a space).
fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && i + 3 < b.len()
            && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c))
        {
            out.push((b[i + 1] - b'0') * 64 + (b[i + 2] - b'0') * 8 + (b[i + 3] - b'0'));
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_manager_dir_is_not_stale() {
        assert!(!manager_dir_is_stale(&manager_dir_name()));
        assert!(manager_dir_is_stale("mgr-999999999-1"));
        assert!(manager_dir_is_stale("mgr-999999999-1-3"));
        assert_ne!(manager_dir_name(), manager_dir_name());
        assert!(!manager_dir_is_stale("something-else"));
    }

    #[test]
    fn dir_opens_files_relative_to_its_descriptor() {
        let t = tempfile::tempdir().unwrap();
        let g = t.path().join("job-1");
        fs::create_dir(&g).unwrap();
        fs::write(g.join("pids.max"), "0\n").unwrap();
        let d = Dir::open(g.clone());
        assert!(d.fd.is_some());
        write(&d, "pids.max", "64").unwrap();
        assert_eq!(read(&d, "pids.max").unwrap(), "64");
        assert_eq!(read_u64(&d, "pids.max"), 64);
        // Moved away, the directory still answers through its descriptor.
        fs::rename(&g, t.path().join("moved")).unwrap();
        assert_eq!(read_u64(&d, "pids.max"), 64);
        assert!(read(g.as_path(), "pids.max").is_err());
        // A file cgroupfs does not have is an error naming it, never created.
        let e = write(&d, "memory.nope", "1").unwrap_err();
        assert!(
            e.contains(&g.join("memory.nope").display().to_string()),
            "{e}"
        );
        assert!(!t.path().join("moved/memory.nope").exists());
    }

    #[test]
    fn dir_that_cannot_be_opened_falls_back_to_paths() {
        let t = tempfile::tempdir().unwrap();
        let missing = t.path().join("gone");
        let d = Dir::open(missing.clone());
        assert!(d.fd.is_none());
        let e = read(&d, "pids.max").unwrap_err();
        assert!(
            e.contains(&missing.join("pids.max").display().to_string()),
            "{e}"
        );
        fs::create_dir(&missing).unwrap();
        fs::write(missing.join("pids.max"), "max").unwrap();
        assert_eq!(read_u64(&d, "pids.max"), u64::MAX);
    }

    #[test]
    fn mountinfo_escapes() {
        assert_eq!(unescape(r"/a\040b"), "/a b");
        assert_eq!(unescape(r"/plain\"), r"/plain\");
    }
}
