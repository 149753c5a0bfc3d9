//! The "New Recording" dialog: a source, a stream name and an encoder profile. Validation happens here so the
//! recorder only ever gets a good request; what it records runs in the same engine as `hindsight record`.

use std::rc::Rc;

use gettextrs::gettext;
use hindsight_store::StreamName;
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
}

/// Checks the dialog's fields; the error is one sentence for the user.
pub fn validate(stream: &str, source: &str, profile: Option<&Profile>) -> Result<RecordRequest, String> {
    let stream = StreamName::parse(stream.trim()).map_err(|e| e.to_string())?;
    let source = source.trim().parse::<Source>().map_err(|e| e.to_string())?;
    let profile = profile
        .cloned()
        .ok_or_else(|| gettext("Choose an encoder profile"))?;
    Ok(RecordRequest {
        stream,
        source,
        profile,
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
    let group = adw::PreferencesGroup::new();
    group.add(&stream_row);
    group.add(&source_row);
    group.add(&profile_row);
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
        match validate(&stream_row.text(), &source_row.text(), profile) {
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

    #[test]
    fn validation_names_the_problem() {
        let p = profile::all().expect("profiles").remove(0);
        let ok = validate(" site/cam ", "test", Some(&p)).expect("valid");
        assert_eq!(ok.stream.to_string(), "site/cam");
        assert_eq!(ok.source, Source::Test);
        assert!(validate("site", "test", Some(&p))
            .expect_err("no scope")
            .contains("SCOPE/STREAM"));
        assert!(validate("site/cam", "webcam", Some(&p))
            .expect_err("bad source")
            .contains("unknown source"));
        assert!(validate("site/cam", "test", None).is_err());
        assert_eq!(
            validate("a/b", "rtsp://10.0.0.5/stream", Some(&p))
                .expect("rtsp")
                .source,
            Source::Rtsp("rtsp://10.0.0.5/stream".into())
        );
    }
}
