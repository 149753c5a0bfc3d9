//! The hover thumbnail: over the timeline, a small image of the key frame under the pointer with its exact
//! local time, decoded on demand by the engine's [`HoverThumbnails`] (a ranged read of that frame, decoded off
//! the main thread; stale requests dropped; images cached).

use std::time::Instant;

use hindsight_store::Timestamp;
use relm4::adw::prelude::*;
use relm4::{gtk, ComponentSender};

use super::{PlayerMsg, PlayerPage, PlayerWidgets};
use crate::engine::hover::{HoverResult, HoverTarget, HoverThumbnails};
use crate::engine::thumbnail::Thumbnail;
use crate::ui::localtime;
use crate::ui::status_report::HoverReport;

/// Width of the hover image.
const HOVER_WIDTH: u32 = 240;

/// The popover over the timeline.
pub struct HoverWidgets {
    popover: gtk::Popover,
    picture: gtk::Picture,
    label: gtk::Label,
}

/// Builds the hover popover on `area` (the timeline's drawing area).
pub fn hover_widgets(area: &gtk::DrawingArea) -> HoverWidgets {
    let picture = gtk::Picture::builder()
        .width_request(HOVER_WIDTH as i32)
        .height_request((HOVER_WIDTH * 9 / 16) as i32)
        .can_shrink(true)
        .build();
    let label = gtk::Label::new(None);
    label.add_css_class("numeric");
    let body = gtk::Box::new(gtk::Orientation::Vertical, 4);
    body.append(&picture);
    body.append(&label);
    let popover = gtk::Popover::builder()
        .child(&body)
        .autohide(false)
        .has_arrow(true)
        .position(gtk::PositionType::Top)
        .can_focus(false)
        .can_target(false)
        .build();
    popover.set_parent(area);
    HoverWidgets {
        popover,
        picture,
        label,
    }
}

/// What the hover shows now.
#[derive(Debug, Default)]
pub struct HoverState {
    pointer: Option<Timestamp>,
    /// The key frame asked for, and when the pointer reached it.
    wanted: Option<(HoverTarget, Instant)>,
    /// Generation of the request in flight for it.
    generation: Option<u64>,
    /// The key frame whose image is up, and how long it took to get there.
    shown: Option<(Timestamp, u64)>,
}

impl PlayerPage {
    /// Starts the hover thumbnails of the first camera's stream.
    pub(super) fn start_hover(&mut self, sender: &ComponentSender<Self>) {
        self.hover = Default::default();
        self.hover_thumbs = None;
        let (Some(store), Some(stream)) = (self.store.clone(), self.stream.clone()) else {
            return;
        };
        let input = sender.input_sender().clone();
        let generation = self.generation;
        match HoverThumbnails::new(store, stream, HOVER_WIDTH, move |r| {
            input.emit(PlayerMsg::HoverReady(generation, r));
        }) {
            Ok(h) => self.hover_thumbs = Some(h),
            Err(e) => tracing::warn!(error = %e, "no hover thumbnails"),
        }
    }

    /// The pointer moved over the timeline (`None`: it left).
    pub(super) fn on_hover(&mut self, w: &PlayerWidgets, at: Option<(Timestamp, f64)>) {
        let Some((t, x)) = at else {
            w.hover.popover.popdown();
            self.hover = Default::default();
            return;
        };
        // Recent footage: the key frame from the records the timeline keeps; older footage: searched in the
        // index by a worker.
        let target = match w.timeline.key_frame_at(t) {
            Some(record) => HoverTarget::KeyFrame(record),
            None if w.timeline.covers(t) => HoverTarget::At(t),
            None => {
                w.hover.popover.popdown();
                return;
            }
        };
        self.hover.pointer = Some(t);
        w.hover
            .popover
            .set_pointing_to(Some(&gtk::gdk::Rectangle::new(x as i32, 0, 1, 1)));
        if !w.hover.popover.is_visible() {
            w.hover.popover.popup();
        }
        if self.hover.wanted.is_some_and(|(r, _)| r.same_as(&target)) {
            return;
        }
        let asked = Instant::now();
        self.hover.wanted = Some((target, asked));
        // The key frame's own time; for one still to be searched, the pointer's until its image comes.
        let shown_time = match target {
            HoverTarget::KeyFrame(record) => record.timestamp,
            HoverTarget::At(t) => t,
        };
        w.hover
            .label
            .set_label(&localtime::format_with_millis(shown_time));
        let Some(thumbs) = &self.hover_thumbs else { return };
        match thumbs.request_target(target) {
            Ok(thumb) => self.show_hover(w, &thumb, asked),
            Err(generation) => self.hover.generation = Some(generation),
        }
    }

    /// A thumbnail finished decoding: shown if it is still the one wanted.
    pub(super) fn on_hover_ready(&mut self, w: &PlayerWidgets, r: HoverResult) {
        if self.hover.generation != Some(r.generation) {
            return;
        }
        self.hover.generation = None;
        match r.thumbnail {
            Ok(thumb) => {
                let asked = self.hover.wanted.map_or(r.asked, |(_, t)| t);
                self.show_hover(w, &thumb, asked);
            }
            Err(e) => {
                tracing::debug!(error = %e, "hover thumbnail failed");
                w.hover.picture.set_paintable(gtk::gdk::Paintable::NONE);
            }
        }
    }

    fn show_hover(&mut self, w: &PlayerWidgets, thumb: &Thumbnail, asked: Instant) {
        w.hover.picture.set_paintable(Some(&thumb.texture()));
        w.hover
            .label
            .set_label(&localtime::format_with_millis(thumb.time));
        self.hover.shown = Some((thumb.time, asked.elapsed().as_millis() as u64));
    }

    /// What the status report says of the hover.
    pub(super) fn hover_report(&self) -> Option<HoverReport> {
        let pointer = self.hover.pointer?;
        Some(HoverReport {
            pointer_ns: pointer.nanos(),
            key_frame_ns: match self.hover.wanted {
                Some((HoverTarget::KeyFrame(r), _)) => r.timestamp.nanos(),
                // Found by the worker: the image shown is that key frame.
                Some((HoverTarget::At(_), _)) => self.hover.shown.map_or(0, |(t, _)| t.nanos()),
                None => 0,
            },
            shown_ns: self.hover.shown.map_or(0, |(t, _)| t.nanos()),
            latency_ms: self.hover.shown.map_or(0, |(_, ms)| ms),
        })
    }
}
