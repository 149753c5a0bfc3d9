//! [`IndexReader`]: the `-index` byte stream as numbered records, for searches and timelines.

use crate::backend::{Backend, ByteReader, StreamInfo};
use crate::error::{Result, StoreError};
use crate::format::{IndexRecord, INDEX_RECORD_LEN};
use crate::name::StreamName;
use crate::search::{self, IndexSource};

use super::*;

/// Reads exactly `buf.len()` bytes at `offset`; `Ok(false)` if the stream does not hold that many yet.
pub fn read_exact_at(reader: &mut dyn ByteReader, offset: u64, buf: &mut [u8]) -> Result<bool> {
    let mut done = 0;
    while done < buf.len() {
        let n = reader.read_at(offset + done as u64, &mut buf[done..])?;
        if n == 0 {
            return Ok(false);
        }
        done += n;
    }
    Ok(true)
}

/// An index stream read through a [`ByteReader`], searchable with [`crate::search`].
pub struct IndexReader {
    name: StreamName,
    reader: Box<dyn ByteReader>,
    /// The stream's record count when its newest record was last checked, and the count of records before
    /// the zeros a power cut left there (see [`IndexSource::bounds`]).
    checked_tail: Option<(u64, u64)>,
}

impl IndexReader {
    /// Opens the `-index` stream of a video stream.
    pub fn open(backend: &dyn Backend, video: &StreamName) -> Result<Self> {
        let name = video.index()?;
        let reader = backend.reader(&name)?;
        Ok(IndexReader {
            name,
            reader,
            checked_tail: None,
        })
    }

    /// Head, tail and state of the index stream.
    pub fn info(&mut self) -> Result<StreamInfo> {
        self.reader.info()
    }

    /// Reads all records from the head on: `(number of the first, records)`.
    pub fn read_all(&mut self) -> Result<(u64, Vec<IndexRecord>)> {
        let (first, end) = self.bounds()?;
        self.read_range(first, end).map(|r| (first, r))
    }

    /// Reads records `from..to` in large reads.
    pub fn read_range(&mut self, from: u64, to: u64) -> Result<Vec<IndexRecord>> {
        let mut records = Vec::with_capacity(to.saturating_sub(from) as usize);
        let mut buf = vec![0u8; 64 * 1024 * INDEX_RECORD_LEN / 64];
        let mut n = from;
        while n < to {
            let count = ((to - n) as usize).min(buf.len() / INDEX_RECORD_LEN);
            let chunk = &mut buf[..count * INDEX_RECORD_LEN];
            match read_exact_at(self.reader.as_mut(), n * REC, chunk) {
                Ok(true) => {}
                Ok(false) => break,
                Err(StoreError::Truncated { head, .. }) => {
                    // Truncated while we read: continue from the new head.
                    n = head.div_ceil(REC).max(n + 1);
                    records.clear();
                    continue;
                }
                Err(e) => return Err(e),
            }
            for (i, raw) in chunk.chunks_exact(INDEX_RECORD_LEN).enumerate() {
                let rec = IndexRecord::decode(raw).map_err(|source| StoreError::Corrupt {
                    stream: self.name.clone(),
                    offset: (n + i as u64) * REC,
                    source,
                })?;
                records.push(rec);
            }
            n += count as u64;
        }
        Ok(records)
    }

    /// The first record whose data offset is greater than `offset` (for resynchronising after corrupt data).
    pub fn first_with_offset_after(&mut self, offset: u64) -> Result<Option<search::Numbered>> {
        let (mut lo, mut hi) = self.bounds()?;
        let end = hi;
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if self.record(mid)?.offset <= offset {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        if lo < end {
            Ok(Some((lo, self.record(lo)?)))
        } else {
            Ok(None)
        }
    }
}

impl IndexSource for IndexReader {
    /// The records from the head to the tail, the tail before any records of zeros: a power cut can leave the
    /// unwritten blocks of the index's unsynced tail reading as zeros until a writer repairs it, and a record
    /// of zeros was never written (no writer indexes a frame of unknown time). Checked once per new tail.
    fn bounds(&mut self) -> Result<(u64, u64)> {
        let (head, tail) = self.reader.extent()?;
        let (first, mut end) = (head.div_ceil(REC), tail / REC);
        if let Some((seen, written)) = self.checked_tail.filter(|(seen, _)| *seen == end) {
            return Ok((first, written.max(first).min(seen)));
        }
        let seen = end;
        while end > first {
            match self.record(end - 1) {
                Err(StoreError::Corrupt {
                    source: crate::format::FormatError::ZeroTimestamp,
                    ..
                }) => end -= 1,
                _ => break,
            }
        }
        self.checked_tail = Some((seen, end));
        Ok((first, end))
    }

    fn record(&mut self, n: u64) -> Result<IndexRecord> {
        let mut raw = [0u8; INDEX_RECORD_LEN];
        if !read_exact_at(self.reader.as_mut(), n * REC, &mut raw)? {
            return Err(StoreError::Inconsistent(format!(
                "index record {n} is not complete"
            )));
        }
        IndexRecord::decode(&raw).map_err(|source| StoreError::Corrupt {
            stream: self.name.clone(),
            offset: n * REC,
            source,
        })
    }
}
