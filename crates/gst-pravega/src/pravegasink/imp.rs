//! Implementation of `pravegasink`.
//!
//! Each render appends whole frames through [`VideoWriter`], which keeps the format's rules (key frame before
//! its index record, discontinuity on the first frame, fsync at index records). Frames reach readers as soon
//! as they are appended: nothing is buffered in the element, unlike the original plugin which flushed a
//! 128 KiB buffer only at key frames. With `video/quicktime` input the element assembles mp4mux's separate
//! moof/mdat buffers into one fragment per frame and puts ftyp+moov in front of every key frame.

use std::sync::{LazyLock, Mutex};
use std::time::Duration;

use gst::glib;
use gst::prelude::*;
use gst::subclass::prelude::*;
use gst_base::prelude::*;
use gst_base::subclass::prelude::*;
use hindsight_store::retention::RetentionPolicy;

use crate::fmp4::{Assembler, BufferMeta};
use crate::lifecycle::{self, lock};
use crate::location::{self, Location};
use crate::settings::{RetentionType, TimestampMode};
use hindsight_store::video::FrameRole;

mod writing;

use writing::Started;

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
    retention_type: RetentionType,
    retention_days: f64,
    retention_bytes: u64,
    retention_interval_secs: u64,
    timestamp_base: u64,
    hash_chain: bool,
    signing_key: Option<String>,
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
            retention_type: RetentionType::Auto,
            retention_days: 0.0,
            retention_bytes: 0,
            retention_interval_secs: 0,
            timestamp_base: 0,
            hash_chain: true,
            signing_key: None,
        }
    }
}

/// The element's instance data.
#[derive(Default)]
pub struct PravegaSink {
    settings: Mutex<Settings>,
    state: Mutex<Option<Started>>,
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
                glib::ParamSpecBoolean::builder("hash-chain")
                    .nick("Hash chain")
                    .blurb("Keep a signed SHA-256 hash chain of every frame beside the stream (STREAM-chain), so that `hindsight verify` can prove the frames are what was recorded")
                    .default_value(true)
                    .mutable_ready()
                    .build(),
                glib::ParamSpecString::builder("signing-key")
                    .nick("Signing key")
                    .blurb("Ed25519 key file that signs the hash chain, created if missing (default: the installation's key in the user's config directory)")
                    .mutable_ready()
                    .build(),
                glib::ParamSpecEnum::builder_with_default("retention-type", RetentionType::Auto)
                    .nick("Retention type")
                    .blurb("Which retention limits apply (the original plugin's property): auto applies the limits that are set; days, bytes and daysAndBytes need those limits set; none keeps everything")
                    .mutable_playing()
                    .build(),
                glib::ParamSpecUInt64::builder("retention-maintenance-interval-seconds")
                    .nick("Retention interval")
                    .blurb("Least time between two retention passes; 0 runs one at each indexed key frame, at most twice a second")
                    .default_value(0)
                    .mutable_playing()
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
            "retention-type" => s.retention_type = value.get().unwrap_or_default(),
            "retention-days" => s.retention_days = value.get().unwrap_or(0.0),
            "retention-bytes" => s.retention_bytes = value.get().unwrap_or(0),
            "retention-maintenance-interval-seconds" => s.retention_interval_secs = value.get().unwrap_or(0),
            "timestamp-base" => s.timestamp_base = value.get().unwrap_or(0),
            "hash-chain" => s.hash_chain = value.get().unwrap_or(true),
            "signing-key" => {
                s.signing_key = value
                    .get::<Option<String>>()
                    .ok()
                    .flatten()
                    .filter(|p| !p.is_empty())
            }
            other => gst::warning!(CAT, imp = self, "unknown property {other}"),
        }
        // Retention may change while recording; a combination that does not make sense yet (retention-type
        // set before its limit) keeps the policy in force until it does.
        let retention = retention_policy(&s);
        let interval = retention_interval(&s);
        drop(s);
        if let Some(state) = lock(&self.state).as_mut() {
            if let Ok(retention) = retention {
                state.retention = retention;
            }
            state.retention_interval = interval;
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
            "retention-type" => s.retention_type.to_value(),
            "retention-days" => s.retention_days.to_value(),
            "retention-bytes" => s.retention_bytes.to_value(),
            "retention-maintenance-interval-seconds" => s.retention_interval_secs.to_value(),
            "timestamp-base" => s.timestamp_base.to_value(),
            "hash-chain" => s.hash_chain.to_value(),
            "signing-key" => s.signing_key.to_value(),
            _ => pspec.default_value().clone(),
        }
    }

    fn constructed(&self) {
        self.parent_constructed();
        // A storage sink records as fast as data comes; it must not throttle files to real time.
        self.obj().set_sync(false);
    }
}

