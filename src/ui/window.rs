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
use crate::ui::library::{LibraryEntry, RowOutput};

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
    /// Show the About window.
    About,
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
    type Init = Arc<dyn Backend>;
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
                            set_title: &gettext("Hindsight"),
                            set_subtitle: &model.store.uri(),
                        },
                        pack_start = &gtk::Button {
                            set_icon_name: "view-refresh-symbolic",
                            set_tooltip_text: Some(&gettext("Refresh")),
                            connect_clicked => Msg::Refresh,
                        },
                        pack_end = &gtk::Button {
                            set_icon_name: "help-about-symbolic",
                            set_tooltip_text: Some(&gettext("About Hindsight")),
                            connect_clicked => Msg::About,
                        },
                    },

                    gtk::Stack {
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
                },
            },
        }
    }

    fn init(store: Self::Init, root: Self::Root, sender: ComponentSender<Self>) -> ComponentParts<Self> {
        load_css();
        let entries = FactoryVecDeque::builder()
            .launch(gtk::ListBox::default())
            .forward(sender.input_sender(), |out| match out {
                RowOutput::Open(name) => Msg::Open(name),
            });
        let model = Window {
            store,
            view: View::Loading,
            entries,
            loading: false,
            toasts: adw::ToastOverlay::new(),
        };
        let toasts = &model.toasts;
        let entry_list = model.entries.widget();
        let widgets = view_output!();

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
            Msg::Open(name) => {
                self.toasts.add_toast(adw::Toast::new(&format!(
                    "{} {name}",
                    gettext("Playback is not available yet for")
                )));
            }
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
         padding: 2px 8px; font-weight: bold; font-size: smaller; }",
    );
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
