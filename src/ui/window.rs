//! The main window: header bar, the library of streams, and empty/error states.

use std::sync::Arc;
use std::time::Duration;

use gettextrs::gettext;
use hindsight_store::video::{list_video_streams, summarize};
use hindsight_store::Backend;
use relm4::adw::prelude::*;
use relm4::factory::FactoryVecDeque;
use relm4::{adw, gtk, Component, ComponentParts, ComponentSender};

use std::sync::atomic::{AtomicBool, Ordering};

use crate::config;
use crate::engine::player::StartAt;
use crate::engine::profile;
use crate::engine::recorder::{self, Outcome, Progress, RecordOptions, Source};
use crate::human;
use crate::settings::{Settings, WindowState};
use crate::ui::library::{LibraryEntry, RowOutput};
use crate::ui::player_page::PlayerPage;
use crate::ui::record_dialog::{self, RecordRequest};
use hindsight_store::StreamName;

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
    /// Show the About window.
    About,
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
    /// Progress from the recorder thread.
    RecordProgress(Progress),
    /// The recorder thread ended.
    RecordEnded(Result<Outcome, String>),
    /// Stop the recording.
    StopRecording,
}

/// A recording running in a worker thread.
struct ActiveRecording {
    stream: StreamName,
    stop: Arc<AtomicBool>,
    progress: Option<Progress>,
    opened: bool,
    thread: Option<std::thread::JoinHandle<()>>,
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
}

/// The window's state.
pub struct Window {
    store: Arc<dyn Backend>,
    view: View,
    entries: FactoryVecDeque<LibraryEntry>,
    loading: bool,
    toasts: adw::ToastOverlay,
    player: PlayerPage,
    playing: Option<String>,
    recording: Option<ActiveRecording>,
    settings: Settings,
    /// Reopen the last stream once the first listing shows it still exists.
    restore_last: bool,
}

