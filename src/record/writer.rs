//! Writing a recording without ever holding up the connection: the owner turns events into
//! lines in a buffer and hands full buffers to a writer thread over a bounded queue. When the
//! disk is too slow and the queue is full, the buffer is dropped and counted; when the disk
//! fails (full, removed), the thread stops and says why. The writer compresses, flushes at
//! least once a second (so every line reaches the file complete, and `kill -9` loses at most
//! the last second), and rotates to `FILE.1`, `FILE.2`, … past a size.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::format::{self, Header};
use super::reader::Compression;
use crate::broker::{BrokerEvent, LifecycleKind, Stage};

/// Lines gathered before a buffer goes to the writer.
const CHUNK: usize = 256 * 1024;
/// Buffers waiting for the disk, at most (16 MiB).
const QUEUE: usize = 64;
/// The writer flushes at least this often.
const FLUSH_EVERY: Duration = Duration::from_millis(500);

/// What the recording did so far; shared with the writer thread.
#[derive(Debug, Default)]
pub struct RecorderStats {
    pub messages: AtomicU64,
    /// Lines queued (all kinds).
    pub lines: AtomicU64,
    /// Bytes written to disk (after compression), all parts.
    pub written: AtomicU64,
    /// Lines dropped because the disk could not keep up.
    pub dropped: AtomicU64,
    /// The writer stopped: the disk failed. The reason is in `failure`.
    pub failed: AtomicBool,
    pub failure: Mutex<Option<String>>,
}

impl RecorderStats {
    pub fn failure(&self) -> Option<String> {
        if !self.failed.load(Ordering::Acquire) {
            return None;
        }
        self.failure.lock().ok().and_then(|f| f.clone())
    }
}

/// How to record.
#[derive(Debug, Clone, Default)]
pub struct RecordOptions {
    /// Rotate to the next part past this many bytes on disk.
    pub max_size: Option<u64>,
    /// Record packet lines too.
    pub packets: bool,
}

enum Chunk {
    Lines(Vec<u8>),
    Flush,
}

/// A recording in progress.
pub struct Recorder {
    pub path: PathBuf,
    tx: Option<SyncSender<Chunk>>,
    buf: Vec<u8>,
    lines_in_buf: u64,
    stats: Arc<RecorderStats>,
    thread: Option<JoinHandle<()>>,
    packets: bool,
    connack_elapsed: Option<Duration>,
}

impl Recorder {
    /// Creates the file and writes the header; fails when the file cannot be created.
    pub fn create(path: &Path, header: &Header, opts: &RecordOptions) -> io::Result<Self> {
        let compression = Compression::for_name(path);
        let mut head = serde_json::to_vec(&header.to_line()).map_err(io::Error::other)?;
        head.push(b'\n');
        let stats = Arc::new(RecorderStats::default());
        let mut sink = Sink::create(path, compression, Arc::clone(&stats))?;
        sink.write_all(&head)?;
        sink.flush()?;
        let (tx, rx) = mpsc::sync_channel(QUEUE);
        let writer = Writer {
            path: path.to_path_buf(),
            compression,
            sink: Some(sink),
            head,
            part: 0,
            max_size: opts.max_size,
            stats: Arc::clone(&stats),
        };
        let thread = std::thread::Builder::new()
            .name("mqscope-recorder".into())
            .spawn(move || writer.run(&rx))?;
        Ok(Self {
            path: path.to_path_buf(),
            tx: Some(tx),
            buf: Vec::with_capacity(CHUNK + 4096),
            lines_in_buf: 0,
            stats,
            thread: Some(thread),
            packets: opts.packets,
            connack_elapsed: None,
        })
    }

    pub fn stats(&self) -> &Arc<RecorderStats> {
        &self.stats
    }

    /// Records one event (a line, or none for events the format folds away).
    pub fn event(&mut self, event: &BrokerEvent) {
        if self.tx.is_none() {
            return;
        }
        let line = match event {
            BrokerEvent::Message(m) => {
                self.stats.messages.fetch_add(1, Ordering::Relaxed);
                // The hot path: straight from the message into the buffer.
                if serde_json::to_writer(&mut self.buf, &format::message_line(m)).is_ok() {
                    self.buf.push(b'\n');
                    self.lines_in_buf += 1;
                }
                if self.buf.len() >= CHUNK {
                    self.hand_over(false);
                }
                return;
            }
            BrokerEvent::Lifecycle(l) => {
                if let LifecycleKind::Stage {
                    stage: Stage::Connack,
                    elapsed,
                    ..
                } = &l.kind
                {
                    self.connack_elapsed = Some(*elapsed);
                }
                match crate::headless::render::lifecycle_json(l, self.connack_elapsed) {
                    Some(line) => line,
                    None => return,
                }
            }
            BrokerEvent::Packet(p) if self.packets => format::packet_line(p),
            BrokerEvent::Packet(_) | BrokerEvent::Dropped { .. } => return,
        };
        if serde_json::to_writer(&mut self.buf, &line).is_ok() {
            self.buf.push(b'\n');
            self.lines_in_buf += 1;
        }
        if self.buf.len() >= CHUNK {
            self.hand_over(false);
        }
    }

    /// Hands what is buffered to the writer and asks it to flush: call at least once a
    /// second, so a killed process loses at most that.
    pub fn tick(&mut self) {
        self.hand_over(true);
    }

