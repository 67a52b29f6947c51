//! Raw stdout/stderr writers (bypassing std's line-buffered `Stdout`).

use std::fs::File;
use std::io::Write;
use std::mem::ManuallyDrop;
use std::os::fd::FromRawFd;

/// Writes NDJSON to fd 1. `line` flushes at once; `buffered` batches up to
/// `BIG_BUF` bytes per write(2) for the bulk scenarios.
pub struct Out {
    file: ManuallyDrop<File>,
    buf: Vec<u8>,
}

const BIG_BUF: usize = 1 << 20;

impl Out {
    pub fn stdout() -> Out {
        // SAFETY: fd 1 belongs to the process; ManuallyDrop keeps it open.
        let file = ManuallyDrop::new(unsafe { File::from_raw_fd(1) });
        Out {
            file,
            buf: Vec::new(),
        }
    }

    /// Writes `s` plus a newline and flushes.
    pub fn line(&mut self, s: &str) {
        self.bytes_line(s.as_bytes());
    }

    /// Writes arbitrary bytes (not necessarily UTF-8) plus a newline and flushes.
    pub fn bytes_line(&mut self, b: &[u8]) {
        self.buf.reserve(b.len() + 1);
        self.buf.extend_from_slice(b);
        self.buf.push(b'\n');
        self.flush();
    }

    /// Appends raw bytes (the caller adds newlines); writes out when the
    /// buffer reaches 1 MiB. Call `flush` at the end.
    pub fn buffered(&mut self, b: &[u8]) {
        if self.buf.capacity() < BIG_BUF {
            self.buf.reserve(BIG_BUF - self.buf.len());
        }
        self.buf.extend_from_slice(b);
        if self.buf.len() >= BIG_BUF {
            self.flush();
        }
    }

    pub fn flush(&mut self) {
        if self.buf.is_empty() {
            return;
        }
        if let Err(e) = self.file.write_all(&self.buf) {
            // Like a CLI whose reader went away: say so and quit.
            err(&format!("fake-claude: writing stdout failed: {e}\n"));
            std::process::exit(1);
        }
        self.buf.clear();
    }
}

/// Writes `b` to stderr with blocking writes, ignoring errors.
pub fn err_bytes(b: &[u8]) {
    let _ = std::io::stderr().write_all(b);
}

pub fn err(s: &str) {
    err_bytes(s.as_bytes());
}
