//! Framing of the CLI's stdout on raw bytes: newline-delimited, with a
//! per-line cap that resets on each line (an over-long line is skipped and
//! reported, never fatal), valid or invalid UTF-8 alike.

use memchr::memchr;
use tokio::io::{AsyncRead, AsyncReadExt};

/// The largest read; reads start at `FIRST_READ` and double while they fill
/// the buffer, so a three-line job touches a few KiB, a flood reads big chunks.
const READ_CHUNK: usize = 256 * 1024;
const FIRST_READ: usize = 8 * 1024;

/// One framed piece of output.
#[derive(Debug, PartialEq)]
pub(crate) enum Frame<'a> {
    /// A complete line without its newline.
    Line(&'a [u8]),
    /// A line longer than the cap; it was skipped. Carries its length.
    TooLong(u64),
}

pub(crate) struct LineReader<R> {
    reader: R,
    buf: Vec<u8>,
    start: usize,
    cap: usize,
    discarding: Option<u64>,
    eof: bool,
    /// Bytes the next read asks for.
    chunk: usize,
}

impl<R: AsyncRead + Unpin> LineReader<R> {
    pub(crate) fn new(reader: R, cap: usize) -> Self {
        LineReader {
            reader,
            buf: Vec::new(),
            start: 0,
            cap: cap.max(1),
            discarding: None,
            eof: false,
            chunk: FIRST_READ,
        }
    }

    /// The next frame, or `None` at the end of the stream.
    pub(crate) async fn next(&mut self) -> std::io::Result<Option<Frame<'_>>> {
        loop {
            if let Some(pos) = memchr(b'\n', &self.buf[self.start..]) {
                let s = self.start;
                self.start += pos + 1;
                if let Some(skipped) = self.discarding.take() {
                    return Ok(Some(Frame::TooLong(skipped + pos as u64)));
                }
                if pos > self.cap {
                    return Ok(Some(Frame::TooLong(pos as u64)));
                }
                return Ok(Some(Frame::Line(&self.buf[s..s + pos])));
            }
            let pending = self.buf.len() - self.start;
            if let Some(skipped) = self.discarding.as_mut() {
                *skipped += pending as u64;
                self.buf.clear();
                self.start = 0;
            } else if pending > self.cap {
                self.discarding = Some(pending as u64);
                self.buf.clear();
                self.start = 0;
            } else if self.start > 0 {
                self.buf.drain(..self.start);
                self.start = 0;
            }
            if self.eof {
                if let Some(skipped) = self.discarding.take() {
                    return Ok(Some(Frame::TooLong(skipped)));
                }
                if self.buf.is_empty() {
                    return Ok(None);
                }
                // A last line without a newline.
                let end = self.buf.len();
                self.start = end;
                return Ok(Some(Frame::Line(&self.buf[..end])));
            }
            // Into the spare capacity: nothing is zeroed first.
            self.buf.reserve(self.chunk);
            let spare = self.buf.capacity() - self.buf.len();
            let n = self.reader.read_buf(&mut self.buf).await?;
            if n == 0 {
                self.eof = true;
            } else if n == spare && self.chunk < READ_CHUNK {
                self.chunk *= 2;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn frames(input: &[u8], cap: usize) -> Vec<String> {
        let mut r = LineReader::new(input, cap);
        let mut out = Vec::new();
        while let Some(f) = r.next().await.unwrap() {
            out.push(match f {
                Frame::Line(l) => String::from_utf8_lossy(l).into_owned(),
                Frame::TooLong(n) => format!("<too long {n}>"),
            });
        }
        out
    }

    #[tokio::test]
    async fn lines_caps_and_trailing_data() {
        assert_eq!(frames(b"a\nbb\n", 10).await, vec!["a", "bb"]);
        assert_eq!(frames(b"a\nlast", 10).await, vec!["a", "last"]);
        assert_eq!(
            frames(b"short\nthis line is long\nok\n", 8).await,
            vec!["short", "<too long 17>", "ok"]
        );
        let big = vec![b'x'; 3 * READ_CHUNK + 5];
        let mut input = big.clone();
        input.extend_from_slice(b"\n{}\n");
        assert_eq!(
            frames(&input, 1024).await,
            vec![format!("<too long {}>", big.len()), "{}".into()]
        );
        assert_eq!(frames(b"\xff\xfe\n", 10).await.len(), 1);
    }
}
