//! Transport: play/pause, seeks (relative, by range, to the start, to a typed time, by dragging the timeline),
//! the live edge, speed and frame step. The engine runs each request off the main thread.

use std::time::{Duration, Instant};

use gettextrs::gettext;
use hindsight_store::Timestamp;
use relm4::adw::prelude::*;
use relm4::ComponentSender;

use super::{PlayerPage, PlayerWidgets, NORMAL_SPEED_INDEX, SCRUB_INTERVAL};
use crate::ui::localtime::parse_local_time;

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

    pub(super) fn scrub(&mut self, w: &PlayerWidgets, t: Timestamp, done: bool) {
        let now = Instant::now();
        let go = if done {
            // The end of a drag always lands exactly where the pointer stopped.
            self.throttle.offer(t, now + SCRUB_INTERVAL * 10)
        } else {
            self.throttle.offer(t, now)
        };
        if let Some(t) = go {
            self.seek(w, t);
        }
    }
}
