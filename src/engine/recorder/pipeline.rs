//! The recording pipeline for each kind of source:
//!
//! ```text
//! test:  videotestsrc is-live ! clockoverlay ! videoconvert ! ENCODER ─┐
//! v4l2:  v4l2src ! videoconvert ! ENCODER ────────────────────────────┤
//! file:  filesrc ! parsebin ─(H.264)─────────────────────────────────┤
//!                          └(other)─ decodebin ! videoconvert ! ENCODER┤
//! rtsp:  rtspsrc ! rtph264depay ─────────────────────────────────────┤
//!        queue ! h264parse ! video/x-h264,alignment=au ! mp4mux streamable fragment-duration=1 ! pravegasink
//! ```
//! A file's or a camera's sound goes into the same mp4mux ([`super::audio`]).
//! One fMP4 fragment per frame (DESIGN.md §7: multi-frame fragments from RTSP cameras came out corrupted in the
//! original). Live sources are stamped with the wall clock; files with `--start-utc` (default now) plus their
//! own timeline.

use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;

use anyhow::{anyhow, bail, Context};
use gst::prelude::*;
use hindsight_store::{Backend, StreamName, Timestamp};

use crate::engine::profile::Profile;

/// The stream the app's "Record a Test Pattern" button and the New Recording dialog suggest.
pub const TEST_PATTERN_STREAM: &str = "demo/test-pattern";
/// The test pattern's size, in the app and for `hindsight record --source test` alike.
pub const TEST_PATTERN_SIZE: (i32, i32) = (640, 360);

/// What to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A moving test pattern with the wall-clock time burnt in.
    Test,
    /// A V4L2 camera device.
    V4l2(String),
    /// An RTSP camera URL (H.264).
    Rtsp(String),
    /// A media file.
    File(PathBuf),
}

impl FromStr for Source {
    type Err = anyhow::Error;
    fn from_str(s: &str) -> anyhow::Result<Self> {
        if s == "test" {
            Ok(Source::Test)
        } else if let Some(dev) = s.strip_prefix("v4l2:") {
            Ok(Source::V4l2(dev.to_owned()))
        } else if s.starts_with("rtsp://") || s.starts_with("rtsps://") {
            Ok(Source::Rtsp(s.to_owned()))
        } else if let Some(path) = s.strip_prefix("file://") {
            Ok(Source::File(PathBuf::from(path)))
        } else {
            bail!("unknown source {s:?}: use test, v4l2:/dev/videoN, rtsp://... or file:///path")
        }
    }
}

impl Source {
    /// True for sources that deliver in real time.
    pub fn is_live(&self) -> bool {
        !matches!(self, Source::File(_))
    }

    /// Fails when a file source names no file, before anything is set up for recording it.
    pub fn check(&self) -> anyhow::Result<()> {
        match self {
            Source::File(path) if !path.is_file() => bail!("{} is not a file", path.display()),
            _ => Ok(()),
        }
    }
}

/// Everything a recording needs.
#[derive(Clone)]
pub struct RecordOptions {
    /// The store.
    pub store: Arc<dyn Backend>,
    /// The stream to write.
    pub stream: StreamName,
    /// What to record.
    pub source: Source,
    /// Encoder settings for sources that are encoded here.
    pub profile: Profile,
    /// For files: the wall-clock time of the file's first frame (default: now).
    pub start_utc: Option<Timestamp>,
    /// Test pattern size.
    pub size: (i32, i32),
    /// Old footage the sink deletes while recording (unlimited: none); held ranges are kept.
    pub retention: hindsight_store::RetentionPolicy,
}

fn make(factory: &str) -> anyhow::Result<gst::Element> {
    gst::ElementFactory::make(factory)
        .build()
        .with_context(|| format!("GStreamer element {factory} is not installed"))
}

/// The muxing tail of a recording pipeline.
struct Tail {
    /// Where the H.264 video goes in.
    video: gst::Element,
    /// The muxer, for a sound track.
    mux: gst::Element,
}

