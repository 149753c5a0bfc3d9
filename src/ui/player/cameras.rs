//! A synchronized review's cameras: one cell per camera in a grid, each with its picture, its name, the time of
//! its frame, and — when it has no footage at the instant shown — "No recording at this time" with the nearest
//! recorded times before and after as buttons. A camera that failed keeps its cell with the error while the
//! others play on.

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use gettextrs::gettext;
use hindsight_store::{StreamName, Timeline, Timestamp};
use relm4::adw::prelude::*;
use relm4::{gtk, ComponentSender};

use super::{video, PlayerMsg, PlayerPage};
use crate::engine::player::ShownFrame;
use crate::ui::localtime;

/// A camera of the review: its stream, and its error once it failed.
#[derive(Debug, Clone)]
pub struct Slot {
    /// The stream.
    pub stream: StreamName,
    /// Why it stopped, if it did; a failed camera is left out of the pipeline.
    pub error: Option<String>,
}

/// What a camera's cell says about the instant shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Coverage {
    /// Its frame at the instant is shown.
    Recorded,
    /// It has no footage at the instant.
    Absent {
        /// The end of its footage before the instant.
        before: Option<Timestamp>,
        /// The start of its footage after it.
        after: Option<Timestamp>,
    },
}

/// A frame shown longer than this past its own duration means the camera recorded nothing since: a gap, or
/// the end of its footage. (Frames arrive a little late under load; a real gap is longer.)
const SLACK: Duration = Duration::from_millis(800);

/// Whether `shown` is the camera's frame at `instant`: it started at or before it (give or take a frame: a
/// prerolled frame after a seek is exactly at it) and lasts until it.
pub fn coverage(shown: Option<ShownFrame>, instant: Timestamp, timeline: &Timeline) -> Coverage {
    let recorded = shown.is_some_and(|f| {
        let d = f.duration_or_default();
        f.time <= instant.saturating_add(d) && instant <= f.time.saturating_add(d + SLACK)
    });
    if recorded {
        Coverage::Recorded
    } else {
        Coverage::Absent {
            before: timeline.previous_range(instant).map(|r| r.end.min(instant)),
            after: timeline.next_range(instant).map(|r| r.start),
        }
    }
}

/// Columns and rows of the grid for `n` cameras: 1, 2×1, 2×2, 3×2, 3×3.
pub fn grid_shape(n: usize) -> (usize, usize) {
    let cols = (1..=3).find(|c| c * c >= n).unwrap_or(3);
    (cols, n.div_ceil(cols).max(1))
}

/// One camera's cell.
pub struct CameraCell {
    /// The cell, for the grid.
    pub root: gtk::Overlay,
    /// Where the camera's frames go.
    pub picture: gtk::Picture,
    time: gtk::Label,
    absent: gtk::Box,
    before: gtk::Button,
    after: gtk::Button,
    error: gtk::Label,
    /// The times the buttons go to.
    targets: Rc<Cell<(Option<Timestamp>, Option<Timestamp>)>>,
}

impl CameraCell {
    /// A cell for slot `index` showing `slot`.
    pub fn new(index: usize, slot: &Slot, sender: &ComponentSender<PlayerPage>) -> Self {
        let picture = video::picture();
        let (start, end) = (gtk::Align::Start, gtk::Align::End);
        let name = video::osd_label("osd-label", Some(&slot.stream.to_string()), start, end);
        name.set_visible(true);
        let time = video::osd_label("osd-label", None, end, end);
        let remove = gtk::Button::from_icon_name("window-close-symbolic");
        remove.set_tooltip_text(Some(&gettext("Remove this camera")));
        remove.add_css_class("osd");
        remove.add_css_class("circular");
        remove.set_halign(end);
        remove.set_valign(start);
        remove.set_margin_top(8);
        remove.set_margin_end(8);
        let s = sender.clone();
        remove.connect_clicked(move |_| s.input(PlayerMsg::RemoveCamera(index)));

        let targets = Rc::new(Cell::new((None, None)));
        let label = gtk::Label::new(Some(&gettext("No recording at this time")));
        label.add_css_class("title-4");
        let before = gtk::Button::new();
        let after = gtk::Button::new();
        for (button, earlier) in [(&before, true), (&after, false)] {
            button.add_css_class("pill");
            let (s, targets) = (sender.clone(), targets.clone());
            button.connect_clicked(move |_| {
                let (b, a) = targets.get();
                if let Some(t) = if earlier { b } else { a } {
                    s.input(PlayerMsg::SeekTo(t));
                }
            });
        }
        let buttons = gtk::Box::new(gtk::Orientation::Horizontal, 8);
        buttons.set_halign(gtk::Align::Center);
        buttons.append(&before);
        buttons.append(&after);
        let absent = gtk::Box::new(gtk::Orientation::Vertical, 8);
        absent.set_halign(gtk::Align::Center);
        absent.set_valign(gtk::Align::Center);
        absent.add_css_class("osd-label");
        absent.add_css_class("camera-absent");
        absent.append(&label);
        absent.append(&buttons);
        absent.set_visible(false);
        let error = gtk::Label::builder()
            .wrap(true)
            .justify(gtk::Justification::Center)
            .halign(gtk::Align::Center)
            .valign(gtk::Align::Center)
            .visible(false)
            .build();
        error.add_css_class("osd-label");

        let root = video::overlay(&picture, &[&name, &time]);
        root.add_overlay(&absent);
        root.add_overlay(&error);
        root.add_overlay(&remove);
        root.add_css_class("camera-cell");
        let cell = CameraCell {
            root,
            picture,
            time,
            absent,
            before,
            after,
            error,
            targets,
        };
        if let Some(e) = &slot.error {
            cell.show_error(e);
        }
        cell
    }

