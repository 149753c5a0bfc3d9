//! The index digested for timelines: recorded ranges and bytes per minute, grown as records are appended and
//! cached beside the stream, so that a year of footage (31.5 M index records, 630 MB of index) opens from a
//! few megabytes instead of the whole index.
//!
//! The cache is a byte stream `NAME-digest` (next to `NAME-index`, `NAME-chain` and `NAME-marks`) holding
//! snapshots, each framed as `"HSD1"`, a 4-byte big-endian length and the encoded digest. A save appends a
//! snapshot and then truncates the stream before it, so the stream holds one snapshot (two after a crash
//! between the two steps; the last whole one wins). The cache is only a cache: it is checked against the
//! index (the record it ends with must be the index's record of that number) and rebuilt from the index when it
//! is missing, torn, stale or of another version; a store that cannot be written to just goes without it.

use std::time::Duration;

use crate::backend::Backend;
use crate::error::{Result, StoreError};
use crate::format::IndexRecord;
use crate::name::StreamName;
use crate::search::IndexSource;
use crate::timeline::{ByteSummary, Timeline, DEFAULT_RANGE_GAP};
use crate::video::{read_exact_at, IndexReader};

mod wire;

#[cfg(test)]
mod tests;

/// Suffix of the digest cache's stream name.
pub const DIGEST_SUFFIX: &str = "-digest";

/// Length of a byte cell: a year is 525 600 of them (about 12 MB in memory, 4 MB cached).
pub const DIGEST_STEP: Duration = Duration::from_secs(60);

/// Records taken in beyond the cached digest before it is saved again: an hour of 1 s key frames, 72 KB of
/// index to read at the next open.
pub const SAVE_AFTER: u64 = 3_600;

/// Records per index read while building.
const CHUNK: u64 = 65_536;

/// The cache stream of a video stream.
pub fn digest_name(video: &StreamName) -> Result<StreamName> {
    Ok(StreamName::new(
        video.scope(),
        &format!("{}{DIGEST_SUFFIX}", video.stream()),
    )?)
}

/// A timeline summary of index records `first..end`: their recorded ranges and bytes per [`DIGEST_STEP`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Digest {
    first: u64,
    end: u64,
    last: Option<IndexRecord>,
    /// Recorded ranges, gaps and the truncated head.
    pub timeline: Timeline,
    /// Bytes per [`DIGEST_STEP`].
    pub bytes: ByteSummary,
}

impl Digest {
    /// An empty digest whose first record will be record number `first` of the index.
    pub fn new(first: u64) -> Self {
        Digest {
            first,
            end: first,
            last: None,
            timeline: Timeline::default(),
            bytes: ByteSummary::new(DIGEST_STEP, DEFAULT_RANGE_GAP),
        }
    }

    /// Number of the first record taken in.
    pub fn first(&self) -> u64 {
        self.first
    }

    /// One past the number of the last record taken in.
    pub fn end(&self) -> u64 {
        self.end
    }

    /// The last record taken in.
    pub fn last(&self) -> Option<IndexRecord> {
        self.last
    }

    /// Takes in `records`, the index's records from number [`Digest::end`] on.
    pub fn extend(&mut self, records: &[IndexRecord]) {
        let Some(&newest) = records.last() else { return };
        if self.first > 0 && self.timeline.truncated_before.is_none() && self.end == self.first {
            self.timeline.truncated_before = Some(records[0].timestamp);
        }
        self.timeline.extend(self.end, records, 0, DEFAULT_RANGE_GAP);
        self.bytes.extend(records);
        self.end += records.len() as u64;
        self.last = Some(newest);
    }

    /// The index was truncated: record number `first` is now its first, `head`. Ranges and bytes before it go.
    pub fn head_moved(&mut self, first: u64, head: IndexRecord) {
        if first <= self.first {
            return;
        }
        self.first = first;
        self.timeline.ranges.retain(|r| r.end_record > first);
        if let Some(r) = self.timeline.ranges.first_mut() {
            if r.first_record < first {
                r.first_record = first;
                r.start = head.timestamp;
                r.start_offset = head.offset;
            }
        }
        self.timeline.truncated_before = Some(head.timestamp);
        self.bytes.clip_before(head.timestamp);
    }

    /// Builds the digest of `video`'s index from the start, reading it in chunks (never all of it at once).
    pub fn build(index: &mut IndexReader) -> Result<Digest> {
        let (head, _) = index.bounds()?;
        let mut digest = Digest::new(head);
        digest.catch_up(index)?;
        Ok(digest)
    }

    /// Takes in the records appended to the index since [`Digest::end`]; returns how many.
    pub fn catch_up(&mut self, index: &mut IndexReader) -> Result<u64> {
        let (_, tail) = index.bounds()?;
        let start = self.end;
        while self.end < tail {
            let records = index.read_range(self.end, tail.min(self.end + CHUNK))?;
            if records.is_empty() {
                break;
            }
            self.extend(&records);
        }
        Ok(self.end - start)
    }

    /// Encodes the digest for the cache.
    pub fn encode(&self) -> Vec<u8> {
        wire::encode(self)
    }

    /// Decodes what [`Digest::encode`] made.
    pub fn decode(bytes: &[u8]) -> Option<Digest> {
        wire::decode(bytes)
    }
}

