//! The playback pipeline and what its bus says:
//!
//! ```text
//! pravegasrc ─[key-frame filter]─▶ decodebin ─▶ videoscale ─▶ size ─▶ videoconvert ─[frame counter]─▶ gtk4paintablesink
//! ```
//!
//! once per camera, in one pipeline: the cameras of a synchronized review share the pipeline's clock, base
//! time and seeks. The first camera's sound, when the player has sound, goes to [`super::sound`]; the other
//! cameras' sound is not decoded.

use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, LazyLock};
use std::time::{Duration, Instant};

use anyhow::Context;
use gst::prelude::*;
use hindsight_store::{Backend, StreamName, Timestamp};

use super::commands::{FAILED, REFUSED};
use super::{PlayerEvent, StartAt};

/// What reached the video sink: how many frames, and the newest one's stored time and arrival.
#[derive(Debug, Default)]
pub struct FrameStats {
    count: AtomicU64,
    /// TAI ns of the newest frame (0: none yet).
    last_pts: AtomicU64,
    /// When it arrived, as ns since [`EPOCH`] (0: none yet).
    last_at: AtomicU64,
}

/// A monotonic zero for arrival times kept in atomics.
static EPOCH: LazyLock<Instant> = LazyLock::new(Instant::now);

impl FrameStats {
    pub(super) fn record(&self, pts: Option<gst::ClockTime>) {
        if self.count.fetch_add(1, Ordering::Relaxed) == 0 {
            crate::startup::mark("first frame at the sink");
        }
        if let Some(pts) = pts.filter(|t| t.nseconds() > 0) {
            self.last_pts.store(pts.nseconds(), Ordering::Relaxed);
        }
        let since = EPOCH.elapsed().as_nanos().max(1) as u64;
        self.last_at.store(since, Ordering::Relaxed);
    }

    /// Frames that reached the sink so far.
    pub fn frames(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }

    /// The stored time of the newest frame.
    pub fn last_time(&self) -> Option<Timestamp> {
        Some(self.last_pts.load(Ordering::Relaxed))
            .filter(|&t| t > 0)
            .map(Timestamp::from_nanos)
    }

    /// When the newest frame arrived.
    pub fn last_arrival(&self) -> Option<Instant> {
        Some(self.last_at.load(Ordering::Relaxed))
            .filter(|&t| t > 0)
            .map(|ns| *EPOCH + Duration::from_nanos(ns))
    }
}

/// The times of the coded frames that entered a camera's decoder lately. After an accurate seek the decoder
/// clips the first frame it shows to the seek target, PTS included; the frame's own time is the newest coded
/// frame time at or before that.
#[derive(Debug, Default)]
pub struct CodedTimes {
    recent: std::sync::Mutex<std::collections::VecDeque<u64>>,
}

/// How many coded frame times are kept: more than a GOP's worth of frames decoded after a seek.
const CODED_TIMES: usize = 512;

impl CodedTimes {
    fn record(&self, pts: u64) {
        let mut q = self.recent.lock().unwrap_or_else(|e| e.into_inner());
        if q.len() == CODED_TIMES {
            q.pop_front();
        }
        q.push_back(pts);
    }

    /// The start of the coded frame that holds `pts`: the newest frame time at or before it.
    pub fn start_of(&self, pts: u64) -> Option<u64> {
        let q = self.recent.lock().unwrap_or_else(|e| e.into_inner());
        q.iter().copied().filter(|&t| t <= pts).max()
    }
}

/// Drops the stored frames that are not key frames, before they are demuxed or decoded: a small wall tile shows
/// about one image per GOP for a fraction of the work. Going back to all frames waits for the next key frame,
/// so the decoder never sees a delta frame whose references were dropped.
#[derive(Debug, Default)]
pub struct KeyFrameFilter {
    mode: AtomicU8,
}

const ALL: u8 = 0;
const KEY_ONLY: u8 = 1;
const RESUMING: u8 = 2;

impl KeyFrameFilter {
    /// Key frames only (true) or every frame again from the next key frame (false).
    pub fn set_key_frames_only(&self, on: bool) {
        if on {
            self.mode.store(KEY_ONLY, Ordering::SeqCst);
        } else {
            // Only a filter that drops has to wait for a key frame.
            let _ = self
                .mode
                .compare_exchange(KEY_ONLY, RESUMING, Ordering::SeqCst, Ordering::SeqCst);
        }
    }

