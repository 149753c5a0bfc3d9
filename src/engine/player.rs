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

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};

use anyhow::{anyhow, Context};
use gst::prelude::*;
use hindsight_store::search;
use hindsight_store::video::IndexReader;
use hindsight_store::{Backend, StreamName, Timestamp};
use relm4::gtk::gdk;

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

/// Name of the application messages the command thread posts on the bus.
const REFUSED: &str = "hindsight-player-refused";
const FAILED: &str = "hindsight-player-failed";

/// A request for the command thread.
#[derive(Debug, Clone, Copy)]
enum Command {
    State(gst::State),
    Seek { t: Timestamp, flags: gst::SeekFlags },
    GoLive,
    Step,
    Shutdown,
}

/// The command thread's queue.
#[derive(Default)]
struct Queue {
    commands: Mutex<VecDeque<Command>>,
    ready: Condvar,
}

impl Queue {
    fn push(&self, c: Command) {
        let mut q = self.commands.lock().unwrap_or_else(|e| e.into_inner());
        // A newer seek replaces a queued one that has not run yet: scrubbing asks for many, shows the last.
        if let (Command::Seek { .. }, Some(Command::Seek { .. })) = (c, q.back()) {
            q.pop_back();
        }
        q.push_back(c);
        self.ready.notify_one();
    }

    fn pop(&self) -> Command {
        let mut q = self.commands.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if let Some(c) = q.pop_front() {
                return c;
            }
            q = self.ready.wait(q).unwrap_or_else(|e| e.into_inner());
        }
    }
}

/// What the caller's thread and the command thread share.
struct Shared {
    pipeline: gst::Pipeline,
    sink: gst::Element,
    store: Arc<dyn Backend>,
    stream: StreamName,
    /// Speed as f64 bits.
    rate: std::sync::atomic::AtomicU64,
    live: AtomicBool,
}

impl Shared {
    fn rate(&self) -> f64 {
        f64::from_bits(self.rate.load(Ordering::SeqCst))
    }

    fn set_live_sync(&self, live: bool) {
        self.live.store(live, Ordering::SeqCst);
        // History plays on the clock; the live edge shows each frame on arrival.
        self.sink.set_property("sync", !live);
    }

    fn seek(&self, t: Timestamp, flags: gst::SeekFlags) -> anyhow::Result<()> {
        self.pipeline
            .seek(
                self.rate(),
                flags,
                gst::SeekType::Set,
                gst::ClockTime::from_nseconds(t.nanos()),
                gst::SeekType::None,
                gst::ClockTime::NONE,
            )
            .with_context(|| format!("cannot seek to {t}"))
    }

    fn go_live(&self) -> anyhow::Result<()> {
        let mut index =
            IndexReader::open(self.store.as_ref(), &self.stream).context("cannot read the index")?;
        let (_, rec) = search::last_seek_target(&mut index)
            .context("cannot read the index")?
            .ok_or_else(|| anyhow!("the stream has no key frame yet"))?;
        self.rate.store(1.0f64.to_bits(), Ordering::SeqCst);
        self.seek(rec.timestamp, gst::SeekFlags::FLUSH | gst::SeekFlags::KEY_UNIT)?;
        self.set_live_sync(true);
        self.pipeline
            .set_state(gst::State::Playing)
            .context("cannot play")?;
        Ok(())
    }

    fn step(&self) -> anyhow::Result<()> {
        self.pipeline
            .set_state(gst::State::Paused)
            .context("cannot pause")?;
        let step = gst::event::Step::new(gst::format::Buffers::ONE, 1.0, true, false);
        if self.sink.send_event(step) {
            Ok(())
        } else {
            Err(anyhow!("the video sink refused to step"))
        }
    }

    fn post(&self, name: &str, text: &str) {
        let s = gst::Structure::builder(name).field("text", text).build();
        if self
            .pipeline
            .post_message(gst::message::Application::new(s))
            .is_err()
        {
            tracing::warn!(text, "player message lost: the pipeline has no bus");
        }
    }

    /// The command thread: runs requests in order until `Shutdown`.
    fn serve(&self, queue: &Queue) {
        loop {
            let command = queue.pop();
            let result = match command {
                Command::State(state) => self
                    .pipeline
                    .set_state(state)
                    .map(|_| ())
                    .map_err(|_| anyhow!("cannot change to {state:?}")),
                Command::Seek { t, flags } => self.seek(t, flags),
                Command::GoLive => self.go_live(),
                Command::Step => self.step(),
                Command::Shutdown => {
                    // NULL unblocks pravegasrc's tail wait at once (unlock) and releases the store.
                    if self.pipeline.set_state(gst::State::Null).is_err() {
                        tracing::warn!(stream = %self.stream, "the player pipeline did not stop cleanly");
                    }
                    return;
                }
            };
            if let Err(e) = result {
                let fatal = matches!(command, Command::State(_));
                // A failed state change is reported by the element's own error message as well; the
                // detail here says what was asked.
                self.post(if fatal { FAILED } else { REFUSED }, &format!("{e:#}"));
            }
        }
    }
}

