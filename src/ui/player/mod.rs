//! The player: the video, the timeline, transport controls, the live edge, go-to-time and clip export, as one
//! relm4 component over one engine [`Player`]. The main window shows one; a wall tile or a second synchronized
//! player is built from the same parts.
//!
//! The component never touches elements or the store on the main thread: the engine's events arrive as
//! [`PlayerMsg::Engine`] input, index reads and exports run as commands. A 100 ms tick moves the playhead and
//! the LIVE/behind state ([`live`]); a 2 s tick re-reads the index so the timeline grows with a recording and
//! follows truncation. Files: [`widgets`] (construction), [`transport`] (play, seek, speed, step, go-to),
//! [`export`] (clip marks, save dialog, export job), [`live`] (tick, live state, index, status report),
//! [`review`] (cameras added for a synchronized review) with [`cameras`] (their cells).

mod cameras;
mod case_export;
mod export;
mod hover;
mod live;
mod marks;
mod messages;
mod review;
mod sound;
mod transport;
pub mod video;
mod widgets;

use std::sync::Arc;
use std::time::Duration;

use gettextrs::gettext;
use hindsight_store::{Backend, StreamName, Timestamp};
use relm4::adw::prelude::*;
use relm4::{gtk, Component, ComponentParts, ComponentSender};

use crate::engine::player::{Player, PlayerEvent, StartAt};
use crate::ui::timeline_model::{ClipSelection, ScrubThrottle};

pub use messages::{OpenRequest, PlayerCmd, PlayerMsg, PlayerOutput};
pub use widgets::PlayerWidgets;

/// The speeds offered, slowest first.
pub const SPEEDS: [f64; 5] = [0.25, 0.5, 1.0, 2.0, 4.0];
/// Index of 1× in [`SPEEDS`].
const NORMAL_SPEED_INDEX: u32 = 2;
/// Seconds skipped by the back/forward buttons and the arrow keys.
pub const SEEK_STEP_SECS: f64 = 10.0;
/// Seeks while dragging on the timeline are at most this frequent: 16 key frames a second.
const SCRUB_INTERVAL: Duration = Duration::from_millis(60);
/// The playhead and live state refresh this often.
const TICK: Duration = Duration::from_millis(100);
/// The index is re-read this often (the timeline grows with a recording).
const INDEX_REFRESH: Duration = Duration::from_secs(2);

/// The player's state.
pub struct PlayerPage {
    store: Option<Arc<dyn Backend>>,
    /// The first camera's stream (the only one outside a synchronized review).
    stream: Option<StreamName>,
    /// Every camera shown, the first camera first; more than one is a synchronized review.
    slots: Vec<cameras::Slot>,
    /// The cells of a synchronized review, one per slot.
    cells: Vec<cameras::CameraCell>,
    /// For each camera of the player, its slot (failed cameras are left out of the player).
    active: Vec<usize>,
    player: Option<Player>,
    throttle: ScrubThrottle,
    /// The stream is being written (from the last index read).
    recording: bool,
    loading_index: bool,
    /// Bumped at every open, so events and index reads of a stream closed since are ignored.
    generation: u64,
    /// Go to the live edge once the first frame is up (open with `StartAt::Live`).
    live_when_ready: bool,
    export: Option<export::ExportJob>,
    /// The open save dialog: a native dialog lives only as long as someone holds it.
    save_dialog: Option<gtk::FileChooserNative>,
    /// The error shown, for the status report.
    error: Option<String>,
    /// Where the volume is kept.
    settings: crate::settings::Settings,
    /// Volume and mute, as the user set them.
    sound: crate::engine::player::SoundSettings,
    /// The first camera's bookmarks, holds and retention policy, from the last index read.
    marks: hindsight_store::marks::Marks,
    /// What retention deletes within the hour, as shaded.
    due: Option<(Timestamp, Timestamp)>,
    /// The first camera's head at the last index read.
    head: Option<Timestamp>,
    /// The frame on screen at the last tick.
    watched: Option<Timestamp>,
    /// Times the footage being watched was deleted and the player moved to the new head.
    fell_off: u32,
    /// Hover thumbnails of the first camera's stream.
    hover_thumbs: Option<crate::engine::hover::HoverThumbnails>,
    /// What the hover shows.
    hover: hover::HoverState,
    /// Where the last drag over the timeline was let go.
    released_at: Option<Timestamp>,
    /// Key-frame seeks made while dragging.
    drag_seeks: u32,
    /// A one-shot timer will send the drag's kept position (`PlayerMsg::ScrubDue`).
    scrub_timer: bool,
    /// Frame times are being read for the timeline's window.
    frames_loading: bool,
    /// What each camera's lane holds, so an index read brings only what was appended since.
    known_lanes: Vec<Option<crate::ui::timeline::LaneKnown>>,
}

