//! Implementation of `pravegasrc`.
//!
//! Stream time is absolute TAI nanoseconds, like the original plugin: buffers carry their stored TAI time as
//! PTS, segments start at the TAI time of the first frame, SEEKING and DURATION answer in TAI, and a TIME seek
//! to T lands on the key frame at or before T (with ACCURATE the segment starts at T, so downstream clips the
//! frames before it). fMP4 fragment decode times are rewritten to the same timeline on the way out (see
//! [`crate::fmp4::Retimer`]).
//!
//! At the tail of an unsealed stream `create` blocks in the store's tail wait, which wakes on the writer's
//! append (inotify for the embedded store) and returns at once on `unlock` (flushing seek, state change).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{LazyLock, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use gst::glib;
use gst::prelude::*;
use gst::subclass::prelude::*;
use gst_base::prelude::*;
use gst_base::subclass::base_src::CreateSuccess;
use gst_base::subclass::prelude::*;
use hindsight_store::format::MAX_FRAME_PAYLOAD;
use hindsight_store::search;
use hindsight_store::video::{Frame, IndexReader, ReadOutcome, VideoReader};
use hindsight_store::{Backend, IndexRecord, Interrupt, StoreError, StreamName, Timestamp};

use crate::errors;
use crate::fmp4::Retimer;
use crate::location::{self, Location, OpenError};
use crate::settings::{EndMode, StartMode};

static CAT: LazyLock<gst::DebugCategory> = LazyLock::new(|| {
    gst::DebugCategory::new(
        "pravegasrc",
        gst::DebugColorFlags::empty(),
        Some("Hindsight stream source"),
    )
});

/// Longest single tail wait; the loop simply waits again, so this only bounds how stale a wait can get.
const WAIT_SLICE: Duration = Duration::from_secs(1);

#[derive(Debug, Clone, Default)]
struct Settings {
    location: Location,
    start_mode: StartMode,
    start_utc: Option<String>,
    start_timestamp: u64,
    end_mode: EndMode,
    end_utc: Option<String>,
    end_timestamp: u64,
}

#[derive(Debug, Clone, Copy)]
enum EndBound {
    Offset(u64),
    Time(Timestamp),
}

struct Reading {
    name: StreamName,
    reader: VideoReader,
    retimer: Retimer,
    end: Option<EndBound>,
    /// Where the start mode positioned us, for the initial segment.
    start_record: Option<IndexRecord>,
    /// Drop frames until a key frame (start in a stream with no index records yet).
    wait_for_key: bool,
    /// Push a new segment starting at the next frame's time.
    need_segment: bool,
    caps_sent: bool,
    pending: Option<Frame>,
    stop_at: Option<Timestamp>,
}

/// The element's instance data.
#[derive(Default)]
pub struct PravegaSrc {
    settings: Mutex<Settings>,
    state: Mutex<Option<Reading>>,
    /// Separate from `state` so `unlock` never waits for the streaming thread that holds `state`.
    interrupt: Mutex<Option<Interrupt>>,
    /// Separate from `state` so queries answer while `create` blocks at the tail.
    index: Mutex<Option<IndexReader>>,
    accurate_seek: AtomicBool,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
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
            "{what}-mode=timestamp needs {what}-utc or {what}-timestamp"
        ))),
    }
}

