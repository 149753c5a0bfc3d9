//! The storage API shared by both backends: append-only byte streams with a movable head.
//!
//! A video stream is two byte streams (data and `-index`); the [`crate::video`] layer builds frames and index
//! records on top of these primitives, so a backend only moves bytes. Every call is blocking: the GStreamer
//! elements call it from their streaming threads, and the app from worker threads.

use std::io;
use std::os::fd::{AsFd, BorrowedFd};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use nix::sys::eventfd::{EfdFlags, EventFd};

use crate::format::FormatError;
use crate::name::{NameError, StreamName};

/// Result type of the store crate.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Errors from the storage API.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The stream does not exist in this store.
    #[error("stream {0} does not exist")]
    NotFound(StreamName),
    /// Another writer holds the stream.
    #[error("stream {0} is already being written by another writer")]
    WriterBusy(StreamName),
    /// The stream was sealed and takes no more appends.
    #[error("stream {0} is sealed")]
    Sealed(StreamName),
    /// The requested bytes were removed by truncation; reading can continue at `head`.
    #[error("offset {offset} of stream {stream} was truncated; data now starts at {head}")]
    Truncated {
        /// The stream.
        stream: StreamName,
        /// The offset that was asked for.
        offset: u64,
        /// The first offset still stored.
        head: u64,
    },
    /// An offset beyond the end of the stream where only existing data makes sense (e.g. truncation).
    #[error("offset {offset} is beyond the end ({tail}) of stream {stream}")]
    PastTail {
        /// The stream.
        stream: StreamName,
        /// The offset that was asked for.
        offset: u64,
        /// The current end.
        tail: u64,
    },
    /// The bytes are not valid frames or index records.
    #[error("corrupt data in stream {stream} at offset {offset}: {source}")]
    Corrupt {
        /// The stream.
        stream: StreamName,
        /// Where the bad bytes start.
        offset: u64,
        /// What is wrong.
        source: FormatError,
    },
    /// An append larger than the backend accepts at once.
    #[error("append of {len} bytes exceeds the limit of {max} bytes")]
    TooLarge {
        /// Bytes offered.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A bad name.
    #[error(transparent)]
    Name(#[from] NameError),
    /// A store URI that names no usable backend.
    #[error("invalid store URI {uri:?}: {reason}")]
    Uri {
        /// The URI.
        uri: String,
        /// Why it is unusable.
        reason: String,
    },
    /// The store itself is not there (an embedded store directory that does not exist).
    #[error("store {0} does not exist")]
    StoreMissing(String),
    /// An operating-system error, with what was being done. The OS error is part of the message (not a
    /// separate source) so that one-line reports carry it exactly once.
    #[error("{context}: {error}")]
    Io {
        /// What failed, e.g. "cannot open /x/y".
        context: String,
        /// The OS error.
        error: io::Error,
    },
    /// A wait was interrupted through its [`Interrupt`].
    #[error("interrupted")]
    Interrupted,
    /// A failure reported by a remote backend (unreachable, restarting, refusing): normally worth retrying.
    #[error("{0}")]
    Backend(String),
    /// An operation this backend cannot do (e.g. dropping bytes at the tail of a Pravega stream).
    #[error("unsupported: {0}")]
    Unsupported(String),
}

impl StoreError {
    /// Wraps an I/O error with context.
    pub fn io(context: impl Into<String>, error: io::Error) -> Self {
        StoreError::Io {
            context: context.into(),
            error,
        }
    }
}

/// Where a byte stream starts and ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct StreamInfo {
    /// First offset still stored (0 unless truncated).
    pub head: u64,
    /// One past the last byte.
    pub tail: u64,
    /// No more appends will come.
    pub sealed: bool,
    /// A writer holds the stream now, when the backend can tell.
    pub writer_active: Option<bool>,
}

/// How a tail wait ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitOutcome {
    /// Data exists beyond the offset.
    Data,
    /// The deadline passed first.
    TimedOut,
    /// The stream is sealed and will not grow.
    Sealed,
    /// Someone called [`Interrupt::interrupt`].
    Interrupted,
}

/// Wakes a blocked tail wait from another thread at once (GStreamer's `unlock`). It stays set until
/// [`Interrupt::clear`] so that a wait started just after the interrupt also returns.
#[derive(Debug, Clone)]
pub struct Interrupt {
    inner: Arc<InterruptInner>,
}

#[derive(Debug)]
struct InterruptInner {
    set: AtomicBool,
    fd: EventFd,
}

impl Interrupt {
    /// A new, clear interrupt.
    pub fn new() -> Result<Self> {
        let fd = EventFd::from_flags(EfdFlags::EFD_CLOEXEC | EfdFlags::EFD_NONBLOCK)
            .map_err(|e| StoreError::io("cannot create eventfd", e.into()))?;
        Ok(Interrupt {
            inner: Arc::new(InterruptInner {
                set: AtomicBool::new(false),
                fd,
            }),
        })
    }