    /// True while frames other than key frames are dropped (also while waiting to resume).
    pub fn is_key_frames_only(&self) -> bool {
        self.mode.load(Ordering::SeqCst) != ALL
    }

    /// Whether a buffer passes: key frames always, delta frames when not filtering.
    pub fn pass(&self, delta: bool) -> bool {
        match (self.mode.load(Ordering::SeqCst), delta) {
            (ALL, _) => true,
            (_, true) => false,
            (RESUMING, false) => {
                self.mode.store(ALL, Ordering::SeqCst);
                true
            }
            (_, false) => true,
        }
    }
}

/// The name of camera `camera`'s capsfilter that bounds its decoded picture's size ([`max_size_caps`]).
pub(super) fn size_filter(camera: usize) -> String {
    format!("{}size", prefix(camera))
}

/// Element names of camera `camera`'s branch start with this, so a bus message names its camera.
fn prefix(camera: usize) -> String {
    format!("cam{camera}-")
}

/// The camera whose branch posted `msg`, from the element names along its path.
pub(super) fn camera_of(msg: &gst::Message) -> Option<usize> {
    let path = msg.src()?.path_string();
    path.split(['/', ':'])
        .find_map(|part| part.strip_prefix("cam")?.split_once('-')?.0.parse().ok())
}

/// Caps that let the picture be at most `width` × `height` (keeping its aspect ratio), or any size for `None`.
pub(super) fn max_size_caps(max: Option<(i32, i32)>) -> gst::Caps {
    match max {
        Some((w, h)) => gst::Caps::builder("video/x-raw")
            .field("width", gst::IntRange::new(16, w.max(16)))
            .field("height", gst::IntRange::new(16, h.max(16)))
            .build(),
        None => gst::Caps::new_any(),
    }
}

fn make(factory: &str, name: String) -> anyhow::Result<gst::Element> {
    gst::ElementFactory::make(factory)
        .name(name)
        .build()
        .with_context(|| format!("cannot create {factory}"))
}

/// What one camera's branch needs besides its store and stream.
pub(super) struct BranchParts<'a> {
    pub(super) start: StartAt,
    pub(super) coded: &'a Arc<CodedTimes>,
    pub(super) filter: &'a Arc<KeyFrameFilter>,
    pub(super) stats: &'a Arc<FrameStats>,
    /// Plays this camera's sound, when it has some (the first camera of a player made with sound).
    pub(super) sound: Option<&'a Arc<super::sound::Sound>>,
}