/// The common tail: `queue ! h264parse ! video/x-h264,alignment=au ! mp4mux ! pravegasink`.
fn add_muxing_tail(pipeline: &gst::Pipeline, opts: &RecordOptions) -> anyhow::Result<Tail> {
    // A file's demuxer feeds video and sound from one thread while the muxer waits for both: each gets a queue.
    let queue = make("queue")?;
    let parse = make("h264parse")?;
    let caps = gst::ElementFactory::make("capsfilter")
        .property(
            "caps",
            gst::Caps::builder("video/x-h264")
                .field("alignment", "au")
                .build(),
        )
        .build()?;
    let mux = gst::ElementFactory::make("mp4mux")
        .property("streamable", true)
        .property("fragment-duration", 1u32)
        .build()
        .context("mp4mux is not installed (gstreamer1.0-plugins-good)")?;
    let sink = gst::ElementFactory::make("pravegasink")
        .name("sink")
        .property("store", opts.store.open_uri())
        .property("stream", opts.stream.to_string())
        .build()
        .context("cannot create pravegasink")?;
    if let Some(age) = opts.retention.max_age {
        sink.set_property("retention-days", age.as_secs_f64() / 86_400.0);
    }
    if let Some(bytes) = opts.retention.max_bytes {
        sink.set_property("retention-bytes", bytes);
    }
    if opts.source.is_live() {
        sink.set_property_from_str("timestamp-mode", "realtime-clock");
    } else {
        sink.set_property_from_str("timestamp-mode", "base-plus-running-time");
        if let Some(t) = opts.start_utc {
            sink.set_property("timestamp-base", t.nanos());
        }
    }
    pipeline.add_many([&queue, &parse, &caps, &mux, &sink])?;
    gst::Element::link_many([&queue, &parse, &caps, &mux, &sink]).context("cannot link the muxing chain")?;
    Ok(Tail { video: queue, mux })
}

/// `videoconvert ! ENCODER` feeding `next`; returns videoconvert.
fn add_encoder(
    pipeline: &gst::Pipeline,
    opts: &RecordOptions,
    next: &gst::Element,
) -> anyhow::Result<gst::Element> {
    let convert = make("videoconvert")?;
    let format = gst::ElementFactory::make("capsfilter")
        .property(
            "caps",
            gst::Caps::builder("video/x-raw").field("format", "I420").build(),
        )
        .build()?;
    let enc = opts.profile.make_encoder()?;
    pipeline.add_many([&convert, &format, &enc])?;
    gst::Element::link_many([&convert, &format, &enc, next]).context("cannot link the encoder")?;
    for e in [&convert, &format, &enc] {
        e.sync_state_with_parent()?;
    }
    Ok(convert)
}

