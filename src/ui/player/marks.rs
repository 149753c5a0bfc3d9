//! Bookmarks, holds and retention in the player: the bookmark list beside the timeline (B adds one at the
//! playhead, named in the same popover), bookmarks, held ranges and the footage retention deletes within the
//! hour drawn over the timeline, and the playhead that never silently falls off deleted footage: when what was
//! being watched is deleted, the player goes to the new head and says so.
//!
//! Marks are kept beside the stream ([`hindsight_store::marks`]), so every client of the store sees the same;
//! they are read with the index in the background and changed by background commands.

use std::time::Duration;

use gettextrs::gettext;
use hindsight_store::marks::{self, Marks};
use hindsight_store::{retention, Timestamp};
use relm4::adw::prelude::*;
use relm4::{gtk, ComponentSender};

use super::{PlayerCmd, PlayerMsg, PlayerPage, PlayerWidgets};
use crate::ui::i18n::i18n_f;
use crate::ui::localtime;
use crate::ui::status_report::MarksReport;
use crate::ui::timeline::{Lane, LaneMarks};

/// Footage deleted within this long is shaded on the timeline.
const DUE_WITHIN: Duration = Duration::from_secs(3600);

/// The bookmark button beside the timeline: a popover naming a new bookmark above the list of all of them.
pub struct BookmarkWidgets {
    /// The button.
    pub button: gtk::MenuButton,
    /// Its popover.
    pub popover: gtk::Popover,
    /// The new bookmark's name.
    pub entry: gtk::Entry,
    /// One row per bookmark.
    pub list: gtk::ListBox,
}

/// Builds the bookmark button and its popover.
pub fn bookmark_widgets(sender: &ComponentSender<PlayerPage>) -> BookmarkWidgets {
    let entry = gtk::Entry::builder()
        .placeholder_text(gettext("Name of the bookmark"))
        .width_chars(24)
        .build();
    let s = sender.clone();
    entry.connect_activate(move |e| s.input(PlayerMsg::AddBookmark(e.text().to_string())));
    let add = gtk::Button::with_label(&gettext("Add"));
    add.add_css_class("suggested-action");
    let (s, e) = (sender.clone(), entry.clone());
    add.connect_clicked(move |_| s.input(PlayerMsg::AddBookmark(e.text().to_string())));
    let new_row = gtk::Box::new(gtk::Orientation::Horizontal, 6);
    new_row.append(&entry);
    new_row.append(&add);
    let list = gtk::ListBox::builder()
        .selection_mode(gtk::SelectionMode::None)
        .build();
    list.add_css_class("boxed-list");
    let scrolled = gtk::ScrolledWindow::builder()
        .hscrollbar_policy(gtk::PolicyType::Never)
        .propagate_natural_height(true)
        .max_content_height(320)
        .child(&list)
        .build();
    let body = gtk::Box::new(gtk::Orientation::Vertical, 8);
    body.append(&gtk::Label::new(Some(&gettext("Bookmark the frame on screen"))));
    body.append(&new_row);
    body.append(&scrolled);
    // Above the button: the controls sit at the bottom of the window.
    let popover = gtk::Popover::builder()
        .child(&body)
        .position(gtk::PositionType::Top)
        .build();
    let button = gtk::MenuButton::builder()
        .icon_name("user-bookmarks-symbolic")
        .tooltip_text(gettext("Bookmarks (B adds one)"))
        .popover(&popover)
        .build();
    button.add_css_class("flat");
    BookmarkWidgets {
        button,
        popover,
        entry,
        list,
    }
}

/// One bookmark's row: its time and name (click to go there) and a remove button.
fn bookmark_row(b: &marks::Bookmark, sender: &ComponentSender<PlayerPage>) -> gtk::ListBoxRow {
    let go = gtk::Button::builder()
        .hexpand(true)
        .tooltip_text(gettext("Go to this bookmark"))
        .build();
    go.add_css_class("flat");
    let label = gtk::Box::new(gtk::Orientation::Vertical, 0);
    let name = gtk::Label::builder()
        .label(&b.name)
        .xalign(0.0)
        .ellipsize(gtk::pango::EllipsizeMode::End)
        .max_width_chars(32)
        .build();
    let time = gtk::Label::builder()
        .label(localtime::format(b.at))
        .xalign(0.0)
        .build();
    time.add_css_class("dim-label");
    time.add_css_class("numeric");
    label.append(&name);
    label.append(&time);
    go.set_child(Some(&label));
    let (s, at) = (sender.clone(), b.at);
    go.connect_clicked(move |_| s.input(PlayerMsg::GoToBookmark(at)));
    let remove = gtk::Button::from_icon_name("user-trash-symbolic");
    remove.add_css_class("flat");
    remove.set_valign(gtk::Align::Center);
    remove.set_tooltip_text(Some(&gettext("Remove this bookmark")));
    let (s, id) = (sender.clone(), b.id.clone());
    remove.connect_clicked(move |_| s.input(PlayerMsg::RemoveBookmark(id.clone())));
    let row_box = gtk::Box::new(gtk::Orientation::Horizontal, 4);
    row_box.append(&go);
    row_box.append(&remove);
    gtk::ListBoxRow::builder()
        .child(&row_box)
        .activatable(false)
        .build()
}

impl PlayerPage {
    /// B: the bookmark popover, with a name for the frame on screen ready to be changed or taken.
    pub(super) fn show_bookmarks(&self, w: &PlayerWidgets) {
        let Some(at) = self.player.as_ref().and_then(|p| p.position()) else {
            return;
        };
        let time = localtime::format(at);
        // Translators: {} is a date and time.
        w.bookmarks.entry.set_text(&i18n_f("Bookmark at {}", &[&time]));
        w.bookmarks.popover.popup();
        w.bookmarks.entry.grab_focus();
        w.bookmarks.entry.select_region(0, -1);
    }

