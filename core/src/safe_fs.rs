//! File access where a job may have been before the manager: everything is
//! opened relative to a directory descriptor, one component at a time, never
//! following a symbolic link; files read must be regular files (a FIFO
//! would block the reader), and reads stop at a size cap. The callers run
//! these on blocking threads, never on the async workers.

use std::ffi::CString;
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

fn cname(name: &str) -> io::Result<CString> {
    if name.is_empty() || name.contains('/') || name == "." || name == ".." {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{name:?} is not a plain file name"),
        ));
    }
    CString::new(name).map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "NUL in a name"))
}

fn check(ret: libc::c_int) -> io::Result<libc::c_int> {
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

/// Opens a directory by path (the last component must not be a link).
pub(crate) fn open_dir(path: &Path) -> io::Result<OwnedFd> {
    let c = CString::new(path.as_os_str().as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "NUL in a path"))?;
    let flags = libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC;
    // SAFETY: a valid C string; the fd returned is owned here.
    let fd = check(unsafe { libc::open(c.as_ptr(), flags) })?;
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Opens the directory `name` inside `dir`, refusing a link.
pub(crate) fn open_subdir(dir: &OwnedFd, name: &str) -> io::Result<OwnedFd> {
    let c = cname(name)?;
    let flags = libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC;
    // SAFETY: a valid directory fd and C string.
    let fd = check(unsafe { libc::openat(dir.as_raw_fd(), c.as_ptr(), flags) })?;
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Makes the directory `name` inside `dir` if it is missing (mode `mode`),
/// then opens it, refusing a link.
pub(crate) fn ensure_subdir(dir: &OwnedFd, name: &str, mode: u32) -> io::Result<OwnedFd> {
    let c = cname(name)?;
    // SAFETY: a valid directory fd and C string.
    let r = unsafe { libc::mkdirat(dir.as_raw_fd(), c.as_ptr(), mode as libc::mode_t) };
    if r < 0 {
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::AlreadyExists {
            return Err(e);
        }
    }
    open_subdir(dir, name)
}

/// Opens the regular file `name` inside `dir` for reading: a link, a FIFO,
/// a device or a directory is refused (without blocking on a FIFO).
pub(crate) fn open_regular(dir: &OwnedFd, name: &str) -> io::Result<File> {
    let c = cname(name)?;
    let flags = libc::O_RDONLY | libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC;
    // SAFETY: a valid directory fd and C string.
    let fd = check(unsafe { libc::openat(dir.as_raw_fd(), c.as_ptr(), flags) })?;
    let file = unsafe { File::from_raw_fd(fd) };
    let meta = file.metadata()?;
    if !meta.file_type().is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{name} is not a regular file"),
        ));
    }
    // Regular files do not block; clear O_NONBLOCK all the same.
    // SAFETY: fcntl on an fd we own.
    unsafe { libc::fcntl(fd, libc::F_SETFL, libc::O_RDONLY) };
    Ok(file)
}

/// Opens a regular file by path for reading, refusing a link as its last
/// component, a FIFO or a device (for files the manager wrote itself).
pub(crate) fn open_regular_path(path: &Path) -> io::Result<File> {
    let parent = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no file name"))?;
    let c = CString::new(parent.as_os_str().as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "NUL in a path"))?;
    let flags = libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC;
    // SAFETY: a valid C string; the fd is owned below.
    let fd = check(unsafe { libc::open(c.as_ptr(), flags) })?;
    let dir = unsafe { OwnedFd::from_raw_fd(fd) };
    open_regular(&dir, name)
}

/// Creates `name` inside `dir`, failing if anything is there already (no
/// link is followed, no existing file is truncated).
pub(crate) fn create_new(dir: &OwnedFd, name: &str, mode: u32) -> io::Result<File> {
    let c = cname(name)?;
    let flags = libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL | libc::O_NOFOLLOW | libc::O_CLOEXEC;
    // SAFETY: a valid directory fd and C string.
    let fd = check(unsafe { libc::openat(dir.as_raw_fd(), c.as_ptr(), flags, mode as libc::c_uint) })?;
    Ok(unsafe { File::from_raw_fd(fd) })
}

/// Writes `bytes` to a new file `name` inside `dir` (mode `mode`), replacing
/// what was there: the old entry is unlinked (a link is removed, never
/// followed), then the file is created with `O_EXCL | O_NOFOLLOW`.
pub(crate) fn replace_file(dir: &OwnedFd, name: &str, mode: u32, bytes: &[u8]) -> io::Result<File> {
    let c = cname(name)?;
    // SAFETY: a valid directory fd and C string.
    let r = unsafe { libc::unlinkat(dir.as_raw_fd(), c.as_ptr(), 0) };
    if r < 0 {
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::NotFound {
            return Err(e);
        }
    }
    let mut f = create_new(dir, name, mode)?;
    f.write_all(bytes)?;
    Ok(f)
}