impl Component for PlayerPage {
    type Init = ();
    type Input = PlayerMsg;
    type Output = PlayerOutput;
    type CommandOutput = PlayerCmd;
    type Root = gtk::Box;
    type Widgets = PlayerWidgets;

    fn init_root() -> gtk::Box {
        gtk::Box::new(gtk::Orientation::Vertical, 0)
    }

    fn init(_: (), root: gtk::Box, sender: ComponentSender<Self>) -> ComponentParts<Self> {
        let widgets = widgets::build(&root, &sender);
        let settings = crate::settings::Settings::open();
        let sound = settings.player_sound();
        sound::show_settings(&widgets, sound);
        every(TICK, &sender, || PlayerMsg::Tick);
        every(INDEX_REFRESH, &sender, || PlayerMsg::ReloadIndex);
        let model = PlayerPage {
            store: None,
            stream: None,
            slots: Vec::new(),
            cells: Vec::new(),
            active: Vec::new(),
            player: None,
            throttle: ScrubThrottle::new(SCRUB_INTERVAL),
            recording: false,
            loading_index: false,
            generation: 0,
            live_when_ready: false,
            export: None,
            save_dialog: None,
            error: None,
            settings,
            sound,
            marks: Default::default(),
            due: None,
            head: None,
            watched: None,
            fell_off: 0,
            hover_thumbs: None,
            hover: Default::default(),
            released_at: None,
            drag_seeks: 0,
            scrub_timer: false,
            frames_loading: false,
            known_lanes: Vec::new(),
        };
        ComponentParts { model, widgets }
    }

    fn update_with_view(
        &mut self,
        w: &mut PlayerWidgets,
        msg: PlayerMsg,
        sender: ComponentSender<Self>,
        root: &gtk::Box,
    ) {
        match msg {
            PlayerMsg::Open(req) => self.open(w, req, &sender),
            PlayerMsg::Close => self.close(w),
            PlayerMsg::TogglePlay => self.toggle_play(),
            PlayerMsg::SeekBy(secs) => self.seek_by(w, secs),
            PlayerMsg::JumpRange { next } => self.jump_range(w, next, &sender),
            PlayerMsg::GoStart => self.go_start(w),
            PlayerMsg::GoLive => self.go_live(w),
            PlayerMsg::StepFrame(forward) => self.step_frame(forward),
            PlayerMsg::SetSpeed(rate) => self.set_speed(rate),
            PlayerMsg::Zoom(factor) => w.timeline.zoom(factor),
            PlayerMsg::ShowGoto => {
                w.goto_popover.popup();
                w.goto_entry.grab_focus();
            }
            PlayerMsg::Goto(text) => self.goto_text(w, &text, &sender),
            PlayerMsg::MarkClip { start } => self.mark_clip(w, start, &sender),
            PlayerMsg::Selected(sel) => self.on_selected(sel, &sender),
            PlayerMsg::ExportClip => self.export_clip(w, root, &sender),
            PlayerMsg::ExportTo(path) => self.export_to(w, path, &sender),
            PlayerMsg::CancelExport => self.cancel_export(),
            PlayerMsg::Scrub(t, done) => self.scrub(w, t, done, &sender),
            PlayerMsg::ScrubDue => {
                self.scrub_timer = false;
                self.seek_due_scrub(w);
            }
            PlayerMsg::Engine(generation, event) => self.on_engine(w, generation, event, &sender),
            PlayerMsg::Tick => self.tick(w),
            PlayerMsg::ReloadIndex => self.reload_index(&sender),
            PlayerMsg::SeekTo(t) => self.seek(w, t),
            PlayerMsg::ListCameras => self.list_cameras(&sender),
            PlayerMsg::AddCamera(stream) => self.add_camera(w, stream, &sender),
            PlayerMsg::RemoveCamera(slot) => self.remove_camera(w, slot, &sender),
            PlayerMsg::SetVolume(v) => self.set_volume(w, v),
            PlayerMsg::SetMuted(m) => self.set_muted(w, m),
            PlayerMsg::ToggleMute => w.mute_button.set_active(!self.sound.muted),
            PlayerMsg::ShowBookmarks => self.show_bookmarks(w),
            PlayerMsg::AddBookmark(name) => self.add_bookmark(w, name, &sender),
            PlayerMsg::GoToBookmark(at) => self.go_to_bookmark(w, at),
            PlayerMsg::JumpBookmark(forward) => self.jump_bookmark(w, forward, &sender),
            PlayerMsg::RemoveBookmark(id) => self.remove_bookmark(id, &sender),
            PlayerMsg::Hover(at) => self.on_hover(w, at),
            PlayerMsg::Window(window) => self.load_frame_times(w, window, &sender),
            PlayerMsg::HoverReady(generation, r) => {
                if generation == self.generation {
                    self.on_hover_ready(w, r);
                }
            }
        }
    }