/// The retention the settings ask for, or why they do not make sense (a type whose limit is not set, as the
/// original plugin refused it).
fn retention_policy(s: &Settings) -> Result<RetentionPolicy, String> {
    let max_age = (s.retention_days > 0.0).then(|| Duration::from_secs_f64(s.retention_days * 86400.0));
    let max_bytes = (s.retention_bytes > 0).then_some(s.retention_bytes);
    let days = || max_age.ok_or("retention-type needs retention-days to be set (above 0)");
    let bytes = || max_bytes.ok_or("retention-type needs retention-bytes to be set (above 0)");
    let (max_age, max_bytes) = match s.retention_type {
        RetentionType::Auto => (max_age, max_bytes),
        RetentionType::None => (None, None),
        RetentionType::Days => (Some(days()?), None),
        RetentionType::Bytes => (None, Some(bytes()?)),
        RetentionType::DaysAndBytes => (Some(days()?), Some(bytes()?)),
    };
    Ok(RetentionPolicy { max_age, max_bytes })
}

/// The least time between retention passes.
fn retention_interval(s: &Settings) -> Duration {
    RETENTION_MIN_INTERVAL.max(Duration::from_secs(s.retention_interval_secs))
}

impl GstObjectImpl for PravegaSink {}

impl ElementImpl for PravegaSink {
    fn change_state(
        &self,
        transition: gst::StateChange,
    ) -> Result<gst::StateChangeSuccess, gst::StateChangeError> {
        // The base class starts a sink going from NULL to READY.
        lifecycle::change_state_opening(
            self.obj().upcast_ref(),
            transition,
            gst::StateChange::NullToReady,
            || {
                *lock(&self.state) = Some(self.open()?);
                Ok(())
            },
            || self.parent_change_state(transition),
            || {
                // The writer lock is released with the end record.
                if let Err(e) = self.finish() {
                    gst::warning!(CAT, imp = self, "{e}");
                }
            },
        )
    }

