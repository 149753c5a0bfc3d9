//! Video streams: a data byte stream of frames paired with an `-index` byte stream of key-frame records.
//!
//! [`VideoWriter`] keeps the writing rules of DESIGN.md §2 (key frame before its index record, first frame and
//! first record of a run marked discontinuous, an end record on a clean stop, fsync at index records) and
//! repairs a crashed predecessor's torn tail. [`VideoReader`] returns whole frames only, waits at the tail,
//! follows truncation to the new head and resynchronises past corrupt bytes at the next index record.

use std::time::{Duration, Instant};

use crate::backend::{Backend, ByteReader, ByteWriter, StreamInfo, WaitOutcome};
use crate::error::{Result, StoreError};
use crate::format::{
    split_payload, Flags, FrameHeader, IndexRecord, FRAME_HEADER_LEN, INDEX_RECORD_LEN, MAX_FRAME_LEN,
};
use crate::interrupt::Interrupt;
use crate::name::StreamName;
use crate::search::{self, IndexSource};
use crate::timestamp::Timestamp;

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
    backend.delete(&names.index)?;
    backend.delete(&names.data)
}

/// When a writer adds index records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndexPolicy {
    /// Key frames closer than this to the previous record are not indexed.
    pub min_interval: Duration,
    /// A record is forced (at a delta frame if need be) once this much time passed since the previous one.
    pub max_interval: Duration,
}

impl Default for IndexPolicy {
    fn default() -> Self {
        IndexPolicy {
            min_interval: Duration::from_millis(500),
            max_interval: Duration::from_secs(10),
        }
    }
}

/// What one [`VideoWriter::append`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Appended {
    /// Data offset of the (first) frame.
    pub offset: u64,
    /// The index record written for it, if any.
    pub record: Option<IndexRecord>,
    /// The timestamp stored (raised to keep stored time increasing).
    pub timestamp: Timestamp,
}

/// Writes one video stream. Only one exists per stream at a time, across processes.
pub struct VideoWriter {
    names: VideoStreamNames,
    data: Box<dyn ByteWriter>,
    index: Box<dyn ByteWriter>,
    policy: IndexPolicy,
    last_index: Option<Timestamp>,
    last_timestamp: Option<Timestamp>,
    /// The first known timestamp this writer stored: until the first record exists, `max_interval` counts
    /// from here, so a stream of only delta frames still gets forced records.
    run_start: Option<Timestamp>,
    frame_discont_pending: bool,
    index_discont_pending: bool,
}

impl VideoWriter {
    /// Creates the stream if needed, takes the writer locks and repairs any torn tail left by a crash.
    pub fn open(backend: &dyn Backend, name: &StreamName, policy: IndexPolicy) -> Result<Self> {
        let names = VideoStreamNames::new(name)?;
        backend.create(&names.data)?;
        backend.create(&names.index)?;
        let data = backend.writer(&names.data)?;
        let index = backend.writer(&names.index)?;
        let mut writer = VideoWriter {
            names,
            data,
            index,
            policy,
            last_index: None,
            last_timestamp: None,
            run_start: None,
            frame_discont_pending: true,
            index_discont_pending: true,
        };
        writer.recover(backend)?;
        Ok(writer)
    }

    /// The stream being written.
    pub fn name(&self) -> &StreamName {
        &self.names.data
    }

    /// Bytes in the data stream so far (its tail offset).
    pub fn data_tail(&self) -> u64 {
        self.data.tail()
    }

