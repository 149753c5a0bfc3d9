//! Reading: opening the stream where the start mode says, reading whole frames (joining continuation frames of
//! buffers over 8 MiB), and the end bound.

use std::time::{Duration, Instant};

use gst::prelude::*;
use gst::subclass::prelude::*;
use hindsight_store::format::MAX_FRAME_PAYLOAD;
use hindsight_store::search;
use hindsight_store::video::{Frame, IndexReader, ReadOutcome, VideoReader};
use hindsight_store::{Backend, IndexRecord, Interrupt, StoreError, StreamName, Timestamp};

use crate::errors;
use crate::fmp4::Retimer;
use crate::location::OpenError;
use crate::settings::{EndMode, StartMode};

use super::*;

/// Longest single tail wait; the loop simply waits again, so this only bounds how stale a wait can get.
const WAIT_SLICE: Duration = Duration::from_secs(1);

#[derive(Debug, Clone, Copy)]
pub(super) enum EndBound {
    Offset(u64),
    Time(Timestamp),
}

pub(super) struct Reading {
    pub(super) name: StreamName,
    pub(super) reader: VideoReader,
    pub(super) retimer: Retimer,
    pub(super) end: Option<EndBound>,
    /// Where the start mode positioned us, for the initial segment.
    pub(super) start_record: Option<IndexRecord>,
    /// start-mode=timestamp-exact: the initial segment starts here rather than at the key frame.
    pub(super) start_exact: Option<Timestamp>,
    /// Drop frames until a key frame (start in a stream with no index records yet).
    pub(super) wait_for_key: bool,
    /// Push a new segment starting at the next frame's time.
    pub(super) need_segment: bool,
    pub(super) caps_sent: bool,
    pub(super) pending: Option<Frame>,
    pub(super) stop_at: Option<Timestamp>,
    /// MPEG-TS: the PCR's lead over the pictures, from the last buffer that showed both (see `mpegts`).
    pub(super) pcr_lead: Option<i64>,
}

fn parse_time(utc: Option<&str>, ts: u64, what: &str) -> Result<Timestamp, OpenError> {
    if ts > 0 {
        return Ok(Timestamp::from_nanos(ts));
    }
    match utc.filter(|s| !s.is_empty()) {
        Some(text) => {
            Timestamp::parse_rfc3339(text).map_err(|e| OpenError::settings(format!("Bad {what}-utc: {e}")))
        }
        None => Err(OpenError::settings(format!(
            "{what}-mode needs {what}-utc or {what}-timestamp"
        ))),
    }
}

pub(super) fn caps_for(payload: &[u8]) -> gst::Caps {
    match payload.get(4..8) {
        Some(b"ftyp" | b"moof" | b"styp" | b"moov") => gst::Caps::builder("video/quicktime")
            .field("variant", "iso")
            .build(),
        _ if crate::mpegts::is_ts(payload) => gst::Caps::builder("video/mpegts")
            .field("systemstream", true)
            .field("packetsize", 188i32)
            .build(),
        _ => gst::Caps::new_empty_simple("application/octet-stream"),
    }
}

/// A store failure while opening, with what was being done.
fn open_failed(name: &StreamName, store: &dyn Backend, e: StoreError) -> OpenError {
    let message = match &e {
        StoreError::NotFound(_) => format!("Stream {name} does not exist in {}", store.uri()),
        e => format!("Cannot open stream {name} for reading in {}: {e}", store.uri()),
    };
    OpenError {
        code: errors::resource_error(e.kind(), gst::ResourceError::OpenRead),
        message,
        store_error: Some(e.kind()),
    }
}

impl PravegaSrc {
    pub(super) fn close(&self) {
        *lock(&self.state) = None;
        *lock(&self.index) = None;
        *lock(&self.interrupt) = None;
    }