fn caps_for(payload: &[u8]) -> gst::Caps {
    match payload.get(4..8) {
        Some(b"ftyp" | b"moof" | b"styp" | b"moov") => gst::Caps::builder("video/quicktime")
            .field("variant", "iso")
            .build(),
        _ if payload.first() == Some(&0x47) && payload.len() % 188 == 0 => gst::Caps::builder("video/mpegts")
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
    fn close(&self) {
        *lock(&self.state) = None;
        *lock(&self.index) = None;
        *lock(&self.interrupt) = None;
    }

    /// Opens the stream and positions the reader as the start mode says.
    fn open(&self) -> Result<(), OpenError> {
        let s = lock(&self.settings).clone();
        let (store, name) = s.location.open(false)?;
        let failed = |e| open_failed(&name, store.as_ref(), e);
        let mut reader = VideoReader::open(store.as_ref(), &name).map_err(failed)?;
        let index = IndexReader::open(store.as_ref(), &name).map_err(failed)?;

        let mut wait_for_key = false;
        let start_record = match s.start_mode {
            StartMode::Earliest => search::first_seek_target(reader.index()).map_err(failed)?,
            StartMode::Latest => search::last_seek_target(reader.index()).map_err(failed)?,
            StartMode::Timestamp => {
                let t = parse_time(s.start_utc.as_deref(), s.start_timestamp, "start")?;
                match search::seek_target_at_or_before(reader.index(), t).map_err(failed)? {
                    Some(found) => Some(found),
                    None => search::first_seek_target(reader.index()).map_err(failed)?,
                }
            }
        }
        .map(|(_, r)| r);
        match start_record {
            Some(rec) => reader.seek(rec.offset),
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
            wait_for_key,
            need_segment: start_record.is_none(),
            caps_sent: false,
            pending: None,
            stop_at: None,
        });
        Ok(())
    }

    fn next_frame(&self, st: &mut Reading, interrupt: &Interrupt) -> Result<Frame, gst::FlowError> {
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
                Ok(ReadOutcome::Frame(f)) => return Ok(f),
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
    fn join_continuations(
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

    fn segment_at(&self, start: Timestamp) -> gst::FormattedSegment<gst::ClockTime> {
        let mut seg = gst::FormattedSegment::<gst::ClockTime>::new();
        let t = gst::ClockTime::from_nseconds(start.nanos());
        seg.set_start(t);
        seg.set_time(t);
        seg.set_position(t);
        seg
    }
}

#[glib::object_subclass]
impl ObjectSubclass for PravegaSrc {
    const NAME: &'static str = "GstPravegaSrc";
    type Type = super::PravegaSrc;
    type ParentType = gst_base::PushSrc;
}

impl ObjectImpl for PravegaSrc {
    fn properties() -> &'static [glib::ParamSpec] {
        static PROPS: LazyLock<Vec<glib::ParamSpec>> = LazyLock::new(|| {
            let mut props = Location::param_specs("The stream to read, SCOPE/STREAM (never created)");
            props.extend([
                glib::ParamSpecEnum::builder_with_default("start-mode", StartMode::Earliest)
                    .nick("Start mode")
                    .blurb("Where to start reading")
                    .mutable_ready()
                    .build(),
                glib::ParamSpecString::builder("start-utc")
                    .nick("Start UTC")
                    .blurb("With start-mode=timestamp: RFC 3339 time; reading starts at the key frame at or before it")
                    .mutable_ready()
                    .build(),
                glib::ParamSpecUInt64::builder("start-timestamp")
                    .nick("Start timestamp")
                    .blurb("With start-mode=timestamp: TAI nanoseconds since 1970 (overrides start-utc when non-zero)")
                    .mutable_ready()
                    .build(),
                glib::ParamSpecEnum::builder_with_default("end-mode", EndMode::Unbounded)
                    .nick("End mode")
                    .blurb("Where to stop reading")
                    .mutable_ready()
                    .build(),
                glib::ParamSpecString::builder("end-utc")
                    .nick("End UTC")
                    .blurb("With end-mode=timestamp: RFC 3339 time; frames after it are not read")
                    .mutable_ready()
                    .build(),
                glib::ParamSpecUInt64::builder("end-timestamp")
                    .nick("End timestamp")
                    .blurb("With end-mode=timestamp: TAI nanoseconds since 1970 (overrides end-utc when non-zero)")
                    .mutable_ready()
                    .build(),
            ]);
            props
        });
        PROPS.as_ref()
    }

    fn set_property(&self, _id: usize, value: &glib::Value, pspec: &glib::ParamSpec) {
        let mut s = lock(&self.settings);
        if s.location.set(pspec.name(), value) {
            return;
        }
        match pspec.name() {
            "start-mode" => s.start_mode = value.get().unwrap_or_default(),
            "start-utc" => s.start_utc = value.get().unwrap_or_default(),
            "start-timestamp" => s.start_timestamp = value.get().unwrap_or(0),
            "end-mode" => s.end_mode = value.get().unwrap_or_default(),
            "end-utc" => s.end_utc = value.get().unwrap_or_default(),
            "end-timestamp" => s.end_timestamp = value.get().unwrap_or(0),
            other => gst::warning!(CAT, imp = self, "unknown property {other}"),
        }
    }

    fn property(&self, _id: usize, pspec: &glib::ParamSpec) -> glib::Value {
        let s = lock(&self.settings);
        if let Some(v) = s.location.get(pspec.name()) {
            return v;
        }
        match pspec.name() {
            "start-mode" => s.start_mode.to_value(),
            "start-utc" => s.start_utc.to_value(),
            "start-timestamp" => s.start_timestamp.to_value(),
            "end-mode" => s.end_mode.to_value(),
            "end-utc" => s.end_utc.to_value(),
            "end-timestamp" => s.end_timestamp.to_value(),
            _ => pspec.default_value().clone(),
        }
    }

    fn constructed(&self) {
        self.parent_constructed();
        let obj = self.obj();
        obj.set_format(gst::Format::Time);
        // Not live: history plays at the pace downstream asks for; at the tail, frames arrive as written.
        obj.set_live(false);
    }
}

impl GstObjectImpl for PravegaSrc {}

impl ElementImpl for PravegaSrc {
    fn change_state(
        &self,
        transition: gst::StateChange,
    ) -> Result<gst::StateChangeSuccess, gst::StateChangeError> {
        // The base class starts a source going from READY to PAUSED; opening here instead of in `start` lets
        // the error carry the store failure's kind (`start` can only return a plain message).
        if transition == gst::StateChange::ReadyToPaused {
            if let Err(e) = self.open() {
                errors::post(self.obj().upcast_ref(), &e);
                return Err(gst::StateChangeError);
            }
        }
        let result = self.parent_change_state(transition);
        if result.is_err() && transition == gst::StateChange::ReadyToPaused {
            self.close();
        }
        result
    }

    fn metadata() -> Option<&'static gst::subclass::ElementMetadata> {
        static META: LazyLock<gst::subclass::ElementMetadata> = LazyLock::new(|| {
            gst::subclass::ElementMetadata::new(
                "Pravega byte-stream source",
                "Source/File/Network",
                "Reads a Hindsight/Pravega video stream, seeks by time through its index and follows its tail",
                "Hindsight developers",
            )
        });
        Some(&*META)
    }

    fn pad_templates() -> &'static [gst::PadTemplate] {
        static TEMPLATES: LazyLock<Vec<gst::PadTemplate>> =
            LazyLock::new(|| vec![location::any_caps_template("src", gst::PadDirection::Src)]);
        TEMPLATES.as_ref()
    }
}

