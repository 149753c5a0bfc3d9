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
use std::sync::{LazyLock, Mutex};

use gst::glib;
use gst::prelude::*;
use gst::subclass::prelude::*;
use gst_base::prelude::*;
use gst_base::subclass::base_src::CreateSuccess;
use gst_base::subclass::prelude::*;
use hindsight_store::search;
use hindsight_store::video::IndexReader;
use hindsight_store::{Interrupt, Timestamp};

use crate::lifecycle::{self, lock};
use crate::location::{self, Location};
use crate::mpegts;
use crate::settings::{EndMode, StartMode};

mod reading;

use reading::{caps_for, EndBound, Reading};

static CAT: LazyLock<gst::DebugCategory> = LazyLock::new(|| {
    gst::DebugCategory::new(
        "pravegasrc",
        gst::DebugColorFlags::empty(),
        Some("Hindsight stream source"),
    )
});

/// Default of `buffer-size`, the original plugin's read-ahead (accepted, not used: see the property).
const DEFAULT_BUFFER_SIZE: u32 = 128 * 1024;

#[derive(Debug, Clone, Default)]
struct Settings {
    location: Location,
    start_mode: StartMode,
    start_utc: Option<String>,
    start_timestamp: u64,
    end_mode: EndMode,
    end_utc: Option<String>,
    end_timestamp: u64,
    /// As set; `None` reads as the default.
    buffer_size: Option<u32>,
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
                    .blurb("With start-mode=timestamp or timestamp-exact: RFC 3339 time; reading starts at the key frame at or before it")
                    .mutable_ready()
                    .build(),
                glib::ParamSpecUInt64::builder("start-timestamp")
                    .nick("Start timestamp")
                    .blurb("With start-mode=timestamp or timestamp-exact: TAI nanoseconds since 1970 (overrides start-utc when non-zero)")
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
                glib::ParamSpecUInt::builder("buffer-size")
                    .nick("Buffer size")
                    .blurb("Accepted for compatibility with the original plugin and not used: frames are read whole, each with one read of its exact size")
                    .default_value(DEFAULT_BUFFER_SIZE)
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
            "buffer-size" => s.buffer_size = value.get().ok(),
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
            "buffer-size" => s.buffer_size.unwrap_or(DEFAULT_BUFFER_SIZE).to_value(),
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
        // The base class starts a source going from READY to PAUSED.
        lifecycle::change_state_opening(
            self.obj().upcast_ref(),
            transition,
            gst::StateChange::ReadyToPaused,
            || self.open(),
            || self.parent_change_state(transition),
            || self.close(),
        )
    }

    fn metadata() -> Option<&'static gst::subclass::ElementMetadata> {
        static META: LazyLock<gst::subclass::ElementMetadata> = LazyLock::new(|| {
            lifecycle::metadata(
                "Pravega byte-stream source",
                "Source/File/Network",
                "Reads a Hindsight/Pravega video stream, seeks by time through its index and follows its tail",
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
        lifecycle::started(&self.state, gst::ResourceError::OpenRead)
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
            // The base class's initial seek: start where the start mode put us (timestamp-exact: at the
            // requested time, so that decoders drop the frames from the key frame up to it; no-seek: at 0).
            if let Some(start) = st.start_exact.or(st.start_record.map(|r| r.timestamp)) {
                let t = gst::ClockTime::from_nseconds(start.nanos());
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
        // MPEG-TS keeps its own times (see `mpegts`); fMP4 decode times are rewritten to the stored time.
        let payload = if ts.is_unknown() || mpegts::is_ts(&frame.payload) {
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
        // tsdemux reads a PCR's time from the newest buffer it was given when it parses the packet, which is
        // often a later one than the PCR's own (it holds packets back while it finds their size), so every TS
        // buffer is stamped on the PCR's clock, not only those that carry one.
        if let Some(lead) = mpegts::pcr_lead(&payload) {
            st.pcr_lead = Some(lead);
        }
        let pcr_lead = if mpegts::is_ts(&payload) {
            st.pcr_lead
        } else {
            None
        };
        let mut buffer = gst::Buffer::from_mut_slice(payload);
        {
            let b = buffer.get_mut().ok_or(gst::FlowError::Error)?;
            if !ts.is_unknown() {
                b.set_pts(gst::ClockTime::from_nseconds(buffer_time(ts, pcr_lead)));
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

/// The PTS of a stored frame's buffer: its stored time, except for MPEG-TS once a PCR's lead over the pictures
/// is known: then the stored time less that lead, the time on the PCR's clock, so that tsdemux, which anchors
/// its timeline on a PCR and the buffer time it sees with it, gives the pictures their stored times. A lead
/// beyond tsdemux's own 15 s limit is not believed.
fn buffer_time(ts: Timestamp, pcr_lead: Option<i64>) -> u64 {
    const MAX_LEAD_NS: u64 = 15_000_000_000;
    match pcr_lead {
        Some(lead) if lead.unsigned_abs() <= MAX_LEAD_NS => ts.nanos().saturating_add_signed(-lead),
        _ => ts.nanos(),
    }
}
