//! The library page: every stream of the store with a thumbnail of what it sees, its recorded span, size and
//! state, refreshed every few seconds in the background; empty and error states. A row opens the stream in the
//! player, or puts it on the wall.

mod filter;
mod load;
mod row;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use gettextrs::gettext;
use hindsight_store::Backend;
use relm4::adw::prelude::*;
use relm4::factory::FactoryVecDeque;
use relm4::{adw, gtk, Component, ComponentParts, ComponentSender};

use crate::engine::library::{self, ListCache, Shown};
use crate::engine::thumbnail::Thumbnail;
use crate::ui::status_report;
use load::Listing;
pub use row::{LibraryEntry, RowOutput};

/// How often the library re-reads the store; cheap (two index records per stream, thumbnails only when new).
const REFRESH_INTERVAL: Duration = Duration::from_secs(3);

/// What the page shows.
#[derive(Debug, Clone, PartialEq, Eq)]
enum View {
    Loading,
    Empty,
    Library,
    Error(String),
}

/// Input of the library.
#[derive(Debug)]
pub enum LibraryMsg {
    /// Re-read the store.
    Refresh,
    /// The streams on the current wall (their rows are marked).
    OnWall(Vec<String>),
    /// A row asked for something.
    Row(RowOutput),
    /// The empty page's button.
    RecordTestPattern,
    /// The filter box's text changed.
    Filter(String),
}

/// What the library tells the window.
#[derive(Debug)]
pub enum LibraryOutput {
    /// Open a stream in the player.
    Open(String),
    /// Put a stream on the wall, or take it off.
    ToggleWall(String),
    /// Record the test pattern.
    RecordTestPattern,
    /// The streams of the store, after each read.
    Listed(Vec<String>),
}

/// Results of background work.
#[derive(Debug)]
pub enum LibraryCmd {
    /// The store was read.
    Listed(Result<Listing, String>),
    /// Thumbnails decoded, by stream.
    Thumbnails(Vec<(String, Thumbnail)>),
    /// The thumbnails asked for are decoded (or failed).
    ThumbnailsDone,
}

/// The library's state.
pub struct LibraryPage {
    store: Arc<dyn Backend>,
    /// What the last refresh read, so that the next reads only the streams that changed.
    read: Arc<ListCache>,
    view: View,
    entries: FactoryVecDeque<LibraryEntry>,
    loading: bool,
    /// Thumbnails are being decoded in the background.
    decoding: bool,
    on_wall: Vec<String>,
    thumbnails: HashMap<String, (Shown, gtk::gdk::Texture)>,
    /// The last listing, to mark rows again when the wall changes without a re-read.
    listed: Vec<LibraryEntry>,
    /// What the filter box holds: rows whose names lack one of its words are hidden.
    filter: String,
    /// The list's heading ("Streams", or how many the filter shows).
    heading: String,
    /// The filter box, for the status report's place of it.
    filter_entry: gtk::SearchEntry,
}

#[relm4::component(pub)]
impl Component for LibraryPage {
    type Init = Arc<dyn Backend>;
    type Input = LibraryMsg;
    type Output = LibraryOutput;
    type CommandOutput = LibraryCmd;