    /// The camera failed: its error instead of its picture.
    pub fn show_error(&self, message: &str) {
        self.picture.set_paintable(gtk::gdk::Paintable::NONE);
        self.absent.set_visible(false);
        self.time.set_visible(false);
        self.error.set_label(message);
        self.error.set_visible(true);
    }

    /// Shows the time of the camera's frame, or that it has none at the instant.
    pub fn update(&self, shown: Option<ShownFrame>, coverage: Coverage) {
        match coverage {
            Coverage::Recorded => {
                self.absent.set_visible(false);
                self.picture.set_opacity(1.0);
            }
            Coverage::Absent { before, after } => {
                self.targets.set((before, after));
                // A frame from before or after is not what the camera saw at this instant.
                self.picture.set_opacity(0.0);
                for (button, t, arrow) in [(&self.before, before, "◀ "), (&self.after, after, "")] {
                    button.set_visible(t.is_some());
                    if let Some(t) = t {
                        let text = localtime::format(t);
                        button.set_label(&if arrow.is_empty() {
                            format!("{text} ▶")
                        } else {
                            format!("{arrow}{text}")
                        });
                    }
                }
                self.absent.set_visible(true);
            }
        }
        let recorded = coverage == Coverage::Recorded;
        self.time.set_visible(recorded && shown.is_some());
        if let (true, Some(f)) = (recorded, shown) {
            self.time.set_label(&localtime::format_precise(f.time));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hindsight_store::{Flags, IndexRecord, DEFAULT_RANGE_GAP};

    const SEC: u64 = 1_000_000_000;

    fn at(s: u64) -> Timestamp {
        Timestamp::from_nanos(1_000 * SEC + s * SEC / 10)
    }

    fn frame(tenths: u64) -> Option<ShownFrame> {
        Some(ShownFrame {
            time: at(tenths),
            duration: Some(Duration::from_millis(100)),
        })
    }

    /// Key frames every second from `a` to `b` tenths, and again from `c` to `d`.
    fn timeline(a: u64, b: u64, c: u64, d: u64) -> Timeline {
        let records: Vec<IndexRecord> = (a..=b)
            .step_by(10)
            .chain((c..=d).step_by(10))
            .enumerate()
            .map(|(i, t)| IndexRecord {
                flags: Flags::new(false, true, false),
                timestamp: at(t),
                offset: i as u64 * 1000,
            })
            .collect();
        Timeline::from_records(0, &records, DEFAULT_RANGE_GAP)
    }

    #[test]
    fn a_camera_shows_footage_only_where_it_recorded() {
        let tl = timeline(0, 100, 900, 1000);
        assert_eq!(
            coverage(frame(50), at(50), &tl),
            Coverage::Recorded,
            "its frame at the instant"
        );
        assert_eq!(
            coverage(frame(50), at(51), &tl),
            Coverage::Recorded,
            "still the frame's time"
        );
        // In the gap: the last frame before it is seconds old; the buttons go to either side of the gap.
        assert_eq!(
            coverage(frame(100), at(500), &tl),
            Coverage::Absent {
                before: Some(at(100)),
                after: Some(at(900))
            }
        );
        // Before its first frame (it started later): the prerolled frame is in the future.
        let late = timeline(300, 400, 300, 400);
        assert_eq!(
            coverage(frame(300), at(100), &late),
            Coverage::Absent {
                before: None,
                after: Some(at(300))
            }
        );
        assert_eq!(
            coverage(None, at(1100), &tl),
            Coverage::Absent {
                before: Some(at(1000)),
                after: None
            },
            "after its last frame, nothing shown yet"
        );
    }

    #[test]
    fn cameras_fill_a_square_grid() {
        let shapes: Vec<(usize, usize)> = (1..=9).map(grid_shape).collect();
        assert_eq!(
            shapes,
            [
                (1, 1),
                (2, 1),
                (2, 2),
                (2, 2),
                (3, 2),
                (3, 2),
                (3, 3),
                (3, 3),
                (3, 3)
            ]
        );
    }
}
