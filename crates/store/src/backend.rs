//! The storage API shared by both backends: append-only byte streams with a movable head.
//!
//! A video stream is two byte streams (data and `-index`); the [`crate::video`] layer builds frames and index
//! records on top of these primitives, so a backend only moves bytes. Every call is blocking: the GStreamer
//! elements call it from their streaming threads, and the app from worker threads.

use std::time::Instant;

use crate::error::Result;
use crate::interrupt::Interrupt;
use crate::name::StreamName;

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
    /// [`crate::StoreError::Truncated`].
    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> Result<usize>;
    /// Current head, tail and state.
    fn info(&mut self) -> Result<StreamInfo>;
    /// Current head and tail only, as cheaply as the backend can tell them (searches ask for them on every
    /// seek; the state in [`ByteReader::info`] costs more).
    fn extent(&mut self) -> Result<(u64, u64)> {
        self.info().map(|i| (i.head, i.tail))
    }
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
    /// True if the scope of `name` exists (it may hold no stream yet).
    fn scope_exists(&self, name: &StreamName) -> Result<bool>;
    /// All streams, sorted.
    fn list(&self) -> Result<Vec<StreamName>>;
    /// Deletes a stream and its bytes.
    fn delete(&self, name: &StreamName) -> Result<()>;
    /// Head, tail and state of a stream.
    fn info(&self, name: &StreamName) -> Result<StreamInfo>;
    /// Drops everything before `offset` (frees storage); readers below it get [`crate::StoreError::Truncated`].
    fn truncate_before(&self, name: &StreamName, offset: u64) -> Result<()>;
    /// Opens the exclusive writer of a stream; [`crate::StoreError::WriterBusy`] if another exists.
    fn writer(&self, name: &StreamName) -> Result<Box<dyn ByteWriter>>;
    /// Opens a reader; [`crate::StoreError::NotFound`] if the stream does not exist.
    fn reader(&self, name: &StreamName) -> Result<Box<dyn ByteReader>>;
}
