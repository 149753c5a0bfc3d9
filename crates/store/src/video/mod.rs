//! Video streams: a data byte stream of frames paired with an `-index` byte stream of key-frame records.
//!
//! [`VideoWriter`] keeps the writing rules of DESIGN.md §2 (key frame before its index record, first frame and
//! first record of a run marked discontinuous, an end record on a clean stop, fsync at index records) and
//! repairs a crashed predecessor's torn tail. [`VideoReader`] returns whole frames only, waits at the tail,
//! follows truncation to the new head and resynchronises past corrupt bytes at the next index record.

use crate::backend::{Backend, StreamInfo};
use crate::error::Result;
use crate::format::{IndexRecord, INDEX_RECORD_LEN};
use crate::name::StreamName;
use crate::search::{self, IndexSource};
use crate::timestamp::Timestamp;

mod index;
mod reader;
mod repair;
mod writer;

pub use index::{read_exact_at, IndexReader};
pub use reader::{Frame, ReadOutcome, Skipped, VideoReader};
pub use writer::{Appended, FrameRole, IndexPolicy, VideoWriter};

const REC: u64 = INDEX_RECORD_LEN as u64;

/// The names of a video stream's two byte streams.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VideoStreamNames {
    /// The data stream (the video stream's own name).
    pub data: StreamName,
    /// The `-index` stream.
    pub index: StreamName,
}

impl VideoStreamNames {
    /// Both names for a video stream.
    pub fn new(name: &StreamName) -> Result<Self> {
        Ok(VideoStreamNames {
            data: name.clone(),
            index: name.index()?,
        })
    }
}

/// Video streams in a store: data streams that have an index stream beside them.
pub fn list_video_streams(backend: &dyn Backend) -> Result<Vec<StreamName>> {
    let all = backend.list()?;
    Ok(all
        .iter()
        .filter(|n| !n.is_index())
        .filter(|n| n.index().map(|i| all.binary_search(&i).is_ok()).unwrap_or(false))
        .cloned()
        .collect())
}

/// True if both byte streams of a video stream exist.
pub fn video_stream_exists(backend: &dyn Backend, name: &StreamName) -> Result<bool> {
    let names = VideoStreamNames::new(name)?;
    Ok(backend.exists(&names.data)? && backend.exists(&names.index)?)
}

/// Deletes both byte streams of a video stream.
pub fn delete_video_stream(backend: &dyn Backend, name: &StreamName) -> Result<()> {
    let names = VideoStreamNames::new(name)?;
    crate::evidence::delete_chain(backend, name)?;
    crate::marks::delete(backend, name)?;
    crate::digest::delete(backend, name)?;
    backend.delete(&names.index)?;
    backend.delete(&names.data)
}

/// Truncates a video stream before the key frame at or before `t`, or before the first hold when one starts
/// earlier (see [`crate::marks`]): index first, then data, both at an indexed offset. Bookmarks of the deleted
/// footage go with it. Returns the record that is now the first, or `None` if there is no key frame at or
/// before the cut.
pub fn truncate_before_time(
    backend: &dyn Backend,
    name: &StreamName,
    t: Timestamp,
) -> Result<Option<IndexRecord>> {
    let names = VideoStreamNames::new(name)?;
    let cut = crate::marks::read(backend, name)?.allowed_cut(t);
    let mut index = IndexReader::open(backend, name)?;
    let Some((n, rec)) = search::seek_target_at_or_before(&mut index, cut)? else {
        return Ok(None);
    };
    backend.truncate_before(&names.index, n * REC)?;
    backend.truncate_before(&names.data, rec.offset)?;
    crate::evidence::truncate_chain_before(backend, name, rec.offset)?;
    crate::marks::prune_bookmarks_before(backend, name, rec.timestamp)?;
    Ok(Some(rec))
}

/// Facts about a video stream for listings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VideoSummary {
    /// The stream.
    pub name: StreamName,
    /// The data stream's head and tail.
    pub data: StreamInfo,
    /// Number of the first index record still stored.
    pub first_record: u64,
    /// One past the last record.
    pub end_record: u64,
    /// Time of the first record.
    pub first_time: Option<Timestamp>,
    /// Time of the last record.
    pub last_time: Option<Timestamp>,
}

impl VideoSummary {
    /// Bytes stored (tail - head of the data).
    pub fn stored_bytes(&self) -> u64 {
        self.data.tail - self.data.head
    }
}

/// The stored time of a stream's last whole frame (`None` when it has none): a torn frame left by a killed
/// writer does not count. Reads from the last key frame's record to the tail, so at most a GOP of frames.
pub fn last_frame_time(backend: &dyn Backend, name: &StreamName) -> Result<Option<Timestamp>> {
    let mut reader = VideoReader::open(backend, name)?;
    if let Some((_, rec)) = search::last_seek_target(reader.index())? {
        reader.seek(rec.offset);
    }
    let interrupt = crate::Interrupt::new()?;
    let mut last = None;
    loop {
        // A deadline already passed: whatever is whole now, without waiting for a writer.
        match reader.next_frame(std::time::Instant::now(), &interrupt)? {
            ReadOutcome::Frame(f) if !f.header.timestamp.is_unknown() => last = Some(f.header.timestamp),
            ReadOutcome::Frame(_) => {}
            ReadOutcome::TimedOut | ReadOutcome::End | ReadOutcome::Interrupted => return Ok(last),
        }
    }
}

/// How far a stream's writer got: the stored time of its last whole frame, or, when the writer finished cleanly
/// (an end record after the last frame), just before the end record's time, which covers the last frame's
/// duration (and every sample of a last fragment holding several). `None` for a stream without frames.
pub fn written_until(backend: &dyn Backend, name: &StreamName) -> Result<Option<Timestamp>> {
    let last = last_frame_time(backend, name)?;
    let mut index = IndexReader::open(backend, name)?;
    let tail = backend.info(&VideoStreamNames::new(name)?.data)?.tail;
    let end = search::last_record(&mut index)?
        .map(|(_, r)| r)
        .filter(|r| !r.is_seek_target() && r.offset == tail)
        .map(|r| Timestamp::from_nanos(r.timestamp.nanos().saturating_sub(1)));
    Ok(match (last, end) {
        (Some(l), Some(e)) => Some(l.max(e)),
        (l, _) => l,
    })
}

/// The summaries of many streams, in their order, a few read at once ([`crate::fan_out`]): on Pravega each
/// is several round trips.
pub fn summarize_many(backend: &dyn Backend, names: &[StreamName]) -> Vec<Result<VideoSummary>> {
    crate::fan_out::map_concurrently(names, crate::fan_out::LISTING_CONCURRENCY, |name| {
        summarize(backend, name)
    })
}

/// Reads a stream's summary (two index records and the data info).
pub fn summarize(backend: &dyn Backend, name: &StreamName) -> Result<VideoSummary> {
    let names = VideoStreamNames::new(name)?;
    let data = backend.info(&names.data)?;
    let mut index = IndexReader::open(backend, name)?;
    let (first_record, end_record) = index.bounds()?;
    let first_time = search::first_record(&mut index)?.map(|(_, r)| r.timestamp);
    let last_time = search::last_record(&mut index)?.map(|(_, r)| r.timestamp);
    Ok(VideoSummary {
        name: name.clone(),
        data,
        first_record,
        end_record,
        first_time,
        last_time,
    })
}
