//! One wall tile: a camera at its live edge over an engine [`Player`], with the camera's name, the local time
//! of the frame shown and its state over the picture. The state comes from [`TileFacts`] the engine keeps (the
//! newest frame on screen, the store's writer and seal); the tile only shows it. A click enlarges the tile
//! within the wall, a double click opens the camera in the player; tiles are dragged onto each other to reorder.

use std::sync::Arc;
use std::time::Instant;

use gettextrs::gettext;
use hindsight_store::{Backend, StreamName, Timestamp};
use relm4::adw::prelude::*;
use relm4::{gtk, Component, ComponentParts, ComponentSender};

use crate::engine::player::{Player, PlayerEvent, StartAt};
use crate::engine::store_watch::StreamFacts;
use crate::engine::tile::{DecodeMode, DecodePolicy, TileFacts, TileState};
use crate::human;
use crate::ui::i18n::i18n_f;
use crate::ui::localtime;
use crate::ui::player::video;

/// What a tile starts with.
pub struct TileInit {
    /// Position on the wall.
    pub index: usize,
    /// The store.
    pub store: Arc<dyn Backend>,
    /// The camera.
    pub stream: StreamName,
}

/// Input of a tile.
#[derive(Debug)]
pub enum TileMsg {
    /// Refresh from the store's facts; `enlarged` tiles decode every frame.
    Tick {
        /// What the store said about the stream.
        store: StreamFacts,
        /// The tile fills the wall now.
        enlarged: bool,
    },
    /// An event of the tile's player.
    Engine(PlayerEvent),
    /// Pressed with the pointer (`n` presses in a row).
    Pressed(i32),
    /// The double-click time after a single press passed (the press numbered so) without a second one.
    SingleClick(u64),
    /// Another tile (this stream) was dropped here.
    Dropped(String),
    /// A drag of this tile began: the press that started it was not a click.
    DragBegan,
}

/// What a tile asks of its wall.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TileOutput {
    /// Clicked: enlarge (or back from enlarged).
    Clicked(usize),
    /// Double-clicked: open the camera in the player at this time.
    Open(StreamName, Option<Timestamp>),
    /// The tile of `stream` was dropped on the tile at `to`: move it there.
    Move {
        /// The dragged tile's stream.
        stream: String,
        /// Where it was dropped.
        to: usize,
    },
}

/// What the tile shows now, for the wall's status report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TileStatus {
    /// SCOPE/STREAM.
    pub stream: String,
    /// The state.
    pub state: TileState,
    /// Stored time of the frame on screen.
    pub position: Option<Timestamp>,
    /// Frames shown so far.
    pub frames: u64,
    /// Key frames only.
    pub key_frames_only: bool,
}

/// The tile's state.
pub struct TileView {
    index: usize,
    stream: StreamName,
    player: Option<Player>,
    facts: TileFacts,
    policy: DecodePolicy,
    status: TileStatus,
    /// Presses so far, to tell a single click from the first press of a double click.
    presses: u64,
    /// The largest picture the player decodes into: the tile's size on screen.
    max_size: Option<(i32, i32)>,
}

/// The widgets a tile updates.
pub struct TileWidgets {
    picture: gtk::Picture,
    name: gtk::Label,
    time: gtk::Label,
    state: gtk::Label,
    key_badge: gtk::Label,
}

impl Component for TileView {
    type Init = TileInit;
    type Input = TileMsg;
    type Output = TileOutput;
    type CommandOutput = ();
    type Root = gtk::Overlay;
    type Widgets = TileWidgets;

    fn init_root() -> gtk::Overlay {
        let root = gtk::Overlay::new();
        root.add_css_class("wall-tile");
        root.set_hexpand(true);
        root.set_vexpand(true);
        // Small tiles must be able to shrink below the video's natural size.
        root.set_size_request(32, 24);
        root
    }