fn load(store: &dyn Backend) -> Result<Vec<LibraryEntry>, String> {
    let names = list_video_streams(store).map_err(|e| e.to_string())?;
    names
        .iter()
        .map(|n| {
            summarize(store, n)
                .map(|s| LibraryEntry::local(&s))
                .map_err(|e| format!("{n}: {e}"))
        })
        .collect()
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
                            set_tooltip_text: Some(&gettext("Stop recording")),
                            #[watch]
                            set_visible: model.recording.is_some(),
                            #[watch]
                            set_label: &model.recording_label(),
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
                            set_menu_model: Some(&main_menu()),
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
                                "Streams recorded into this store appear here. Record a camera, or start \
                                 with a test pattern to see how it works.")),
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
        load_css();
        let Init {
            store,
            play,
            settings,
        } = init;
        let player = PlayerPage::new();
        let toast_sender = sender.input_sender().clone();
        player.connect_toast(move |text| {
            let _ = toast_sender.send(Msg::Toast(text));
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
            playing: None,
            recording: None,
            restore_last: play.is_none(),
            settings,
        };
        if let Some((name, start)) = play {
            model.player.open(model.store.clone(), name.clone(), start);
            model.settings.set_last_stream(&name.to_string());
            model.playing = Some(name.to_string());
        }
        let toasts = &model.toasts;
        let entry_list = model.entries.widget();
        let player_widget = model.player.widget();
        let widgets = view_output!();
        install_shortcuts(&root, &model.player, sender.input_sender().clone());
        restore_window_state(&root, &model.settings);
        install_actions(
            &root,
            &model.settings,
            &model.store,
            sender.input_sender().clone(),
        );

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
                sender.spawn_oneshot_command(move || CmdOut::Listed(load(store.as_ref())));
            }
            Msg::Open(name) => match StreamName::parse(&name) {
                Ok(stream) => {
                    self.player.open(self.store.clone(), stream, StartAt::Earliest);
                    self.settings.set_last_stream(&name);
                    self.playing = Some(name);
                }
                Err(e) => self.toasts.add_toast(adw::Toast::new(&e.to_string())),
            },
            Msg::Back => {
                self.player.close();
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
            Msg::Toast(text) => self.toasts.add_toast(adw::Toast::new(&text)),
            Msg::ShowRecordDialog => {
                let input = sender.input_sender().clone();
                record_dialog::show(root, move |req| input.emit(Msg::StartRecording(req)));
            }
            Msg::RecordTestPattern => match (
                StreamName::parse("demo/test-pattern"),
                profile::by_id("h264-live"),
            ) {
                (Ok(stream), Ok(profile)) => sender.input(Msg::StartRecording(RecordRequest {
                    stream,
                    source: Source::Test,
                    profile,
                })),
                (Err(e), _) => self.toasts.add_toast(adw::Toast::new(&e.to_string())),
                (_, Err(e)) => self.toasts.add_toast(adw::Toast::new(&format!("{e:#}"))),
            },
            Msg::StartRecording(req) => self.start_recording(req, &sender),
            Msg::RecordProgress(p) => {
                let open = match self.recording.as_mut() {
                    Some(rec) => {
                        rec.progress = Some(p);
                        // Preview: once the first key frames are stored, watch the stream at its live edge.
                        if !rec.opened && p.duration >= Duration::from_secs(2) {
                            rec.opened = true;
                            Some(rec.stream.clone())
                        } else {
                            None
                        }
                    }
                    None => None,
                };
                if let Some(stream) = open {
                    self.player
                        .open(self.store.clone(), stream.clone(), StartAt::Live);
                    self.playing = Some(stream.to_string());
                }
            }
            Msg::RecordEnded(result) => {
                let name = self
                    .recording
                    .take()
                    .map(|r| r.stream.to_string())
                    .unwrap_or_default();
                match result {
                    Ok(_) => self.toasts.add_toast(adw::Toast::new(&format!(
                        "{} {name}",
                        gettext("Recording stopped:")
                    ))),
                    Err(e) => self.toasts.add_toast(adw::Toast::new(&format!("{name}: {e}"))),
                }
                sender.input(Msg::Refresh);
            }
            Msg::StopRecording => {
                if let Some(rec) = &self.recording {
                    rec.stop.store(true, Ordering::SeqCst);
                }
            }
            Msg::About => show_about(root),
        }
    }

    fn shutdown(&mut self, _widgets: &mut Self::Widgets, _output: relm4::Sender<Self::Output>) {
        // Closing the window stops a recording cleanly: EOS, last fragment, end record.
        if let Some(mut rec) = self.recording.take() {
            rec.stop.store(true, Ordering::SeqCst);
            if let Some(thread) = rec.thread.take() {
                let _ = thread.join();
            }
        }
        self.player.close();
    }

    fn update_cmd(&mut self, msg: Self::CommandOutput, sender: ComponentSender<Self>, _root: &Self::Root) {
        match msg {
            CmdOut::Listed(result) => {
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
        }
    }
}

impl Window {
    fn recording_label(&self) -> String {
        match self.recording.as_ref().and_then(|r| r.progress) {
            Some(p) => format!(
                "● {}  {}  {:.1} Mbit/s",
                gettext("REC"),
                human::duration(p.duration),
                p.bitrate / 1e6
            ),
            None => format!("● {}", gettext("REC")),
        }
    }