/// Adds camera `camera`'s branch, `pravegasrc ! decodebin ! videoscale ! capsfilter ! videoconvert !
/// gtk4paintablesink`, to `pipeline` and returns its sink. The branches of one pipeline share its clock and
/// base time, so frames of the same stored time are shown at the same moment.
pub(super) fn add_branch(
    pipeline: &gst::Pipeline,
    store: &dyn Backend,
    stream: &StreamName,
    camera: usize,
    parts: &BranchParts<'_>,
) -> anyhow::Result<gst::Element> {
    let p = prefix(camera);
    let src = gst::ElementFactory::make("pravegasrc")
        .name(format!("{p}src"))
        .property("store", store.open_uri())
        .property("stream", stream.to_string())
        .build()
        .context("cannot create pravegasrc")?;
    match parts.start {
        StartAt::Earliest => src.set_property_from_str("start-mode", "earliest"),
        StartAt::Live => src.set_property_from_str("start-mode", "latest"),
        StartAt::Time(t) => {
            src.set_property_from_str("start-mode", "timestamp");
            src.set_property("start-timestamp", t.nanos());
        }
    }
    let decode = make("decodebin", format!("{p}decode"))?;
    // Frame-threaded libav decoders hold the newest frame until the next one arrives: a frame late at the
    // live edge. Slice threading shows each frame as soon as it is decoded.
    if let Some(bin) = decode.downcast_ref::<gst::Bin>() {
        let coded = parts.coded.clone();
        bin.connect_deep_element_added(move |_, _, element| {
            let Some(factory) = element.factory() else { return };
            if factory.name().starts_with("avdec_") && element.find_property("thread-type").is_some() {
                element.set_property_from_str("thread-type", "slice");
            }
            let decoder = factory
                .metadata(gst::ELEMENT_METADATA_KLASS)
                .is_some_and(|k| k.contains("Decoder") && k.contains("Video"));
            if let (true, Some(pad)) = (decoder, element.static_pad("sink")) {
                let coded = coded.clone();
                pad.add_probe(gst::PadProbeType::BUFFER, move |_, info| {
                    if let Some(pts) = info.buffer().and_then(|b| b.pts()) {
                        coded.record(pts.nseconds());
                    }
                    gst::PadProbeReturn::Ok
                });
            }
        });
    }
    // Scaling first, bounded by the size filter: a small tile converts and uploads a small picture, not the
    // camera's full frame. (Measured: videoscale then videoconvert costs a third of videoconvertscale doing both.)
    let scale = make("videoscale", format!("{p}scale"))?;
    let size = make("capsfilter", size_filter(camera))?;
    let convert = make("videoconvert", format!("{p}convert"))?;
    let sink = make("gtk4paintablesink", format!("{p}sink"))?;
    pipeline
        .add_many([&src, &decode, &scale, &size, &convert, &sink])
        .context("cannot assemble the player pipeline")?;
    src.link(&decode).context("cannot link pravegasrc to decodebin")?;
    gst::Element::link_many([&scale, &size, &convert, &sink])
        .context("cannot link the video conversion to the video sink")?;
    if parts.sound.is_none() {
        // Not decoding sound nobody hears: decodebin stops at the compressed sound, whose pad stays unlinked.
        decode.connect("autoplug-continue", false, |args| {
            let caps = args.get(2).and_then(|v| v.get::<gst::Caps>().ok());
            let audio = caps.is_some_and(|c| crate::engine::sound::is_audio(&c));
            Some((!audio).to_value())
        });
    }
    let scale_weak = scale.downgrade();
    let pipeline_weak = pipeline.downgrade();
    let sound = parts.sound.cloned();
    decode.connect_pad_added(move |_, pad| {
        let Some(caps) = pad.current_caps() else { return };
        if let (Some(sound), true) = (&sound, crate::engine::sound::is_audio(&caps)) {
            let Some(pipeline) = pipeline_weak.upgrade() else {
                return;
            };
            if let Err(e) = super::sound::add_branch(&pipeline, pad, &prefix(camera), sound) {
                tracing::warn!(error = %e, "the sound is not played");
            }
            return;
        }
        let Some(scale) = scale_weak.upgrade() else {
            return;
        };
        let is_video = caps.structure(0).is_some_and(|s| s.name().starts_with("video/"));
        let Some(sinkpad) = scale.static_pad("sink") else {
            return;
        };
        if is_video && !sinkpad.is_linked() {
            if let Err(e) = pad.link(&sinkpad) {
                tracing::warn!(error = ?e, "cannot link decoded video");
            }
        }
    });
    unblock_demuxer_on_seek(&src, &decode);
    if let Some(pad) = src.static_pad("src") {
        let filter = parts.filter.clone();
        pad.add_probe(gst::PadProbeType::BUFFER, move |_, info| {
            let delta = info
                .buffer()
                .is_some_and(|b| b.flags().contains(gst::BufferFlags::DELTA_UNIT));
            if filter.pass(delta) {
                gst::PadProbeReturn::Ok
            } else {
                gst::PadProbeReturn::Drop
            }
        });
    }
    if let Some(pad) = sink.static_pad("sink") {
        let stats = parts.stats.clone();
        pad.add_probe(gst::PadProbeType::BUFFER, move |_, info| {
            stats.record(info.buffer().and_then(|b| b.pts()));
            gst::PadProbeReturn::Ok
        });
    }
    Ok(sink)
}

