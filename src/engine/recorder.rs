//! `Recorder`: a camera, an RTSP URL, a file or a test pattern into a stream, the same for `hindsight record`
//! and the app.
//!
//! ```text
//! test:  videotestsrc is-live ! clockoverlay ! videoconvert ! ENCODER ─┐
//! v4l2:  v4l2src ! videoconvert ! ENCODER ────────────────────────────┤
//! file:  filesrc ! parsebin ─(H.264)─────────────────────────────────┤
//!                          └(other)─ decodebin ! videoconvert ! ENCODER┤
//! rtsp:  rtspsrc ! rtph264depay ─────────────────────────────────────┤
//!        h264parse ! video/x-h264,alignment=au ! mp4mux streamable fragment-duration=1 ! pravegasink
//! ```
//! One fMP4 fragment per frame (DESIGN.md §7: multi-frame fragments from RTSP cameras came out corrupted in the
//! original). Live sources are stamped with the wall clock; files with `--start-utc` (default now) plus their
//! own timeline. An RTSP camera that drops is retried with back-off into the same stream; the new run starts
//! with a discontinuity. So is a store that fails after the recording got going (a Pravega server restarting,
//! its connection dropping, a full disk): the recording resumes when the store is back.

use std::path::PathBuf;
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context};
use gst::prelude::*;
use hindsight_store::{Backend, StreamName, Timestamp};

use super::profile::Profile;

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
}

fn make(factory: &str) -> anyhow::Result<gst::Element> {
    gst::ElementFactory::make(factory)
        .build()
        .with_context(|| format!("GStreamer element {factory} is not installed"))
}

