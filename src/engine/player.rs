//! `Player`: `pravegasrc ! decodebin ! videoconvert ! gtk4paintablesink` for one stream, with key-frame seeks
//! on the TAI timeline, a live edge that follows the tail, speed and frame step.
//!
//! Positions are stream time, which pravegasrc defines as absolute TAI nanoseconds, so the position query
//! answers the wall-clock time of the frame on screen directly. At the live edge the video sink stops syncing
//! to the clock: frames show as soon as they are decoded, so the picture is as fresh as the tail read allows
//! instead of a GOP behind.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;

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
    pipeline: gst::Pipeline,
    sink: gst::Element,
    store: Arc<dyn Backend>,
    stream: StreamName,
    paintable: gdk::Paintable,
    rate: RefCell<f64>,
    live: RefCell<bool>,
    _bus_watch: gst::bus::BusWatchGuard,
}

impl Player {
    /// Builds the pipeline for `stream` and prerolls it paused at `start`. `on_event` receives bus events.
    pub fn new(
        store: Arc<dyn Backend>,
        stream: &StreamName,
        start: StartAt,
        on_event: impl Fn(PlayerEvent) + 'static,
    ) -> anyhow::Result<Rc<Self>> {
        super::init()?;
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
        let decode = gst::ElementFactory::make("decodebin")
            .build()
            .context("cannot create decodebin")?;
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
        let convert = gst::ElementFactory::make("videoconvert")
            .build()
            .context("cannot create videoconvert")?;
        let sink = gst::ElementFactory::make("gtk4paintablesink")
            .build()
            .context("cannot create gtk4paintablesink")?;
        let paintable = sink.property::<gdk::Paintable>("paintable");
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

        let bus = pipeline.bus().ok_or_else(|| anyhow!("pipeline without a bus"))?;
        let pipeline_weak = pipeline.downgrade();
        let watch = bus
            .add_watch_local(move |_, msg| {
                let Some(pipeline) = pipeline_weak.upgrade() else {
                    return gst::glib::ControlFlow::Break;
                };
                match msg.view() {
                    gst::MessageView::Error(err) => on_event(PlayerEvent::Error {
                        message: err.error().to_string(),
                        detail: format!(
                            "{}: {}",
                            err.src().map(|s| s.path_string().to_string()).unwrap_or_default(),
                            err.debug().map(|d| d.to_string()).unwrap_or_default()
                        ),
                    }),
                    gst::MessageView::Eos(_) => on_event(PlayerEvent::Ended),
                    gst::MessageView::AsyncDone(_) => on_event(PlayerEvent::Settled),
                    gst::MessageView::StateChanged(change) if change.src() == Some(pipeline.upcast_ref()) => {
                        match change.current() {
                            gst::State::Playing => on_event(PlayerEvent::Playing(true)),
                            gst::State::Paused if change.old() == gst::State::Playing => {
                                on_event(PlayerEvent::Playing(false))
                            }
                            _ => {}
                        }
                    }
                    _ => {}
                }
                gst::glib::ControlFlow::Continue
            })
            .context("cannot watch the pipeline bus")?;

        let player = Rc::new(Player {
            pipeline,
            sink,
            store,
            stream: stream.clone(),
            paintable,
            rate: RefCell::new(1.0),
            live: RefCell::new(false),
            _bus_watch: watch,
        });
        if start == StartAt::Live {
            player.set_live_sync(true);
        }
        player
            .pipeline
            .set_state(gst::State::Paused)
            .context("cannot start the player pipeline")?;
        Ok(player)
    }

    /// The video frames, for a `gtk::Picture`.
    pub fn paintable(&self) -> &gdk::Paintable {
        &self.paintable
    }

    /// Starts or resumes playback.
    pub fn play(&self) -> anyhow::Result<()> {
        self.pipeline
            .set_state(gst::State::Playing)
            .context("cannot play")?;
        Ok(())
    }

    /// Pauses on the current frame.
    pub fn pause(&self) -> anyhow::Result<()> {
        self.pipeline
            .set_state(gst::State::Paused)
            .context("cannot pause")?;
        Ok(())
    }

