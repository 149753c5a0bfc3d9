//! Implementation of `pravegasink`.
//!
//! Each render appends whole frames through [`VideoWriter`], which keeps the format's rules (key frame before
//! its index record, discontinuity on the first frame, fsync at index records). Frames reach readers as soon
//! as they are appended: nothing is buffered in the element, unlike the original plugin which flushed a
//! 128 KiB buffer only at key frames. With `video/quicktime` input the element assembles mp4mux's separate
//! moof/mdat buffers into one fragment per frame and puts ftyp+moov in front of every key frame.

use std::sync::{Arc, LazyLock, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use gst::glib;
use gst::prelude::*;
use gst::subclass::prelude::*;
use gst_base::prelude::*;
use gst_base::subclass::prelude::*;
use hindsight_store::retention::{self, RetentionPolicy};
use hindsight_store::video::{IndexPolicy, VideoWriter};
use hindsight_store::{Backend, StreamName, Timestamp};

use crate::errors;
use crate::fmp4::{Assembler, BufferMeta};
use crate::location::{self, Location, OpenError};
use crate::settings::TimestampMode;

static CAT: LazyLock<gst::DebugCategory> = LazyLock::new(|| {
    gst::DebugCategory::new(
        "pravegasink",
        gst::DebugColorFlags::empty(),
        Some("Hindsight stream sink"),
    )
});

/// Retention runs when there is a new place to cut (a key frame was indexed) and at the first frame, but at
/// most this often, so that all-intra streams with `index-min-sec=0` do not run it per frame. A timer alone
/// missed cuts: with a period equal to the GOP it kept firing just before each key frame was written.
const RETENTION_MIN_INTERVAL: Duration = Duration::from_millis(500);

/// Default of `index-min-sec`: at most two seek targets a second.
const DEFAULT_INDEX_MIN_SEC: f64 = 0.5;
/// Default of `index-max-sec`: a record at least every 10 s, also for encoders that flag every buffer delta.
const DEFAULT_INDEX_MAX_SEC: f64 = 10.0;
/// Default of `buffer-size`, the original plugin's write buffer (accepted, not used: see the property).
const DEFAULT_BUFFER_SIZE: u32 = 128 * 1024;

#[derive(Debug, Clone)]
struct Settings {
    location: Location,
    seal: bool,
    index_min_sec: f64,
    index_max_sec: f64,
    buffer_size: u32,
    timestamp_mode: TimestampMode,
    retention_days: f64,
    retention_bytes: u64,
    timestamp_base: u64,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            location: Location::default(),
            seal: false,
            index_min_sec: DEFAULT_INDEX_MIN_SEC,
            index_max_sec: DEFAULT_INDEX_MAX_SEC,
            buffer_size: DEFAULT_BUFFER_SIZE,
            timestamp_mode: TimestampMode::RealtimeClock,
            retention_days: 0.0,
            retention_bytes: 0,
            timestamp_base: 0,
        }
    }
}

struct Started {
    store: Arc<dyn Backend>,
    name: StreamName,
    writer: Option<VideoWriter>,
    assembler: Option<Assembler>,
    /// Unix nanoseconds minus pipeline clock time, measured once so frames stay evenly spaced.
    clock_to_unix: Option<i128>,
    /// TAI of running time 0 in `base-plus-running-time` mode, fixed at the first buffer.
    base: Option<Timestamp>,
    end: Option<Timestamp>,
    retention: RetentionPolicy,
    /// A retention pass is due: at the first frame (old footage goes at once) and after each indexed key frame.
    retention_due: bool,
    last_retention: Option<Instant>,
    seal: bool,
    frames: u64,
}

/// The element's instance data.
#[derive(Default)]
pub struct PravegaSink {
    settings: Mutex<Settings>,
    state: Mutex<Option<Started>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic elsewhere must not turn every later call into a panic too.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn unix_now_ns() -> i128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as i128)
        .unwrap_or(0)
}