/// Sets an open file's or directory's times to now.
pub(crate) fn touch_fd(fd: &OwnedFd) -> io::Result<()> {
    // SAFETY: futimens on an fd we own; a null `times` means now.
    check(unsafe { libc::futimens(fd.as_raw_fd(), std::ptr::null()) }).map(|_| ())
}

/// Renames `from` to `to` inside `dir` unless `to` exists (`AlreadyExists`);
/// false when `from` does not exist.
pub(crate) fn rename_noreplace(dir: &OwnedFd, from: &str, to: &str) -> io::Result<bool> {
    let (f, t) = (cname(from)?, cname(to)?);
    let d = dir.as_raw_fd();
    // SAFETY: valid directory fd and C strings.
    let r = unsafe { libc::renameat2(d, f.as_ptr(), d, t.as_ptr(), libc::RENAME_NOREPLACE) };
    match check(r) {
        Ok(_) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e),
    }
}

/// Gives an open file or directory to `uid:gid` (never through a link).
pub(crate) fn chown_fd<F: AsRawFd>(fd: &F, uid: u32, gid: u32) -> io::Result<()> {
    // SAFETY: fchown on an fd we own.
    check(unsafe { libc::fchown(fd.as_raw_fd(), uid, gid) }).map(|_| ())
}

/// Sets an open file's or directory's mode.
pub(crate) fn chmod_fd<F: AsRawFd>(fd: &F, mode: u32) -> io::Result<()> {
    // SAFETY: fchmod on an fd we own.
    check(unsafe { libc::fchmod(fd.as_raw_fd(), mode as libc::mode_t) }).map(|_| ())
}

/// Copies at most `max` bytes from `src` to `dst`; true when `src` had more.
/// Holes are read as zeros and written as data, so `max` bounds the space used.
pub(crate) fn copy_capped(src: &mut File, dst: &mut File, max: u64) -> io::Result<bool> {
    let mut left = max;
    let mut buf = vec![0u8; 256 << 10];
    while left > 0 {
        let want = buf.len().min(left as usize);
        let n = src.read(&mut buf[..want])?;
        if n == 0 {
            return Ok(false);
        }
        dst.write_all(&buf[..n])?;
        left -= n as u64;
    }
    let mut probe = [0u8; 1];
    Ok(src.read(&mut probe)? > 0)
}

/// Reads at most `max` bytes of `src`; true when it had more.
pub(crate) fn read_capped(src: &mut File, max: u64) -> io::Result<(Vec<u8>, bool)> {
    let mut out = Vec::new();
    src.take(max).read_to_end(&mut out)?;
    let mut probe = [0u8; 1];
    let more = src.read(&mut probe)? > 0;
    Ok((out, more))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_fifos_and_escapes_are_refused() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("ok.txt"), "hello").unwrap();
        std::os::unix::fs::symlink("/etc/hostname", d.path().join("link")).unwrap();
        let fifo = CString::new(d.path().join("fifo").as_os_str().as_bytes()).unwrap();
        assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0);
        let dir = open_dir(d.path()).unwrap();
        let mut f = open_regular(&dir, "ok.txt").unwrap();
        assert_eq!(read_capped(&mut f, 3).unwrap(), (b"hel".to_vec(), true));
        assert!(open_regular(&dir, "link").is_err(), "a link is not followed");
        assert!(open_regular(&dir, "fifo").is_err(), "a FIFO is refused without blocking");
        assert!(open_regular(&dir, "../x").is_err());
        assert!(create_new(&dir, "link", 0o600).is_err(), "an existing link is not replaced");
        assert!(create_new(&dir, "ok.txt", 0o600).is_err(), "an existing file is not truncated");
        assert_eq!(std::fs::read(d.path().join("ok.txt")).unwrap(), b"hello");
        let mut n = create_new(&dir, "new.txt", 0o600).unwrap();
        let mut src = open_regular(&dir, "ok.txt").unwrap();
        assert!(copy_capped(&mut src, &mut n, 4).unwrap(), "cut at the cap");
        assert_eq!(std::fs::read(d.path().join("new.txt")).unwrap(), b"hell");
        assert!(open_subdir(&dir, "link").is_err());
        assert!(rename_noreplace(&dir, "new.txt", "ok.txt").is_err(), "no overwrite");
        assert!(rename_noreplace(&dir, "new.txt", "moved.txt").unwrap());
        assert!(!rename_noreplace(&dir, "new.txt", "again.txt").unwrap(), "gone");
        replace_file(&dir, "link", 0o600, b"mine").unwrap();
        assert_eq!(std::fs::read(d.path().join("link")).unwrap(), b"mine", "the link was replaced, not followed");
    }
}
