//! `Player`: `pravegasrc ! decodebin ! videoconvert ! gtk4paintablesink` for one stream, with key-frame seeks
//! on the TAI timeline, a live edge that follows the tail, speed and frame step.
//!
//! Positions are stream time, which pravegasrc defines as absolute TAI nanoseconds, so the position query
//! answers the wall-clock time of the frame on screen directly. At the live edge the video sink stops syncing
//! to the clock: frames show as soon as they are decoded, so the picture is as fresh as the tail read allows
//! instead of a GOP behind.
//!
//! Everything that can touch the store runs on the player's own command thread, never on the caller's (the GTK
//! main thread): state changes (pravegasrc opens the stream), seeks (pravegasrc searches the index), and
//! finding the live edge. Commands run in order; a burst of seeks while scrubbing collapses into the newest one.
//! Their failures come back as [`PlayerEvent`]s through the pipeline's bus, like the pipeline's own.

mod commands;
mod pipeline;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use anyhow::{anyhow, Context};
use gst::prelude::*;
use hindsight_store::{Backend, StreamName, Timestamp};
use relm4::gtk::gdk;

use commands::{Command, Queue, Shared};
pub use pipeline::{FrameStats, KeyFrameFilter};

/// What the player reports to its owner, always on the main thread.
#[derive(Debug, Clone, PartialEq)]
pub enum PlayerEvent {
    /// Playing (true) or paused (false) after a state change completed.
    Playing(bool),
    /// A seek or state change finished; a new frame is on screen.
    Settled,
    /// The end of a finished stream was reached.
    Ended,
    /// A request could not be done (e.g. no key frame to go live at); playback goes on.
    Refused(String),
    /// The pipeline failed: a message for people and the debug detail.
    Error {
        /// One line for the user.
        message: String,
        /// GStreamer's debug text, for the copyable detail.
        detail: String,
    },
}

/// Where playback starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartAt {
    /// The oldest key frame.
    Earliest,
    /// The live edge.
    Live,
    /// The key frame at or before a time.
    Time(Timestamp),
}

/// One stream's playback pipeline.
pub struct Player {
    shared: Arc<Shared>,
    queue: Arc<Queue>,
    paintable: gdk::Paintable,
    filter: Arc<KeyFrameFilter>,
    stats: Arc<FrameStats>,
    _bus_watch: gst::bus::BusWatchGuard,
}

impl Player {
    /// Builds the pipeline for `stream` and starts prerolling it paused at `start` on the command thread.
    /// `on_event` receives events on the calling thread's main context.
    pub fn new(
        store: Arc<dyn Backend>,
        stream: &StreamName,
        start: StartAt,
        on_event: impl Fn(PlayerEvent) + 'static,
    ) -> anyhow::Result<Self> {
        super::init()?;
        let filter = Arc::new(KeyFrameFilter::default());
        let stats = Arc::new(FrameStats::default());
        let (pipeline, sink) = pipeline::build(store.as_ref(), stream, start, &filter, &stats)?;
        let paintable = sink.property::<gdk::Paintable>("paintable");
        let bus = pipeline.bus().ok_or_else(|| anyhow!("pipeline without a bus"))?;
        let pipeline_weak = pipeline.downgrade();
        let watch = bus
            .add_watch_local(move |_, msg| {
                let Some(pipeline) = pipeline_weak.upgrade() else {
                    return gst::glib::ControlFlow::Break;
                };
                if let Some(event) = pipeline::event_of(msg, &pipeline) {
                    on_event(event);
                }
                gst::glib::ControlFlow::Continue
            })
            .context("cannot watch the pipeline bus")?;
        let shared = Arc::new(Shared {
            pipeline,
            sink,
            store,
            stream: stream.clone(),
            rate: AtomicU64::new(1.0f64.to_bits()),
            live: AtomicBool::new(false),
        });
        let queue = Arc::new(Queue::default());
        let (s, q) = (shared.clone(), queue.clone());
        std::thread::Builder::new()
            .name("player".into())
            .spawn(move || s.serve(&q))
            .context("cannot start the player thread")?;
        if start == StartAt::Live {
            shared.set_live_sync(true);
        }
        let player = Player {
            shared,
            queue,
            paintable,
            filter,
            stats,
            _bus_watch: watch,
        };
        player.queue.push(Command::State(gst::State::Paused));
        Ok(player)
    }