    fn start_recording(&mut self, req: RecordRequest, sender: &ComponentSender<Self>) {
        if self.recording.is_some() {
            self.toasts
                .add_toast(adw::Toast::new(&gettext("A recording is already running")));
            return;
        }
        let stop = Arc::new(AtomicBool::new(false));
        let opts = RecordOptions {
            store: self.store.clone(),
            stream: req.stream.clone(),
            source: req.source,
            profile: req.profile,
            start_utc: None,
            size: (1280, 720),
        };
        let input = sender.input_sender().clone();
        let flag = stop.clone();
        let spawned = std::thread::Builder::new()
            .name("recorder".into())
            .spawn(move || {
                let progress_input = input.clone();
                let result = recorder::run(&opts, &flag, |p| progress_input.emit(Msg::RecordProgress(p)))
                    .map_err(|e| format!("{e:#}"));
                input.emit(Msg::RecordEnded(result));
            });
        match spawned {
            Ok(thread) => {
                self.recording = Some(ActiveRecording {
                    stream: req.stream,
                    stop,
                    progress: None,
                    opened: false,
                    thread: Some(thread),
                })
            }
            Err(e) => self
                .toasts
                .add_toast(adw::Toast::new(&format!("cannot start the recorder: {e}"))),
        }
    }
}

/// Restores the saved window size and saves it again when the window closes.
fn restore_window_state(window: &adw::ApplicationWindow, settings: &Settings) {
    let state = settings.window_state();
    window.set_default_size(state.width, state.height);
    if state.maximized {
        window.maximize();
    }
    let settings = settings.clone();
    window.connect_close_request(move |w| {
        // default-size follows the user's resizing while not maximized: the size to come back to.
        let (width, height) = w.default_size();
        settings.set_window_state(WindowState {
            width,
            height,
            maximized: w.is_maximized(),
        });
        settings.sync();
        gtk::glib::Propagation::Proceed
    });
}

fn load_css() {
    relm4::set_global_css(
        ".live-badge { background: @error_bg_color; color: @error_fg_color; border-radius: 6px; \
         padding: 2px 8px; font-weight: bold; font-size: smaller; } \
         .osd-label { background: rgba(0,0,0,0.6); color: white; border-radius: 6px; padding: 2px 8px; } \
         .video { background: black; }",
    );
}

/// The accelerators the player page reacts to (all listed in the shortcuts window; a unit test checks).
pub const PLAYER_ACCELS: &[&str] = &[
    "space",
    "Left",
    "Right",
    "Page_Up",
    "Page_Down",
    "Home",
    "End",
    "l",
    "period",
    "plus",
    "minus",
    "<Control>g",
    "i",
    "o",
    "<Control>e",
    "f",
    "Escape",
];

/// Player shortcuts, one vocabulary with the buttons: Space, Left/Right, Page Up/Down, Home/End, L, F, period,
/// plus/minus and Ctrl+G. They act only while the player page is shown.
fn install_shortcuts(window: &adw::ApplicationWindow, player: &PlayerPage, input: relm4::Sender<Msg>) {
    let controller = gtk::ShortcutController::new();
    controller.set_scope(gtk::ShortcutScope::Global);
    // Capture phase: buttons would otherwise take arrows and space for focus moves and clicks.
    controller.set_propagation_phase(gtk::PropagationPhase::Capture);
    let add = |accel: &str, f: Box<dyn Fn(&PlayerPage)>| {
        // The shortcuts window lists PLAYER_ACCELS; "equal" is the unshifted "plus" on US keyboards.
        debug_assert!(
            PLAYER_ACCELS.contains(&accel) || accel == "equal",
            "{accel} missing from PLAYER_ACCELS"
        );
        let page = player.clone();
        let window = window.downgrade();
        let action = gtk::CallbackAction::new(move |_, _| {
            let typing = window
                .upgrade()
                .and_then(|w| gtk::prelude::GtkWindowExt::focus(&w))
                .is_some_and(|f| f.dynamic_cast_ref::<gtk::Editable>().is_some());
            if page.stream().is_none() || typing {
                return gtk::glib::Propagation::Proceed;
            }
            f(&page);
            gtk::glib::Propagation::Stop
        });
        match gtk::ShortcutTrigger::parse_string(accel) {
            Some(trigger) => controller.add_shortcut(gtk::Shortcut::new(Some(trigger), Some(action))),
            None => tracing::warn!(accel, "bad shortcut"),
        }
    };
    add("space", Box::new(|p| p.toggle_play()));
    add("Left", Box::new(|p| p.seek_by(-10.0)));
    add("Right", Box::new(|p| p.seek_by(10.0)));
    add("Page_Up", Box::new(|p| p.jump_range(false)));
    add("Page_Down", Box::new(|p| p.jump_range(true)));
    add("Home", Box::new(|p| p.go_start()));
    add("End", Box::new(|p| p.go_live()));
    add("l", Box::new(|p| p.go_live()));
    add("period", Box::new(|p| p.step_frame()));
    add("plus", Box::new(|p| p.zoom(0.5)));
    add("equal", Box::new(|p| p.zoom(0.5)));
    add("minus", Box::new(|p| p.zoom(2.0)));
    add("<Control>g", Box::new(|p| p.show_goto()));
    add("i", Box::new(|p| p.mark_clip(true)));
    add("o", Box::new(|p| p.mark_clip(false)));
    add("<Control>e", Box::new(|p| p.export_clip()));
    let fs = input.clone();
    add("f", Box::new(move |_| fs.emit(Msg::Fullscreen)));
    let esc = input;
    add("Escape", Box::new(move |_| esc.emit(Msg::Back)));
    window.add_controller(controller);
}

