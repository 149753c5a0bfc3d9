//! The main window: header bar, the library of streams, the player page, and empty/error states. Actions and
//! the menu are in [`crate::ui::actions`], keyboard shortcuts in [`crate::ui::shortcuts`], a running recording in
//! [`crate::ui::recording`]; the style sheet and the shortcuts window are resources.

use std::cell::Cell;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use gettextrs::gettext;
use hindsight_store::{Backend, StreamName};
use relm4::adw::prelude::*;
use relm4::factory::FactoryVecDeque;
use relm4::{adw, gtk, Component, ComponentController, ComponentParts, ComponentSender, Controller};

use crate::engine::job::JobEvent;
use crate::engine::player::StartAt;
use crate::engine::profile;
use crate::engine::recorder::{Source, TEST_PATTERN_STREAM};
use crate::settings::Settings;
use crate::ui::library::{self, LibraryEntry, RowOutput};
use crate::ui::player::{OpenRequest, PlayerMsg, PlayerOutput, PlayerPage};
use crate::ui::record_dialog::{self, RecordRequest};
use crate::ui::recording::{ActiveRecording, RecordJobEvent};
use crate::ui::shortcuts::{self, Shortcut};
use crate::ui::{actions, jobs, preferences, window_state};

/// How often the library re-reads the store; cheap (two index records per stream).
const REFRESH_INTERVAL: Duration = Duration::from_secs(3);

/// What the window shows.
#[derive(Debug, Clone, PartialEq, Eq)]
enum View {
    Loading,
    Empty,
    Library,
    Error(String),
}

/// Messages to the window.
#[derive(Debug)]
pub enum Msg {
    /// Re-read the store.
    Refresh,
    /// A stream was activated in the library.
    Open(String),
    /// Back from the player to the library.
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
    /// A keyboard shortcut of the player page.
    Shortcut(Shortcut),
}

/// What the window starts with.
pub struct Init {
    /// The store.
    pub store: Arc<dyn Backend>,
    /// A stream to open at once (`hindsight play`).
    pub play: Option<(StreamName, StartAt)>,
    /// Saved preferences.
    pub settings: Settings,
}

/// Results of background work.
#[derive(Debug)]
pub enum CmdOut {
    /// The library listing, or an error message.
    Listed(Result<Vec<LibraryEntry>, String>),
    /// The recording job reported.
    Record(RecordJobEvent),
}