    fn hand_over(&mut self, flush: bool) {
        let Some(tx) = &self.tx else { return };
        if !self.buf.is_empty() {
            let lines = std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK + 4096));
            let n = std::mem::take(&mut self.lines_in_buf);
            match tx.try_send(Chunk::Lines(lines)) {
                Ok(()) => {
                    self.stats.lines.fetch_add(n, Ordering::Relaxed);
                }
                Err(TrySendError::Full(_)) => {
                    self.stats.dropped.fetch_add(n, Ordering::Relaxed);
                }
                Err(TrySendError::Disconnected(_)) => {
                    self.tx = None;
                    return;
                }
            }
        }
        if flush {
            // A full queue flushes on its own soon enough.
            let _ = tx.try_send(Chunk::Flush);
        }
    }

    /// Writes what is left, closes the file (the compressed stream's end) and waits for it.
    pub fn finish(mut self) -> Arc<RecorderStats> {
        self.close();
        Arc::clone(&self.stats)
    }

    fn close(&mut self) {
        if let Some(tx) = self.tx.take() {
            if !self.buf.is_empty() {
                let n = std::mem::take(&mut self.lines_in_buf);
                // At the end, waiting for the disk is right.
                if tx.send(Chunk::Lines(std::mem::take(&mut self.buf))).is_ok() {
                    self.stats.lines.fetch_add(n, Ordering::Relaxed);
                }
            }
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        self.close();
    }
}

/// The file, compressed or not, counting what reaches it.
enum Sink {
    Plain(BufWriter<Counted>),
    Zstd(zstd::stream::write::Encoder<'static, Counted>),
    Gzip(flate2::write::GzEncoder<Counted>),
}

struct Counted {
    file: File,
    stats: Arc<RecorderStats>,
    /// Bytes in this part.
    size: u64,
}

impl Write for Counted {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.file.write(buf)?;
        self.size += n as u64;
        self.stats.written.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

impl Sink {
    fn create(
        path: &Path,
        compression: Compression,
        stats: Arc<RecorderStats>,
    ) -> io::Result<Self> {
        let file = File::create(path)?;
        let counted = Counted {
            file,
            stats,
            size: 0,
        };
        Ok(match compression {
            Compression::None => Sink::Plain(BufWriter::with_capacity(64 * 1024, counted)),
            // Level 1: the fastest of the normal levels, still 4–10× on JSON lines.
            Compression::Zstd => Sink::Zstd(zstd::stream::write::Encoder::new(counted, 1)?),
            Compression::Gzip => Sink::Gzip(flate2::write::GzEncoder::new(
                counted,
                flate2::Compression::fast(),
            )),
        })
    }

    fn size(&self) -> u64 {
        match self {
            Sink::Plain(w) => w.get_ref().size,
            Sink::Zstd(w) => w.get_ref().size,
            Sink::Gzip(w) => w.get_ref().size,
        }
    }

    /// Ends the compressed stream and the file.
    fn finish(self) -> io::Result<()> {
        let mut counted = match self {
            Sink::Plain(w) => w.into_inner().map_err(io::IntoInnerError::into_error)?,
            Sink::Zstd(w) => w.finish()?,
            Sink::Gzip(w) => w.finish()?,
        };
        counted.flush()
    }
}

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Sink::Plain(w) => w.write(buf),
            Sink::Zstd(w) => w.write(buf),
            Sink::Gzip(w) => w.write(buf),
        }
    }

    /// Everything written so far becomes complete lines in the file (a zstd block end, a
    /// deflate sync flush).
    fn flush(&mut self) -> io::Result<()> {
        match self {
            Sink::Plain(w) => w.flush(),
            Sink::Zstd(w) => w.flush(),
            Sink::Gzip(w) => w.flush(),
        }
    }
}

struct Writer {
    path: PathBuf,
    compression: Compression,
    sink: Option<Sink>,
    head: Vec<u8>,
    part: u32,
    max_size: Option<u64>,
    stats: Arc<RecorderStats>,
}

impl Writer {
    fn run(mut self, rx: &mpsc::Receiver<Chunk>) {
        let mut dirty = false;
        let mut flushed = Instant::now();
        loop {
            let (step, now) = match rx.recv_timeout(FLUSH_EVERY) {
                Ok(Chunk::Lines(lines)) => (self.write(&lines).map(|()| dirty = true), false),
                Ok(Chunk::Flush) | Err(RecvTimeoutError::Timeout) => (Ok(()), true),
                Err(RecvTimeoutError::Disconnected) => break,
            };
            let step = step.and_then(|()| {
                if dirty && (now || flushed.elapsed() >= FLUSH_EVERY) {
                    dirty = false;
                    flushed = Instant::now();
                    self.sink.as_mut().map_or(Ok(()), Write::flush)
                } else {
                    Ok(())
                }
            });
            if let Err(e) = step {
                self.fail(&e);
                return;
            }
        }
        if let Some(sink) = self.sink.take() {
            if let Err(e) = sink.finish() {
                self.fail(&e);
            }
        }
    }

    fn write(&mut self, lines: &[u8]) -> io::Result<()> {
        let sink = self
            .sink
            .as_mut()
            .ok_or_else(|| io::Error::other("closed"))?;
        sink.write_all(lines)?;
        if self.max_size.is_some_and(|max| sink.size() >= max) {
            self.rotate()?;
        }
        Ok(())
    }

    fn rotate(&mut self) -> io::Result<()> {
        if let Some(sink) = self.sink.take() {
            sink.finish()?;
        }
        self.part += 1;
        let mut name = self.path.as_os_str().to_owned();
        name.push(format!(".{}", self.part));
        let mut sink = Sink::create(Path::new(&name), self.compression, Arc::clone(&self.stats))?;
        sink.write_all(&self.head)?;
        self.sink = Some(sink);
        Ok(())
    }

    fn fail(&self, e: &io::Error) {
        if let Ok(mut f) = self.stats.failure.lock() {
            *f = Some(format!(
                "cannot write {}: {e}; recording stopped",
                self.path.display()
            ));
        }
        self.stats.failed.store(true, Ordering::Release);
    }
}
