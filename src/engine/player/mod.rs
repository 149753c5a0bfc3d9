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
//!
//! A player can hold up to [`MAX_CAMERAS`] cameras for a synchronized review: one branch per camera in one
//! pipeline, so they share its clock, base time and every seek. Seeks are then always ACCURATE: each source
//! starts its segment at the requested time instead of at its own key frame, so the same stored time maps to
//! the same running time on every camera, whatever their start, gaps or frame rates.

mod camera;
mod commands;
mod pipeline;
mod sound;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use anyhow::{anyhow, Context};
use gst::prelude::*;
use hindsight_store::{Backend, StreamName, Timestamp};
use relm4::gtk::gdk;

pub use camera::{Camera, ShownFrame};
use commands::{Command, Queue, Shared};
pub use pipeline::{CodedTimes, FrameStats, KeyFrameFilter};
pub use sound::{Sound, SoundSettings, AUDIO_SINK_ENV};

/// The most cameras one player shows side by side.
pub const MAX_CAMERAS: usize = 9;

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
    /// One camera of several failed (its stream was deleted, its frames cannot be decoded, …); the others
    /// are untouched, but the pipeline cannot preroll again until that camera is taken out.
    CameraFailed {
        /// Its position in the player's cameras.
        camera: usize,
        /// One line for the user.
        message: String,
        /// GStreamer's debug text.
        detail: String,
    },
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