    fn init(init: TileInit, root: gtk::Overlay, sender: ComponentSender<Self>) -> ComponentParts<Self> {
        use gtk::Align::{End, Start};
        let picture = video::picture();
        picture.set_can_shrink(true);
        let name = video::osd_label("osd-label", Some(&init.stream.to_string()), Start, Start);
        name.set_visible(true);
        let time = video::osd_label("osd-label", None, Start, End);
        let state = video::osd_label("osd-label", None, End, Start);
        let key_badge = video::osd_label("osd-label", Some(&gettext("key frames")), End, End);
        for label in [&name, &time, &state, &key_badge] {
            // Sixteen tiles in a window leave little room: small type and margins.
            label.add_css_class("tile-label");
            for set in [gtk::Widget::set_margin_start, gtk::Widget::set_margin_end] {
                set(label.upcast_ref(), 6);
            }
            label.set_margin_top(6);
            label.set_margin_bottom(6);
        }
        key_badge.set_tooltip_text(Some(&gettext(
            "Only key frames are decoded (about one image per GOP): the tile is small or the computer is busy",
        )));
        root.set_child(Some(&picture));
        for label in [&name, &time, &state, &key_badge] {
            root.add_overlay(label);
        }
        connect_gestures(&root, &sender, &init.stream);
        let events = sender.input_sender().clone();
        let player = Player::new(init.store, &init.stream, StartAt::Live, move |e| {
            events.emit(TileMsg::Engine(e))
        });
        let mut facts = TileFacts {
            started: Some(Instant::now()),
            ..TileFacts::default()
        };
        let player = match player {
            Ok(p) => {
                picture.set_paintable(Some(p.paintable()));
                p.play();
                Some(p)
            }
            Err(e) => {
                facts.error = Some(format!("{e:#}"));
                None
            }
        };
        let model = TileView {
            index: init.index,
            status: TileStatus {
                stream: init.stream.to_string(),
                state: TileState::Starting,
                position: None,
                frames: 0,
                key_frames_only: false,
            },
            stream: init.stream,
            player,
            facts,
            policy: DecodePolicy::default(),
            presses: 0,
            max_size: None,
        };
        let widgets = TileWidgets {
            picture,
            name,
            time,
            state,
            key_badge,
        };
        ComponentParts { model, widgets }
    }

    fn update_with_view(
        &mut self,
        w: &mut TileWidgets,
        msg: TileMsg,
        sender: ComponentSender<Self>,
        root: &gtk::Overlay,
    ) {
        match msg {
            TileMsg::Pressed(1) => {
                // A single click waits out the double-click time: enlarging at once would move the tile away
                // from under a second click that meant "open".
                self.presses += 1;
                let (press, input) = (self.presses, sender.input_sender().clone());
                let wait = gtk::Settings::default().map_or(400, |s| s.gtk_double_click_time().max(100));
                gtk::glib::timeout_add_local_once(std::time::Duration::from_millis(wait as u64), move || {
                    input.emit(TileMsg::SingleClick(press))
                });
            }
            TileMsg::SingleClick(press) if press == self.presses => {
                let _ = sender.output(TileOutput::Clicked(self.index));
            }
            TileMsg::SingleClick(_) => {}
            TileMsg::Pressed(_) => {
                self.presses += 1;
                let _ = sender.output(TileOutput::Open(self.stream.clone(), self.facts.last_frame));
            }
            TileMsg::Dropped(stream) if stream != self.stream.to_string() => {
                let _ = sender.output(TileOutput::Move {
                    stream,
                    to: self.index,
                });
            }
            TileMsg::Dropped(_) => {}
            TileMsg::DragBegan => {
                // The pending single click (if any) no longer counts.
                self.presses += 1;
            }
            TileMsg::Engine(PlayerEvent::Error { message, detail }) => {
                tracing::warn!(stream = %self.stream, %message, %detail, "wall tile failed");
                self.facts.error = Some(message);
                // The other tiles keep playing; this one lets its stream go.
                self.player = None;
                w.picture.set_paintable(gtk::gdk::Paintable::NONE);
            }
            TileMsg::Engine(PlayerEvent::Ended) => self.facts.ended = true,
            TileMsg::Engine(_) => {}
            TileMsg::Tick { store, enlarged } => self.tick(w, root, store, enlarged),
        }
    }
}

impl TileView {
    /// What the tile shows now.
    pub fn status(&self) -> &TileStatus {
        &self.status
    }

