//! Synchronized review: cameras added to the one being watched play side by side at the same stored instant,
//! one lane each on the timeline. Adding, removing or losing a camera rebuilds the player's one pipeline at the
//! instant shown, playing or paused as it was; every transport control then acts on all cameras at once.

use gettextrs::gettext;
use hindsight_store::video::list_video_streams;
use hindsight_store::{StreamName, Timestamp};
use relm4::adw::prelude::*;
use relm4::{gtk, ComponentSender};

use super::cameras::{coverage, grid_shape, CameraCell, Coverage};
use super::{PlayerCmd, PlayerPage, PlayerWidgets};
use crate::engine::player::{StartAt, MAX_CAMERAS};
use crate::ui::i18n::i18n_f;
use crate::ui::status_report::CameraReport;

impl PlayerPage {
    /// Where a rebuilt player starts: the live edge when following it, else the instant on screen.
    fn here(&self) -> (StartAt, bool) {
        match &self.player {
            Some(p) if p.is_following_live() => (StartAt::Live, true),
            Some(p) => (
                p.position().map_or(StartAt::Earliest, StartAt::Time),
                p.is_playing(),
            ),
            None => (StartAt::Earliest, true),
        }
    }

    /// One cell per slot in a square grid, or the single picture for one camera.
    pub(super) fn build_cells(&mut self, w: &PlayerWidgets, sender: &ComponentSender<Self>) {
        for cell in self.cells.drain(..) {
            w.grid.remove(&cell.root);
        }
        let review = self.slots.len() > 1;
        w.views
            .set_visible_child_name(if review { "grid" } else { "single" });
        if !review {
            return;
        }
        w.picture.set_paintable(gtk::gdk::Paintable::NONE);
        let (cols, _) = grid_shape(self.slots.len());
        for (i, slot) in self.slots.iter().enumerate() {
            let cell = CameraCell::new(i, slot, sender);
            w.grid
                .attach(&cell.root, (i % cols) as i32, (i / cols) as i32, 1, 1);
            self.cells.push(cell);
        }
    }

    /// Reads the store's streams in the background for the "add a camera" list.
    pub(super) fn list_cameras(&self, sender: &ComponentSender<Self>) {
        let Some(store) = self.store.clone() else { return };
        sender.spawn_oneshot_command(move || {
            PlayerCmd::Streams(list_video_streams(store.as_ref()).map_err(|e| e.to_string()))
        });
    }

    /// Lists the streams not shown yet; activating one adds it.
    pub(super) fn fill_camera_list(&self, w: &PlayerWidgets, result: Result<Vec<StreamName>, String>) {
        while let Some(row) = w.add_list.row_at_index(0) {
            w.add_list.remove(&row);
        }
        let (names, note) = match result {
            Ok(names) => {
                let others: Vec<StreamName> = names
                    .into_iter()
                    .filter(|n| !self.slots.iter().any(|s| &s.stream == n))
                    .collect();
                let note = others
                    .is_empty()
                    .then(|| gettext("No other cameras in this store"));
                (others, note)
            }
            Err(e) => (
                Vec::new(),
                Some(format!("{}: {e}", gettext("Cannot list the cameras"))),
            ),
        };
        for name in names {
            let row = gtk::ListBoxRow::new();
            row.set_widget_name(&format!("stream:{name}"));
            let label = gtk::Label::builder()
                .label(name.to_string())
                .xalign(0.0)
                .margin_start(12)
                .margin_end(12)
                .margin_top(8)
                .margin_bottom(8)
                .build();
            row.set_child(Some(&label));
            row.set_activatable(true);
            w.add_list.append(&row);
        }
        if let Some(note) = note {
            let label = gtk::Label::new(Some(&note));
            label.add_css_class("dim-label");
            label.set_margin_top(8);
            label.set_margin_bottom(8);
            w.add_list.append(&label);
        }
    }

    /// Adds `stream` to the review, at the instant shown.
    pub(super) fn add_camera(
        &mut self,
        w: &PlayerWidgets,
        stream: StreamName,
        sender: &ComponentSender<Self>,
    ) {
        w.add_camera.popdown();
        if self.stream.is_none() {
            return;
        }
        if self.slots.iter().any(|s| s.stream == stream) {
            self.toast(sender, i18n_f("{} is already shown", &[&stream.to_string()]));
            return;
        }
        if self.slots.len() >= MAX_CAMERAS {
            self.toast(
                sender,
                i18n_f("A review shows at most {} cameras", &[&MAX_CAMERAS.to_string()]),
            );
            return;
        }
        let (start, playing) = self.here();
        self.slots.push(super::cameras::Slot { stream, error: None });
        self.start_player(w, start, playing, sender);
        self.reload_index(sender);
    }

    /// Takes the camera in `slot` out of the review (the next one becomes the first when it was).
    pub(super) fn remove_camera(&mut self, w: &PlayerWidgets, slot: usize, sender: &ComponentSender<Self>) {
        if slot >= self.slots.len() || self.slots.len() < 2 {
            return;
        }
        let (start, playing) = self.here();
        self.slots.remove(slot);
        self.start_player(w, start, playing, sender);
        self.reload_index(sender);
    }

    /// A camera failed: its cell says why and the others play on without it.
    pub(super) fn camera_failed(
        &mut self,
        w: &PlayerWidgets,
        camera: usize,
        message: &str,
        detail: &str,
        sender: &ComponentSender<Self>,
    ) {
        let Some(&slot) = self.active.get(camera) else {
            return;
        };
        tracing::warn!(stream = %self.slots[slot].stream, message, detail, "camera failed");
        self.toast(sender, format!("{}: {message}", self.slots[slot].stream));
        let (start, playing) = self.here();
        self.slots[slot].error = Some(message.to_owned());
        self.start_player(w, start, playing, sender);
    }

    /// Updates each camera's cell for the instant `at` and says what every camera shows.
    pub(super) fn review_cameras(&self, w: &PlayerWidgets, at: Option<Timestamp>) -> Vec<CameraReport> {
        let lanes = w.timeline.lane_timelines();
        let cameras = self.player.as_ref().map(|p| p.cameras()).unwrap_or_default();
        self.slots
            .iter()
            .enumerate()
            .map(|(slot, s)| {
                let camera = self
                    .active
                    .iter()
                    .position(|&a| a == slot)
                    .and_then(|c| cameras.get(c));
                let shown = camera.and_then(|c| c.shown());
                let cover = match (at, lanes.get(slot)) {
                    (Some(t), Some(lane)) => coverage(shown, t, lane),
                    (Some(t), None) => coverage(shown, t, &Default::default()),
                    (None, _) => Coverage::Recorded,
                };
                if let (Some(cell), None) = (self.cells.get(slot), &s.error) {
                    cell.update(shown, cover);
                }
                let (before, after) = match cover {
                    Coverage::Recorded => (None, None),
                    Coverage::Absent { before, after } => (before, after),
                };
                CameraReport {
                    stream: s.stream.to_string(),
                    frame_ns: shown.map_or(0, |f| f.time.nanos()),
                    recorded: s.error.is_none() && cover == Coverage::Recorded,
                    before_ns: before.map(Timestamp::nanos),
                    after_ns: after.map(Timestamp::nanos),
                    error: s.error.clone(),
                }
            })
            .collect()
    }
}
