//! One library row: a thumbnail of the stream's newest key frame, its name, recorded span, size and state, and a
//! button that puts it on the wall or takes it off.

use gettextrs::gettext;
use hindsight_store::video::VideoSummary;
use relm4::adw::prelude::*;
use relm4::factory::{DynamicIndex, FactoryComponent, FactorySender};
use relm4::{adw, gtk};

use crate::human;
use crate::ui::localtime;

/// What the library shows about one stream.
#[derive(Debug, Clone, PartialEq)]
pub struct LibraryEntry {
    /// SCOPE/STREAM.
    pub name: String,
    /// "first – last" in local time, or a note that nothing is indexed yet.
    pub span: String,
    /// Stored size.
    pub size: String,
    /// Being written right now.
    pub recording: bool,
    /// Sealed: finished for good.
    pub sealed: bool,
    /// On the current wall.
    pub on_wall: bool,
    /// The newest key frame, small.
    pub thumbnail: Option<gtk::gdk::Texture>,
}

impl LibraryEntry {
    /// Builds the entry with `fmt` turning timestamps into labels (local time in the app).
    pub fn new(summary: &VideoSummary, fmt: impl Fn(hindsight_store::Timestamp) -> String) -> Self {
        let span = match (summary.first_time, summary.last_time) {
            (Some(a), Some(b)) => format!("{} – {}", fmt(a), fmt(b)),
            _ => gettext("No key frames recorded yet"),
        };
        LibraryEntry {
            name: summary.name.to_string(),
            span,
            size: human::bytes(summary.stored_bytes()),
            recording: summary.data.writer_active == Some(true),
            sealed: summary.data.sealed,
            on_wall: false,
            thumbnail: None,
        }
    }

    /// The same row apart from its picture: everything the row's text and buttons show is equal.
    pub fn same_text(&self, other: &LibraryEntry) -> bool {
        (
            &self.name,
            &self.span,
            &self.size,
            self.recording,
            self.sealed,
            self.on_wall,
        ) == (
            &other.name,
            &other.span,
            &other.size,
            other.recording,
            other.sealed,
            other.on_wall,
        )
    }

    /// Builds the entry with local-time labels.
    pub fn local(summary: &VideoSummary) -> Self {
        Self::new(summary, localtime::format)
    }
}

/// The thumbnail's place in a row, in pixels (16:9).
pub const THUMB_SIZE: (i32, i32) = (64, 36);

/// Output of a row.
#[derive(Debug)]
pub enum RowOutput {
    /// The row was activated: open this stream.
    Open(String),
    /// Put this stream on the wall, or take it off.
    ToggleWall(String),
}

#[relm4::factory(pub)]
impl FactoryComponent for LibraryEntry {
    type Init = LibraryEntry;
    type Input = ();
    type Output = RowOutput;
    type CommandOutput = ();
    type ParentWidget = gtk::ListBox;

    view! {
        adw::ActionRow {
            set_title: &self.name,
            set_subtitle: &format!("{}  ·  {}", self.span, self.size),
            set_activatable: true,
            set_tooltip_text: Some(&self.name),
            add_prefix = &gtk::Picture {
                // Watched: a picture decoded after the row was made is put into the row in place.
                #[watch]
                set_paintable: self.thumbnail.as_ref(),
                set_content_fit: gtk::ContentFit::Cover,
                set_size_request: (THUMB_SIZE.0, THUMB_SIZE.1),
                set_valign: gtk::Align::Center,
                add_css_class: "thumbnail",
            },
            add_suffix = &gtk::Label {
                set_label: &if self.recording { gettext("Recording") } else if self.sealed { gettext("Finished") } else { String::new() },
                set_visible: self.recording || self.sealed,
                add_css_class: if self.recording { "live-badge" } else { "dim-label" },
                set_valign: gtk::Align::Center,
            },
            add_suffix = &gtk::ToggleButton {
                set_icon_name: "view-grid-symbolic",
                set_active: self.on_wall,
                set_valign: gtk::Align::Center,
                add_css_class: "flat",
                set_tooltip_text: Some(&if self.on_wall { gettext("On the wall: click to take it off") } else { gettext("Show on the wall") }),
                connect_clicked[sender, name = self.name.clone()] => move |_| {
                    let _ = sender.output(RowOutput::ToggleWall(name.clone()));
                },
            },
            add_suffix = &gtk::Image {
                set_icon_name: Some("go-next-symbolic"),
            },
            connect_activated[sender, name = self.name.clone()] => move |_| {
                let _ = sender.output(RowOutput::Open(name.clone()));
            },
        }
    }

    fn init_model(init: Self::Init, _index: &DynamicIndex, _sender: FactorySender<Self>) -> Self {
        init
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hindsight_store::{StreamInfo, StreamName, Timestamp};

    fn summary(writer: Option<bool>, times: bool) -> VideoSummary {
        VideoSummary {
            name: StreamName::parse("site/cam1").expect("name"),
            data: StreamInfo {
                head: 100,
                tail: 100 + 3 * 1024 * 1024,
                sealed: false,
                writer_active: writer,
            },
            first_record: 0,
            end_record: 4,
            first_time: times.then(|| Timestamp::from_nanos(1)),
            last_time: times.then(|| Timestamp::from_nanos(2)),
        }
    }

    #[test]
    fn entry_shows_span_size_and_state() {
        let e = LibraryEntry::new(&summary(Some(true), true), |t| format!("t{}", t.nanos()));
        assert_eq!(e.name, "site/cam1");
        assert_eq!(e.span, "t1 – t2");
        assert_eq!(e.size, "3.0 MiB");
        assert!(e.recording);
        let e = LibraryEntry::new(&summary(Some(false), false), |_| unreachable!());
        assert!(!e.recording);
        assert_eq!(e.span, "No key frames recorded yet");
    }

    #[test]
    fn rows_differing_only_in_their_picture_have_the_same_text() {
        let a = LibraryEntry::new(&summary(Some(true), true), |t| format!("t{}", t.nanos()));
        let mut b = a.clone();
        assert!(a.same_text(&b));
        b.on_wall = true;
        assert!(!a.same_text(&b), "the wall button changes");
        let c = LibraryEntry::new(&summary(Some(false), true), |t| format!("t{}", t.nanos()));
        assert!(!a.same_text(&c), "recording stopped");
    }
}
