//! The player's command thread: requests that touch the store (state changes, seeks, the live edge) run here
//! in order, never on the caller's thread; a burst of seeks collapses into the newest one.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};

use anyhow::{anyhow, Context};
use gst::prelude::*;
use hindsight_store::search;
use hindsight_store::video::IndexReader;
use hindsight_store::{Backend, StreamName, Timestamp};

use super::camera::shown_by;
use super::StartAt;

/// Name of the application messages the command thread posts on the bus.
pub(super) const REFUSED: &str = "hindsight-player-refused";
pub(super) const FAILED: &str = "hindsight-player-failed";

/// A request for the command thread.
#[derive(Debug, Clone, Copy)]
pub(super) enum Command {
    State(gst::State),
    /// Pause on the frame shown (and, with several cameras, line them up on it).
    Pause,
    Seek {
        t: Timestamp,
        flags: gst::SeekFlags,
    },
    GoLive,
    /// Line the cameras up on the instant where they started (several cameras).
    Align(StartAt),
    Step {
        forward: bool,
    },
    Shutdown,
}

/// The command thread's queue.
#[derive(Default)]
pub(super) struct Queue {
    commands: Mutex<VecDeque<Command>>,
    ready: Condvar,
}

impl Queue {
    pub(super) fn push(&self, c: Command) {
        let mut q = self.commands.lock().unwrap_or_else(|e| e.into_inner());
        // A newer seek replaces a queued one that has not run yet: scrubbing asks for many, shows the last.
        if let (Command::Seek { .. }, Some(Command::Seek { .. })) = (c, q.back()) {
            q.pop_back();
        }
        q.push_back(c);
        self.ready.notify_one();
    }

