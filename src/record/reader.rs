//! Reading a recording back, line by line, from plain, zstd or gzip files (told apart by their
//! first bytes) and the parts a rotating recorder wrote after them (`FILE.1`, `FILE.2`, …).
//! The first line that cannot be read ends the reading: it becomes a [`Problem`] naming the
//! file and line, and everything before it is used.

use std::fmt;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Instant, SystemTime};

use super::format::{self, Entry, FORMAT_VERSION, Header, LineError};
use crate::broker::BrokerEvent;

/// Where and why reading stopped early.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub path: PathBuf,
    /// 1-based line number in that file.
    pub line: u64,
    pub what: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: line {}: {}",
            self.path.display(),
            self.line,
            self.what
        )
    }
}

/// Counts the bytes read from the files, for progress bars.
struct Counting<R> {
    inner: R,
    read: Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// Compression, from the first bytes of a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    None,
    Zstd,
    Gzip,
}

impl Compression {
    pub fn sniff(first: &[u8]) -> Self {
        if first.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            Compression::Zstd
        } else if first.starts_with(&[0x1f, 0x8b]) {
            Compression::Gzip
        } else {
            Compression::None
        }
    }

    /// What a file name asks the recorder for.
    pub fn for_name(path: &Path) -> Self {
        match path.extension().and_then(|e| e.to_str()) {
            Some("zst" | "zstd") => Compression::Zstd,
            Some("gz") => Compression::Gzip,
            _ => Compression::None,
        }
    }
}

/// The files of a recording: the one named, then the parts rotation wrote after it.
pub fn parts(path: &Path) -> Vec<PathBuf> {
    let mut out = vec![path.to_path_buf()];
    for n in 1.. {
        let mut name = path.as_os_str().to_owned();
        name.push(format!(".{n}"));
        let part = PathBuf::from(name);
        if !part.is_file() {
            break;
        }
        out.push(part);
    }
    out
}

/// The longest line read: a 256 MiB payload in base64 with its properties. A longer one is a
/// damaged file, not a reason to fill the memory.
pub const MAX_LINE: usize = 400 << 20;

pub struct Reader {
    files: std::vec::IntoIter<PathBuf>,
    current: PathBuf,
    lines: Box<dyn BufRead + Send>,
    line: u64,
    buf: Vec<u8>,
    base: Option<(SystemTime, Instant)>,
    read: Arc<AtomicU64>,
    /// Bytes of all the files (compressed, as on disk).
    pub total_bytes: u64,
    /// The first header seen.
    pub header: Option<Header>,
    /// Things worth saying that did not stop the reading (a newer format version).
    pub warnings: Vec<String>,
    /// Why reading stopped before the end, if it did.
    pub problem: Option<Problem>,
    /// Events read so far.
    pub events: u64,
    max_line: usize,
}

impl Reader {
    /// Opens a recording and its parts. Fails only when the first file cannot be opened.
    pub fn open(path: &Path) -> io::Result<Self> {
        let files = parts(path);
        let total_bytes = files
            .iter()
            .filter_map(|f| f.metadata().ok())
            .map(|m| m.len())
            .sum();
        let read = Arc::new(AtomicU64::new(0));
        let lines = open_file(path, &read)?;
        let mut files = files.into_iter();
        files.next();
        Ok(Self {
            files,
            current: path.to_path_buf(),
            lines,
            line: 0,
            buf: Vec::with_capacity(4096),
            base: None,
            read,
            total_bytes,
            header: None,
            warnings: Vec::new(),
            problem: None,
            events: 0,
            max_line: MAX_LINE,
        })
    }

    /// A smaller line limit (tests).
    #[must_use]
    pub fn with_max_line(mut self, bytes: usize) -> Self {
        self.max_line = bytes;
        self
    }

    /// A counter of the bytes read, to watch from another thread.
    pub fn progress(&self) -> Arc<AtomicU64> {
        Arc::clone(&self.read)
    }

    fn stop(&mut self, what: impl Into<String>) -> Option<Vec<BrokerEvent>> {
        self.problem = Some(Problem {
            path: self.current.clone(),
            line: self.line,
            what: what.into(),
        });
        None
    }

    /// The events of the next line that has any; `None` at the end or at a problem.
    pub fn next_events(&mut self) -> Option<Vec<BrokerEvent>> {
        loop {
            if self.problem.is_some() {
                return None;
            }
            self.buf.clear();
            let limit = self.max_line as u64 + 1;
            let n = match (&mut self.lines)
                .take(limit)
                .read_until(b'\n', &mut self.buf)
            {
                Ok(n) => n,
                Err(e) => {
                    self.line += 1;
                    return self.stop(format!(
                        "the data ends or is damaged here ({e}); the recording was not closed \
                         (killed, or the disk filled) or the file was cut short"
                    ));
                }
            };
            if n == 0 {
                let next = self.files.next()?;
                match open_file(&next, &self.read) {
                    Ok(lines) => {
                        self.lines = lines;
                        self.current = next;
                        self.line = 0;
                        continue;
                    }
                    Err(e) => {
                        self.current = next;
                        self.line = 0;
                        return self.stop(format!("cannot open: {e}"));
                    }
                }
            }
            self.line += 1;
            let complete = self.buf.last() == Some(&b'\n');
            if !complete && self.buf.len() > self.max_line {
                return self.stop(format!(
                    "a line longer than {} (a damaged file?)",
                    crate::size::human(self.max_line as u64)
                ));
            }
            let text = self.buf.trim_ascii();
            if text.is_empty() {
                continue;
            }
            match format::parse_line(text, &mut self.base) {
                Ok(Entry::Header(h)) => {
                    if h.version > FORMAT_VERSION && self.warnings.is_empty() {
                        self.warnings.push(format!(
                            "{}: written in format version {} by mqscope {}; this mqscope \
                             reads version {FORMAT_VERSION}: lines it does not know stop the reading",
                            self.current.display(),
                            h.version,
                            crate::sanitize::line(h.mqscope.as_bytes())
                        ));
                    }
                    self.header.get_or_insert(h);
                }
                Ok(Entry::Events(events)) => {
                    self.events += events.len() as u64;
                    return Some(events);
                }
                Err(_) if !complete => {
                    return self.stop(
                        "the last line is cut short (the recording stopped while writing it)",
                    );
                }
                Err(LineError::NotJson(_)) if self.line == 1 && self.header.is_none() => {
                    return self.stop(
                        "this is not an mqscope recording (expected JSON lines from `mqscope \
                         record` or `mqscope sub --json --events`)",
                    );
                }
                Err(e) => return self.stop(e.to_string()),
            }
        }
    }
}

fn open_file(path: &Path, read: &Arc<AtomicU64>) -> io::Result<Box<dyn BufRead + Send>> {
    let file = File::open(path)?;
    let counting = Counting {
        inner: file,
        read: Arc::clone(read),
    };
    let mut raw = BufReader::with_capacity(256 * 1024, counting);
    let kind = Compression::sniff(raw.fill_buf()?);
    Ok(match kind {
        Compression::None => Box::new(raw),
        Compression::Zstd => Box::new(BufReader::with_capacity(
            256 * 1024,
            zstd::stream::read::Decoder::with_buffer(raw)?,
        )),
        Compression::Gzip => Box::new(BufReader::with_capacity(
            256 * 1024,
            flate2::bufread::MultiGzDecoder::new(raw),
        )),
    })
}

#[cfg(test)]
#[path = "reader_tests.rs"]
mod tests;