    fn update_cmd_with_view(
        &mut self,
        w: &mut PlayerWidgets,
        msg: PlayerCmd,
        sender: ComponentSender<Self>,
        _root: &gtk::Box,
    ) {
        match msg {
            PlayerCmd::Index(generation, result) => self.on_index(w, generation, result, &sender),
            PlayerCmd::Streams(result) => self.fill_camera_list(w, result),
            PlayerCmd::Export(event) => self.on_export(w, event, &sender),
            PlayerCmd::Case(event) => self.on_case(w, event, &sender),
            PlayerCmd::Marked(result) => self.on_marked(result, &sender),
            PlayerCmd::FrameTimes(generation, window, result) => {
                self.on_frame_times(w, generation, window, result, &sender)
            }
        }
    }

    fn shutdown(&mut self, w: &mut PlayerWidgets, _output: relm4::Sender<PlayerOutput>) {
        if let Some(job) = &self.export {
            job.canceller.cancel();
        }
        self.close(w);
    }
}

/// Sends `msg()` to the component every `period` until it is gone.
fn every(period: Duration, sender: &ComponentSender<PlayerPage>, msg: fn() -> PlayerMsg) {
    let input = sender.input_sender().clone();
    gtk::glib::timeout_add_local(period, move || {
        if input.send(msg()).is_ok() {
            gtk::glib::ControlFlow::Continue
        } else {
            gtk::glib::ControlFlow::Break
        }
    });
}

impl PlayerPage {
    fn toast(&self, sender: &ComponentSender<Self>, text: String) {
        tracing::info!(%text, "toast");
        // The owner may be gone while the app closes; then nobody needs the message.
        let _ = sender.output(PlayerOutput::Toast(text));
    }

    /// Opens `req.stream` (with `req.others` in step) and starts playing at `req.start`.
    fn open(&mut self, w: &PlayerWidgets, req: OpenRequest, sender: &ComponentSender<Self>) {
        self.close(w);
        // A clip marked on another stream means nothing here.
        w.timeline.set_selection(ClipSelection::default());
        self.store = Some(req.store);
        self.slots = std::iter::once(req.stream)
            .chain(req.others)
            .fold(Vec::new(), |mut v: Vec<StreamName>, s| {
                if !v.contains(&s) && v.len() < crate::engine::player::MAX_CAMERAS {
                    v.push(s);
                }
                v
            })
            .into_iter()
            .map(|stream| cameras::Slot { stream, error: None })
            .collect();
        self.start_player(w, req.start, true, sender);
        self.start_hover(sender);
        if let Some(player) = &self.player {
            player.start_at_rate(req.start, req.speed);
            let index = SPEEDS.iter().position(|s| (s - player.rate()).abs() < 1e-9);
            w.speed
                .set_selected(index.map_or(NORMAL_SPEED_INDEX, |i| i as u32));
        }
        self.reload_index(sender);
    }

