//! The Pravega reader's read-ahead: the bytes of its last read, served again for reads inside them for a short
//! while.

use std::time::{Duration, Instant};

/// Read-ahead bytes are served for this long; after that a read goes to the server again, so a truncation by
/// another process is noticed at most this late by a reader that had already fetched the truncated bytes
/// (truncations through the same store drop the read-ahead at once).
const CACHE_MAX_AGE: Duration = Duration::from_millis(100);

/// The bytes one read brought, from `start`.
#[derive(Default)]
pub(super) struct Cache {
    start: u64,
    data: Vec<u8>,
    at: Option<Instant>,
    /// The stream's truncation count when fetched.
    truncations: u64,
}

impl Cache {
    /// Holds `data`, read from `start` when the stream had been truncated `truncations` times.
    pub(super) fn put(&mut self, start: u64, data: Vec<u8>, truncations: u64) {
        self.start = start;
        self.data = data;
        self.at = Some(Instant::now());
        self.truncations = truncations;
    }

    /// Copies what it holds from `offset` on into `buf`: how many bytes, or `None` when it holds none there
    /// (or they are too old, or the stream was truncated since).
    pub(super) fn copy_to(&self, offset: u64, buf: &mut [u8], truncations: u64) -> Option<usize> {
        let at = self.at?;
        if at.elapsed() > CACHE_MAX_AGE || offset < self.start || truncations != self.truncations {
            return None;
        }
        let from = usize::try_from(offset - self.start).ok()?;
        if from >= self.data.len() {
            return None;
        }
        let n = buf.len().min(self.data.len() - from);
        buf[..n].copy_from_slice(&self.data[from..from + n]);
        Some(n)
    }
}
