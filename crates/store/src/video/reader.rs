//! [`VideoReader`]: whole frames from the data stream, waiting at the tail, following truncation and
//! resynchronising past corrupt bytes.

use std::time::Instant;

use crate::backend::{Backend, ByteReader, StreamInfo, WaitOutcome};
use crate::error::{Result, StoreError};
use crate::format::{FormatError, FrameHeader, IndexRecord, FRAME_HEADER_LEN, MAX_FRAME_LEN};
use crate::interrupt::Interrupt;
use crate::name::StreamName;
use crate::search::{self};
use crate::timestamp::Timestamp;

use super::*;

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
    skipped: Vec<Skipped>,
}

/// Corrupt bytes a reader stepped over (to the next indexed frame) instead of failing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// Where the frame that did not parse starts.
    pub offset: u64,
    /// Where reading went on.
    pub next: u64,
    /// Why the frame did not parse.
    pub error: String,
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
            skipped: Vec::new(),
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
                    if header == [0; FRAME_HEADER_LEN] {
                        // Zeros where a header belongs, with no indexed frame after them: the end of a stream
                        // whose last blocks a power cut left unwritten. Nothing to read here until a writer
                        // repairs it and appends.
                        match self.wait_for_change(deadline, interrupt)? {
                            Some(outcome) => return Ok(outcome),
                            None => continue,
                        }
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
            // Unwritten blocks inside a frame whose header reached the disk (see `repair`): skipped like a
            // corrupt frame when indexed frames follow, else the end of what is written.
            if let Some(len) = repair::unwritten_run(&payload).or(self.ran_into_unwritten(&h, &payload)?) {
                if self.resync(FormatError::Unwritten { len })? {
                    continue;
                }
                match self.wait_for_change(deadline, interrupt)? {
                    Some(outcome) => return Ok(outcome),
                    None => continue,
                }
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

    /// The zeros ending `payload` (the frame at the position) if they are where the written blocks ended: the
    /// next header is zeros, or the frame ends the data (but for a torn header) of a stream no writer holds. A live frame that happens
    /// to end in zeros at the tail of a stream being written is read as it is.
    fn ran_into_unwritten(&mut self, h: &FrameHeader, payload: &[u8]) -> Result<Option<usize>> {
        if !repair::ends_in_zeros(payload) {
            return Ok(None);
        }
        let zeros = repair::trailing_zeros(payload);
        let end = self.pos + h.frame_len() as u64;
        let mut next = [0u8; FRAME_HEADER_LEN];
        let unwritten = match read_exact_at(self.data.as_mut(), end, &mut next) {
            Ok(true) => next == [0; FRAME_HEADER_LEN],
            // The data ends with (at most part of a header) after it: unwritten unless a writer is still at it.
            Ok(false) => self.data.info()?.writer_active == Some(false),
            Err(StoreError::Truncated { .. }) => false,
            Err(e) => return Err(e),
        };
        Ok(unwritten.then_some(zeros))
    }

    /// Waits for the stream to change where the bytes at the position are not a frame yet: `None` to read
    /// there again, or what to return.
    fn wait_for_change(&mut self, deadline: Instant, interrupt: &Interrupt) -> Result<Option<ReadOutcome>> {
        let (_, tail) = self.data.extent()?;
        Ok(match self.data.wait_beyond(tail, deadline, interrupt)? {
            WaitOutcome::Data => None,
            WaitOutcome::TimedOut => Some(ReadOutcome::TimedOut),
            WaitOutcome::Interrupted => Some(ReadOutcome::Interrupted),
            WaitOutcome::Sealed => Some(ReadOutcome::End),
        })
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

    /// The corrupt ranges stepped over since the last call, for callers that must not leave footage out
    /// silently (an export) or that tell the user (a player).
    pub fn take_skipped(&mut self) -> Vec<Skipped> {
        std::mem::take(&mut self.skipped)
    }

    /// Skips corrupt bytes to the next indexed frame. Returns false when there is none to go to.
    fn resync(&mut self, source: crate::format::FormatError) -> Result<bool> {
        match self.index.first_with_offset_after(self.pos)? {
            Some((_, rec)) if rec.is_seek_target() || rec.offset > self.pos => {
                tracing::warn!(stream = %self.names.data, offset = self.pos, next = rec.offset, error = %source,
                    "corrupt frame; skipping to the next indexed frame");
                self.skipped.push(Skipped {
                    offset: self.pos,
                    next: rec.offset,
                    error: source.to_string(),
                });
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

pub(super) enum Step {
    /// `buf` is filled; `waited` if that took a wait at the tail.
    Done {
        waited: bool,
    },
    Moved,
    Stop(ReadOutcome),
}