impl PravegaSink {
    /// Opens the store and the stream's writer as the settings say.
    fn open(&self) -> Result<Started, OpenError> {
        let s = lock(&self.settings).clone();
        let (store, name) = s.location.open(true)?;
        let policy = IndexPolicy {
            min_interval: Duration::from_secs_f64(s.index_min_sec.max(0.0)),
            max_interval: Duration::from_secs_f64(s.index_max_sec.max(0.0)),
        };
        let writer = VideoWriter::open(store.as_ref(), &name, policy).map_err(|e| {
            OpenError::store(
                &format!("Cannot open stream {name} for writing in {}", store.uri()),
                e,
                gst::ResourceError::OpenWrite,
            )
        })?;
        gst::info!(
            CAT,
            imp = self,
            "writing {name} in {} from offset {}",
            store.uri(),
            writer.data_tail()
        );
        Ok(Started {
            store,
            name,
            writer: Some(writer),
            assembler: None,
            clock_to_unix: None,
            base: (s.timestamp_base > 0).then(|| Timestamp::from_nanos(s.timestamp_base)),
            end: None,
            retention: retention_policy(&s),
            retention_due: true,
            last_retention: None,
            seal: s.seal,
            frames: 0,
        })
    }

    fn timestamp_for(&self, state: &mut Started, mode: TimestampMode, meta: &BufferMeta) -> Timestamp {
        // Decode time keeps stored times increasing with B-frames, and fMP4 fragment times are decode times.
        let Some(t) = meta.dts.or(meta.pts) else {
            return Timestamp::from_nanos(0);
        };
        match mode {
            TimestampMode::Tai => Timestamp::from_nanos(t),
            TimestampMode::BasePlusRunningTime => {
                let obj = self.obj();
                let segment = obj.segment();
                let running = match segment.downcast_ref::<gst::ClockTime>() {
                    Some(s) => s.to_running_time(gst::ClockTime::from_nseconds(t)),
                    None => Some(gst::ClockTime::from_nseconds(t)),
                };
                let base = *state.base.get_or_insert_with(Timestamp::now);
                base.saturating_add(Duration::from_nanos(running.map_or(0, |r| r.nseconds())))
            }
            TimestampMode::RealtimeClock => {
                let obj = self.obj();
                let segment = obj.segment();
                // Muxers such as mp4mux send a BYTES segment; their buffer times are already running times.
                let running = match segment.downcast_ref::<gst::ClockTime>() {
                    Some(s) => s.to_running_time(gst::ClockTime::from_nseconds(t)),
                    None => Some(gst::ClockTime::from_nseconds(t)),
                };
                let (Some(running), Some(base), Some(clock)) = (running, obj.base_time(), obj.clock()) else {
                    return Timestamp::now();
                };
                let clock_time = running.nseconds() as i128 + base.nseconds() as i128;
                let offset = *state
                    .clock_to_unix
                    .get_or_insert_with(|| unix_now_ns() - clock.time().nseconds() as i128);
                Timestamp::from_unix_nanos(clock_time + offset).unwrap_or_else(|_| Timestamp::now())
            }
        }
    }

    fn write(
        &self,
        state: &mut Started,
        data: &[u8],
        meta: BufferMeta,
        key: bool,
    ) -> Result<(), gst::FlowError> {
        let mode = lock(&self.settings).timestamp_mode;
        let ts = self.timestamp_for(state, mode, &meta);
        let Some(writer) = state.writer.as_mut() else {
            return Err(gst::FlowError::Flushing);
        };
        match writer.append(data, ts, key) {
            Ok(appended) => {
                state.frames += 1;
                if appended.record.is_some_and(|r| r.is_seek_target()) {
                    state.retention_due = true;
                }
                if let Some(d) = meta.duration {
                    state.end = Some(appended.timestamp.saturating_add(Duration::from_nanos(d)));
                } else {
                    state.end = Some(appended.timestamp);
                }
                gst::trace!(
                    CAT,
                    imp = self,
                    "frame {} at {} ({} bytes, key {key})",
                    state.frames,
                    appended.timestamp,
                    data.len()
                );
                Ok(())
            }
            Err(e) => {
                let context = format!("Cannot append to stream {}", state.name);
                errors::post(
                    self.obj().upcast_ref(),
                    &OpenError::store(&context, e, gst::ResourceError::Write),
                );
                Err(gst::FlowError::Error)
            }
        }
    }