    /// True while the pipeline is (going to) PLAYING.
    pub fn is_playing(&self) -> bool {
        let (_, current, pending) = self.pipeline.state(gst::ClockTime::ZERO);
        pending == gst::State::Playing
            || (pending == gst::State::VoidPending && current == gst::State::Playing)
    }

    /// The time of the frame on screen.
    pub fn position(&self) -> Option<Timestamp> {
        self.pipeline
            .query_position::<gst::ClockTime>()
            .filter(|t| t.nseconds() > 0)
            .map(|t| Timestamp::from_nanos(t.nseconds()))
    }

    /// Shows the key frame at or before `t` (playback continues from there if playing). Leaves the live edge.
    pub fn seek(&self, t: Timestamp) -> anyhow::Result<()> {
        self.set_live_sync(false);
        self.seek_flags(t, gst::SeekFlags::FLUSH | gst::SeekFlags::KEY_UNIT)
    }

    /// Shows exactly time `t` (decodes from the key frame before it).
    pub fn seek_accurate(&self, t: Timestamp) -> anyhow::Result<()> {
        self.set_live_sync(false);
        self.seek_flags(t, gst::SeekFlags::FLUSH | gst::SeekFlags::ACCURATE)
    }

    fn seek_flags(&self, t: Timestamp, flags: gst::SeekFlags) -> anyhow::Result<()> {
        let rate = *self.rate.borrow();
        self.pipeline
            .seek(
                rate,
                flags,
                gst::SeekType::Set,
                gst::ClockTime::from_nseconds(t.nanos()),
                gst::SeekType::None,
                gst::ClockTime::NONE,
            )
            .with_context(|| format!("cannot seek to {t}"))
    }

    /// Jumps to the newest key frame and follows the tail, showing frames as soon as they are decoded.
    pub fn go_live(&self) -> anyhow::Result<()> {
        let mut index =
            IndexReader::open(self.store.as_ref(), &self.stream).context("cannot read the index")?;
        let (_, rec) = search::last_seek_target(&mut index)
            .context("cannot read the index")?
            .ok_or_else(|| anyhow!("the stream has no key frame yet"))?;
        *self.rate.borrow_mut() = 1.0;
        self.seek_flags(rec.timestamp, gst::SeekFlags::FLUSH | gst::SeekFlags::KEY_UNIT)?;
        self.set_live_sync(true);
        self.play()
    }

    /// True while following the live edge (since `go_live` and until the next seek).
    pub fn is_following_live(&self) -> bool {
        *self.live.borrow()
    }

    fn set_live_sync(&self, live: bool) {
        *self.live.borrow_mut() = live;
        // History plays on the clock; the live edge shows each frame on arrival.
        self.sink.set_property("sync", !live);
    }

    /// Playback speed (0.25..=4); re-seeks at the current position so the new rate applies at once.
    pub fn set_rate(&self, rate: f64) -> anyhow::Result<()> {
        let rate = rate.clamp(0.25, 4.0);
        *self.rate.borrow_mut() = rate;
        if let Some(pos) = self.position() {
            self.set_live_sync(false);
            self.seek_flags(pos, gst::SeekFlags::FLUSH | gst::SeekFlags::ACCURATE)?;
        }
        Ok(())
    }

    /// Current speed.
    pub fn rate(&self) -> f64 {
        *self.rate.borrow()
    }

    /// Pauses and shows the next frame.
    pub fn step_frame(&self) -> anyhow::Result<()> {
        self.pause()?;
        let step = gst::event::Step::new(gst::format::Buffers::ONE, 1.0, true, false);
        if self.sink.send_event(step) {
            Ok(())
        } else {
            Err(anyhow!("the video sink refused to step"))
        }
    }
}

impl Drop for Player {
    fn drop(&mut self) {
        // NULL unblocks pravegasrc's tail wait at once (unlock) and releases the store.
        let _ = self.pipeline.set_state(gst::State::Null);
    }
}