    /// The video frames, for a `gtk::Picture`.
    pub fn paintable(&self) -> &gdk::Paintable {
        &self.paintable
    }

    /// Starts or resumes playback.
    pub fn play(&self) {
        self.queue.push(Command::State(gst::State::Playing));
    }

    /// Pauses on the current frame.
    pub fn pause(&self) {
        self.queue.push(Command::State(gst::State::Paused));
    }

    /// True while the pipeline is (going to) PLAYING.
    pub fn is_playing(&self) -> bool {
        let (_, current, pending) = self.shared.pipeline.state(gst::ClockTime::ZERO);
        pending == gst::State::Playing
            || (pending == gst::State::VoidPending && current == gst::State::Playing)
    }

    /// The time of the frame on screen (answered by the video sink: no store access).
    pub fn position(&self) -> Option<Timestamp> {
        self.shared
            .pipeline
            .query_position::<gst::ClockTime>()
            .filter(|t| t.nseconds() > 0)
            .map(|t| Timestamp::from_nanos(t.nseconds()))
    }

    /// Shows the key frame at or before `t` (playback continues from there if playing). Leaves the live edge.
    pub fn seek(&self, t: Timestamp) {
        self.shared.set_live_sync(false);
        self.queue.push(Command::Seek {
            t,
            flags: gst::SeekFlags::FLUSH | gst::SeekFlags::KEY_UNIT,
        });
    }

    /// Shows exactly time `t` (decodes from the key frame before it).
    pub fn seek_accurate(&self, t: Timestamp) {
        self.shared.set_live_sync(false);
        self.queue.push(Command::Seek {
            t,
            flags: gst::SeekFlags::FLUSH | gst::SeekFlags::ACCURATE,
        });
    }

    /// Jumps to the newest key frame and follows the tail, showing frames as soon as they are decoded.
    pub fn go_live(&self) {
        self.queue.push(Command::GoLive);
    }

    /// True while following the live edge (since `go_live` took effect and until the next seek).
    pub fn is_following_live(&self) -> bool {
        self.shared.live.load(Ordering::SeqCst)
    }

    /// Playback speed (0.25..=4); re-seeks at the current position so the new rate applies at once.
    pub fn set_rate(&self, rate: f64) {
        let rate = rate.clamp(0.25, 4.0);
        self.shared.rate.store(rate.to_bits(), Ordering::SeqCst);
        if let Some(pos) = self.position() {
            self.seek_accurate(pos);
        }
    }

    /// Current speed.
    pub fn rate(&self) -> f64 {
        self.shared.rate()
    }

    /// Decode key frames only (about one image per GOP) or every frame again (from the next key frame on).
    pub fn set_key_frames_only(&self, on: bool) {
        self.filter.set_key_frames_only(on);
    }

    /// Decodes into a picture of at most `width` × `height` pixels (keeping the aspect ratio), e.g. the size of a
    /// wall tile on screen; `None` for the stream's own size. Changing it renegotiates the running pipeline.
    pub fn set_max_size(&self, max: Option<(i32, i32)>) {
        if let Some(filter) = self.shared.pipeline.by_name(pipeline::SIZE_FILTER) {
            filter.set_property("caps", pipeline::max_size_caps(max));
        }
    }

    /// True while only key frames are decoded.
    pub fn is_key_frames_only(&self) -> bool {
        self.filter.is_key_frames_only()
    }

    /// What reached the video sink so far (frame count, newest frame's time and arrival).
    pub fn frame_stats(&self) -> &FrameStats {
        &self.stats
    }

    /// The stream played.
    pub fn stream(&self) -> &StreamName {
        &self.shared.stream
    }

    /// Pauses and shows the next frame.
    pub fn step_frame(&self) {
        self.queue.push(Command::Step);
    }
}

impl Drop for Player {
    fn drop(&mut self) {
        // The command thread stops the pipeline and ends; nothing here waits for the store.
        self.queue.push(Command::Shutdown);
    }
}