    /// Drops a torn trailing frame and index records that point past the data (DESIGN.md §3).
    fn recover(&mut self, backend: &dyn Backend) -> Result<()> {
        let index_tail = self.index.tail();
        if index_tail % REC != 0 {
            self.index.truncate_tail(index_tail - index_tail % REC)?;
        }
        let data_info = backend.info(&self.names.data)?;
        let mut index_reader = IndexReader::open(backend, &self.names.data)?;
        // Scan frames from the newest indexed offset that lies inside the data.
        let (first, end) = index_reader.bounds()?;
        let mut scan_from = data_info.head;
        let mut n = end;
        while n > first {
            let rec = index_reader.record(n - 1)?;
            if rec.offset < data_info.tail {
                scan_from = rec.offset.max(data_info.head);
                break;
            }
            n -= 1;
        }
        let mut data_reader = backend.reader(&self.names.data)?;
        let mut pos = scan_from;
        let mut header = [0u8; FRAME_HEADER_LEN];
        let mut last_ts = None;
        while pos < data_info.tail {
            if !read_exact_at(data_reader.as_mut(), pos, &mut header)? {
                break;
            }
            let Ok(h) = FrameHeader::decode(&header) else {
                break;
            };
            if pos + h.frame_len() as u64 > data_info.tail {
                break;
            }
            if !h.timestamp.is_unknown() {
                last_ts = Some(h.timestamp);
            }
            pos += h.frame_len() as u64;
        }
        if pos < data_info.tail {
            tracing::warn!(stream = %self.names.data, torn_at = pos, tail = data_info.tail, "repairing torn frame");
            self.data.truncate_tail(pos)?;
        }
        let data_tail = self.data.tail();
        // Index records must point at a frame inside the data; an end record may point at the very end.
        let mut keep = end;
        while keep > first {
            let rec = index_reader.record(keep - 1)?;
            if rec.offset < data_tail || (rec.offset == data_tail && !rec.is_seek_target()) {
                break;
            }
            keep -= 1;
        }
        if keep < end {
            tracing::warn!(stream = %self.names.index, dropped = end - keep, "dropping index records past the data");
            self.index.truncate_tail(keep * REC)?;
        }
        if keep > first {
            let rec = index_reader.record(keep - 1)?;
            last_ts = Some(last_ts.map_or(rec.timestamp, |t: Timestamp| t.max(rec.timestamp)));
        }
        self.last_timestamp = last_ts;
        Ok(())
    }

    /// Appends one buffer as one frame (split if over 8 MiB) and its index record when the policy asks for
    /// one. `timestamp` is raised to the previous one if it steps back, so stored time only increases.
    pub fn append(&mut self, payload: &[u8], timestamp: Timestamp, key_frame: bool) -> Result<Appended> {
        let mut ts = timestamp;
        if let Some(last) = self.last_timestamp {
            if !ts.is_unknown() && ts < last {
                tracing::debug!(stream = %self.names.data, %ts, %last, "timestamp stepped back; clamped");
                ts = last;
            }
        }
        if self.run_start.is_none() && !ts.is_unknown() {
            self.run_start = Some(ts);
        }
        let indexed = if ts.is_unknown() {
            false
        } else if key_frame {
            self.last_index
                .is_none_or(|li| ts.duration_since(li) >= self.policy.min_interval)
        } else {
            // Some encoders flag every buffer as a delta unit (DESIGN.md §7): force a record after
            // `max_interval`, counted from this writer's first frame while it has written no record yet.
            self.last_index
                .or(self.run_start)
                .is_some_and(|since| ts.duration_since(since) >= self.policy.max_interval)
        };
        let mut flags = Flags::new(indexed, key_frame, false);
        if self.frame_discont_pending {
            flags = flags.with_discontinuity();
        }
        let frames = split_payload(flags, ts, payload);
        let mut offset = None;
        for frame in &frames {
            let at = self.data.append(frame)?;
            offset.get_or_insert(at);
        }
        let offset = offset.unwrap_or(self.data.tail());
        self.frame_discont_pending = false;
        if !ts.is_unknown() {
            self.last_timestamp = Some(ts);
        }
        let record = if indexed {
            let mut rflags = Flags::new(false, key_frame, false);
            if self.index_discont_pending {
                rflags = rflags.with_discontinuity();
            }
            let record = IndexRecord {
                flags: rflags,
                timestamp: ts,
                offset,
            };
            // The frame is durable before the record that points at it exists.
            self.data.sync()?;
            self.index.append(&record.encode())?;
            self.index.sync()?;
            self.index_discont_pending = false;
            self.last_index = Some(ts);
            Some(record)
        } else {
            None
        };
        Ok(Appended {
            offset,
            record,
            timestamp: ts,
        })
    }

    /// Stops cleanly: writes the end record (random access 0, offset = end of data, `end` or the last timestamp)
    /// and syncs. `end` is normally the last frame's timestamp plus its duration.
    pub fn finish(mut self, end: Option<Timestamp>) -> Result<()> {
        self.write_end_record(end)
    }

    /// Like [`VideoWriter::finish`], then seals both streams against further writing.
    pub fn finish_and_seal(mut self, end: Option<Timestamp>) -> Result<()> {
        self.write_end_record(end)?;
        self.index.seal()?;
        self.data.seal()
    }

