//! The main window: the header bar, and the pages: the library and the wall side by side (a view switcher in the
//! header), the player over them. Actions and the menu are in [`crate::ui::actions`], keyboard shortcuts in
//! [`crate::ui::shortcuts`], a running recording in [`crate::ui::recording`]; the style sheet and the shortcuts
//! window are resources.

use std::cell::Cell;
use std::rc::Rc;
use std::sync::Arc;

use gettextrs::gettext;
use hindsight_store::{Backend, StreamName, Timestamp};
use relm4::adw::prelude::*;
use relm4::{adw, gtk, Component, ComponentController, ComponentParts, ComponentSender, Controller};

use crate::engine::job::JobEvent;
use crate::engine::player::StartAt;
use crate::engine::profile;
use crate::engine::recorder::{Source, TEST_PATTERN_STREAM};
use crate::settings::Settings;
use crate::ui::library::{LibraryMsg, LibraryOutput, LibraryPage};
use crate::ui::player::{OpenRequest, PlayerMsg, PlayerOutput, PlayerPage};
use crate::ui::record_dialog::{self, RecordRequest};
use crate::ui::recording::{ActiveRecording, RecordJobEvent};
use crate::ui::shortcuts::{self, Shortcut};
use crate::ui::wall::layout::Layout;
use crate::ui::wall::{walls, Wall, WallInit, WallMsg, WallOutput};
use crate::ui::{actions, jobs, preferences, window_state};

/// The page of the view switcher.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Page {
    /// The library of streams.
    Library,
    /// The monitoring wall.
    Wall,
}

/// Messages to the window.
#[derive(Debug)]
pub enum Msg {
    /// Open a stream in the player (from the library, at its start).
    Open(String),
    /// Open a stream in the player at a time (from a wall tile).
    OpenAt(StreamName, Option<Timestamp>),
    /// Back from the player.
    Back,
    /// A transient message.
    Toast(String),
    /// Toggle fullscreen.
    Fullscreen,
    /// Open the New Recording dialog.
    ShowRecordDialog,
    /// Record the test pattern at once (empty-store button).
    RecordTestPattern,
    /// Start a validated recording.
    StartRecording(RecordRequest),
    /// Stop the recording.
    StopRecording,
    /// A keyboard shortcut.
    Shortcut(Shortcut),
    /// The view switcher changed pages.
    Page(Page),
    /// The library listed these streams.
    Listed(Vec<String>),
    /// Put a stream on the wall or take it off.
    ToggleWall(String),
    /// The streams on the wall changed.
    OnWall(Vec<String>),
    /// Refresh the library now.
    Refresh,
}

/// What the window starts with.
pub struct Init {
    /// The store.
    pub store: Arc<dyn Backend>,
    /// What to show at once.
    pub show: StartView,
    /// Saved preferences.
    pub settings: Settings,
}

/// What the window shows when it opens.
#[derive(Debug, Clone)]
pub enum StartView {
    /// The library; the stream watched last is reopened.
    Library,
    /// A stream in the player, with more cameras in step beside it (`hindsight play A [B…]`).
    Play(StreamName, Vec<StreamName>, StartAt, f64),
    /// These streams on a wall (`hindsight wall`).
    Wall(Vec<StreamName>, Option<Layout>),
    /// A case folder in the case window over the library (`hindsight open CASE`).
    Case(std::path::PathBuf),
}

/// Results of background work.
#[derive(Debug)]
pub enum CmdOut {
    /// The recording job reported.
    Record(RecordJobEvent),
}

/// The window's state.
pub struct Window {
    store: Arc<dyn Backend>,
    toasts: adw::ToastOverlay,
    library: Controller<LibraryPage>,
    wall: Controller<Wall>,
    player: Controller<PlayerPage>,
    pages: adw::ViewStack,
    page: Page,
    /// A stream is shown in the player, or the wall: their shortcuts are live.
    shortcuts_active: Rc<Cell<bool>>,
    playing: Option<String>,
    recording: Option<ActiveRecording>,
    settings: Settings,
    /// Reopen the last stream once the first listing shows it still exists.
    restore_last: bool,
}

#[relm4::component(pub)]
impl Component for Window {
    type Init = Init;
    type Input = Msg;
    type Output = ();
    type CommandOutput = CmdOut;