    /// Wakes current and future waits until cleared.
    pub fn interrupt(&self) {
        self.inner.set.store(true, Ordering::SeqCst);
        // A full counter only means a wake-up is already pending.
        let _ = self.inner.fd.write(1);
    }

    /// Lets waits block again.
    pub fn clear(&self) {
        self.inner.set.store(false, Ordering::SeqCst);
        let _ = self.inner.fd.read();
    }

    /// True while interrupted.
    pub fn is_set(&self) -> bool {
        self.inner.set.load(Ordering::SeqCst)
    }

    /// The file descriptor that becomes readable on interrupt, for `poll`.
    pub fn as_fd(&self) -> BorrowedFd<'_> {
        self.inner.fd.as_fd()
    }
}

/// Appends to one byte stream. Holding one excludes other writers of the same stream.
pub trait ByteWriter: Send {
    /// Appends all of `bytes` atomically (never partly visible after a crash repair) and returns the offset of
    /// its first byte.
    fn append(&mut self, bytes: &[u8]) -> Result<u64>;
    /// One past the last byte written.
    fn tail(&self) -> u64;
    /// Makes everything appended so far durable.
    fn sync(&mut self) -> Result<()>;
    /// Crash repair only: drops bytes from `new_tail` on (a torn frame). Backends whose appends are atomic by
    /// construction may refuse any `new_tail` other than the current tail.
    fn truncate_tail(&mut self, new_tail: u64) -> Result<()>;
    /// Seals the stream: no more appends by anyone.
    fn seal(&mut self) -> Result<()>;
}

/// Reads one byte stream at absolute offsets.
pub trait ByteReader: Send {
    /// Reads up to `buf.len()` bytes at `offset`; returns 0 at the tail. Reading below the head is
    /// [`StoreError::Truncated`].
    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> Result<usize>;
    /// Current head, tail and state.
    fn info(&mut self) -> Result<StreamInfo>;
    /// Blocks until the stream extends beyond `offset`, it is sealed, `deadline` passes or `interrupt` fires.
    fn wait_beyond(&mut self, offset: u64, deadline: Instant, interrupt: &Interrupt) -> Result<WaitOutcome>;
}

/// A store of byte streams.
pub trait Backend: Send + Sync {
    /// The URI this backend was opened with, for messages (without any password).
    fn uri(&self) -> String;
    /// The URI that opens this same store again somewhere else, such as a GStreamer element's `store`
    /// property: [`Backend::uri`] plus any credentials. For passing on only, never for showing.
    fn open_uri(&self) -> String {
        self.uri()
    }
    /// Creates a stream if it does not exist.
    fn create(&self, name: &StreamName) -> Result<()>;
    /// True if the stream exists.
    fn exists(&self, name: &StreamName) -> Result<bool>;
    /// All streams, sorted.
    fn list(&self) -> Result<Vec<StreamName>>;
    /// Deletes a stream and its bytes.
    fn delete(&self, name: &StreamName) -> Result<()>;
    /// Head, tail and state of a stream.
    fn info(&self, name: &StreamName) -> Result<StreamInfo>;
    /// Drops everything before `offset` (frees storage); readers below it get [`StoreError::Truncated`].
    fn truncate_before(&self, name: &StreamName, offset: u64) -> Result<()>;
    /// Opens the exclusive writer of a stream; [`StoreError::WriterBusy`] if another exists.
    fn writer(&self, name: &StreamName) -> Result<Box<dyn ByteWriter>>;
    /// Opens a reader; [`StoreError::NotFound`] if the stream does not exist.
    fn reader(&self, name: &StreamName) -> Result<Box<dyn ByteReader>>;
}

/// The default embedded store directory: `$XDG_DATA_HOME/hindsight/streams` (or `~/.local/share/...`).
pub fn default_store_dir() -> PathBuf {
    let data = std::env::var_os("XDG_DATA_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))
        .unwrap_or_else(|| PathBuf::from("."));
    data.join("hindsight").join("streams")
}

/// Opens the backend a store URI names: `file:///path` or a plain path for the embedded store;
/// `tcp://` and `tls://` name a Pravega controller (see [`crate::pravega`] for credentials and TLS settings).
pub fn open_store(uri: &str) -> Result<Arc<dyn Backend>> {
    let uri_err = |reason: &str| StoreError::Uri {
        uri: uri.to_owned(),
        reason: reason.to_owned(),
    };
    if let Some(path) = uri.strip_prefix("file://") {
        if !path.starts_with('/') {
            return Err(uri_err("a file URI needs an absolute path (file:///...)"));
        }
        return Ok(Arc::new(crate::embedded::EmbeddedStore::open(path)?));
    }
    if uri.starts_with("tcp://") || uri.starts_with("tls://") {
        return Ok(Arc::new(crate::pravega::PravegaStore::open(uri)?));
    }
    if uri.contains("://") {
        return Err(uri_err("unknown scheme; use file://, tcp:// or tls://"));
    }
    if uri.is_empty() {
        return Err(uri_err("empty"));
    }
    Ok(Arc::new(crate::embedded::EmbeddedStore::open(uri)?))
}
