//! The "New Recording" dialog: a source, a stream name, an encoder profile and how much footage to keep.
//! Validation happens here so the recorder only ever gets a good request; what it records runs in the same
//! engine as `hindsight record`.

use std::rc::Rc;

use gettextrs::gettext;
use hindsight_store::{RetentionPolicy, StreamName};
use relm4::adw::prelude::*;
use relm4::{adw, gtk};

use crate::engine::profile::{self, Profile};
use crate::engine::recorder::{Source, TEST_PATTERN_STREAM};

/// A validated request to record.
#[derive(Debug, Clone)]
pub struct RecordRequest {
    /// The stream to write.
    pub stream: StreamName,
    /// What to record.
    pub source: Source,
    /// Encoder profile.
    pub profile: Profile,
    /// Old footage deleted while recording.
    pub retention: RetentionPolicy,
}

/// The dialog's fields.
#[derive(Debug, Clone, Copy)]
pub struct Fields<'a> {
    /// The stream name typed.
    pub stream: &'a str,
    /// The source typed.
    pub source: &'a str,
    /// The profile chosen.
    pub profile: Option<&'a Profile>,
    /// Days of footage to keep (0: any age).
    pub keep_days: f64,
    /// The most footage to keep, e.g. `20G` (empty: any size).
    pub keep_size: &'a str,
}

/// Checks the dialog's fields; the error is one sentence for the user.
pub fn validate(f: Fields<'_>) -> Result<RecordRequest, String> {
    let stream = StreamName::parse(f.stream.trim()).map_err(|e| e.to_string())?;
    let source = f.source.trim().parse::<Source>().map_err(|e| e.to_string())?;
    let profile = f
        .profile
        .cloned()
        .ok_or_else(|| gettext("Choose an encoder profile"))?;
    let max_bytes = match f.keep_size.trim() {
        "" => None,
        text => Some(
            crate::cmd::marks::parse_bytes(text)
                .map_err(|_| gettext("Write the most footage to keep like 500M, 20G or 1T"))?,
        ),
    };
    let max_age = (f.keep_days > 0.0).then(|| std::time::Duration::from_secs_f64(f.keep_days * 86_400.0));
    Ok(RecordRequest {
        stream,
        source,
        profile,
        retention: RetentionPolicy { max_age, max_bytes },
    })
}

/// Shows the dialog over `parent`; `on_start` gets the request when the user starts recording.
pub fn show(parent: &impl IsA<gtk::Window>, on_start: impl Fn(RecordRequest) + 'static) {
    let profiles = profile::all().unwrap_or_default();
    let window = adw::Window::builder()
        .transient_for(parent)
        .modal(true)
        .title(gettext("New Recording"))
        .default_width(460)
        .build();
    let stream_row = adw::EntryRow::builder()
        .title(gettext("Stream (scope/name)"))
        .build();
    stream_row.set_text(TEST_PATTERN_STREAM);
    let source_row = adw::EntryRow::builder()
        .title(gettext("Source: test, v4l2:/dev/video0, rtsp://… or file:///…"))
        .build();
    source_row.set_text("test");
    let names: Vec<String> = profiles.iter().map(|p| p.name.clone()).collect();
    let name_refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let profile_row = adw::ComboRow::builder()
        .title(gettext("Encoder profile"))
        .model(&gtk::StringList::new(&name_refs))
        .build();
    let days = gtk::SpinButton::with_range(0.0, 3650.0, 1.0);
    days.set_valign(gtk::Align::Center);
    days.update_property(&[gtk::accessible::Property::Label(&gettext(
        "Days of footage to keep",
    ))]);
    let days_row = adw::ActionRow::builder()
        .title(gettext("Delete footage older than (days)"))
        .subtitle(gettext("0 keeps footage of any age"))
        .build();
    days_row.add_suffix(&days);
    let size_row = adw::EntryRow::builder()
        .title(gettext("Keep at most (e.g. 20G; empty: any size)"))
        .build();
    let group = adw::PreferencesGroup::new();
    group.add(&stream_row);
    group.add(&source_row);
    group.add(&profile_row);
    let keep = adw::PreferencesGroup::builder()
        .title(gettext("Retention"))
        .description(gettext("Held footage is always kept"))
        .build();
    keep.add(&days_row);
    keep.add(&size_row);
    let error = gtk::Label::builder()
        .wrap(true)
        .visible(false)
        .xalign(0.0)
        .build();
    error.add_css_class("error");
    let start = gtk::Button::with_label(&gettext("Start Recording"));
    start.add_css_class("suggested-action");
    start.add_css_class("pill");
    start.set_halign(gtk::Align::Center);
    let body = gtk::Box::new(gtk::Orientation::Vertical, 18);
    body.set_margin_top(18);
    body.set_margin_bottom(18);
    body.set_margin_start(18);
    body.set_margin_end(18);
    body.append(&group);
    body.append(&keep);
    body.append(&error);
    body.append(&start);
    let content = gtk::Box::new(gtk::Orientation::Vertical, 0);
    content.append(&adw::HeaderBar::new());
    content.append(&body);
    window.set_content(Some(&content));

    let on_start = Rc::new(on_start);
    let win = window.clone();
    start.connect_clicked(move |_| {
        let profile = profiles.get(profile_row.selected() as usize);
        let (stream, source, size) = (stream_row.text(), source_row.text(), size_row.text());
        let fields = Fields {
            stream: &stream,
            source: &source,
            profile,
            keep_days: days.value(),
            keep_size: &size,
        };
        match validate(fields) {
            Ok(req) => {
                win.close();
                on_start(req);
            }
            Err(e) => {
                error.set_label(&e);
                error.set_visible(true);
            }
        }
    });
    window.present();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields<'a>(stream: &'a str, source: &'a str, profile: Option<&'a Profile>) -> Fields<'a> {
        Fields {
            stream,
            source,
            profile,
            keep_days: 0.0,
            keep_size: "",
        }
    }

    #[test]
    fn validation_names_the_problem() {
        let p = profile::all().expect("profiles").remove(0);
        let ok = validate(fields(" site/cam ", "test", Some(&p))).expect("valid");
        assert_eq!(ok.stream.to_string(), "site/cam");
        assert_eq!(ok.source, Source::Test);
        assert!(ok.retention.is_unlimited());
        assert!(validate(fields("site", "test", Some(&p)))
            .expect_err("no scope")
            .contains("SCOPE/STREAM"));
        assert!(validate(fields("site/cam", "webcam", Some(&p)))
            .expect_err("bad source")
            .contains("unknown source"));
        assert!(validate(fields("site/cam", "test", None)).is_err());
        assert_eq!(
            validate(fields("a/b", "rtsp://10.0.0.5/stream", Some(&p)))
                .expect("rtsp")
                .source,
            Source::Rtsp("rtsp://10.0.0.5/stream".into())
        );
    }

    #[test]
    fn retention_fields_make_the_policy() {
        let p = profile::all().expect("profiles").remove(0);
        let f = Fields {
            keep_days: 7.0,
            keep_size: " 20G ",
            ..fields("a/b", "test", Some(&p))
        };
        let r = validate(f).expect("valid").retention;
        assert_eq!(r.max_age, Some(std::time::Duration::from_secs(7 * 86_400)));
        assert_eq!(r.max_bytes, Some(20_000_000_000));
        let f = Fields {
            keep_size: "lots",
            ..fields("a/b", "test", Some(&p))
        };
        assert!(validate(f).expect_err("bad size").contains("20G"));
    }
}
