//! The tick and the index: the playhead and the time label, the LIVE badge or "behind live by", the status
//! report, and the index re-read in the background so the timeline follows a recording.

use std::time::Duration;

use gettextrs::gettext;
use hindsight_store::digest::{self, Digest};
use hindsight_store::marks::{self, Marks};
use hindsight_store::search::IndexSource;
use hindsight_store::video::{summarize, IndexReader};
use hindsight_store::{Backend, IndexRecord, StreamName, Timestamp};
use relm4::adw::prelude::*;
use relm4::ComponentSender;

use super::{PlayerCmd, PlayerPage, PlayerWidgets};
use crate::human;
use crate::ui::i18n::i18n_f;
use crate::ui::localtime;
use crate::ui::status_report;
use crate::ui::timeline::{Lane, LaneKnown, LaneUpdate, RECENT_RECORDS};
use crate::ui::timeline_model::LiveStatus;

/// Index data read in the background.
#[derive(Debug)]
pub struct Snapshot {
    index: IndexUpdate,
    recording: bool,
    /// Stored data bytes.
    pub(super) size: u64,
    /// Bookmarks, holds and retention policy.
    pub(super) marks: Marks,
}

/// What was read of an index.
#[derive(Debug)]
enum IndexUpdate {
    /// The records appended to what the lane holds.
    Appended(Vec<IndexRecord>),
    /// The index's digest and its newest records, for a new lane.
    Whole(Digest, Vec<IndexRecord>),
}

/// Reads a camera's index: only the records after the `known` ones when the index still starts there and still
/// holds that last record; otherwise its digest (cached beside the stream, brought up to date) and its newest
/// [`RECENT_RECORDS`] records, never the whole index.
fn read_snapshot(
    store: &dyn Backend,
    name: &StreamName,
    known: Option<LaneKnown>,
) -> Result<Snapshot, String> {
    let summary = summarize(store, name).map_err(|e| e.to_string())?;
    let mut index = IndexReader::open(store, name).map_err(|e| e.to_string())?;
    let continued = match known {
        Some((first, end, last)) if summary.first_record == first && end > first => index
            .read_range(end - 1, end)
            .map_err(|e| e.to_string())?
            .first()
            .is_some_and(|r| *r == last)
            .then_some(end),
        _ => None,
    };
    let update = match continued {
        Some(end) => {
            let (_, tail) = IndexSource::bounds(&mut index).map_err(|e| e.to_string())?;
            IndexUpdate::Appended(index.read_range(end, tail).map_err(|e| e.to_string())?)
        }
        None => {
            let loaded = digest::load_with(store, name, &mut index).map_err(|e| e.to_string())?;
            let d = loaded.digest;
            tracing::debug!(
                stream = %name,
                from_cache = loaded.from_cache,
                records_read = loaded.records_read,
                saved = loaded.saved,
                "timeline digest"
            );
            let from = d.end().saturating_sub(RECENT_RECORDS as u64).max(d.first());
            let recent = index.read_range(from, d.end()).map_err(|e| e.to_string())?;
            IndexUpdate::Whole(d, recent)
        }
    };
    // Marks that cannot be read leave the timeline without them; the video still plays.
    let marks = marks::read(store, name).unwrap_or_else(|e| {
        tracing::warn!(stream = %name, error = %e, "cannot read the stream's marks");
        Marks::default()
    });
    Ok(Snapshot {
        index: update,
        recording: summary.data.writer_active == Some(true),
        size: summary.stored_bytes(),
        marks,
    })
}

/// What the overlay says for a live status; `None` hides the behind-live label.
fn behind_text(status: LiveStatus, was_live: bool) -> Option<String> {
    match status {
        LiveStatus::Live => None,
        LiveStatus::Behind(d) if d == Duration::MAX => Some(gettext("Behind live")),
        // Translators: {} is a duration such as "3 s" or "2 min".
        LiveStatus::Behind(d) => Some(i18n_f("Behind live by {}", &[&human::duration(d)])),
        LiveStatus::NotRecording => was_live.then(|| gettext("Not recording any more")),
    }
}

impl PlayerPage {
    pub(super) fn tick(&mut self, w: &PlayerWidgets) {
        self.seek_due_scrub(w);
        let Some(player) = &self.player else {
            w.live_badge.set_visible(false);
            w.behind_label.set_visible(false);
            return;
        };
        let pos = player.position();
        self.watched = pos.or(self.watched);
        if !self.throttle.has_pending() {
            w.timeline.set_playhead(pos);
        }
        w.time_label
            .set_label(&pos.map(localtime::format).unwrap_or_else(|| "--".into()));
        let edge = self.recording.then(Timestamp::now);
        let following = player.is_following_live();
        let status = if following || self.recording {
            LiveStatus::compute(pos, edge)
        } else {
            LiveStatus::NotRecording
        };
        w.live_badge.set_visible(status == LiveStatus::Live);
        let behind = behind_text(status, following);
        w.behind_label.set_visible(behind.is_some());
        if let Some(text) = &behind {
            w.behind_label.set_label(text);
        }
        let playing = player.is_playing();
        let cameras = self.review_cameras(w, pos);
        self.report(
            w,
            &cameras,
            pos,
            playing,
            match status {
                LiveStatus::Live => "live",
                LiveStatus::Behind(_) => "behind",
                LiveStatus::NotRecording => "not-recording",
            },
        );
    }