/// The primary menu (GNOME HIG): preferences, shortcuts, about.
fn main_menu() -> gtk::gio::Menu {
    let menu = gtk::gio::Menu::new();
    let section = gtk::gio::Menu::new();
    section.append(Some(&gettext("_Preferences")), Some("win.preferences"));
    section.append(
        Some(&gettext("_Keyboard Shortcuts")),
        Some("win.show-help-overlay"),
    );
    section.append(Some(&gettext("_About Hindsight")), Some("win.about"));
    menu.append_section(None, &section);
    menu
}

/// Window and app actions with their accelerators; the shortcuts window is the window's help overlay, which
/// GTK opens with Ctrl+? through `win.show-help-overlay`.
fn install_actions(
    window: &adw::ApplicationWindow,
    settings: &Settings,
    store: &Arc<dyn Backend>,
    input: relm4::Sender<Msg>,
) {
    if let Some(shortcuts) = crate::ui::shortcuts::build() {
        window.set_help_overlay(Some(&shortcuts));
    }
    let about = gtk::gio::SimpleAction::new("about", None);
    let about_input = input.clone();
    about.connect_activate(move |_, _| about_input.emit(Msg::About));
    window.add_action(&about);

    let prefs = gtk::gio::SimpleAction::new("preferences", None);
    let (w, settings, uri) = (window.downgrade(), settings.clone(), store.uri());
    prefs.connect_activate(move |_, _| {
        if let Some(w) = w.upgrade() {
            crate::ui::preferences::show(&w, &settings, &uri, input.clone());
        }
    });
    window.add_action(&prefs);

    if let Some(app) = window.application() {
        let quit = gtk::gio::SimpleAction::new("quit", None);
        let w = window.downgrade();
        // Closing the window (not exiting the process) lets a running recording end cleanly first.
        quit.connect_activate(move |_, _| {
            if let Some(w) = w.upgrade() {
                w.close();
            }
        });
        app.add_action(&quit);
        app.set_accels_for_action("app.quit", &["<Control>q"]);
        app.set_accels_for_action("win.preferences", &["<Control>comma"]);
        app.set_accels_for_action("win.show-help-overlay", &["<Control>question"]);
    }
}

fn show_about(parent: &adw::ApplicationWindow) {
    let about = adw::AboutWindow::builder()
        .transient_for(parent)
        .application_name(gettext("Hindsight"))
        .application_icon(config::APP_ID)
        .version(config::VERSION)
        .comments(gettext(
            "Record, watch live and scrub camera footage kept in append-only byte streams",
        ))
        .license_type(gtk::License::Gpl30)
        .developer_name(gettext("The Hindsight developers"))
        .build();
    about.present();
}