impl BaseSrcImpl for PravegaSrc {
    fn start(&self) -> Result<(), gst::ErrorMessage> {
        // Opened in `change_state` (READY to PAUSED, where the base class calls this), so that a store
        // failure reaches the bus with its kind in the details.
        if lock(&self.state).is_some() {
            Ok(())
        } else {
            Err(gst::error_msg!(
                gst::ResourceError::OpenRead,
                ("The stream is not open")
            ))
        }
    }

    fn stop(&self) -> Result<(), gst::ErrorMessage> {
        self.close();
        Ok(())
    }

    fn is_seekable(&self) -> bool {
        true
    }

    fn negotiate(&self) -> Result<(), gst::LoggableError> {
        // Caps come from the first frame's payload (fMP4 or MPEG-TS), set in create.
        Ok(())
    }

    fn event(&self, event: &gst::Event) -> bool {
        if let gst::EventView::Seek(seek) = event.view() {
            let (_, flags, ..) = seek.get();
            self.accurate_seek
                .store(flags.contains(gst::SeekFlags::ACCURATE), Ordering::SeqCst);
        }
        self.parent_event(event)
    }

    fn do_seek(&self, segment: &mut gst::Segment) -> bool {
        let Some(seg) = segment.downcast_mut::<gst::ClockTime>() else {
            gst::warning!(CAT, imp = self, "only TIME seeks are supported");
            return false;
        };
        let mut guard = lock(&self.state);
        let Some(st) = guard.as_mut() else {
            return false;
        };
        let target = seg.start().map(|t| t.nseconds()).unwrap_or(0);
        st.stop_at = seg.stop().map(|t| Timestamp::from_nanos(t.nseconds()));
        if target == 0 {
            // The base class's initial seek: start where the start mode put us.
            if let Some(rec) = st.start_record {
                let t = gst::ClockTime::from_nseconds(rec.timestamp.nanos());
                seg.set_start(t);
                seg.set_time(t);
                seg.set_position(t);
            }
            return true;
        }
        let t = Timestamp::from_nanos(target);
        let found = match search::seek_target_at_or_before(st.reader.index(), t) {
            Ok(Some((_, rec))) => Some(rec),
            Ok(None) => search::first_seek_target(st.reader.index())
                .ok()
                .flatten()
                .map(|(_, r)| r),
            Err(e) => {
                gst::warning!(CAT, imp = self, "seek in {} failed: {e}", st.name);
                return false;
            }
        };
        let Some(rec) = found else {
            gst::warning!(CAT, imp = self, "seek in {}: no key frame indexed yet", st.name);
            return false;
        };
        st.reader.seek(rec.offset);
        st.pending = None;
        st.wait_for_key = false;
        st.need_segment = false;
        let accurate = self.accurate_seek.swap(false, Ordering::SeqCst);
        // Without ACCURATE the segment starts at the key frame so nothing is clipped; with it, at the target.
        let start = if accurate { t } else { rec.timestamp.min(t) };
        let start = gst::ClockTime::from_nseconds(start.nanos());
        seg.set_start(start);
        seg.set_time(start);
        seg.set_position(start);
        gst::debug!(
            CAT,
            imp = self,
            "seek to {t} lands on key frame {} at offset {}",
            rec.timestamp,
            rec.offset
        );
        true
    }