    /// (Re)builds the player for the slots that have not failed, at `start`, playing or paused.
    fn start_player(
        &mut self,
        w: &PlayerWidgets,
        start: StartAt,
        play: bool,
        sender: &ComponentSender<Self>,
    ) {
        self.player = None;
        self.generation += 1;
        let generation = self.generation;
        // The lanes are made anew for the cameras now in the review.
        self.known_lanes.clear();
        self.stream = self.slots.first().map(|s| s.stream.clone());
        self.active = (0..self.slots.len())
            .filter(|&i| self.slots[i].error.is_none())
            .collect();
        self.build_cells(w, sender);
        let streams: Vec<StreamName> = self
            .active
            .iter()
            .map(|&i| self.slots[i].stream.clone())
            .collect();
        if streams.is_empty() {
            self.show_error(w, &gettext("No camera can be played"), "");
            return;
        }
        // Live opens at the newest key frame and then takes the same path as the Live button; several
        // cameras are lined up on the live edge by the engine.
        self.live_when_ready = start == StartAt::Live && streams.len() == 1;
        let Some(store) = self.store.clone() else { return };
        let events = sender.input_sender().clone();
        let player = Player::with_sound(store, &streams, start, self.sound, move |event| {
            events.emit(PlayerMsg::Engine(generation, event));
        });
        match player {
            Ok(player) => {
                if self.slots.len() == 1 {
                    w.picture.set_paintable(Some(player.paintable()));
                }
                crate::startup::mark("player built");
                crate::startup::watch_first_frame(player.paintable());
                for (camera, &slot) in player.cameras().iter().zip(&self.active) {
                    if let Some(cell) = self.cells.get(slot) {
                        cell.picture.set_paintable(Some(camera.paintable()));
                    }
                }
                w.stack.set_visible_child_name("video");
                self.error = None;
                if play {
                    player.play();
                }
                self.player = Some(player);
            }
            Err(e) => self.show_error(w, &gettext("Playback could not start"), &format!("{e:#}")),
        }
    }

    /// Stops playback and releases the stream.
    fn close(&mut self, w: &PlayerWidgets) {
        self.stream = None;
        self.recording = false;
        self.head = None;
        self.watched = None;
        self.hover_thumbs = None;
        self.hover = Default::default();
        self.known_lanes.clear();
        w.picture.set_paintable(gtk::gdk::Paintable::NONE);
        for cell in &self.cells {
            cell.picture.set_paintable(gtk::gdk::Paintable::NONE);
        }
        self.player = None;
    }

    fn show_error(&mut self, w: &PlayerWidgets, message: &str, detail: &str) {
        tracing::warn!(message, detail, "player error");
        w.error_page.set_description(Some(message));
        w.error_detail.set_label(detail);
        self.error = Some(message.to_owned());
        self.report(w, &[], None, false, "not-recording");
        w.stack.set_visible_child_name("error");
    }

    fn on_engine(
        &mut self,
        w: &PlayerWidgets,
        generation: u64,
        event: PlayerEvent,
        sender: &ComponentSender<Self>,
    ) {
        if self.generation != generation {
            return;
        }
        match event {
            PlayerEvent::Playing(playing) => w.play_button.set_icon_name(if playing {
                "media-playback-pause-symbolic"
            } else {
                "media-playback-start-symbolic"
            }),
            PlayerEvent::Settled => {
                if std::mem::take(&mut self.live_when_ready) {
                    self.go_live(w);
                }
                self.tick(w);
            }
            PlayerEvent::Ended => self.toast(sender, gettext("End of the recording")),
            PlayerEvent::CameraFailed {
                camera,
                message,
                detail,
            } => self.camera_failed(w, camera, &message, &detail, sender),
            PlayerEvent::Refused(text) => self.toast(sender, text),
            PlayerEvent::Error { message, detail } => {
                let stream = self.stream.as_ref().map(|s| s.to_string()).unwrap_or_default();
                self.show_error(w, &format!("{stream}: {message}"), &detail);
                self.close(w);
            }
        }
    }
}