/// What [`load`] did: the digest and how it was made.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The digest of the whole index as it is now.
    pub digest: Digest,
    /// True when a cached digest was found and used.
    pub from_cache: bool,
    /// Index records read to bring it up to date.
    pub records_read: u64,
    /// True when the cache was written.
    pub saved: bool,
}

/// The digest of `video`'s index: the cached one brought up to date with the records appended since, or
/// one built from the index when there is no usable cache. The cache is written again once more than
/// [`SAVE_AFTER`] records had to be read; a failure to write it is logged and otherwise ignored.
pub fn load(backend: &dyn Backend, video: &StreamName) -> Result<Loaded> {
    load_with(backend, video, &mut IndexReader::open(backend, video)?)
}

/// [`load`] through an index reader the caller already has open.
pub fn load_with(backend: &dyn Backend, video: &StreamName, index: &mut IndexReader) -> Result<Loaded> {
    let (head, tail) = index.bounds()?;
    let cached = match read_cache(backend, video) {
        Ok(c) => c,
        Err(e) => {
            tracing::debug!(stream = %video, error = %e, "the timeline digest cannot be read; building it");
            None
        }
    };
    let usable = match cached {
        Some(d) => check(index, d, head, tail)?,
        None => None,
    };
    let from_cache = usable.is_some();
    let mut digest = match usable {
        Some(mut d) => {
            if head > d.first {
                let first = index.record(head)?;
                d.head_moved(head, first);
            }
            d
        }
        None => Digest::new(head),
    };
    let records_read = digest.catch_up(index)?;
    let saved = records_read >= SAVE_AFTER && {
        match save(backend, video, &digest) {
            Ok(saved) => saved,
            Err(e) => {
                tracing::warn!(stream = %video, error = %e, "cannot cache the timeline digest");
                false
            }
        }
    };
    Ok(Loaded {
        digest,
        from_cache,
        records_read,
        saved,
    })
}

/// `cached` if it agrees with the index (records `head..tail` now): it must end inside the index with the
/// record the index holds there.
fn check(index: &mut IndexReader, cached: Digest, head: u64, tail: u64) -> Result<Option<Digest>> {
    let (Some(last), true) = (cached.last, cached.end > head && cached.end <= tail) else {
        return Ok(None);
    };
    if cached.first > head {
        return Ok(None);
    }
    match index.record(cached.end - 1) {
        Ok(r) if r == last => Ok(Some(cached)),
        Ok(_) => Ok(None),
        Err(StoreError::Truncated { .. }) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Snapshot frame: magic and big-endian length.
const MAGIC: &[u8; 4] = b"HSD1";
const FRAME_HEAD: usize = 8;

/// Writes `digest` to the cache; `Ok(false)` when another client is writing it at the moment.
pub fn save(backend: &dyn Backend, video: &StreamName, digest: &Digest) -> Result<bool> {
    let name = digest_name(video)?;
    backend.create(&name)?;
    let mut writer = match backend.writer(&name) {
        Ok(w) => w,
        // Another client is saving the same digest: its copy will do.
        Err(StoreError::WriterBusy(_)) => return Ok(false),
        Err(e) => return Err(e),
    };
    let body = digest.encode();
    let len = u32::try_from(body.len())
        .map_err(|_| StoreError::invalid("the timeline digest is larger than 4 GiB"))?;
    let mut frame = Vec::with_capacity(FRAME_HEAD + body.len());
    frame.extend_from_slice(MAGIC);
    frame.extend_from_slice(&len.to_be_bytes());
    frame.extend_from_slice(&body);
    let start = writer.tail();
    writer.append(&frame)?;
    writer.sync()?;
    drop(writer);
    if start > 0 {
        backend.truncate_before(&name, start)?;
    }
    Ok(true)
}

/// The last whole snapshot in the cache, if any.
fn read_cache(backend: &dyn Backend, video: &StreamName) -> Result<Option<Digest>> {
    let name = digest_name(video)?;
    let mut reader = match backend.reader(&name) {
        Ok(r) => r,
        Err(StoreError::NotFound(_)) => return Ok(None),
        Err(e) => return Err(e),
    };
    let (head, tail) = reader.extent()?;
    let mut bytes = vec![0u8; (tail - head) as usize];
    if !read_exact_at(reader.as_mut(), head, &mut bytes)? {
        return Ok(None);
    }
    let mut found = None;
    let mut at = 0usize;
    while let Some(frame) = bytes.get(at..at + FRAME_HEAD) {
        if &frame[..4] != MAGIC {
            break;
        }
        let len = u32::from_be_bytes([frame[4], frame[5], frame[6], frame[7]]) as usize;
        let Some(body) = bytes.get(at + FRAME_HEAD..at + FRAME_HEAD + len) else {
            break; // torn by a crash
        };
        if let Some(d) = Digest::decode(body) {
            found = Some(d);
        }
        at += FRAME_HEAD + len;
    }
    Ok(found)
}

/// Deletes the cache of `video` (nothing to do when it has none).
pub fn delete(backend: &dyn Backend, video: &StreamName) -> Result<()> {
    match backend.delete(&digest_name(video)?) {
        Ok(()) | Err(StoreError::NotFound(_)) => Ok(()),
        Err(e) => Err(e),
    }
}