    fn query(&self, query: &mut gst::QueryRef) -> bool {
        match query.view_mut() {
            gst::QueryViewMut::Seeking(q) if q.format() == gst::Format::Time => {
                let mut guard = lock(&self.index);
                let Some(index) = guard.as_mut() else {
                    return false;
                };
                let first = search::first_seek_target(index).ok().flatten();
                let last = search::last_record(index).ok().flatten();
                match (first, last) {
                    (Some((_, a)), Some((_, b))) => q.set(
                        true,
                        gst::ClockTime::from_nseconds(a.timestamp.nanos()),
                        gst::ClockTime::from_nseconds(b.timestamp.nanos()),
                    ),
                    _ => q.set(false, gst::ClockTime::NONE, gst::ClockTime::NONE),
                }
                true
            }
            gst::QueryViewMut::Duration(q) if q.format() == gst::Format::Time => {
                let mut guard = lock(&self.index);
                let Some(index) = guard.as_mut() else {
                    return false;
                };
                match search::last_record(index) {
                    Ok(Some((_, rec))) => {
                        q.set(gst::ClockTime::from_nseconds(rec.timestamp.nanos()));
                        true
                    }
                    _ => false,
                }
            }
            _ => BaseSrcImplExt::parent_query(self, query),
        }
    }

    fn unlock(&self) -> Result<(), gst::ErrorMessage> {
        if let Some(i) = lock(&self.interrupt).as_ref() {
            i.interrupt();
        }
        Ok(())
    }

    fn unlock_stop(&self) -> Result<(), gst::ErrorMessage> {
        if let Some(i) = lock(&self.interrupt).as_ref() {
            i.clear();
        }
        Ok(())
    }
}

impl PushSrcImpl for PravegaSrc {
    fn create(&self, _buffer: Option<&mut gst::BufferRef>) -> Result<CreateSuccess, gst::FlowError> {
        let Some(interrupt) = lock(&self.interrupt).clone() else {
            return Err(gst::FlowError::Flushing);
        };
        let mut guard = lock(&self.state);
        let Some(st) = guard.as_mut() else {
            return Err(gst::FlowError::Flushing);
        };
        let frame = loop {
            let frame = self.next_frame(st, &interrupt)?;
            if st.wait_for_key {
                if !frame.header.flags.random_access() {
                    continue;
                }
                st.wait_for_key = false;
                st.need_segment = true;
            }
            break frame;
        };
        let ts = frame.header.timestamp;
        match st.end {
            Some(EndBound::Offset(end)) if frame.offset >= end => return Err(gst::FlowError::Eos),
            Some(EndBound::Time(end)) if !ts.is_unknown() && ts > end => return Err(gst::FlowError::Eos),
            _ => {}
        }
        if let Some(stop) = st.stop_at {
            if !ts.is_unknown() && ts > stop {
                return Err(gst::FlowError::Eos);
            }
        }
        let frame = self.join_continuations(st, &interrupt, frame)?;
        let payload = if ts.is_unknown() {
            frame.payload
        } else {
            match st.retimer.retime(&frame.payload, ts.nanos()) {
                Ok(p) => p,
                Err(e) => {
                    gst::warning!(
                        CAT,
                        imp = self,
                        "frame at offset {} is not valid fMP4 ({e}); passed on as stored",
                        frame.offset
                    );
                    frame.payload
                }
            }
        };
        let obj = self.obj();
        if !st.caps_sent {
            let caps = caps_for(&payload);
            if let Err(e) = obj.set_caps(&caps) {
                gst::element_imp_error!(
                    self,
                    gst::CoreError::Negotiation,
                    ("Downstream refused {caps}: {e}")
                );
                return Err(gst::FlowError::NotNegotiated);
            }
            st.caps_sent = true;
        }
        if st.need_segment && !ts.is_unknown() {
            st.need_segment = false;
            if let Err(e) = obj.new_segment(self.segment_at(ts).upcast_ref()) {
                gst::warning!(CAT, imp = self, "cannot start a new segment: {e}");
            }
        }
        let mut buffer = gst::Buffer::from_mut_slice(payload);
        {
            let b = buffer.get_mut().ok_or(gst::FlowError::Error)?;
            if !ts.is_unknown() {
                b.set_pts(gst::ClockTime::from_nseconds(ts.nanos()));
            }
            b.set_offset(frame.offset);
            let mut flags = gst::BufferFlags::empty();
            if frame.discontinuity {
                flags |= gst::BufferFlags::DISCONT;
            }
            if !frame.header.flags.random_access() {
                flags |= gst::BufferFlags::DELTA_UNIT;
            }
            b.set_flags(flags);
        }
        gst::trace!(CAT, imp = self, "frame at {} offset {}", ts, frame.offset);
        Ok(CreateSuccess::NewBuffer(buffer))
    }
}