/// Flushes the queues right after `decodebin`'s demuxer when a flushing seek reaches the source, before the
/// source passes the seek's flush on.
///
/// `qtdemux` (GStreamer 1.22) holds a lock while it announces the tracks of an init segment met in the middle of
/// the data, which happens wherever a recording was restarted, and takes the same lock to pass a flush on. When
/// the queue after it is full (paused and prerolled), the announcement waits for room and the seek's flush waits
/// for the announcement: the seek never returns. Flushing that queue first makes the announcement fail at once, so
/// the seek's own flush gets through, and its flush-stop resets the queue. (Flushing before the seek is sent
/// would not do: the seek travels upstream through the same queue, which refuses events while flushing.)
fn unblock_demuxer_on_seek(src: &gst::Element, decode: &gst::Element) {
    let (Some(pad), Some(bin)) = (src.static_pad("src"), decode.downcast_ref::<gst::Bin>()) else {
        return;
    };
    let bin = bin.downgrade();
    pad.add_probe(gst::PadProbeType::EVENT_UPSTREAM, move |_, info| {
        let flushing_seek = info.event().is_some_and(|e| match e.view() {
            gst::EventView::Seek(seek) => seek.get().1.contains(gst::SeekFlags::FLUSH),
            _ => false,
        });
        if let (true, Some(bin)) = (flushing_seek, bin.upgrade()) {
            for element in bin.iterate_recurse().into_iter().flatten() {
                if element.factory().is_some_and(|f| f.name() == "multiqueue") {
                    for sinkpad in element.sink_pads() {
                        // Refused only by a pad already flushing: nothing to unblock there.
                        let _ = sinkpad.send_event(gst::event::FlushStart::new());
                    }
                }
            }
        }
        gst::PadProbeReturn::Ok
    });
}

/// Turns bus messages into player events. With several cameras, an error inside one camera's branch is that
/// camera's failure ([`PlayerEvent::CameraFailed`]): the owner decides whether the others play on.
pub(super) fn event_of(msg: &gst::Message, pipeline: &gst::Pipeline, cameras: usize) -> Option<PlayerEvent> {
    match msg.view() {
        gst::MessageView::Error(err) if cameras > 1 && camera_of(msg).is_some() => {
            Some(PlayerEvent::CameraFailed {
                camera: camera_of(msg).unwrap_or_default(),
                message: err.error().to_string(),
                detail: err.debug().map(|d| d.to_string()).unwrap_or_default(),
            })
        }
        gst::MessageView::Error(err) => Some(PlayerEvent::Error {
            message: err.error().to_string(),
            detail: format!(
                "{}: {}",
                err.src().map(|s| s.path_string().to_string()).unwrap_or_default(),
                err.debug().map(|d| d.to_string()).unwrap_or_default()
            ),
        }),
        gst::MessageView::Eos(_) => Some(PlayerEvent::Ended),
        gst::MessageView::AsyncDone(_) => Some(PlayerEvent::Settled),
        gst::MessageView::StateChanged(change) if change.src() == Some(pipeline.upcast_ref()) => match change
            .current()
        {
            gst::State::Playing => Some(PlayerEvent::Playing(true)),
            gst::State::Paused if change.old() == gst::State::Playing => Some(PlayerEvent::Playing(false)),
            _ => None,
        },
        gst::MessageView::Application(app) => {
            let s = app.structure()?;
            let text = s.get::<String>("text").unwrap_or_default();
            match s.name().as_str() {
                REFUSED => Some(PlayerEvent::Refused(text)),
                FAILED => Some(PlayerEvent::Error {
                    message: "Playback could not start".to_owned(),
                    detail: text,
                }),
                _ => None,
            }
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_frame_filter_resumes_only_at_a_key_frame() {
        let f = KeyFrameFilter::default();
        assert!(f.pass(true) && f.pass(false), "everything passes by default");
        f.set_key_frames_only(true);
        assert!(f.is_key_frames_only());
        assert!(!f.pass(true), "delta frames are dropped");
        assert!(f.pass(false), "key frames pass");
        f.set_key_frames_only(false);
        assert!(f.is_key_frames_only(), "still waiting for a key frame");
        assert!(
            !f.pass(true),
            "a delta frame before the next key frame would miss its references"
        );
        assert!(f.pass(false));
        assert!(!f.is_key_frames_only());
        assert!(f.pass(true), "every frame again after the key frame");
        f.set_key_frames_only(false);
        assert!(f.pass(true), "switching off an inactive filter changes nothing");
    }

    #[test]
    fn frame_stats_keep_the_newest_frame() {
        let s = FrameStats::default();
        assert_eq!((s.frames(), s.last_time(), s.last_arrival()), (0, None, None));
        s.record(Some(gst::ClockTime::from_nseconds(5)));
        s.record(None);
        assert_eq!(s.frames(), 2);
        assert_eq!(s.last_time(), Some(Timestamp::from_nanos(5)));
        assert!(s
            .last_arrival()
            .is_some_and(|t| t.elapsed() < Duration::from_secs(5)));
    }
}