/// The common tail: `h264parse ! video/x-h264,alignment=au ! mp4mux ! pravegasink`; returns its first element.
fn add_muxing_tail(pipeline: &gst::Pipeline, opts: &RecordOptions) -> anyhow::Result<gst::Element> {
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
    if opts.source.is_live() {
        sink.set_property_from_str("timestamp-mode", "realtime-clock");
    } else {
        sink.set_property_from_str("timestamp-mode", "base-plus-running-time");
        if let Some(t) = opts.start_utc {
            sink.set_property("timestamp-base", t.nanos());
        }
    }
    pipeline.add_many([&parse, &caps, &mux, &sink])?;
    gst::Element::link_many([&parse, &caps, &mux, &sink]).context("cannot link the muxing chain")?;
    Ok(parse)
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
    super::init()?;
    let pipeline = gst::Pipeline::with_name("recorder");
    let tail = add_muxing_tail(&pipeline, opts)?;
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
            let depay_weak = depay.downgrade();
            src.connect_pad_added(move |_, pad| {
                let Some(depay) = depay_weak.upgrade() else { return };
                let is_h264 = pad.current_caps().is_some_and(|c| {
                    c.structure(0).is_some_and(|s| {
                        s.get::<&str>("encoding-name")
                            .map(|e| e == "H264")
                            .unwrap_or(false)
                    })
                });
                let Some(sinkpad) = depay.static_pad("sink") else {
                    return;
                };
                if is_h264 && !sinkpad.is_linked() {
                    if let Err(e) = pad.link(&sinkpad) {
                        tracing::warn!(error = ?e, "cannot link the camera's H.264 stream");
                    }
                }
            });
        }
        Source::File(path) => {
            if !path.is_file() {
                bail!("{} is not a file", path.display());
            }
            let src = gst::ElementFactory::make("filesrc")
                .property("location", path.display().to_string())
                .build()?;
            let parse = make("parsebin")?;
            pipeline.add_many([&src, &parse])?;
            src.link(&parse)?;
            let pipeline_weak = pipeline.downgrade();
            let opts2 = opts.clone();
            let tail_weak = tail.downgrade();
            parse.connect_pad_added(move |_, pad| {
                let (Some(pipeline), Some(tail)) = (pipeline_weak.upgrade(), tail_weak.upgrade()) else {
                    return;
                };
                let Some(caps) = pad.current_caps() else { return };
                let Some(name) = caps.structure(0).map(|s| s.name().to_string()) else {
                    return;
                };
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
                                let _ = dpad.link(&cpad);
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

/// How long a camera may deliver nothing before the recorder reconnects.
const STALL_TIMEOUT: Duration = Duration::from_secs(8);

/// Progress of a recording.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Progress {
    /// Recorded duration (running time).
    pub duration: Duration,
    /// Bytes appended to the data stream by this recording.
    pub bytes: u64,
    /// Recent bitrate in bits per second.
    pub bitrate: f64,
    /// Camera reconnections so far.
    pub reconnects: u32,
}

/// How a recording ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The source ended (file, test with a frame limit).
    Finished,
    /// Stopped on request (Ctrl-C, Stop button).
    Stopped,
}

/// Runs a recording on the calling thread until the source ends, `stop` is set, or a fatal error. RTSP sources
/// are re-opened with back-off when the camera drops. `progress` is called about once a second.
pub fn run(
    opts: &RecordOptions,
    stop: &AtomicBool,
    mut progress: impl FnMut(Progress),
) -> anyhow::Result<Outcome> {
    let data_name = opts.stream.clone();
    let start_bytes = || opts.store.info(&data_name).map(|i| i.tail).unwrap_or(0);
    let mut reconnects = 0u32;
    let mut backoff = Duration::from_secs(1);
    let mut total_bytes = 0u64;
    let mut total_time = Duration::ZERO;
    // Buffers that reached the store's sink, over all runs: once the sink has taken one and asked for more, the
    // store worked, and a later store error is an outage to wait out rather than a setup mistake.
    let delivered = Arc::new(std::sync::atomic::AtomicU64::new(0));
    loop {
        let pipeline = build_pipeline(opts)?;
        if let Some(pad) = pipeline.by_name("sink").and_then(|s| s.static_pad("sink")) {
            let delivered = delivered.clone();
            pad.add_probe(gst::PadProbeType::BUFFER, move |_, _| {
                delivered.fetch_add(1, Ordering::Relaxed);
                gst::PadProbeReturn::Ok
            });
        }
        let bus = pipeline.bus().ok_or_else(|| anyhow!("pipeline without a bus"))?;
        pipeline
            .set_state(gst::State::Playing)
            .context("cannot start recording")?;
        let run_start_bytes = start_bytes();
        let run_started = Instant::now();
        let mut last_report = Instant::now();
        let mut last_bytes = 0u64;
        let mut eos_sent = false;
        let mut last_growth = Instant::now();
        let mut drop_reason = String::from("camera dropped");
        let result: anyhow::Result<Option<Outcome>> = loop {
            if stop.load(Ordering::SeqCst) && !eos_sent {
                // EOS lets mp4mux and the sink finish: the last fragment and the end record get written.
                pipeline.send_event(gst::event::Eos::new());
                eos_sent = true;
            }
            let msg = bus.timed_pop_filtered(
                gst::ClockTime::from_mseconds(200),
                &[gst::MessageType::Eos, gst::MessageType::Error],
            );
            if last_report.elapsed() >= Duration::from_secs(1) {
                // While the store does not answer, keep the last figure rather than dropping to zero.
                let bytes = start_bytes().saturating_sub(run_start_bytes).max(last_bytes);
                let dt = last_report.elapsed().as_secs_f64();
                let run_time = pipeline
                    .query_position::<gst::ClockTime>()
                    .map(|t| Duration::from_nanos(t.nseconds()))
                    .unwrap_or_default();
                if bytes > last_bytes {
                    last_growth = Instant::now();
                }
                progress(Progress {
                    duration: total_time + run_time,
                    bytes: total_bytes + bytes,
                    bitrate: (bytes.saturating_sub(last_bytes)) as f64 * 8.0 / dt,
                    reconnects,
                });
                last_bytes = bytes;
                last_report = Instant::now();
            }
            let is_rtsp = matches!(opts.source, Source::Rtsp(_));
            if is_rtsp && !eos_sent && last_growth.elapsed() > STALL_TIMEOUT {
                // A camera whose connection died quietly delivers nothing and reports nothing.
                tracing::warn!("no data from the camera for {}s", STALL_TIMEOUT.as_secs());
                break Ok(None);
            }
            match msg.as_ref().map(|m| m.view()) {
                // A camera ending its stream (server going down) is a drop, not the end of the recording.
                Some(gst::MessageView::Eos(_)) if is_rtsp && !eos_sent => break Ok(None),
                Some(gst::MessageView::Eos(_)) => {
                    break Ok(Some(if eos_sent {
                        Outcome::Stopped
                    } else {
                        Outcome::Finished
                    }));
                }
                Some(gst::MessageView::Error(err)) => {
                    let text = format!(
                        "{} ({})",
                        err.error(),
                        err.debug().map(|d| d.to_string()).unwrap_or_default()
                    );
                    let from_store = err
                        .src()
                        .and_then(|s| s.downcast_ref::<gst::Element>())
                        .and_then(|e| e.factory())
                        .is_some_and(|f| f.name() == "pravegasink");
                    let from_camera = matches!(opts.source, Source::Rtsp(_))
                        && err.error().is::<gst::ResourceError>()
                        && !from_store;
                    // A store error before anything was recorded is a setup problem (wrong URI, stream in use):
                    // report it. Once recording worked, the store went away and may come back.
                    let recorded = total_bytes > 0 || last_bytes > 0 || delivered.load(Ordering::Relaxed) > 1;
                    let store_outage = from_store && (recorded || reconnects > 0);
                    if (from_camera || store_outage) && !stop.load(Ordering::SeqCst) {
                        tracing::warn!(error = %text, "{}", if from_store { "store failed" } else { "camera dropped" });
                        drop_reason = if from_store {
                            format!("store unavailable ({})", err.error())
                        } else {
                            "camera dropped".to_owned()
                        };
                        break Ok(None);
                    }
                    break Err(anyhow!("recording failed: {text}"));
                }
                _ => {}
            }
            if eos_sent && stop.load(Ordering::SeqCst) && last_report.elapsed() > Duration::from_secs(10) {
                break Ok(Some(Outcome::Stopped));
            }
        };
        // A store that went away answers nothing: keep what the last progress report saw.
        total_bytes += start_bytes().saturating_sub(run_start_bytes).max(last_bytes);
        total_time += pipeline
            .query_position::<gst::ClockTime>()
            .map(|t| Duration::from_nanos(t.nseconds()))
            .unwrap_or_default();
        // NULL runs pravegasink's stop: end record, sync, lock released.
        pipeline
            .set_state(gst::State::Null)
            .context("cannot stop the pipeline")?;
        match result? {
            Some(outcome) => return Ok(outcome),
            None => {
                reconnects += 1;
                if run_started.elapsed() > Duration::from_secs(60) {
                    // The camera worked for a while: this is a new outage, start the back-off over.
                    backoff = Duration::from_secs(1);
                }
                eprintln!("{drop_reason}; retrying in {}s", backoff.as_secs());
                let until = Instant::now() + backoff;
                while Instant::now() < until {
                    if stop.load(Ordering::SeqCst) {
                        return Ok(Outcome::Stopped);
                    }
                    std::thread::sleep(Duration::from_millis(100));
                }
                backoff = (backoff * 2).min(Duration::from_secs(30));
            }
        }
    }
}