    view! {
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
                    // One line: xgettext reads the source as C, where a continued line keeps its
                    // indentation and the string would not match.
                    "Streams recorded into this store appear here. Record a camera, or start with a test pattern to see how it works.")),
                #[wrap(Some)]
                set_child = &gtk::Button {
                    set_label: &gettext("Record a Test Pattern"),
                    set_halign: gtk::Align::Center,
                    add_css_class: "pill",
                    add_css_class: "suggested-action",
                    connect_clicked => LibraryMsg::RecordTestPattern,
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
                        gtk::Box {
                            set_spacing: 12,
                            gtk::Label {
                                #[watch]
                                set_label: &model.heading,
                                set_halign: gtk::Align::Start,
                                set_hexpand: true,
                                add_css_class: "heading",
                            },
                            #[name = "filter_entry"]
                            gtk::SearchEntry {
                                set_placeholder_text: Some(&gettext("Filter by name")),
                                set_width_chars: 24,
                                connect_search_changed[sender] => move |entry| {
                                    sender.input(LibraryMsg::Filter(entry.text().to_string()));
                                },
                            },
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
        }
    }

    fn init(store: Self::Init, root: Self::Root, sender: ComponentSender<Self>) -> ComponentParts<Self> {
        let entries = FactoryVecDeque::builder()
            .launch(gtk::ListBox::default())
            .forward(sender.input_sender(), LibraryMsg::Row);
        let mut model = LibraryPage {
            store,
            read: Arc::default(),
            view: View::Loading,
            entries,
            loading: false,
            decoding: false,
            on_wall: Vec::new(),
            thumbnails: HashMap::new(),
            listed: Vec::new(),
            filter: String::new(),
            heading: gettext("Streams"),
            filter_entry: gtk::SearchEntry::new(),
        };
        let entry_list = model.entries.widget();
        let widgets = view_output!();
        model.filter_entry = widgets.filter_entry.clone();
        let input = sender.input_sender().clone();
        gtk::glib::timeout_add_local(REFRESH_INTERVAL, move || {
            // The page is gone when the channel is closed; stop the timer then.
            if input.send(LibraryMsg::Refresh).is_ok() {
                gtk::glib::ControlFlow::Continue
            } else {
                gtk::glib::ControlFlow::Break
            }
        });
        sender.input(LibraryMsg::Refresh);
        ComponentParts { model, widgets }
    }

    fn update(&mut self, msg: LibraryMsg, sender: ComponentSender<Self>, root: &Self::Root) {
        match msg {
            LibraryMsg::Refresh => {
                if self.loading {
                    return;
                }
                self.loading = true;
                let store = self.store.clone();
                let shown: HashMap<String, Shown> = self
                    .thumbnails
                    .iter()
                    .map(|(k, (s, _))| (k.clone(), *s))
                    .collect();
                let read = self.read.clone();
                sender.spawn_oneshot_command(move || {
                    LibraryCmd::Listed(load::load(store.as_ref(), &shown, &read))
                });
            }
            LibraryMsg::OnWall(names) => {
                self.on_wall = names;
                self.show(self.listed.clone());
            }
            LibraryMsg::Row(RowOutput::Open(name)) => {
                let _ = sender.output(LibraryOutput::Open(name));
            }
            LibraryMsg::Row(RowOutput::ToggleWall(name)) => {
                let _ = sender.output(LibraryOutput::ToggleWall(name));
            }
            LibraryMsg::RecordTestPattern => {
                let _ = sender.output(LibraryOutput::RecordTestPattern);
            }
            LibraryMsg::Filter(text) => {
                self.filter = text;
                self.show(self.listed.clone());
                self.report(root);
            }
        }
    }

    fn update_cmd(&mut self, msg: LibraryCmd, sender: ComponentSender<Self>, root: &Self::Root) {
        let result = match msg {
            LibraryCmd::Listed(result) => result,
            LibraryCmd::Thumbnails(decoded) => {
                let now = Instant::now();
                for (name, t) in decoded {
                    let texture = t.texture();
                    let shown = Shown {
                        offset: t.record.offset,
                        at: now,
                    };
                    self.thumbnails.insert(name, (shown, texture));
                }
                self.show(self.listed.clone());
                self.report(root);
                return;
            }
            LibraryCmd::ThumbnailsDone => {
                self.decoding = false;
                return;
            }
        };
        self.loading = false;
        match result {
            Ok(listing) => {
                // The rows first; their pictures follow as they are decoded (a new listing while that runs
                // asks again for what is still missing).
                if !listing.wanted.is_empty() && !self.decoding {
                    self.decoding = true;
                    let (store, wanted) = (self.store.clone(), listing.wanted);
                    sender.spawn_command(move |out| {
                        library::decode_thumbnails(store.as_ref(), wanted, |batch| {
                            // The page is gone when this fails: nobody to show the pictures to.
                            let _ = out.send(LibraryCmd::Thumbnails(batch));
                        });
                        let _ = out.send(LibraryCmd::ThumbnailsDone);
                    });
                }
                let names: Vec<String> = listing.entries.iter().map(|e| e.name.clone()).collect();
                let listed: std::collections::HashSet<&String> = names.iter().collect();
                self.thumbnails.retain(|k, _| listed.contains(k));
                self.view = if names.is_empty() {
                    View::Empty
                } else {
                    View::Library
                };
                self.show(listing.entries);
                self.report(root);
                let _ = sender.output(LibraryOutput::Listed(names));
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot list streams");
                self.view = View::Error(e);
            }
        }
    }
}

impl LibraryPage {
    /// Writes what the library shows to the status report, while the library is the page on screen (hidden
    /// behind the player or the wall, it leaves the report to them).
    fn report(&self, root: &gtk::Stack) {
        if !root.is_mapped() {
            return;
        }
        let shown: Vec<&LibraryEntry> = self
            .listed
            .iter()
            .filter(|e| filter::matches(&self.filter, &e.name))
            .collect();
        status_report::write_library(&status_report::LibraryReport {
            shown: shown.iter().map(|e| e.name.clone()).collect(),
            thumbnails: shown.iter().filter(|e| e.thumbnail.is_some()).count(),
            total: self.listed.len(),
            filter: self.filter.clone(),
            filter_rect: status_report::rect_of(&self.filter_entry),
        });
    }

    /// Shows `list` with thumbnails and wall marks, replacing the rows only when something changed.
    fn show(&mut self, mut list: Vec<LibraryEntry>) {
        for e in &mut list {
            e.on_wall = self.on_wall.contains(&e.name);
            e.thumbnail = self.thumbnails.get(&e.name).map(|(_, t)| t.clone());
        }
        self.listed = list.clone();
        let total = list.len();
        list.retain(|e| filter::matches(&self.filter, &e.name));
        self.heading = filter::heading(list.len(), total);
        let mut guard = self.entries.guard();
        let same_rows = guard.len() == list.len() && guard.iter().zip(&list).all(|(a, b)| a.same_text(b));
        if !same_rows {
            guard.clear();
            for entry in list {
                guard.push_back(entry);
            }
            return;
        }
        // Only pictures changed: those rows are updated in place rather than every row rebuilt.
        for (i, entry) in list.into_iter().enumerate() {
            if guard.get(i).is_some_and(|row| row.thumbnail != entry.thumbnail) {
                if let Some(row) = guard.get_mut(i) {
                    row.thumbnail = entry.thumbnail;
                }
            }
        }
    }
}