    view! {
        adw::ApplicationWindow {
            set_title: Some(&gettext("Hindsight")),

            #[local_ref]
            toasts -> adw::ToastOverlay {
                gtk::Box {
                    set_orientation: gtk::Orientation::Vertical,

                    adw::HeaderBar {
                        #[wrap(Some)]
                        set_title_widget = &gtk::Box {
                            adw::WindowTitle {
                                #[watch]
                                set_visible: model.playing.is_some(),
                                #[watch]
                                set_title: model.playing.as_deref().unwrap_or_default(),
                                set_subtitle: &model.store.uri(),
                            },
                            adw::ViewSwitcherTitle {
                                #[watch]
                                set_visible: model.playing.is_none(),
                                set_stack: Some(pages),
                                set_title: &gettext("Hindsight"),
                                set_subtitle: &model.store.uri(),
                            },
                        },
                        pack_start = &gtk::Button {
                            set_icon_name: "go-previous-symbolic",
                            #[watch]
                            set_tooltip_text: Some(&if model.page == Page::Wall {
                                gettext("Back to the wall")
                            } else {
                                gettext("Back to the library")
                            }),
                            #[watch]
                            set_visible: model.playing.is_some(),
                            connect_clicked => Msg::Back,
                        },
                        pack_start = &gtk::Button {
                            set_icon_name: "view-refresh-symbolic",
                            set_tooltip_text: Some(&gettext("Refresh")),
                            #[watch]
                            set_visible: model.playing.is_none() && model.page == Page::Library,
                            connect_clicked => Msg::Refresh,
                        },
                        pack_end = &gtk::Button {
                            set_icon_name: "media-record-symbolic",
                            set_tooltip_text: Some(&gettext("New recording")),
                            #[watch]
                            set_visible: model.recording.is_none(),
                            connect_clicked => Msg::ShowRecordDialog,
                        },
                        pack_end = &gtk::Button {
                            add_css_class: "destructive-action",
                            #[watch]
                            set_tooltip_text: model.recording.as_ref().map(|r| r.tooltip()).as_deref(),
                            #[watch]
                            set_visible: model.recording.is_some(),
                            #[watch]
                            set_label: &model.recording.as_ref().map(|r| r.label()).unwrap_or_default(),
                            connect_clicked => Msg::StopRecording,
                        },
                        pack_end = &gtk::Button {
                            set_icon_name: "view-fullscreen-symbolic",
                            set_tooltip_text: Some(&gettext("Fullscreen (F)")),
                            #[watch]
                            set_visible: model.playing.is_some() || model.page == Page::Wall,
                            connect_clicked => Msg::Fullscreen,
                        },
                        pack_end = &gtk::MenuButton {
                            set_icon_name: "open-menu-symbolic",
                            set_tooltip_text: Some(&gettext("Main Menu")),
                            set_primary: true,
                            set_menu_model: Some(&actions::main_menu()),
                        },
                    },

                    gtk::Stack {
                      set_vexpand: true,
                      set_transition_type: gtk::StackTransitionType::SlideLeftRight,
                      #[local_ref]
                      add_named[Some("player")] = player_widget -> gtk::Box {},
                      #[local_ref]
                      add_named[Some("main")] = pages -> adw::ViewStack {},
                      #[watch]
                      set_visible_child_name: if model.playing.is_some() { "player" } else { "main" },
                    },
                },
            },
        }
    }

