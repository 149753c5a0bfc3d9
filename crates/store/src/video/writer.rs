//! [`VideoWriter`]: appends frames and their index records by the writing rules of DESIGN.md §2.

use std::sync::Arc;
use std::time::Duration;

use crate::backend::{Backend, ByteWriter};
use crate::error::{Result, StoreError};
use crate::evidence::{ChainWriter, SigningKey};
use crate::format::{split_payload, Flags, FormatError, IndexRecord};
use crate::name::StreamName;
use crate::search::IndexSource;
use crate::timestamp::Timestamp;

use super::*;

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

/// What a stored frame is to the index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameRole {
    /// A video key frame: indexed as a seek target (at most every `min_interval`).
    Key,
    /// A video delta frame: indexed only when `max_interval` passed without a record (all-delta encoders).
    Delta,
    /// Another track's data between the video frames (an audio fragment): never indexed, so no reader starts
    /// at it, and it does not count as video for the forced records.
    Aux,
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
    /// The hash chain, when this writer keeps one ([`VideoWriter::with_chain`]).
    chain: Option<ChainWriter>,
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
            chain: None,
        };
        writer.recover(backend)?;
        Ok(writer)
    }

    /// Also keeps the stream's hash chain (`NAME-chain`, see [`crate::evidence`]), signed with `key`: one entry
    /// per stored payload, written after the frame and its index record, and a signature at every index record.
    pub fn with_chain(mut self, backend: &dyn Backend, key: Arc<SigningKey>) -> Result<Self> {
        let since = self.last_timestamp.unwrap_or(Timestamp::MIN);
        self.chain = Some(ChainWriter::open(
            backend,
            &self.names.data,
            self.data.tail(),
            key,
            since,
        )?);
        Ok(self)
    }

    /// True if this writer keeps a hash chain.
    pub fn has_chain(&self) -> bool {
        self.chain.is_some()
    }

    /// The stream being written.
    pub fn name(&self) -> &StreamName {
        &self.names.data
    }

    /// Bytes in the data stream so far (its tail offset).
    pub fn data_tail(&self) -> u64 {
        self.data.tail()
    }

    /// Marks the next frame, and the next index record, as discontinuous: the input's timeline broke (a camera
    /// reset its clock, an upstream element flagged DISCONT or RESYNC), so readers show a gap there instead of
    /// a jump. A writer's first frame is always marked.
    pub fn mark_discontinuity(&mut self) {
        self.frame_discont_pending = true;
        self.index_discont_pending = true;
    }

    /// Drops a torn trailing frame and index records that point past the data (DESIGN.md §3), and what a
    /// power cut left unwritten (see [`repair`]); indexes frames that lost their record.
    fn recover(&mut self, backend: &dyn Backend) -> Result<()> {
        let index_tail = self.index.tail();
        if index_tail % REC != 0 {
            self.index.truncate_tail(index_tail - index_tail % REC)?;
        }
        let data_info = backend.info(&self.names.data)?;
        let mut index_reader = IndexReader::open(backend, &self.names.data)?;
        let (first, mut end) = index_reader.bounds()?;
        // A power cut can leave the index's unwritten blocks reading as zeros; no writer indexes a frame of
        // unknown time, so a record of zeros was never written. The index reader's bounds already end before
        // them, so they are counted from the stream's own tail: they must be cut off before anything is appended.
        let written_end = self.index.tail() / REC;
        while end > first {
            match index_reader.record(end - 1) {
                Err(StoreError::Corrupt {
                    source: FormatError::ZeroTimestamp,
                    ..
                }) => end -= 1,
                Err(e) => return Err(e),
                Ok(_) => break,
            }
        }
        if end < written_end {
            tracing::warn!(stream = %self.names.index, dropped = written_end - end, "dropping index records of zeros (unwritten blocks of a power cut)");
            self.index.truncate_tail(end * REC)?;
        }
        // A record only partly written (a power cut lost one of the blocks it straddles) has a time or an
        // offset with zeros in it: it points at no frame of its time. Left in place, the scan below would start
        // inside a frame and cut good data there. Such records can only be the newest ones.
        let mut data_reader = backend.reader(&self.names.data)?;
        let mut agreed = end;
        let zeros = |r: &Result<IndexRecord>| {
            matches!(
                r,
                Err(StoreError::Corrupt {
                    source: FormatError::ZeroTimestamp,
                    ..
                })
            )
        };
        while agreed > first {
            // Records of zeros before a half-written one go with it.
            let rec = index_reader.record(agreed - 1);
            if zeros(&rec) {
                agreed -= 1;
                continue;
            }
            let rec = rec?;
            let before = match agreed - 1 > first {
                true => match index_reader.record(agreed - 2) {
                    r if zeros(&r) => None,
                    r => Some(r?),
                },
                false => None,
            };
            if rec.offset > data_info.tail
                || repair::record_agrees(
                    data_reader.as_mut(),
                    &rec,
                    before.as_ref(),
                    data_info.head,
                    data_info.tail,
                )?
            {
                break;
            }
            agreed -= 1;
        }
        if agreed < end {
            tracing::warn!(stream = %self.names.index, dropped = end - agreed, "dropping index records that point at no frame of their time (half written by a power cut)");
            self.index.truncate_tail(agreed * REC)?;
            end = agreed;
        }
        // Scan frames from the newest indexed offset that lies inside the data.
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
        // The records at or after the scan start (usually the last one or two), to tell which scanned frames
        // already have theirs.
        let mut known = Vec::new();
        let mut k = n.saturating_sub(1).max(first);
        while k < end {
            known.push(index_reader.record(k)?);
            k += 1;
        }
        let scan = repair::scan_tail(data_reader.as_mut(), scan_from, data_info.tail, &known)?;
        let (pos, mut last_ts, mut unindexed) = (scan.whole_to, scan.last_ts, scan.unindexed);
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
        // A writer killed between a whole frame and its index record left a frame flagged for the index that
        // no record points at: readers that start from the index would never see it, and a resuming pipeline
        // (which asks how far the data got) would not write it again. Write the records it would have.
        unindexed.retain(|r| r.offset < data_tail);
        if !unindexed.is_empty() {
            tracing::warn!(stream = %self.names.index, added = unindexed.len(), "indexing frames a crash left without records");
            self.data.sync()?;
            for rec in &unindexed {
                self.index.append(&rec.encode())?;
            }
            self.index.sync()?;
        }
        self.last_timestamp = last_ts;
        Ok(())
    }

    /// Appends one buffer as one frame (split if over 8 MiB) and its index record when the policy asks for
    /// one. `timestamp` is raised to the previous one if it steps back, so stored time only increases.
    pub fn append(&mut self, payload: &[u8], timestamp: Timestamp, key_frame: bool) -> Result<Appended> {
        let role = if key_frame {
            FrameRole::Key
        } else {
            FrameRole::Delta
        };
        self.append_as(payload, timestamp, role)
    }

    /// Like [`VideoWriter::append`], for a frame of any [`FrameRole`].
    pub fn append_as(&mut self, payload: &[u8], timestamp: Timestamp, role: FrameRole) -> Result<Appended> {
        let key_frame = role == FrameRole::Key;
        let mut ts = timestamp;
        if let Some(last) = self.last_timestamp {
            if !ts.is_unknown() && ts < last {
                tracing::debug!(stream = %self.names.data, %ts, %last, "timestamp stepped back; clamped");
                ts = last;
            }
        }
        if self.run_start.is_none() && !ts.is_unknown() && role != FrameRole::Aux {
            self.run_start = Some(ts);
        }
        let indexed = if ts.is_unknown() || role == FrameRole::Aux {
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
        if let Some(chain) = self.chain.as_mut() {
            chain.frame(offset, ts, payload)?;
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
            // Signed after the index, so a crash never leaves the chain ahead of the data it vouches for.
            if let Some(chain) = self.chain.as_mut() {
                chain.sign_and_sync(self.data.tail(), ts)?;
            }
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
        self.index.sync()?;
        if let (Some(chain), Some(ts)) = (self.chain.as_mut(), ts) {
            chain.sign_and_sync(self.data.tail(), ts)?;
        }
        Ok(())
    }
}