    /// Adds a bookmark named `name` at the frame on screen, in the background.
    pub(super) fn add_bookmark(&mut self, w: &PlayerWidgets, name: String, sender: &ComponentSender<Self>) {
        let (Some(store), Some(stream), Some(at)) = (
            self.store.clone(),
            self.stream.clone(),
            self.player.as_ref().and_then(|p| p.position()),
        ) else {
            return;
        };
        w.bookmarks.popover.popdown();
        sender.spawn_oneshot_command(move || {
            PlayerCmd::Marked(
                marks::add_bookmark(store.as_ref(), &stream, at, &name)
                    .map(|b| i18n_f("Bookmark “{}” added", &[&b.name]))
                    .map_err(|e| e.to_string()),
            )
        });
    }

    /// Removes the bookmark `id`, in the background.
    pub(super) fn remove_bookmark(&mut self, id: String, sender: &ComponentSender<Self>) {
        let (Some(store), Some(stream)) = (self.store.clone(), self.stream.clone()) else {
            return;
        };
        sender.spawn_oneshot_command(move || {
            PlayerCmd::Marked(
                marks::remove_bookmark(store.as_ref(), &stream, &id)
                    .map(|_| gettext("Bookmark removed"))
                    .map_err(|e| e.to_string()),
            )
        });
    }

    /// A bookmark change finished: say so and show it.
    pub(super) fn on_marked(&mut self, result: Result<String, String>, sender: &ComponentSender<Self>) {
        match result {
            Ok(text) => self.toast(sender, text),
            Err(e) => self.toast(sender, i18n_f("The bookmark could not be saved: {}", &[&e])),
        }
        self.reload_index(sender);
    }

    /// `]` and `[`: the next bookmark after the frame on screen, or the one before it.
    pub(super) fn jump_bookmark(&self, w: &PlayerWidgets, forward: bool, sender: &ComponentSender<Self>) {
        let Some(pos) = self.player.as_ref().and_then(|p| p.position()) else {
            return;
        };
        // Half a second of slack, so that a bookmark just gone to is not the next one again.
        let slack = Duration::from_millis(500);
        let target = if forward {
            self.marks
                .bookmarks
                .iter()
                .find(|b| b.at > pos.saturating_add(slack))
        } else {
            self.marks
                .bookmarks
                .iter()
                .rev()
                .find(|b| b.at.saturating_add(slack) < pos)
        };
        match target {
            Some(b) => {
                self.go_to_bookmark(w, b.at);
                self.toast(sender, b.name.clone());
            }
            None => self.toast(sender, gettext("No more bookmarks in that direction")),
        }
    }

    /// Goes exactly to a bookmark's frame.
    pub(super) fn go_to_bookmark(&self, w: &PlayerWidgets, at: Timestamp) {
        if let Some(player) = &self.player {
            player.seek_accurate(at);
            w.timeline.set_playhead(Some(at));
        }
        w.bookmarks.popover.popdown();
    }

    /// The first camera's marks were read with its index: draw them, list the bookmarks, and catch the
    /// playhead if retention or truncation deleted what it was on.
    pub(super) fn on_marks(
        &mut self,
        w: &PlayerWidgets,
        m: Marks,
        size: u64,
        sender: &ComponentSender<Self>,
    ) {
        let due = m
            .retention
            .and_then(|policy| {
                w.timeline.with_first_lane(|lane| {
                    retention::due_within(
                        policy,
                        &lane.retention_records(),
                        size,
                        Timestamp::now(),
                        DUE_WITHIN,
                        m.protected_from(),
                    )
                })
            })
            .flatten();
        w.timeline.set_marks(LaneMarks {
            bookmarks: m.bookmarks.iter().map(|b| (b.at, b.name.clone())).collect(),
            holds: m.holds.iter().map(|h| (h.from, h.to)).collect(),
            due,
        });
        if self.marks.bookmarks != m.bookmarks {
            while let Some(row) = w.bookmarks.list.row_at_index(0) {
                w.bookmarks.list.remove(&row);
            }
            for b in &m.bookmarks {
                w.bookmarks.list.append(&bookmark_row(b, sender));
            }
        }
        let head = w.timeline.with_first_lane(Lane::head).flatten();
        self.marks = m;
        self.due = due;
        let deleted_under_playhead = match (self.head, head, self.watched) {
            (Some(old), Some(new), Some(watched)) => new > old && watched < new,
            _ => false,
        };
        self.head = head;
        if let (true, Some(new)) = (deleted_under_playhead, head) {
            self.fell_off += 1;
            if let Some(player) = &self.player {
                if player.position().is_none_or(|p| p < new) {
                    player.seek(new);
                }
            }
            w.timeline.set_playhead(Some(new));
            self.toast(
                sender,
                // Translators: {} is a date and time.
                i18n_f(
                    "The footage being watched was deleted; playing from the oldest kept, {}",
                    &[&localtime::format(new)],
                ),
            );
        }
    }

    /// What the status report says of the marks.
    pub(super) fn marks_report(&self) -> MarksReport {
        MarksReport {
            bookmarks: self
                .marks
                .bookmarks
                .iter()
                .map(|b| (b.name.clone(), b.at.nanos()))
                .collect(),
            holds: self
                .marks
                .holds
                .iter()
                .map(|h| [h.from.nanos(), h.to.nanos()])
                .collect(),
            due: self.due.map(|(a, b)| [a.nanos(), b.nanos()]),
            deleted_under_playhead: self.fell_off,
        }
    }
}