/// The playback pipeline of one stream, or of several in step.
pub struct Player {
    shared: Arc<Shared>,
    queue: Arc<Queue>,
    cameras: Vec<Camera>,
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
        Self::with_cameras(store, std::slice::from_ref(stream), start, on_event)
    }

    /// Like [`Player::new`] for up to [`MAX_CAMERAS`] streams shown in step: all at the same stored instant.
    pub fn with_cameras(
        store: Arc<dyn Backend>,
        streams: &[StreamName],
        start: StartAt,
        on_event: impl Fn(PlayerEvent) + 'static,
    ) -> anyhow::Result<Self> {
        Self::build(store, streams, start, None, on_event)
    }

    /// Like [`Player::with_cameras`], also playing the first camera's sound (when its stream has some) at
    /// `sound`'s volume.
    pub fn with_sound(
        store: Arc<dyn Backend>,
        streams: &[StreamName],
        start: StartAt,
        sound: SoundSettings,
        on_event: impl Fn(PlayerEvent) + 'static,
    ) -> anyhow::Result<Self> {
        Self::build(store, streams, start, Some(sound), on_event)
    }

    fn build(
        store: Arc<dyn Backend>,
        streams: &[StreamName],
        start: StartAt,
        sound_settings: Option<SoundSettings>,
        on_event: impl Fn(PlayerEvent) + 'static,
    ) -> anyhow::Result<Self> {
        if streams.is_empty() || streams.len() > MAX_CAMERAS {
            return Err(anyhow!(
                "a player shows 1 to {MAX_CAMERAS} cameras, not {}",
                streams.len()
            ));
        }
        super::init()?;
        let pipeline = gst::Pipeline::with_name("player");
        let mut cameras = Vec::with_capacity(streams.len());
        let mut sound = None;
        for (i, stream) in streams.iter().enumerate() {
            let filter = Arc::new(KeyFrameFilter::default());
            let stats = Arc::new(FrameStats::default());
            let coded = Arc::new(CodedTimes::default());
            if i == 0 {
                sound = sound_settings.map(|s| Arc::new(Sound::new(s, stats.clone())));
            }
            let parts = pipeline::BranchParts {
                start,
                coded: &coded,
                filter: &filter,
                stats: &stats,
                sound: if i == 0 { sound.as_ref() } else { None },
            };
            let sink = pipeline::add_branch(&pipeline, store.as_ref(), stream, i, &parts)
                .with_context(|| format!("camera {stream}"))?;
            cameras.push(Camera {
                stream: stream.clone(),
                paintable: sink.property::<gdk::Paintable>("paintable"),
                sink,
                filter,
                stats,
                coded,
            });
        }
        let bus = pipeline.bus().ok_or_else(|| anyhow!("pipeline without a bus"))?;
        let pipeline_weak = pipeline.downgrade();
        let count = cameras.len();
        let watch = bus
            .add_watch_local(move |_, msg| {
                let Some(pipeline) = pipeline_weak.upgrade() else {
                    return gst::glib::ControlFlow::Break;
                };
                if let Some(event) = pipeline::event_of(msg, &pipeline, count) {
                    on_event(event);
                }
                gst::glib::ControlFlow::Continue
            })
            .context("cannot watch the pipeline bus")?;
        let shared = Arc::new(Shared {
            pipeline,
            sinks: cameras.iter().map(|c| c.sink.clone()).collect(),
            first_coded: cameras[0].coded.clone(),
            store,
            streams: streams.to_vec(),
            rate: AtomicU64::new(1.0f64.to_bits()),
            live: AtomicBool::new(false),
            sound,
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
            cameras,
            _bus_watch: watch,
        };
        player.queue.push(Command::State(gst::State::Paused));
        if count > 1 {
            // Each source opened at its own key frame; one accurate seek lines them up on one instant.
            player.queue.push(Command::Align(start));
        }
        Ok(player)
    }

    /// The cameras, in the order given.
    pub fn cameras(&self) -> &[Camera] {
        &self.cameras
    }

    /// The first camera, the one a single-stream player shows.
    fn first(&self) -> &Camera {
        // `with_cameras` refuses to build a player without one.
        &self.cameras[0]
    }

    /// The video frames, for a `gtk::Picture`.
    pub fn paintable(&self) -> &gdk::Paintable {
        self.first().paintable()
    }

    /// Starts or resumes playback.
    pub fn play(&self) {
        self.queue.push(Command::State(gst::State::Playing));
    }

    /// Pauses on the current frame.
    pub fn pause(&self) {
        self.queue.push(Command::Pause);
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
    /// With several cameras the seek is accurate: each camera shows its frame at `t`.
    pub fn seek(&self, t: Timestamp) {
        self.shared.set_live_sync(false);
        let flags = if self.cameras.len() > 1 {
            gst::SeekFlags::FLUSH | gst::SeekFlags::ACCURATE
        } else {
            gst::SeekFlags::FLUSH | gst::SeekFlags::KEY_UNIT
        };
        self.queue.push(Command::Seek { t, flags });
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
        self.shared.store_rate(rate);
        if let Some(pos) = self.position() {
            self.seek_accurate(pos);
        }
    }

    /// Plays from `start` at `rate` instead of 1× (right after [`Player::new`]; the live edge plays at 1×).
    pub fn start_at_rate(&self, start: StartAt, rate: f64) {
        if start == StartAt::Live || (rate - 1.0).abs() < f64::EPSILON {
            return;
        }
        self.shared.store_rate(rate.clamp(0.25, 4.0));
        self.queue.push(Command::Align(start));
    }

    /// The sound of the first camera, for a player made [`Player::with_sound`].
    pub fn sound(&self) -> Option<&Sound> {
        self.shared.sound.as_deref()
    }

    /// Current speed.
    pub fn rate(&self) -> f64 {
        self.shared.rate()
    }

    /// Decode key frames only (about one image per GOP) or every frame again (from the next key frame on).
    pub fn set_key_frames_only(&self, on: bool) {
        self.first().filter.set_key_frames_only(on);
    }

    /// Decodes into a picture of at most `width` × `height` pixels (keeping the aspect ratio), e.g. the size of a
    /// wall tile on screen; `None` for the stream's own size. Changing it renegotiates the running pipeline.
    pub fn set_max_size(&self, max: Option<(i32, i32)>) {
        self.set_camera_max_size(0, max);
    }

    /// [`Player::set_max_size`] for camera `camera` (e.g. the size of its cell in a synchronized review).
    pub fn set_camera_max_size(&self, camera: usize, max: Option<(i32, i32)>) {
        if let Some(filter) = self.shared.pipeline.by_name(&pipeline::size_filter(camera)) {
            filter.set_property("caps", pipeline::max_size_caps(max));
        }
    }

    /// True while only key frames are decoded.
    pub fn is_key_frames_only(&self) -> bool {
        self.first().filter.is_key_frames_only()
    }

    /// What reached the (first camera's) video sink so far (frame count, newest frame's time and arrival).
    pub fn frame_stats(&self) -> &FrameStats {
        self.first().frame_stats()
    }

    /// The stream played (the first camera's).
    pub fn stream(&self) -> &StreamName {
        self.first().stream()
    }

    /// Pauses and shows the next frame (`forward`) or the previous one, exact to the frame. With several
    /// cameras the step is the first camera's frame: every camera then shows its frame at that frame's time.
    pub fn step_frame(&self, forward: bool) {
        self.queue.push(Command::Step { forward });
    }
}

impl Drop for Player {
    fn drop(&mut self) {
        // The command thread stops the pipeline and ends; nothing here waits for the store.
        self.queue.push(Command::Shutdown);
    }
}