    /// Writes the end record (and seals when asked) and releases the writer.
    fn finish(&self) -> Result<(), gst::ErrorMessage> {
        let Some(mut state) = lock(&self.state).take() else {
            return Ok(());
        };
        let Some(writer) = state.writer.take() else {
            return Ok(());
        };
        let result = if state.seal {
            writer.finish_and_seal(state.end)
        } else {
            writer.finish(state.end)
        };
        result.map_err(|e| {
            gst::error_msg!(
                errors::resource_error(e.kind(), gst::ResourceError::Write),
                ("Cannot finish stream {}: {e}", state.name)
            )
        })?;
        gst::info!(
            CAT,
            imp = self,
            "stopped {} after {} frames",
            state.name,
            state.frames
        );
        Ok(())
    }

    fn run_retention(&self, state: &mut Started) {
        if state.retention.is_unlimited()
            || !state.retention_due
            || state
                .last_retention
                .is_some_and(|t| t.elapsed() < RETENTION_MIN_INTERVAL)
        {
            return;
        }
        state.retention_due = false;
        state.last_retention = Some(Instant::now());
        match retention::apply(
            state.store.as_ref(),
            &state.name,
            state.retention,
            Timestamp::now(),
        ) {
            Ok(Some(t)) => gst::info!(CAT, imp = self, "retention: {} now starts at {t}", state.name),
            Ok(None) => gst::debug!(CAT, imp = self, "retention: nothing to delete in {}", state.name),
            // Retention failing must not stop a recording; the next pass tries again.
            Err(e) => gst::warning!(CAT, imp = self, "retention on {} failed: {e}", state.name),
        }
    }
}

#[glib::object_subclass]
impl ObjectSubclass for PravegaSink {
    const NAME: &'static str = "GstPravegaSink";
    type Type = super::PravegaSink;
    type ParentType = gst_base::BaseSink;
}