    /// Opens the stream and positions the reader as the start mode says.
    pub(super) fn open(&self) -> Result<(), OpenError> {
        let s = lock(&self.settings).clone();
        let (store, name) = s.location.open(false)?;
        let failed = |e| open_failed(&name, store.as_ref(), e);
        let mut reader = VideoReader::open(store.as_ref(), &name).map_err(failed)?;
        let index = IndexReader::open(store.as_ref(), &name).map_err(failed)?;

        let mut wait_for_key = false;
        let start_exact = match s.start_mode {
            StartMode::TimestampExact => {
                Some(parse_time(s.start_utc.as_deref(), s.start_timestamp, "start")?)
            }
            _ => None,
        };
        let start_record = match s.start_mode {
            StartMode::NoSeek => None,
            StartMode::Earliest => search::first_seek_target(reader.index()).map_err(failed)?,
            StartMode::Latest => search::last_seek_target(reader.index()).map_err(failed)?,
            StartMode::Timestamp | StartMode::TimestampExact => {
                let t = match start_exact {
                    Some(t) => t,
                    None => parse_time(s.start_utc.as_deref(), s.start_timestamp, "start")?,
                };
                match search::seek_target_at_or_before(reader.index(), t).map_err(failed)? {
                    Some(found) => Some(found),
                    None => search::first_seek_target(reader.index()).map_err(failed)?,
                }
            }
        }
        .map(|(_, r)| r);
        match start_record {
            Some(rec) => reader.seek(rec.offset),
            // The first byte still stored, whatever it is, and a segment left at 0 (the original's no-seek).
            None if s.start_mode == StartMode::NoSeek => {
                let head = reader.data_info().map_err(failed)?.head;
                reader.seek(head);
            }
            None => {
                // No key frame indexed yet: take the first key frame that arrives (from the tail for latest).
                wait_for_key = true;
                if s.start_mode == StartMode::Latest {
                    let tail = reader.data_info().map_err(failed)?.tail;
                    reader.seek(tail);
                }
            }
        }
        let end = match s.end_mode {
            EndMode::Unbounded => None,
            EndMode::Latest => Some(EndBound::Offset(reader.data_info().map_err(failed)?.tail)),
            // Just before the last record's frame: a finished recording's end record points at the end of its
            // data; with no record at all there is nothing indexed to read.
            EndMode::LatestIndexed => Some(EndBound::Offset(
                match search::last_record(reader.index()).map_err(failed)? {
                    Some((_, rec)) => rec.offset,
                    None => reader.data_info().map_err(failed)?.head,
                },
            )),
            EndMode::Timestamp => Some(EndBound::Time(parse_time(
                s.end_utc.as_deref(),
                s.end_timestamp,
                "end",
            )?)),
        };
        let interrupt = Interrupt::new().map_err(failed)?;
        gst::info!(
            CAT,
            imp = self,
            "reading {name} from {} at offset {}",
            store.uri(),
            reader.position()
        );
        *lock(&self.interrupt) = Some(interrupt);
        *lock(&self.index) = Some(index);
        *lock(&self.state) = Some(Reading {
            name,
            reader,
            retimer: Retimer::new(),
            end,
            start_record,
            start_exact,
            wait_for_key,
            need_segment: wait_for_key,
            caps_sent: false,
            pending: None,
            stop_at: None,
            pcr_lead: None,
        });
        Ok(())
    }

    pub(super) fn next_frame(
        &self,
        st: &mut Reading,
        interrupt: &Interrupt,
    ) -> Result<Frame, gst::FlowError> {
        if let Some(f) = st.pending.take() {
            return Ok(f);
        }
        loop {
            // The end of the data at start is reached without waiting for more.
            if let Some(EndBound::Offset(end)) = st.end {
                if st.reader.position() >= end {
                    return Err(gst::FlowError::Eos);
                }
            }
            match st.reader.next_frame(Instant::now() + WAIT_SLICE, interrupt) {
                Ok(ReadOutcome::Frame(f)) => {
                    // Corrupt bytes the reader stepped over: players go on, an export stops on the warning.
                    for skip in st.reader.take_skipped() {
                        gst::element_warning!(
                            self.obj(),
                            gst::StreamError::Format,
                            (
                                "Corrupt frame in stream {} at byte {} ({}); skipped to byte {}",
                                st.name,
                                skip.offset,
                                skip.error,
                                skip.next
                            )
                        );
                    }
                    return Ok(f);
                }
                Ok(ReadOutcome::TimedOut) => continue,
                Ok(ReadOutcome::Interrupted) => return Err(gst::FlowError::Flushing),
                Ok(ReadOutcome::End) => return Err(gst::FlowError::Eos),
                Err(e) => {
                    let context = format!("Cannot read stream {}", st.name);
                    errors::post(
                        self.obj().upcast_ref(),
                        &OpenError::store(&context, e, gst::ResourceError::Read),
                    );
                    return Err(gst::FlowError::Error);
                }
            }
        }
    }

    /// Joins continuation frames (no flags, same time) that followed a frame split at the 8 MiB limit. The
    /// format cannot tell a buffer that ends exactly at the limit from one that continues, so at the tail of
    /// an unsealed stream such a buffer waits for the next frame to decide.
    pub(super) fn join_continuations(
        &self,
        st: &mut Reading,
        interrupt: &Interrupt,
        mut frame: Frame,
    ) -> Result<Frame, gst::FlowError> {
        let mut last_len = frame.payload.len();
        while last_len == MAX_FRAME_PAYLOAD {
            let next = match self.next_frame(st, interrupt) {
                Ok(next) => next,
                // The data (or the range to read) ends right after a full-size frame: the buffer was an exact
                // multiple of the frame limit and is complete. The next `create` meets the end again.
                Err(gst::FlowError::Eos) => break,
                Err(e) => return Err(e),
            };
            if next.header.flags.0 == 0
                && next.header.timestamp == frame.header.timestamp
                && !next.discontinuity
            {
                last_len = next.payload.len();
                frame.payload.extend_from_slice(&next.payload);
            } else {
                st.pending = Some(next);
                break;
            }
        }
        Ok(frame)
    }

    pub(super) fn segment_at(&self, start: Timestamp) -> gst::FormattedSegment<gst::ClockTime> {
        let mut seg = gst::FormattedSegment::<gst::ClockTime>::new();
        let t = gst::ClockTime::from_nseconds(start.nanos());
        seg.set_start(t);
        seg.set_time(t);
        seg.set_position(t);
        seg
    }
}