/// Builds the recording pipeline for `opts` (not started).
pub fn build_pipeline(opts: &RecordOptions) -> anyhow::Result<gst::Pipeline> {
    crate::engine::init()?;
    let pipeline = gst::Pipeline::with_name("recorder");
    let Tail { video: tail, mux } = add_muxing_tail(&pipeline, opts)?;
    match &opts.source {
        Source::Test => {
            let src = gst::ElementFactory::make("videotestsrc")
                .property("is-live", true)
                .build()
                .context("videotestsrc is not installed")?;
            src.set_property_from_str("pattern", "smpte");
            let caps = gst::ElementFactory::make("capsfilter")
                .property(
                    "caps",
                    gst::Caps::builder("video/x-raw")
                        .field("width", opts.size.0)
                        .field("height", opts.size.1)
                        .field("framerate", gst::Fraction::new(30, 1))
                        .build(),
                )
                .build()?;
            let overlay = gst::ElementFactory::make("clockoverlay")
                .property("time-format", "%Y-%m-%d %H:%M:%S")
                .property("font-desc", "Sans 28")
                .build()
                .context("clockoverlay is not installed (gstreamer1.0-x)")?;
            pipeline.add_many([&src, &caps, &overlay])?;
            gst::Element::link_many([&src, &caps, &overlay])?;
            let convert = add_encoder(&pipeline, opts, &tail)?;
            overlay.link(&convert)?;
        }
        Source::V4l2(device) => {
            let src = gst::ElementFactory::make("v4l2src")
                .property("device", device)
                .build()
                .context("v4l2src is not installed (gstreamer1.0-plugins-good)")?;
            pipeline.add(&src)?;
            let convert = add_encoder(&pipeline, opts, &tail)?;
            src.link(&convert)?;
        }
        Source::Rtsp(url) => {
            let src = gst::ElementFactory::make("rtspsrc")
                .property("location", url)
                .property("latency", 200u32)
                // Use the camera's RTCP sender-report clock for timestamps when it sends one.
                .property("ntp-sync", true)
                .build()
                .context("rtspsrc is not installed (gstreamer1.0-plugins-good)")?;
            let depay = make("rtph264depay")?;
            pipeline.add_many([&src, &depay])?;
            depay.link(&tail)?;
            // The SDP comes before any data: the sound's chain and the muxer's audio pad are made here.
            let audio_depay: Arc<std::sync::Mutex<Option<gst::Element>>> = Arc::default();
            let (pipeline_weak, mux_weak, audio2) =
                (pipeline.downgrade(), mux.downgrade(), audio_depay.clone());
            src.connect("select-stream", false, move |args| {
                let caps = args.get(2).and_then(|v| v.get::<gst::Caps>().ok())?;
                if !crate::engine::sound::is_audio(&caps) {
                    return Some(true.to_value());
                }
                let (pipeline, mux) = (pipeline_weak.upgrade()?, mux_weak.upgrade()?);
                let chain = match super::audio::add_rtsp_audio(&pipeline, &mux, &caps) {
                    Ok(chain) => chain,
                    Err(e) => {
                        tracing::warn!(error = %e, "the camera's sound is not recorded");
                        None
                    }
                };
                let selected = chain.is_some();
                *audio2.lock().unwrap_or_else(|e| e.into_inner()) = chain;
                Some(selected.to_value())
            });
            let depay_weak = depay.downgrade();
            src.connect_pad_added(move |_, pad| {
                let Some(depay) = depay_weak.upgrade() else { return };
                let Some(caps) = pad.current_caps() else { return };
                let target = if crate::engine::sound::is_audio(&caps) {
                    audio_depay.lock().unwrap_or_else(|e| e.into_inner()).clone()
                } else {
                    let is_h264 = caps.structure(0).is_some_and(|s| {
                        s.get::<&str>("encoding-name")
                            .map(|e| e == "H264")
                            .unwrap_or(false)
                    });
                    is_h264.then_some(depay)
                };
                let Some(sinkpad) = target.and_then(|t| t.static_pad("sink")) else {
                    return;
                };
                if !sinkpad.is_linked() {
                    if let Err(e) = pad.link(&sinkpad) {
                        tracing::warn!(error = ?e, caps = %caps, "cannot link the camera's stream");
                    }
                }
            });
        }
        Source::File(path) => {
            opts.source.check()?;
            let src = gst::ElementFactory::make("filesrc")
                .property("location", path.display().to_string())
                .build()?;
            let parse = make("parsebin")?;
            pipeline.add_many([&src, &parse])?;
            src.link(&parse)?;
            let pipeline_weak = pipeline.downgrade();
            let opts2 = opts.clone();
            let tail_weak = tail.downgrade();
            let mux_weak = mux.downgrade();
            parse.connect_pad_added(move |_, pad| {
                let (Some(pipeline), Some(tail)) = (pipeline_weak.upgrade(), tail_weak.upgrade()) else {
                    return;
                };
                let Some(caps) = pad.current_caps() else { return };
                let Some(name) = caps.structure(0).map(|s| s.name().to_string()) else {
                    return;
                };
                if name.starts_with("audio/") {
                    if let Some(mux) = mux_weak.upgrade() {
                        if let Err(e) = super::audio::link_file_audio(&pipeline, &mux, pad) {
                            tracing::warn!(error = %e, "the file's sound is not recorded");
                        }
                    }
                    return;
                }
                let Some(tail_pad) = tail.static_pad("sink") else {
                    return;
                };
                if tail_pad.is_linked() || !name.starts_with("video/") {
                    return;
                }
                let result = if name == "video/x-h264" {
                    // Already H.264: remux without re-encoding.
                    pad.link(&tail_pad).map(|_| ()).map_err(|e| anyhow!("{e:?}"))
                } else {
                    (|| {
                        let decode = make("decodebin")?;
                        pipeline.add(&decode)?;
                        let sinkpad = decode
                            .static_pad("sink")
                            .ok_or_else(|| anyhow!("decodebin without sink pad"))?;
                        pad.link(&sinkpad).map_err(|e| anyhow!("{e:?}"))?;
                        let convert = add_encoder(&pipeline, &opts2, &tail)?;
                        let convert_weak = convert.downgrade();
                        decode.connect_pad_added(move |_, dpad| {
                            let Some(convert) = convert_weak.upgrade() else {
                                return;
                            };
                            let Some(cpad) = convert.static_pad("sink") else {
                                return;
                            };
                            let video = dpad
                                .current_caps()
                                .and_then(|c| c.structure(0).map(|s| s.name().starts_with("video/")))
                                .unwrap_or(false);
                            if video && !cpad.is_linked() {
                                if let Err(e) = dpad.link(&cpad) {
                                    tracing::error!(error = ?e, "cannot link the file's decoded video");
                                }
                            }
                        });
                        decode.sync_state_with_parent()?;
                        Ok(())
                    })()
                };
                if let Err(e) = result {
                    tracing::error!(error = %e, "cannot record the file's video");
                }
            });
        }
    }
    Ok(pipeline)
}