impl ObjectImpl for PravegaSink {
    fn properties() -> &'static [glib::ParamSpec] {
        static PROPS: LazyLock<Vec<glib::ParamSpec>> = LazyLock::new(|| {
            let mut props = Location::param_specs("The stream to write, SCOPE/STREAM (created if missing)");
            props.extend([
                glib::ParamSpecBoolean::builder("seal")
                    .nick("Seal")
                    .blurb("Seal the stream when the element stops, so readers end instead of waiting for more")
                    .default_value(false)
                    .mutable_ready()
                    .build(),
                glib::ParamSpecDouble::builder("index-min-sec")
                    .nick("Minimum index interval")
                    .blurb("Key frames closer than this many seconds to the previous index record are not indexed")
                    .minimum(0.0)
                    .maximum(3600.0)
                    .default_value(DEFAULT_INDEX_MIN_SEC)
                    .mutable_ready()
                    .build(),
                glib::ParamSpecDouble::builder("index-max-sec")
                    .nick("Maximum index interval")
                    .blurb("Force an index record (not a seek target) when this many seconds passed without one")
                    .minimum(0.0)
                    .maximum(86400.0)
                    .default_value(DEFAULT_INDEX_MAX_SEC)
                    .mutable_ready()
                    .build(),
                glib::ParamSpecUInt::builder("buffer-size")
                    .nick("Buffer size")
                    .blurb("Accepted for compatibility with the original plugin and not used: every frame is appended and visible to readers at once, so there is no write buffer")
                    .default_value(DEFAULT_BUFFER_SIZE)
                    .mutable_ready()
                    .build(),
                glib::ParamSpecEnum::builder_with_default("timestamp-mode", TimestampMode::RealtimeClock)
                    .nick("Timestamp mode")
                    .blurb("How buffer times map to stored TAI timestamps")
                    .mutable_ready()
                    .build(),
                glib::ParamSpecUInt64::builder("timestamp-base")
                    .nick("Timestamp base")
                    .blurb("With timestamp-mode=base-plus-running-time: TAI nanoseconds of running time 0 (0 = the wall clock at the first buffer)")
                    .default_value(0)
                    .mutable_ready()
                    .build(),
                glib::ParamSpecDouble::builder("retention-days")
                    .nick("Retention days")
                    .blurb("Delete footage older than this many days while recording (0 keeps everything)")
                    .minimum(0.0)
                    .maximum(36500.0)
                    .default_value(0.0)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecUInt64::builder("retention-bytes")
                    .nick("Retention bytes")
                    .blurb("Delete the oldest footage to keep at most about this many bytes (0 keeps everything)")
                    .default_value(0)
                    .mutable_playing()
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
            "seal" => s.seal = value.get().unwrap_or(false),
            "index-min-sec" => s.index_min_sec = value.get().unwrap_or(DEFAULT_INDEX_MIN_SEC),
            "index-max-sec" => s.index_max_sec = value.get().unwrap_or(DEFAULT_INDEX_MAX_SEC),
            "buffer-size" => s.buffer_size = value.get().unwrap_or(DEFAULT_BUFFER_SIZE),
            "timestamp-mode" => s.timestamp_mode = value.get().unwrap_or_default(),
            "retention-days" => s.retention_days = value.get().unwrap_or(0.0),
            "retention-bytes" => s.retention_bytes = value.get().unwrap_or(0),
            "timestamp-base" => s.timestamp_base = value.get().unwrap_or(0),
            other => gst::warning!(CAT, imp = self, "unknown property {other}"),
        }
        // Retention may change while recording.
        let retention = retention_policy(&s);
        drop(s);
        if let Some(state) = lock(&self.state).as_mut() {
            state.retention = retention;
        }
    }

    fn property(&self, _id: usize, pspec: &glib::ParamSpec) -> glib::Value {
        let s = lock(&self.settings);
        if let Some(v) = s.location.get(pspec.name()) {
            return v;
        }
        match pspec.name() {
            "seal" => s.seal.to_value(),
            "index-min-sec" => s.index_min_sec.to_value(),
            "index-max-sec" => s.index_max_sec.to_value(),
            "buffer-size" => s.buffer_size.to_value(),
            "timestamp-mode" => s.timestamp_mode.to_value(),
            "retention-days" => s.retention_days.to_value(),
            "retention-bytes" => s.retention_bytes.to_value(),
            "timestamp-base" => s.timestamp_base.to_value(),
            _ => pspec.default_value().clone(),
        }
    }

    fn constructed(&self) {
        self.parent_constructed();
        // A storage sink records as fast as data comes; it must not throttle files to real time.
        self.obj().set_sync(false);
    }
}

fn retention_policy(s: &Settings) -> RetentionPolicy {
    RetentionPolicy {
        max_age: (s.retention_days > 0.0).then(|| Duration::from_secs_f64(s.retention_days * 86400.0)),
        max_bytes: (s.retention_bytes > 0).then_some(s.retention_bytes),
    }
}

impl GstObjectImpl for PravegaSink {}

impl ElementImpl for PravegaSink {
    fn change_state(
        &self,
        transition: gst::StateChange,
    ) -> Result<gst::StateChangeSuccess, gst::StateChangeError> {
        // The base class starts a sink going from NULL to READY; opening here instead of in `start` lets the
        // error carry the store failure's kind (`start` can only return a plain message).
        if transition == gst::StateChange::NullToReady {
            match self.open() {
                Ok(started) => *lock(&self.state) = Some(started),
                Err(e) => {
                    errors::post(self.obj().upcast_ref(), &e);
                    return Err(gst::StateChangeError);
                }
            }
        }
        let result = self.parent_change_state(transition);
        if result.is_err() && transition == gst::StateChange::NullToReady {
            // Nobody will stop what was opened: finish it now, so the writer lock is released.
            if let Err(e) = self.finish() {
                gst::warning!(CAT, imp = self, "{e}");
            }
        }
        result
    }

    fn metadata() -> Option<&'static gst::subclass::ElementMetadata> {
        static META: LazyLock<gst::subclass::ElementMetadata> = LazyLock::new(|| {
            gst::subclass::ElementMetadata::new(
                "Pravega byte-stream sink",
                "Sink/File/Network",
                "Appends buffers as frames with a key-frame index to a Hindsight/Pravega video stream",
                "Hindsight developers",
            )
        });
        Some(&*META)
    }

    fn pad_templates() -> &'static [gst::PadTemplate] {
        static TEMPLATES: LazyLock<Vec<gst::PadTemplate>> =
            LazyLock::new(|| vec![location::any_caps_template("sink", gst::PadDirection::Sink)]);
        TEMPLATES.as_ref()
    }
}