    fn init(init: Self::Init, root: Self::Root, sender: ComponentSender<Self>) -> ComponentParts<Self> {
        crate::startup::mark("window init");
        root.connect_map(|_| crate::startup::mark("window shown"));
        let Init {
            store,
            show,
            settings,
        } = init;
        let player = PlayerPage::builder()
            .launch(())
            .forward(sender.input_sender(), |out| match out {
                PlayerOutput::Toast(text) => Msg::Toast(text),
            });
        let library = LibraryPage::builder()
            .launch(store.clone())
            .forward(sender.input_sender(), |out| match out {
                LibraryOutput::Open(name) => Msg::Open(name),
                LibraryOutput::ToggleWall(name) => Msg::ToggleWall(name),
                LibraryOutput::RecordTestPattern => Msg::RecordTestPattern,
                LibraryOutput::Listed(names) => Msg::Listed(names),
            });
        let wall_show = match &show {
            StartView::Wall(streams, layout) => Some((streams.clone(), *layout)),
            _ => None,
        };
        let wall = Wall::builder()
            .launch(WallInit {
                store: store.clone(),
                path: walls::default_path(),
                show: wall_show.clone(),
            })
            .forward(sender.input_sender(), |out| match out {
                WallOutput::Open(stream, at) => Msg::OpenAt(stream, at),
                WallOutput::Toast(text) => Msg::Toast(text),
                WallOutput::Cameras(names) => Msg::OnWall(names),
            });
        let pages = adw::ViewStack::new();
        pages
            .add_titled(library.widget(), Some("library"), &gettext("Library"))
            .set_icon_name(Some("view-list-symbolic"));
        pages
            .add_titled(wall.widget(), Some("wall"), &gettext("Wall"))
            .set_icon_name(Some("view-grid-symbolic"));
        let input = sender.input_sender().clone();
        pages.connect_visible_child_name_notify(move |p| {
            let page = if p.visible_child_name().as_deref() == Some("wall") {
                Page::Wall
            } else {
                Page::Library
            };
            input.emit(Msg::Page(page));
        });
        let mut model = Window {
            store,
            toasts: adw::ToastOverlay::new(),
            library,
            wall,
            player,
            pages: pages.clone(),
            page: Page::Library,
            shortcuts_active: Rc::new(Cell::new(false)),
            playing: None,
            recording: None,
            restore_last: matches!(show, StartView::Library),
            settings,
        };
        match show {
            StartView::Play(name, others, start, speed) => model.open_player_with(name, others, start, speed),
            StartView::Wall(..) => pages.set_visible_child_name("wall"),
            StartView::Case(dir) => {
                // Over the window once it is shown.
                let (window, store) = (root.clone(), model.store.clone());
                gtk::glib::idle_add_local_once(move || {
                    super::case_view::open(Some(window.upcast_ref()), dir, store)
                });
            }
            StartView::Library => {}
        }
        let toasts = &model.toasts;
        let player_widget = model.player.widget();
        let pages = &model.pages;
        let widgets = view_output!();
        let input = sender.input_sender().clone();
        shortcuts::install(&root, model.shortcuts_active.clone(), move |s| {
            input.emit(Msg::Shortcut(s))
        });
        window_state::restore(&root, &model.settings);
        let (settings, uri, input) = (
            model.settings.clone(),
            model.store.uri(),
            sender.input_sender().clone(),
        );
        let store = model.store.clone();
        actions::install(
            &root,
            move |w| {
                let input = input.clone();
                preferences::show(w, &settings, &uri, move |text| input.emit(Msg::Toast(text)));
            },
            move |w| super::case_view::choose(w, store.clone()),
        );
        ComponentParts { model, widgets }
    }

    fn update(&mut self, msg: Self::Input, sender: ComponentSender<Self>, root: &Self::Root) {
        match msg {
            Msg::Open(name) => match StreamName::parse(&name) {
                Ok(stream) => self.open_player(stream, StartAt::Earliest),
                Err(e) => self.toast(&e.to_string()),
            },
            Msg::OpenAt(stream, at) => self.open_player(stream, at.map_or(StartAt::Live, StartAt::Time)),
            Msg::Back => self.back(root),
            Msg::Fullscreen => {
                if root.is_fullscreen() {
                    root.unfullscreen();
                } else if self.playing.is_some() || self.page == Page::Wall {
                    root.fullscreen();
                }
            }
            Msg::Toast(text) => self.toast(&text),
            Msg::ShowRecordDialog => {
                let input = sender.input_sender().clone();
                record_dialog::show(root, move |req| input.emit(Msg::StartRecording(req)));
            }
            Msg::RecordTestPattern => match (
                StreamName::parse(TEST_PATTERN_STREAM),
                profile::by_id(profile::DEFAULT_PROFILE),
            ) {
                (Ok(stream), Ok(profile)) => sender.input(Msg::StartRecording(RecordRequest {
                    stream,
                    source: Source::Test,
                    profile,
                    retention: Default::default(),
                })),
                (Err(e), _) => self.toast(&e.to_string()),
                (_, Err(e)) => self.toast(&format!("{e:#}")),
            },
            Msg::StartRecording(req) => self.start_recording(req, &sender),
            Msg::StopRecording => {
                if let Some(rec) = &self.recording {
                    rec.stop();
                }
            }
            Msg::Shortcut(s) => self.shortcut(s, &sender),
            Msg::Page(page) => {
                self.page = page;
                self.update_active();
            }
            Msg::Listed(names) => self.restore(&names),
            Msg::ToggleWall(name) => match StreamName::parse(&name) {
                Ok(stream) => self.wall.emit(WallMsg::Toggle(stream)),
                Err(e) => self.toast(&e.to_string()),
            },
            Msg::OnWall(names) => self.library.emit(LibraryMsg::OnWall(names)),
            Msg::Refresh => self.library.emit(LibraryMsg::Refresh),
        }
    }