    fn tick(&mut self, w: &TileWidgets, root: &gtk::Overlay, store: StreamFacts, enlarged: bool) {
        self.facts.writer_active = store.writer_active;
        self.facts.sealed = store.sealed;
        let gone = if store.missing {
            Some(gettext("The stream was deleted"))
        } else if store.emptied {
            Some(gettext("All footage of this stream was deleted"))
        } else {
            None
        };
        if let Some(gone) = gone.filter(|g| self.facts.error.as_ref() != Some(g)) {
            // Said plainly, also when the pipeline failed first with a reading error.
            self.facts.error = Some(gone);
            self.player = None;
            w.picture.set_paintable(gtk::gdk::Paintable::NONE);
        }
        if let Some(player) = &self.player {
            let stats = player.frame_stats();
            self.facts.last_frame = stats.last_time();
            self.facts.last_arrival = stats.last_arrival();
            self.status.frames = stats.frames();
        }
        let now = Instant::now();
        let state = self.facts.state(now, Timestamp::now());
        let mode = self.policy.update(root.width(), enlarged, &state, now);
        if let Some(player) = &self.player {
            if player.is_key_frames_only() != mode.key_frames_only() {
                player.set_key_frames_only(mode.key_frames_only());
            }
            let scale = root.scale_factor().max(1);
            let size = (root.width() * scale, root.height() * scale);
            if size.0 > 0 && size.1 > 0 && resized(self.max_size, size) {
                // Decode into what the tile shows: converting and painting full frames into a small tile
                // costs the wall most of its time.
                player.set_max_size(Some(size));
                self.max_size = Some(size);
            }
        }
        w.key_badge
            .set_visible(mode != DecodeMode::Full && self.player.is_some());
        w.time.set_visible(self.facts.last_frame.is_some());
        if let Some(t) = self.facts.last_frame {
            // The time of day fits a small tile; the date is in the tooltip.
            let full = localtime::format(t);
            w.time
                .set_label(full.split_once(' ').map_or(full.as_str(), |(_, time)| time));
            w.time.set_tooltip_text(Some(&full));
        }
        show_state(&w.state, &state);
        w.name.set_tooltip_text(match &state {
            TileState::Error(e) => Some(e.as_str()),
            _ => None,
        });
        self.status.state = state;
        self.status.position = self.facts.last_frame;
        self.status.key_frames_only = mode.key_frames_only();
    }
}

/// True when a tile's size changed enough (a tenth) to decode at another size.
fn resized(old: Option<(i32, i32)>, new: (i32, i32)) -> bool {
    match old {
        None => true,
        Some((w, h)) => (new.0 - w).abs() * 10 > w.max(1) || (new.1 - h).abs() * 10 > h.max(1),
    }
}

/// The state badge: red LIVE, or what is wrong in words.
fn show_state(label: &gtk::Label, state: &TileState) {
    let text = match state {
        TileState::Starting => gettext("Connecting…"),
        TileState::Live => gettext("LIVE"),
        // Translators: {} is a duration such as "3 s" or "2 min".
        TileState::Behind(d) => i18n_f("Behind by {}", &[&human::duration(*d)]),
        // Translators: {} is a duration such as "3 s" or "2 min".
        TileState::Stalled(d) => i18n_f("No new frames for {}", &[&human::duration(*d)]),
        // Translators: {} is a date and time.
        TileState::WriterStopped(Some(t)) => i18n_f("Stopped; last frame {}", &[&localtime::format(*t)]),
        TileState::WriterStopped(None) => gettext("Not being recorded"),
        TileState::Ended => gettext("Ended"),
        TileState::Error(_) => gettext("Error"),
    };
    label.set_label(&text);
    label.set_tooltip_text(match state {
        TileState::Error(e) => Some(e.as_str()),
        _ => None,
    });
    let live = *state == TileState::Live;
    label.set_css_classes(if live { &["live-badge"] } else { &["osd-label"] });
    if matches!(state, TileState::Error(_) | TileState::Stalled(_)) {
        label.add_css_class("tile-warning");
    }
    label.set_visible(true);
}

/// Click to enlarge, double-click to open in the player, drag onto another tile to move it there.
fn connect_gestures(root: &gtk::Overlay, sender: &ComponentSender<TileView>, stream: &StreamName) {
    let click = gtk::GestureClick::new();
    let s = sender.clone();
    click.connect_pressed(move |_, n, _, _| s.input(TileMsg::Pressed(n)));
    root.add_controller(click);

    let drag = gtk::DragSource::new();
    drag.set_actions(gtk::gdk::DragAction::MOVE);
    let name = stream.to_string();
    drag.connect_prepare(move |_, _, _| Some(gtk::gdk::ContentProvider::for_value(&name.to_value())));
    let s = sender.clone();
    drag.connect_drag_begin(move |_, _| s.input(TileMsg::DragBegan));
    root.add_controller(drag);

    let drop = gtk::DropTarget::new(gtk::glib::Type::STRING, gtk::gdk::DragAction::MOVE);
    let s = sender.clone();
    drop.connect_drop(move |_, value, _, _| match value.get::<String>() {
        Ok(text) => {
            s.input(TileMsg::Dropped(text));
            true
        }
        Err(_) => false,
    });
    root.add_controller(drop);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiles_decode_anew_only_when_their_size_changed_by_a_tenth() {
        assert!(resized(None, (320, 180)));
        assert!(!resized(Some((320, 180)), (330, 185)));
        assert!(resized(Some((320, 180)), (640, 360)));
        assert!(resized(Some((320, 180)), (320, 100)));
    }
}