/// The window's state.
pub struct Window {
    store: Arc<dyn Backend>,
    view: View,
    entries: FactoryVecDeque<LibraryEntry>,
    loading: bool,
    toasts: adw::ToastOverlay,
    player: Controller<PlayerPage>,
    /// A stream is shown in the player: its shortcuts are live.
    player_active: Rc<Cell<bool>>,
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
                        set_title_widget = &adw::WindowTitle {
                            #[watch]
                            set_title: model.playing.as_deref().unwrap_or(&gettext("Hindsight")),
                            set_subtitle: &model.store.uri(),
                        },
                        pack_start = &gtk::Button {
                            set_icon_name: "go-previous-symbolic",
                            set_tooltip_text: Some(&gettext("Back to the library")),
                            #[watch]
                            set_visible: model.playing.is_some(),
                            connect_clicked => Msg::Back,
                        },
                        pack_start = &gtk::Button {
                            set_icon_name: "view-refresh-symbolic",
                            set_tooltip_text: Some(&gettext("Refresh")),
                            #[watch]
                            set_visible: model.playing.is_none(),
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
                            set_visible: model.playing.is_some(),
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
                      add_named[Some("main")] = &gtk::Stack {
                        set_vexpand: true,
                        set_transition_type: gtk::StackTransitionType::Crossfade,
                        add_named[Some("loading")] = &gtk::Spinner {
                            set_spinning: true,
                            set_halign: gtk::Align::Center,
                            set_valign: gtk::Align::Center,
                            set_size_request: (32, 32),
                        },
                        add_named[Some("empty")] = &adw::StatusPage {
                            set_icon_name: Some("camera-video-symbolic"),
                            set_title: &gettext("No Recordings Yet"),
                            set_description: Some(&gettext(
                                // One line: xgettext reads the source as C, where a continued line keeps its
                                // indentation and the string would not match.
                                "Streams recorded into this store appear here. Record a camera, or start with a test pattern to see how it works.")),
                            #[wrap(Some)]
                            set_child = &gtk::Button {
                                set_label: &gettext("Record a Test Pattern"),
                                set_halign: gtk::Align::Center,
                                add_css_class: "pill",
                                add_css_class: "suggested-action",
                                connect_clicked => Msg::RecordTestPattern,
                            },
                        },
                        add_named[Some("library")] = &gtk::ScrolledWindow {
                            set_hscrollbar_policy: gtk::PolicyType::Never,
                            adw::Clamp {
                                set_maximum_size: 900,
                                set_margin_top: 24,
                                set_margin_bottom: 24,
                                set_margin_start: 12,
                                set_margin_end: 12,
                                gtk::Box {
                                    set_orientation: gtk::Orientation::Vertical,
                                    set_spacing: 12,
                                    gtk::Label {
                                        set_label: &gettext("Streams"),
                                        set_halign: gtk::Align::Start,
                                        add_css_class: "heading",
                                    },
                                    #[local_ref]
                                    entry_list -> gtk::ListBox {
                                        add_css_class: "boxed-list",
                                        set_selection_mode: gtk::SelectionMode::None,
                                    },
                                },
                            },
                        },
                        add_named[Some("error")] = &adw::StatusPage {
                            set_icon_name: Some("dialog-error-symbolic"),
                            set_title: &gettext("Cannot Read the Store"),
                            #[watch]
                            set_description: match &model.view {
                                View::Error(e) => Some(e.as_str()),
                                _ => None,
                            },
                        },

                        // After the children, so the names exist when first applied.
                        #[watch]
                        set_visible_child_name: match &model.view {
                            View::Loading => "loading",
                            View::Empty => "empty",
                            View::Library => "library",
                            View::Error(_) => "error",
                        },
                      },
                      #[watch]
                      set_visible_child_name: if model.playing.is_some() { "player" } else { "main" },
                    },
                },
            },
        }
    }

    fn init(init: Self::Init, root: Self::Root, sender: ComponentSender<Self>) -> ComponentParts<Self> {
        let Init {
            store,
            play,
            settings,
        } = init;
        let player = PlayerPage::builder()
            .launch(())
            .forward(sender.input_sender(), |out| match out {
                PlayerOutput::Toast(text) => Msg::Toast(text),
            });
        let entries = FactoryVecDeque::builder()
            .launch(gtk::ListBox::default())
            .forward(sender.input_sender(), |out| match out {
                RowOutput::Open(name) => Msg::Open(name),
            });
        let mut model = Window {
            store,
            view: View::Loading,
            entries,
            loading: false,
            toasts: adw::ToastOverlay::new(),
            player,
            player_active: Rc::new(Cell::new(false)),
            playing: None,
            recording: None,
            restore_last: play.is_none(),
            settings,
        };
        if let Some((name, start)) = play {
            model.open_player(name, start);
        }
        let toasts = &model.toasts;
        let entry_list = model.entries.widget();
        let player_widget = model.player.widget();
        let widgets = view_output!();
        let input = sender.input_sender().clone();
        shortcuts::install(&root, model.player_active.clone(), move |s| {
            input.emit(Msg::Shortcut(s))
        });
        window_state::restore(&root, &model.settings);
        let (settings, uri, input) = (
            model.settings.clone(),
            model.store.uri(),
            sender.input_sender().clone(),
        );
        actions::install(&root, move |w| {
            let input = input.clone();
            preferences::show(w, &settings, &uri, move |text| input.emit(Msg::Toast(text)));
        });

        let input = sender.input_sender().clone();
        gtk::glib::timeout_add_local(REFRESH_INTERVAL, move || {
            // The window is gone when the channel is closed; stop the timer then.
            if input.send(Msg::Refresh).is_ok() {
                gtk::glib::ControlFlow::Continue
            } else {
                gtk::glib::ControlFlow::Break
            }
        });
        sender.input(Msg::Refresh);
        ComponentParts { model, widgets }
    }

    fn update(&mut self, msg: Self::Input, sender: ComponentSender<Self>, root: &Self::Root) {
        match msg {
            Msg::Refresh => {
                if self.loading {
                    return;
                }
                self.loading = true;
                let store = self.store.clone();
                sender.spawn_oneshot_command(move || CmdOut::Listed(library::load(store.as_ref())));
            }
            Msg::Open(name) => match StreamName::parse(&name) {
                Ok(stream) => self.open_player(stream, StartAt::Earliest),
                Err(e) => self.toast(&e.to_string()),
            },
            Msg::Back => {
                self.player.emit(PlayerMsg::Close);
                self.player_active.set(false);
                self.playing = None;
                self.settings.set_last_stream("");
                if root.is_fullscreen() {
                    root.unfullscreen();
                }
                sender.input(Msg::Refresh);
            }
            Msg::Fullscreen => {
                if root.is_fullscreen() {
                    root.unfullscreen();
                } else if self.playing.is_some() {
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
            Msg::Shortcut(Shortcut::Player(msg)) => self.player.emit(msg()),
            Msg::Shortcut(Shortcut::Fullscreen) => sender.input(Msg::Fullscreen),
            Msg::Shortcut(Shortcut::Back) => sender.input(Msg::Back),
        }
    }

    fn shutdown(&mut self, _widgets: &mut Self::Widgets, _output: relm4::Sender<Self::Output>) {
        // Closing the window stops a recording cleanly: EOS, last fragment, end record.
        if let Some(mut rec) = self.recording.take() {
            rec.stop_and_wait();
        }
        self.player.emit(PlayerMsg::Close);
    }

    fn update_cmd(&mut self, msg: Self::CommandOutput, sender: ComponentSender<Self>, _root: &Self::Root) {
        match msg {
            CmdOut::Listed(result) => self.on_listed(result, &sender),
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
                sender.input(Msg::Refresh);
            }
        }
    }
}

impl Window {
    fn toast(&self, text: &str) {
        self.toasts.add_toast(adw::Toast::new(text));
    }

    /// Shows `stream` in the player.
    fn open_player(&mut self, stream: StreamName, start: StartAt) {
        self.settings.set_last_stream(&stream.to_string());
        self.playing = Some(stream.to_string());
        self.player_active.set(true);
        self.player.emit(PlayerMsg::Open(OpenRequest {
            store: self.store.clone(),
            stream,
            start,
        }));
    }

    fn on_listed(&mut self, result: Result<Vec<LibraryEntry>, String>, sender: &ComponentSender<Self>) {
        self.loading = false;
        match result {
            Ok(list) => {
                if std::mem::take(&mut self.restore_last) && self.playing.is_none() {
                    let last = self.settings.last_stream();
                    if let Some(name) = last.filter(|l| list.iter().any(|e| &e.name == l)) {
                        sender.input(Msg::Open(name));
                    }
                }
                self.view = if list.is_empty() {
                    View::Empty
                } else {
                    View::Library
                };
                let mut guard = self.entries.guard();
                let current: Vec<LibraryEntry> = guard.iter().cloned().collect();
                if current != list {
                    guard.clear();
                    for entry in list {
                        guard.push_back(entry);
                    }
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot list streams");
                self.view = View::Error(e);
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