    fn write_end_record(&mut self, end: Option<Timestamp>) -> Result<()> {
        self.data.sync()?;
        let ts = match (end, self.last_timestamp) {
            (Some(e), Some(l)) => Some(e.max(l)),
            (e, l) => e.or(l),
        };
        if let Some(ts) = ts.filter(|t| !t.is_unknown()) {
            let record = IndexRecord {
                flags: Flags(0),
                timestamp: ts,
                offset: self.data.tail(),
            };
            self.index.append(&record.encode())?;
        }
        self.index.sync()
    }
}

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
}

impl IndexReader {
    /// Opens the `-index` stream of a video stream.
    pub fn open(backend: &dyn Backend, video: &StreamName) -> Result<Self> {
        let name = video.index()?;
        let reader = backend.reader(&name)?;
        Ok(IndexReader { name, reader })
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
    fn bounds(&mut self) -> Result<(u64, u64)> {
        let info = self.reader.info()?;
        Ok((info.head.div_ceil(REC), info.tail / REC))
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

/// One frame as read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// Data offset of the frame header.
    pub offset: u64,
    /// The decoded header.
    pub header: FrameHeader,
    /// The payload.
    pub payload: Vec<u8>,
    /// Reader-side discontinuity: the first frame after opening, a seek, truncation recovery or a resync,
    /// or a frame the writer flagged discontinuous.
    pub discontinuity: bool,
}

/// What [`VideoReader::next_frame`] returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadOutcome {
    /// A whole frame.
    Frame(Frame),
    /// No complete frame before the deadline.
    TimedOut,
    /// The interrupt fired.
    Interrupted,
    /// The stream is sealed and fully read.
    End,
}

/// Reads frames of one video stream sequentially, waiting at the tail.
pub struct VideoReader {
    names: VideoStreamNames,
    data: Box<dyn ByteReader>,
    index: IndexReader,
    pos: u64,
    discont_pending: bool,
}

impl VideoReader {
    /// Opens an existing video stream, positioned at the data head. Never creates streams.
    pub fn open(backend: &dyn Backend, name: &StreamName) -> Result<Self> {
        let names = VideoStreamNames::new(name)?;
        let data = backend.reader(&names.data)?;
        let index = IndexReader::open(backend, name).map_err(|e| match e {
            StoreError::NotFound(_) => StoreError::NotFound(names.data.clone()),
            other => other,
        })?;
        let mut reader = VideoReader {
            names,
            data,
            index,
            pos: 0,
            discont_pending: true,
        };
        reader.pos = reader.data.info()?.head;
        Ok(reader)
    }

    /// The stream.
    pub fn name(&self) -> &StreamName {
        &self.names.data
    }

    /// The index, for searches.
    pub fn index(&mut self) -> &mut IndexReader {
        &mut self.index
    }

    /// Head, tail and state of the data stream.
    pub fn data_info(&mut self) -> Result<StreamInfo> {
        self.data.info()
    }

    /// The offset of the next frame to read.
    pub fn position(&self) -> u64 {
        self.pos
    }

    /// Continues at `offset` (a frame start, normally from an index record); the next frame is marked
    /// discontinuous.
    pub fn seek(&mut self, offset: u64) {
        self.pos = offset;
        self.discont_pending = true;
    }

    /// Seeks to the random-access record at or before `t`; returns it, or `None` if there is none (then the
    /// position is unchanged).
    pub fn seek_to_time(&mut self, t: Timestamp) -> Result<Option<IndexRecord>> {
        let found = search::seek_target_at_or_before(&mut self.index, t)?;
        if let Some((_, rec)) = found {
            self.seek(rec.offset);
        }
        Ok(found.map(|(_, r)| r))
    }