impl BaseSinkImpl for PravegaSink {
    fn start(&self) -> Result<(), gst::ErrorMessage> {
        // The writer was opened in `change_state` (NULL to READY, where the base class calls this), so that
        // a store failure reaches the bus with its kind in the details.
        if lock(&self.state).is_some() {
            Ok(())
        } else {
            Err(gst::error_msg!(
                gst::ResourceError::OpenWrite,
                ("The stream is not open")
            ))
        }
    }

    fn stop(&self) -> Result<(), gst::ErrorMessage> {
        self.finish()
    }

    fn set_caps(&self, caps: &gst::Caps) -> Result<(), gst::LoggableError> {
        let is_mp4 = caps.structure(0).is_some_and(|s| s.name() == "video/quicktime");
        if let Some(state) = lock(&self.state).as_mut() {
            // Keep a running assembler across renegotiation: it holds the current moov.
            if is_mp4 && state.assembler.is_none() {
                state.assembler = Some(Assembler::new());
            } else if !is_mp4 {
                state.assembler = None;
            }
        }
        Ok(())
    }

    fn render(&self, buffer: &gst::Buffer) -> Result<gst::FlowSuccess, gst::FlowError> {
        let map = buffer.map_readable().map_err(|_| {
            gst::element_imp_error!(self, gst::ResourceError::Read, ("Cannot map buffer"));
            gst::FlowError::Error
        })?;
        let meta = BufferMeta {
            pts: buffer.pts().map(|t| t.nseconds()),
            dts: buffer.dts().map(|t| t.nseconds()),
            duration: buffer.duration().map(|t| t.nseconds()),
            delta_unit: buffer.flags().contains(gst::BufferFlags::DELTA_UNIT),
        };
        let mut guard = lock(&self.state);
        let Some(state) = guard.as_mut() else {
            return Err(gst::FlowError::Flushing);
        };
        match state.assembler.as_mut().map(|a| a.push(&map, meta)) {
            Some(Ok(fragments)) => {
                for f in fragments {
                    let meta = f.meta.unwrap_or_default();
                    self.write(state, &f.data, meta, f.key)?;
                }
            }
            Some(Err(e)) => {
                gst::element_imp_error!(self, gst::StreamError::Demux, ("Input is not fragmented MP4 as mp4mux streamable=true fragment-duration=1 makes it: {e}"));
                return Err(gst::FlowError::Error);
            }
            None => {
                if !map.is_empty() {
                    self.write(state, &map, meta, !meta.delta_unit)?;
                }
            }
        }
        self.run_retention(state);
        Ok(gst::FlowSuccess::Ok)
    }
}
