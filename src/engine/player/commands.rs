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

/// Name of the application messages the command thread posts on the bus.
pub(super) const REFUSED: &str = "hindsight-player-refused";
pub(super) const FAILED: &str = "hindsight-player-failed";

/// A request for the command thread.
#[derive(Debug, Clone, Copy)]
pub(super) enum Command {
    State(gst::State),
    Seek { t: Timestamp, flags: gst::SeekFlags },
    GoLive,
    Step,
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
    pub(super) sink: gst::Element,
    pub(super) store: Arc<dyn Backend>,
    pub(super) stream: StreamName,
    /// Speed as f64 bits.
    pub(super) rate: std::sync::atomic::AtomicU64,
    pub(super) live: AtomicBool,
}

impl Shared {
    pub(super) fn rate(&self) -> f64 {
        f64::from_bits(self.rate.load(Ordering::SeqCst))
    }

    pub(super) fn set_live_sync(&self, live: bool) {
        self.live.store(live, Ordering::SeqCst);
        // History plays on the clock; the live edge shows each frame on arrival.
        self.sink.set_property("sync", !live);
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
    pub(super) fn serve(&self, queue: &Queue) {
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