    fn shutdown(&mut self, _widgets: &mut Self::Widgets, _output: relm4::Sender<Self::Output>) {
        // Closing the window stops a recording cleanly: EOS, last fragment, end record.
        if let Some(mut rec) = self.recording.take() {
            rec.stop_and_wait();
        }
        self.player.emit(PlayerMsg::Close);
        self.wall.emit(WallMsg::Visible(false));
    }

    fn update_cmd(&mut self, msg: Self::CommandOutput, _sender: ComponentSender<Self>, _root: &Self::Root) {
        match msg {
            CmdOut::Record(JobEvent::Progress(event)) => {
                let preview = self.recording.as_mut().is_some_and(|r| r.on_event(event));
                if let (true, Some(rec)) = (preview, &self.recording) {
                    // Once the first key frames are stored, watch the stream at its live edge.
                    let stream = rec.stream.clone();
                    self.open_player(stream, StartAt::Live);
                }
            }
            CmdOut::Record(JobEvent::Finished(result)) => {
                let name = self
                    .recording
                    .take()
                    .map(|r| r.stream.to_string())
                    .unwrap_or_default();
                match result {
                    Ok(_) => self.toast(&format!("{} {name}", gettext("Recording stopped:"))),
                    Err(e) => self.toast(&format!("{name}: {e}")),
                }
                self.library.emit(LibraryMsg::Refresh);
            }
        }
    }
}

impl Window {
    fn toast(&self, text: &str) {
        self.toasts.add_toast(adw::Toast::new(text));
    }

    /// Which page is in front, for the wall (its tiles run only while shown) and the shortcuts.
    fn update_active(&self) {
        let wall_shown = self.playing.is_none() && self.page == Page::Wall;
        self.wall.emit(WallMsg::Visible(wall_shown));
        self.shortcuts_active.set(self.playing.is_some() || wall_shown);
    }

    /// Shows `stream` in the player.
    fn open_player(&mut self, stream: StreamName, start: StartAt) {
        self.open_player_with(stream, Vec::new(), start, 1.0);
    }

    /// Shows `stream` in the player with `others` in step beside it.
    fn open_player_with(&mut self, stream: StreamName, others: Vec<StreamName>, start: StartAt, speed: f64) {
        self.settings.set_last_stream(&stream.to_string());
        self.playing = Some(stream.to_string());
        self.player.emit(PlayerMsg::Open(OpenRequest {
            store: self.store.clone(),
            stream,
            others,
            start,
            speed,
        }));
        self.update_active();
    }

    /// Back from the player (to the page it came from), or out of an enlarged wall tile.
    fn back(&mut self, root: &adw::ApplicationWindow) {
        if self.playing.is_none() {
            self.wall.emit(WallMsg::Back);
            return;
        }
        self.player.emit(PlayerMsg::Close);
        self.playing = None;
        self.settings.set_last_stream("");
        if root.is_fullscreen() {
            root.unfullscreen();
        }
        self.library.emit(LibraryMsg::Refresh);
        self.update_active();
    }

    fn shortcut(&mut self, s: Shortcut, sender: &ComponentSender<Self>) {
        match s {
            Shortcut::Player(msg) if self.playing.is_some() => self.player.emit(msg()),
            Shortcut::Player(_) => {}
            Shortcut::Fullscreen => sender.input(Msg::Fullscreen),
            Shortcut::Back => sender.input(Msg::Back),
        }
    }

    /// The first listing: reopen the stream watched last if it still exists.
    fn restore(&mut self, names: &[String]) {
        if std::mem::take(&mut self.restore_last) && self.playing.is_none() {
            if let Some(name) = self.settings.last_stream().filter(|l| names.contains(l)) {
                match StreamName::parse(&name) {
                    Ok(stream) => self.open_player(stream, StartAt::Earliest),
                    Err(e) => tracing::warn!(error = %e, "the saved last stream is not a stream name"),
                }
            }
        }
    }

    fn start_recording(&mut self, req: RecordRequest, sender: &ComponentSender<Self>) {
        if self.recording.is_some() {
            self.toast(&gettext("A recording is already running"));
            return;
        }
        let started = ActiveRecording::start(self.store.clone(), req, |job| {
            jobs::forward(sender, job, CmdOut::Record)
        });
        match started {
            Ok(rec) => self.recording = Some(rec),
            Err(e) => self.toast(&format!("{}: {e:#}", gettext("Cannot start the recorder"))),
        }
    }
}