    fn metadata() -> Option<&'static gst::subclass::ElementMetadata> {
        static META: LazyLock<gst::subclass::ElementMetadata> = LazyLock::new(|| {
            lifecycle::metadata(
                "Pravega byte-stream sink",
                "Sink/File/Network",
                "Appends buffers as frames with a key-frame index to a Hindsight/Pravega video stream",
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
        lifecycle::started(&self.state, gst::ResourceError::OpenWrite)
    }

    fn stop(&self) -> Result<(), gst::ErrorMessage> {
        self.finish()
    }

    fn event(&self, event: gst::Event) -> bool {
        // The fragments held for interleaving are written before EOS is posted, so a stream is complete
        // when the application hears of the end.
        if event.type_() == gst::EventType::Eos {
            if let Some(state) = lock(&self.state).as_mut() {
                if let Err(e) = self.drain_fragments(state) {
                    gst::warning!(CAT, imp = self, "cannot write the last fragments: {e:?}");
                }
            }
        }
        self.parent_event(event)
    }

    fn set_caps(&self, caps: &gst::Caps) -> Result<(), gst::LoggableError> {
        let is_mp4 = caps.structure(0).is_some_and(|s| s.name() == "video/quicktime");
        let is_ts = caps.structure(0).is_some_and(|s| s.name() == "video/mpegts");
        if let Some(state) = lock(&self.state).as_mut() {
            if is_ts && state.tables.is_none() {
                state.tables = Some(Default::default());
            } else if !is_ts {
                // Tables held for media that never came describe nothing: the next recording repeats them.
                state.tables = None;
            }
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
        // A break in the input's timeline (a camera that reset its clock, a source that resynchronised) is
        // stored as a discontinuity on the next frame written, so readers show a gap rather than a jump.
        let discont = buffer
            .flags()
            .intersects(gst::BufferFlags::DISCONT | gst::BufferFlags::RESYNC);
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
        if discont && state.frames > 0 {
            if let Some(writer) = state.writer.as_mut() {
                gst::debug!(CAT, imp = self, "discontinuity after frame {}", state.frames);
                writer.mark_discontinuity();
            }
        }
        if let Some(assembler) = state.assembler.as_mut() {
            let fragments = match assembler.push(&map, meta) {
                Ok(f) => f,
                Err(e) => {
                    gst::element_imp_error!(self, gst::StreamError::Demux, ("Input is not fragmented MP4 as mp4mux streamable=true fragment-duration=1 makes it: {e}"));
                    return Err(gst::FlowError::Error);
                }
            };
            let tracks = assembler.track_ids().to_vec();
            let mut due = state.interleaver.set_tracks(&tracks);
            for f in fragments {
                due.extend(state.interleaver.push(f));
            }
            self.write_fragments(state, due)?;
        } else {
            let role = if meta.delta_unit {
                FrameRole::Delta
            } else {
                FrameRole::Key
            };
            match state.tables.as_mut() {
                Some(tables) => {
                    if let Some((frame, key)) = tables.push(&map, !meta.delta_unit) {
                        let role = if key { FrameRole::Key } else { FrameRole::Delta };
                        self.write(state, &frame, meta, role)?;
                    }
                }
                None if !map.is_empty() => self.write(state, &map, meta, role)?,
                None => {}
            }
        }
        self.run_retention(state);
        Ok(gst::FlowSuccess::Ok)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retention_type_selects_the_limits_and_needs_them_set() {
        let day = Duration::from_secs(86400);
        let with = |retention_type, retention_days, retention_bytes| Settings {
            retention_type,
            retention_days,
            retention_bytes,
            ..Settings::default()
        };
        let policy = |age: Option<Duration>, bytes: Option<u64>| RetentionPolicy {
            max_age: age,
            max_bytes: bytes,
        };
        use RetentionType as T;
        assert_eq!(retention_policy(&with(T::Auto, 0.0, 0)), Ok(policy(None, None)));
        assert_eq!(
            retention_policy(&with(T::Auto, 1.0, 0)),
            Ok(policy(Some(day), None))
        );
        assert_eq!(
            retention_policy(&with(T::Auto, 1.0, 5)),
            Ok(policy(Some(day), Some(5)))
        );
        assert_eq!(retention_policy(&with(T::None, 1.0, 5)), Ok(policy(None, None)));
        assert_eq!(
            retention_policy(&with(T::Days, 1.0, 5)),
            Ok(policy(Some(day), None))
        );
        assert_eq!(
            retention_policy(&with(T::Bytes, 1.0, 5)),
            Ok(policy(None, Some(5)))
        );
        assert_eq!(
            retention_policy(&with(T::DaysAndBytes, 1.0, 5)),
            Ok(policy(Some(day), Some(5)))
        );
        assert!(retention_policy(&with(T::Days, 0.0, 5)).is_err());
        assert!(retention_policy(&with(T::Bytes, 1.0, 0)).is_err());
        assert!(retention_policy(&with(T::DaysAndBytes, 0.0, 5)).is_err());

        let mut s = Settings::default();
        assert_eq!(retention_interval(&s), RETENTION_MIN_INTERVAL);
        s.retention_interval_secs = 900;
        assert_eq!(retention_interval(&s), Duration::from_secs(900));
    }
}