    pub(super) fn pop(&self) -> Command {
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
pub(super) struct Shared {
    pub(super) pipeline: gst::Pipeline,
    /// One per camera.
    pub(super) sinks: Vec<gst::Element>,
    /// The first camera's coded frame times, to tell its frame on screen.
    pub(super) first_coded: Arc<super::CodedTimes>,
    pub(super) store: Arc<dyn Backend>,
    /// One per camera.
    pub(super) streams: Vec<StreamName>,
    /// Speed as f64 bits.
    pub(super) rate: std::sync::atomic::AtomicU64,
    pub(super) live: AtomicBool,
    /// The first camera's sound, for a player with sound.
    pub(super) sound: Option<Arc<super::sound::Sound>>,
}

impl Shared {
    pub(super) fn rate(&self) -> f64 {
        f64::from_bits(self.rate.load(Ordering::SeqCst))
    }

    /// Keeps the speed the next seeks use; sound is heard only at 1×.
    pub(super) fn store_rate(&self, rate: f64) {
        self.rate.store(rate.to_bits(), Ordering::SeqCst);
        if let Some(sound) = &self.sound {
            sound.set_rate(rate);
        }
    }

    pub(super) fn set_live_sync(&self, live: bool) {
        self.live.store(live, Ordering::SeqCst);
        // History plays on the clock; the live edge shows each frame on arrival.
        for sink in &self.sinks {
            sink.set_property("sync", !live);
        }
        if let Some(sound) = &self.sound {
            sound.set_live(live);
        }
    }

    pub(super) fn seek(&self, t: Timestamp, flags: gst::SeekFlags) -> anyhow::Result<()> {
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

    /// The newest key frame of every camera: the live edge starts at the newest of them (each of the others
    /// decodes from its own key frame up to it).
    fn go_live(&self) -> anyhow::Result<()> {
        let mut at: Option<Timestamp> = None;
        for stream in &self.streams {
            let mut index =
                IndexReader::open(self.store.as_ref(), stream).context("cannot read the index")?;
            let found = search::last_seek_target(&mut index).context("cannot read the index")?;
            if let Some((_, rec)) = found {
                at = at.max(Some(rec.timestamp));
            }
        }
        let at = at.ok_or_else(|| anyhow!("the stream has no key frame yet"))?;
        self.store_rate(1.0);
        self.seek(at, self.seek_flags())?;
        self.set_live_sync(true);
        self.pipeline
            .set_state(gst::State::Playing)
            .context("cannot play")?;
        Ok(())
    }

    /// Key-frame seeks for one camera; several must start their segments at the same instant.
    fn seek_flags(&self) -> gst::SeekFlags {
        if self.streams.len() > 1 {
            gst::SeekFlags::FLUSH | gst::SeekFlags::ACCURATE
        } else {
            gst::SeekFlags::FLUSH | gst::SeekFlags::KEY_UNIT
        }
    }

    /// Lines several cameras up on `start`: the earliest footage of any of them, a time, or the live edge.
    fn align(&self, start: StartAt) -> anyhow::Result<()> {
        let t = match start {
            StartAt::Live => return self.go_live(),
            StartAt::Time(t) => t,
            StartAt::Earliest => {
                let mut first: Option<Timestamp> = None;
                for stream in &self.streams {
                    let mut index =
                        IndexReader::open(self.store.as_ref(), stream).context("cannot read the index")?;
                    if let Some((_, rec)) =
                        search::first_seek_target(&mut index).context("cannot read the index")?
                    {
                        first = Some(first.map_or(rec.timestamp, |f| f.min(rec.timestamp)));
                    }
                }
                first.ok_or_else(|| anyhow!("no camera has a key frame yet"))?
            }
        };
        // The seek reaches the sources only through linked branches, and a flushing seek in the middle of the
        // first preroll leaves the pipeline waiting for a state it already lost: let the preroll finish first.
        let _ = self.pipeline.state(gst::ClockTime::from_seconds(10));
        self.seek(t, gst::SeekFlags::FLUSH | gst::SeekFlags::ACCURATE)
    }

    /// One frame forward or back, exact. Forward on one camera is the sink's own step; anything else is an
    /// accurate seek into the first camera's neighbouring frame (the decoder shows the frame whose interval
    /// holds the target; across a key frame boundary it decodes from the key frame before).
    fn step(&self, forward: bool) -> anyhow::Result<()> {
        self.pipeline
            .set_state(gst::State::Paused)
            .context("cannot pause")?;
        // The frame on screen is known only once the previous step's (or the pause's) preroll is done.
        self.wait_preroll();
        let first = self.sinks.first().ok_or_else(|| anyhow!("no camera"))?;
        if forward && self.sinks.len() == 1 {
            let step = gst::event::Step::new(gst::format::Buffers::ONE, 1.0, true, false);
            return if first.send_event(step) {
                Ok(())
            } else {
                Err(anyhow!("the video sink refused to step"))
            };
        }
        let shown = shown_by(first, &self.first_coded).ok_or_else(|| anyhow!("no frame is shown yet"))?;
        // The middle of the neighbouring frame: frame times and durations are rounded to the nanosecond, so an
        // edge could fall a nanosecond inside the frame shown.
        let half = shown.duration_or_default() / 2;
        let target = if forward {
            shown.time.saturating_add(shown.duration_or_default() + half)
        } else {
            shown.time.saturating_sub(half)
        };
        tracing::debug!(forward, shown = %shown.time, %target, "frame step");
        self.set_live_sync(false);
        self.seek(target, gst::SeekFlags::FLUSH | gst::SeekFlags::ACCURATE)
    }

    /// Waits (bounded) until a pending state change or flushing seek has prerolled every sink.
    fn wait_preroll(&self) {
        let (result, _, _) = self.pipeline.state(gst::ClockTime::from_seconds(10));
        match result {
            Ok(gst::StateChangeSuccess::Async) => {
                // Name the cameras still waiting for a frame: the others are not the reason.
                let waiting: Vec<&StreamName> = self
                    .sinks
                    .iter()
                    .zip(&self.streams)
                    .filter(|(sink, _)| sink.state(gst::ClockTime::ZERO).2 != gst::State::VoidPending)
                    .map(|(_, stream)| stream)
                    .collect();
                tracing::warn!(?waiting, "cameras still without a frame after 10 s");
            }
            Err(_) => tracing::debug!(streams = ?self.streams, "no preroll: the pipeline failed"),
            Ok(_) => {}
        }
    }

    /// Pauses. Several cameras paused from playback each stop at their own next frame (a sink prerolls on the
    /// buffer that reaches it after the pause), up to a frame apart: one accurate seek to the middle of the first
    /// camera's frame puts every camera on its frame at that instant.
    fn pause(&self) -> anyhow::Result<()> {
        self.pipeline
            .set_state(gst::State::Paused)
            .context("cannot pause")?;
        if self.sinks.len() < 2 {
            return Ok(());
        }
        self.wait_preroll();
        let Some(first) = self.sinks.first() else {
            return Ok(());
        };
        let Some(shown) = shown_by(first, &self.first_coded) else {
            return Ok(());
        };
        self.set_live_sync(false);
        let instant = shown.time.saturating_add(shown.duration_or_default() / 2);
        self.seek(instant, gst::SeekFlags::FLUSH | gst::SeekFlags::ACCURATE)
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
    pub(super) fn serve(&self, queue: &Queue) {
        loop {
            let command = queue.pop();
            let result = match command {
                Command::Pause => self.pause(),
                Command::State(state) => self
                    .pipeline
                    .set_state(state)
                    .map(|_| ())
                    .map_err(|_| anyhow!("cannot change to {state:?}")),
                Command::Seek { t, flags } => self.seek(t, flags),
                Command::GoLive => self.go_live(),
                Command::Align(start) => self.align(start),
                Command::Step { forward } => self.step(forward),
                Command::Shutdown => {
                    // NULL unblocks pravegasrc's tail wait at once (unlock) and releases the store.
                    if self.pipeline.set_state(gst::State::Null).is_err() {
                        tracing::warn!(streams = ?self.streams, "the player pipeline did not stop cleanly");
                    }
                    return;
                }
            };
            if let Err(e) = result {
                let fatal = matches!(command, Command::State(_) | Command::Pause);
                // A failed state change is reported by the element's own error message as well; the
                // detail here says what was asked.
                self.post(if fatal { FAILED } else { REFUSED }, &format!("{e:#}"));
            }
        }
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
        q.push(Command::Step { forward: true });
        q.push(Command::Seek {
            t: t(9),
            flags: gst::SeekFlags::FLUSH,
        });
        assert!(matches!(q.pop(), Command::State(gst::State::Paused)));
        assert!(matches!(q.pop(), Command::Seek { t: x, .. } if x == t(5)));
        assert!(matches!(q.pop(), Command::Step { forward: true }));
        assert!(matches!(q.pop(), Command::Seek { t: x, .. } if x == t(9)));
    }
}
