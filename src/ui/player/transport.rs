//! Transport: play/pause, seeks (relative, by range, to the start, to a typed time, by dragging the timeline),
//! the live edge, speed and frame step. The engine runs each request off the main thread.

use std::time::{Duration, Instant};

use gettextrs::gettext;
use hindsight_store::Timestamp;
use relm4::adw::prelude::*;
use relm4::ComponentSender;

use super::{PlayerCmd, PlayerMsg, PlayerPage, PlayerWidgets, NORMAL_SPEED_INDEX};
use crate::engine::frame_times;
use crate::ui::localtime::parse_local_time;
use crate::ui::timeline_model::{TimeWindow, FRAME_TICKS_SPAN};

/// Within this long after the start of a range, "previous" goes to the range before it.
const RANGE_RESTART: Duration = Duration::from_secs(3);

impl PlayerPage {
    pub(super) fn toggle_play(&self) {
        if let Some(player) = &self.player {
            if player.is_playing() {
                player.pause();
            } else {
                player.play();
            }
        }
    }

    pub(super) fn seek(&self, w: &PlayerWidgets, t: Timestamp) {
        if let Some(player) = &self.player {
            player.seek(t);
            w.timeline.set_playhead(Some(t));
        }
    }

    fn position(&self) -> Option<Timestamp> {
        self.player.as_ref().and_then(|p| p.position())
    }

    pub(super) fn seek_by(&self, w: &PlayerWidgets, secs: f64) {
        let Some(pos) = self.position() else { return };
        let d = Duration::from_secs_f64(secs.abs());
        self.seek(
            w,
            if secs < 0.0 {
                pos.saturating_sub(d)
            } else {
                pos.saturating_add(d)
            },
        );
    }

    pub(super) fn jump_range(&self, w: &PlayerWidgets, next: bool, sender: &ComponentSender<Self>) {
        let Some(pos) = self.position() else { return };
        let timeline = w.timeline.timeline();
        let target = if next {
            timeline.next_range(pos).map(|r| r.start)
        } else {
            // Within the first seconds of a range, go to the one before it.
            let current = timeline.range_at(pos).map(|r| r.start);
            match current {
                Some(start) if pos.duration_since(start) > RANGE_RESTART => Some(start),
                _ => timeline
                    .previous_range(pos.saturating_sub(RANGE_RESTART))
                    .map(|r| r.start),
            }
        };
        match target {
            Some(t) => self.seek(w, t),
            None => self.toast(sender, gettext("No more recordings in that direction")),
        }
    }

    pub(super) fn go_start(&self, w: &PlayerWidgets) {
        if let Some(first) = w.timeline.timeline().ranges.first() {
            self.seek(w, first.start);
        }
    }

    pub(super) fn go_live(&self, w: &PlayerWidgets) {
        if let Some(player) = &self.player {
            player.go_live();
            w.speed.set_selected(NORMAL_SPEED_INDEX);
        }
    }

    pub(super) fn step_frame(&self, forward: bool) {
        if let Some(player) = &self.player {
            player.step_frame(forward);
        }
    }

    pub(super) fn set_speed(&self, rate: f64) {
        if let Some(player) = &self.player {
            if (player.rate() - rate).abs() > f64::EPSILON {
                player.set_rate(rate);
            }
        }
    }

    pub(super) fn goto_text(&self, w: &PlayerWidgets, text: &str, sender: &ComponentSender<Self>) {
        match parse_local_time(text) {
            Some(t) => {
                w.goto_popover.popdown();
                // An analyst asking for a time wants that exact frame, not the key frame before it.
                if let Some(player) = &self.player {
                    player.seek_accurate(t);
                    w.timeline.set_playhead(Some(t));
                }
            }
            None => self.toast(sender, gettext("Enter a time like 2024-05-01 14:30:00")),
        }
    }

    /// A drag over the timeline: while it moves, the key frame under the pointer (fast, at most one seek per
    /// `SCRUB_INTERVAL`); where it is let go, the exact frame under the pointer, so the image matches the time
    /// shown to the frame.
    pub(super) fn scrub(
        &mut self,
        w: &PlayerWidgets,
        t: Timestamp,
        done: bool,
        sender: &ComponentSender<Self>,
    ) {
        if done {
            self.throttle.finish();
            self.released_at = Some(t);
            if let Some(player) = &self.player {
                player.seek_accurate(t);
                w.timeline.set_playhead(Some(t));
            }
            return;
        }
        let now = Instant::now();
        if let Some(t) = self.throttle.offer(t, now) {
            self.drag_seeks += 1;
            self.seek(w, t);
        } else if let (Some(wait), false) = (self.throttle.wait(now), self.scrub_timer) {
            self.scrub_timer = true;
            let input = sender.input_sender().clone();
            relm4::gtk::glib::timeout_add_local_once(wait, move || {
                let _ = input.send(PlayerMsg::ScrubDue); // the player is gone: nothing to seek
            });
        }
    }

    /// Seeks the drag's kept position once its interval has passed.
    pub(super) fn seek_due_scrub(&mut self, w: &PlayerWidgets) {
        if let Some(t) = self.throttle.due(Instant::now()) {
            self.drag_seeks += 1;
            self.seek(w, t);
        }
    }

    /// The timeline was zoomed or panned: at a few seconds across, read the video frame times in view (in the
    /// background, one read at a time) for its frame ticks.
    pub(super) fn load_frame_times(
        &mut self,
        w: &PlayerWidgets,
        window: TimeWindow,
        sender: &ComponentSender<Self>,
    ) {
        if window.span > FRAME_TICKS_SPAN {
            w.timeline.set_frame_times(Vec::new());
            return;
        }
        let (Some(store), Some(stream)) = (self.store.clone(), self.stream.clone()) else {
            return;
        };
        if std::mem::replace(&mut self.frames_loading, true) {
            return;
        }
        let generation = self.generation;
        sender.spawn_oneshot_command(move || {
            let times = frame_times::video_frame_times(store.as_ref(), &stream, window.start, window.end())
                .map_err(|e| format!("{e:#}"));
            PlayerCmd::FrameTimes(generation, window, times)
        });
    }

    pub(super) fn on_frame_times(
        &mut self,
        w: &PlayerWidgets,
        generation: u64,
        window: TimeWindow,
        result: Result<Vec<Timestamp>, String>,
        sender: &ComponentSender<Self>,
    ) {
        self.frames_loading = false;
        if generation != self.generation {
            return;
        }
        match result {
            Ok(times) => w.timeline.set_frame_times(times),
            Err(e) => tracing::debug!(error = %e, "no frame ticks"),
        }
        // The window moved on while reading: read what is in view now.
        let now = w.timeline.window();
        if now != window {
            self.load_frame_times(w, now, sender);
        }
    }
}