    /// Reads the next whole frame, waiting until `deadline` for it to be written.
    pub fn next_frame(&mut self, deadline: Instant, interrupt: &Interrupt) -> Result<ReadOutcome> {
        let mut header = [0u8; FRAME_HEADER_LEN];
        loop {
            if interrupt.is_set() {
                return Ok(ReadOutcome::Interrupted);
            }
            match self.read_or_wait(self.pos, &mut header, deadline, interrupt)? {
                Step::Done { .. } => {}
                Step::Moved => continue,
                Step::Stop(outcome) => return Ok(outcome),
            }
            let h = match FrameHeader::decode(&header) {
                Ok(h) => h,
                Err(source) => {
                    if self.resync(source.clone())? {
                        continue;
                    }
                    return Err(StoreError::Corrupt {
                        stream: self.names.data.clone(),
                        offset: self.pos,
                        source,
                    });
                }
            };
            let mut payload = vec![0u8; h.payload_len];
            let waited = match self.read_or_wait(
                self.pos + FRAME_HEADER_LEN as u64,
                &mut payload,
                deadline,
                interrupt,
            )? {
                Step::Done { waited } => waited,
                Step::Moved => continue,
                Step::Stop(outcome) => return Ok(outcome),
            };
            // While we waited for the payload, its writer may have died mid-frame and the next writer cut
            // the torn frame off and appended from its start: the bytes we just read then belong to other
            // frames. Their header at this offset differs from the one we hold, so read it again. Frames
            // that were complete at once need no check (so a remote backend pays no extra round trip).
            if waited && !self.header_still_at_pos(&header)? {
                tracing::warn!(stream = %self.names.data, offset = self.pos,
                    "frame replaced while waiting for it (writer crashed and restarted); reading again");
                self.discont_pending = true;
                continue;
            }
            let frame = Frame {
                offset: self.pos,
                header: h,
                payload,
                discontinuity: self.discont_pending || h.flags.discontinuity(),
            };
            self.pos += h.frame_len() as u64;
            self.discont_pending = false;
            debug_assert!(h.frame_len() <= MAX_FRAME_LEN);
            return Ok(ReadOutcome::Frame(frame));
        }
    }

    /// True if the header bytes at the current position are still `header`.
    fn header_still_at_pos(&mut self, header: &[u8; FRAME_HEADER_LEN]) -> Result<bool> {
        let mut now = [0u8; FRAME_HEADER_LEN];
        match read_exact_at(self.data.as_mut(), self.pos, &mut now) {
            Ok(complete) => Ok(complete && now == *header),
            // Truncated meanwhile: the next pass moves to the new head.
            Err(StoreError::Truncated { .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Skips corrupt bytes to the next indexed frame. Returns false when there is none to go to.
    fn resync(&mut self, source: crate::format::FormatError) -> Result<bool> {
        match self.index.first_with_offset_after(self.pos)? {
            Some((_, rec)) if rec.is_seek_target() || rec.offset > self.pos => {
                tracing::warn!(stream = %self.names.data, offset = self.pos, next = rec.offset, error = %source,
                    "corrupt frame; skipping to the next indexed frame");
                self.seek(rec.offset);
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    fn read_or_wait(
        &mut self,
        offset: u64,
        buf: &mut [u8],
        deadline: Instant,
        interrupt: &Interrupt,
    ) -> Result<Step> {
        let mut waited = false;
        loop {
            match read_exact_at(self.data.as_mut(), offset, buf) {
                Ok(true) => return Ok(Step::Done { waited }),
                Ok(false) => {}
                Err(StoreError::Truncated { head, .. }) => {
                    tracing::info!(stream = %self.names.data, from = self.pos, head, "data truncated; moving to the new head");
                    self.seek(head);
                    return Ok(Step::Moved);
                }
                Err(e) => return Err(e),
            }
            let last_needed = offset + buf.len() as u64 - 1;
            match self.data.wait_beyond(last_needed, deadline, interrupt)? {
                WaitOutcome::Data => {
                    waited = true;
                    continue;
                }
                WaitOutcome::TimedOut => return Ok(Step::Stop(ReadOutcome::TimedOut)),
                WaitOutcome::Interrupted => return Ok(Step::Stop(ReadOutcome::Interrupted)),
                WaitOutcome::Sealed => return Ok(Step::Stop(ReadOutcome::End)),
            }
        }
    }
}

enum Step {
    /// `buf` is filled; `waited` if that took a wait at the tail.
    Done {
        waited: bool,
    },
    Moved,
    Stop(ReadOutcome),
}

/// Truncates a video stream before the key frame at or before `t`: index first, then data, both at an
/// indexed offset. Returns the record that is now the first, or `None` if nothing was before `t`.
pub fn truncate_before_time(
    backend: &dyn Backend,
    name: &StreamName,
    t: Timestamp,
) -> Result<Option<IndexRecord>> {
    let names = VideoStreamNames::new(name)?;
    let mut index = IndexReader::open(backend, name)?;
    let Some((n, rec)) = search::seek_target_at_or_before(&mut index, t)? else {
        return Ok(None);
    };
    backend.truncate_before(&names.index, n * REC)?;
    backend.truncate_before(&names.data, rec.offset)?;
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
