//! The main window: header bar, the library of streams, and empty/error states.

use std::sync::Arc;
use std::time::Duration;

use gettextrs::gettext;
use hindsight_store::video::{list_video_streams, summarize};
use hindsight_store::Backend;
use relm4::adw::prelude::*;
use relm4::factory::FactoryVecDeque;
use relm4::{adw, gtk, Component, ComponentParts, ComponentSender};

use crate::config;
use crate::engine::player::StartAt;
use crate::ui::library::{LibraryEntry, RowOutput};
use crate::ui::player_page::PlayerPage;
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
}

/// What the window starts with.
pub struct Init {
    /// The store.
    pub store: Arc<dyn Backend>,
    /// A stream to open at once (`hindsight play`).
    pub play: Option<(StreamName, StartAt)>,
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
            set_default_width: 960,
            set_default_height: 640,

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
                            set_icon_name: "view-fullscreen-symbolic",
                            set_tooltip_text: Some(&gettext("Fullscreen (F)")),
                            #[watch]
                            set_visible: model.playing.is_some(),
                            connect_clicked => Msg::Fullscreen,
                        },
                        pack_end = &gtk::Button {
                            set_icon_name: "help-about-symbolic",
                            set_tooltip_text: Some(&gettext("About Hindsight")),
                            connect_clicked => Msg::About,
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
                                "Streams recorded into this store appear here. Record one with \
                                 “hindsight record” or a pravegasink pipeline.")),
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
        let Init { store, play } = init;
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
        };
        if let Some((name, start)) = play {
            model.player.open(model.store.clone(), name.clone(), start);
            model.playing = Some(name.to_string());
        }
        let toasts = &model.toasts;
        let entry_list = model.entries.widget();
        let player_widget = model.player.widget();
        let widgets = view_output!();
        install_shortcuts(&root, &model.player, sender.input_sender().clone());

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
                    self.playing = Some(name);
                }
                Err(e) => self.toasts.add_toast(adw::Toast::new(&e.to_string())),
            },
            Msg::Back => {
                self.player.close();
                self.playing = None;
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
            Msg::About => show_about(root),
        }
    }

    fn update_cmd(&mut self, msg: Self::CommandOutput, _sender: ComponentSender<Self>, _root: &Self::Root) {
        match msg {
            CmdOut::Listed(result) => {
                self.loading = false;
                match result {
                    Ok(list) => {
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

fn load_css() {
    relm4::set_global_css(
        ".live-badge { background: @error_bg_color; color: @error_fg_color; border-radius: 6px; \
         padding: 2px 8px; font-weight: bold; font-size: smaller; } \
         .osd-label { background: rgba(0,0,0,0.6); color: white; border-radius: 6px; padding: 2px 8px; } \
         .video { background: black; }",
    );
}

/// Player shortcuts, one vocabulary with the buttons: Space, Left/Right, Page Up/Down, Home/End, L, F, period,
/// plus/minus and Ctrl+G. They act only while the player page is shown.
fn install_shortcuts(window: &adw::ApplicationWindow, player: &PlayerPage, input: relm4::Sender<Msg>) {
    let controller = gtk::ShortcutController::new();
    controller.set_scope(gtk::ShortcutScope::Global);
    // Capture phase: buttons would otherwise take arrows and space for focus moves and clicks.
    controller.set_propagation_phase(gtk::PropagationPhase::Capture);
    let add = |accel: &str, f: Box<dyn Fn(&PlayerPage)>| {
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
    let fs = input.clone();
    add("f", Box::new(move |_| fs.emit(Msg::Fullscreen)));
    let esc = input;
    add("Escape", Box::new(move |_| esc.emit(Msg::Back)));
    window.add_controller(controller);
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