/// One stream's playback pipeline.
pub struct Player {
    shared: Arc<Shared>,
    queue: Arc<Queue>,
    paintable: gdk::Paintable,
    _bus_watch: gst::bus::BusWatchGuard,
}

fn make(factory: &str) -> anyhow::Result<gst::Element> {
    gst::ElementFactory::make(factory)
        .build()
        .with_context(|| format!("cannot create {factory}"))
}

/// `pravegasrc ! decodebin ! videoconvert ! gtk4paintablesink`, not started.
fn build(
    store: &dyn Backend,
    stream: &StreamName,
    start: StartAt,
) -> anyhow::Result<(gst::Pipeline, gst::Element)> {
    let src = gst::ElementFactory::make("pravegasrc")
        .property("store", store.open_uri())
        .property("stream", stream.to_string())
        .build()
        .context("cannot create pravegasrc")?;
    match start {
        StartAt::Earliest => src.set_property_from_str("start-mode", "earliest"),
        StartAt::Live => src.set_property_from_str("start-mode", "latest"),
        StartAt::Time(t) => {
            src.set_property_from_str("start-mode", "timestamp");
            src.set_property("start-timestamp", t.nanos());
        }
    }
    let decode = make("decodebin")?;
    // Frame-threaded libav decoders hold the newest frame until the next one arrives: a frame late at the
    // live edge. Slice threading shows each frame as soon as it is decoded.
    if let Some(bin) = decode.downcast_ref::<gst::Bin>() {
        bin.connect_deep_element_added(|_, _, element| {
            let is_libav = element.factory().is_some_and(|f| f.name().starts_with("avdec_"));
            if is_libav && element.find_property("thread-type").is_some() {
                element.set_property_from_str("thread-type", "slice");
            }
        });
    }
    let convert = make("videoconvert")?;
    let sink = make("gtk4paintablesink")?;
    let pipeline = gst::Pipeline::with_name("player");
    pipeline
        .add_many([&src, &decode, &convert, &sink])
        .context("cannot assemble the player pipeline")?;
    src.link(&decode).context("cannot link pravegasrc to decodebin")?;
    convert
        .link(&sink)
        .context("cannot link videoconvert to the video sink")?;
    let convert_weak = convert.downgrade();
    decode.connect_pad_added(move |_, pad| {
        let Some(convert) = convert_weak.upgrade() else {
            return;
        };
        let is_video = pad
            .current_caps()
            .and_then(|c| c.structure(0).map(|s| s.name().starts_with("video/")))
            .unwrap_or(false);
        let Some(sinkpad) = convert.static_pad("sink") else {
            return;
        };
        if is_video && !sinkpad.is_linked() {
            if let Err(e) = pad.link(&sinkpad) {
                tracing::warn!(error = ?e, "cannot link decoded video");
            }
        }
    });
    Ok((pipeline, sink))
}

/// Turns bus messages into player events.
fn event_of(msg: &gst::Message, pipeline: &gst::Pipeline) -> Option<PlayerEvent> {
    match msg.view() {
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
        let (pipeline, sink) = build(store.as_ref(), stream, start)?;
        let paintable = sink.property::<gdk::Paintable>("paintable");
        let bus = pipeline.bus().ok_or_else(|| anyhow!("pipeline without a bus"))?;
        let pipeline_weak = pipeline.downgrade();
        let watch = bus
            .add_watch_local(move |_, msg| {
                let Some(pipeline) = pipeline_weak.upgrade() else {
                    return gst::glib::ControlFlow::Break;
                };
                if let Some(event) = event_of(msg, &pipeline) {
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
            rate: std::sync::atomic::AtomicU64::new(1.0f64.to_bits()),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queued_seeks_collapse_into_the_newest() {
        let q = Queue::default();
        let t = |s: u64| Timestamp::from_nanos(s * 1_000_000_000);
        q.push(Command::State(gst::State::Paused));
        for s in 1..=5 {
            q.push(Command::Seek {
                t: t(s),
                flags: gst::SeekFlags::FLUSH,
            });
        }
        q.push(Command::Step);
        q.push(Command::Seek {
            t: t(9),
            flags: gst::SeekFlags::FLUSH,
        });
        assert!(matches!(q.pop(), Command::State(gst::State::Paused)));
        assert!(matches!(q.pop(), Command::Seek { t: x, .. } if x == t(5)));
        assert!(matches!(q.pop(), Command::Step));
        assert!(matches!(q.pop(), Command::Seek { t: x, .. } if x == t(9)));
    }
}