    pub(super) fn report(
        &self,
        w: &PlayerWidgets,
        cameras: &[status_report::CameraReport],
        position: Option<Timestamp>,
        playing: bool,
        live: &str,
    ) {
        let stream = self.stream.as_ref().map(|s| s.to_string()).unwrap_or_default();
        let overlay = if w.live_badge.is_visible() {
            Some(w.live_badge.label().to_string())
        } else if w.behind_label.is_visible() {
            Some(w.behind_label.label().to_string())
        } else {
            None
        };
        status_report::write(&status_report::Status {
            stream: &stream,
            position_ns: position.map_or(0, Timestamp::nanos),
            playing,
            live,
            overlay: overlay.as_deref(),
            error: self.error.as_deref(),
            cameras,
            sound: self.sound_state(w),
            marks: self.marks_report(),
            timeline: status_report::rect_of(&w.timeline.area).map(|rect| {
                let win = w.timeline.window();
                status_report::TimelineReport {
                    rect,
                    start_ns: win.start.nanos(),
                    end_ns: win.end().nanos(),
                    frame_ticks: w.timeline.frame_ticks(),
                }
            }),
            hover: self.hover_report(),
            scrub: status_report::ScrubReport {
                drag_seeks: self.drag_seeks,
                released_ns: self.released_at.map_or(0, Timestamp::nanos),
                frames: self.player.as_ref().map_or(0, |p| p.frame_stats().frames()),
            },
        });
    }

    /// Re-reads every camera's index in the background (not while a read is under way).
    pub(super) fn reload_index(&mut self, sender: &ComponentSender<Self>) {
        if self.loading_index || self.stream.is_none() {
            return;
        }
        let Some(store) = self.store.clone() else { return };
        let streams: Vec<StreamName> = self.slots.iter().map(|s| s.stream.clone()).collect();
        self.loading_index = true;
        let generation = self.generation;
        let known: Vec<_> = (0..streams.len())
            .map(|i| self.known_lanes.get(i).copied().flatten())
            .collect();
        sender.spawn_oneshot_command(move || {
            let snaps = streams
                .iter()
                .zip(known)
                .map(|(s, k)| read_snapshot(store.as_ref(), s, k))
                .collect();
            PlayerCmd::Index(generation, snaps)
        });
    }

    pub(super) fn on_index(
        &mut self,
        w: &PlayerWidgets,
        generation: u64,
        result: Vec<Result<Snapshot, String>>,
        sender: &ComponentSender<Self>,
    ) {
        self.loading_index = false;
        if generation != self.generation || self.stream.is_none() || result.len() != self.slots.len() {
            return;
        }
        if let [Err(e)] = result.as_slice() {
            // One camera that cannot be read is an error page; in a review only that camera's lane is empty.
            let e = e.clone();
            self.show_error(w, &gettext("The stream cannot be read"), &e);
            self.close(w);
            return;
        }
        self.recording = result.iter().any(|r| r.as_ref().is_ok_and(|s| s.recording));
        let edge = self.recording.then(Timestamp::now);
        let first_marks = result
            .first()
            .and_then(|r| r.as_ref().ok())
            .map(|s| (s.marks.clone(), s.size));
        let updates = result
            .into_iter()
            .zip(&self.slots)
            .map(|(r, slot)| match r {
                Ok(Snapshot {
                    index: IndexUpdate::Appended(records),
                    ..
                }) => LaneUpdate::Append(records),
                Ok(Snapshot {
                    index: IndexUpdate::Whole(digest, recent),
                    ..
                }) => LaneUpdate::Whole(Lane::new(slot.stream.to_string(), digest, recent)),
                Err(_) => LaneUpdate::Whole(Lane::new(slot.stream.to_string(), Digest::new(0), Vec::new())),
            })
            .collect();
        w.timeline.update_lanes(updates, edge);
        self.known_lanes = w.timeline.known();
        if let Some((marks, size)) = first_marks {
            self.on_marks(w, marks, size, sender);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_overlay_says_how_far_behind_live() {
        assert_eq!(behind_text(LiveStatus::Live, true), None);
        assert_eq!(
            behind_text(LiveStatus::Behind(Duration::from_secs(5)), false).as_deref(),
            Some("Behind live by 5.0s")
        );
        assert_eq!(
            behind_text(LiveStatus::Behind(Duration::MAX), false).as_deref(),
            Some("Behind live")
        );
        assert_eq!(behind_text(LiveStatus::NotRecording, false), None);
        assert_eq!(
            behind_text(LiveStatus::NotRecording, true).as_deref(),
            Some("Not recording any more")
        );
    }
}
