//! The case window: what a case folder holds (cameras, range, signer) and whether it verifies, with a badge
//! that says so at a glance. Verifying reads every MP4 and, when the case comes from the store the app has open,
//! the stored streams too: it runs off the main thread, the window shows "Checking…" meanwhile.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use gettextrs::gettext;
use hindsight_store::evidence::fingerprint;
use hindsight_store::Backend;
use relm4::adw::prelude::*;
use relm4::{adw, gtk};

use super::i18n::i18n_f;
use super::status_report::{self, CaseStatus};
use crate::engine::case::{self, manifest::Manifest, CaseReport};

/// The outcome of opening a case: the report, and whether the store's streams were compared.
struct Checked {
    report: CaseReport,
    range: Option<(String, String)>,
    store: Option<String>,
    compared: bool,
}

/// Opens the case in `dir` in a window over `parent`, checking it against `store` when the case was exported
/// from it.
pub fn open(parent: Option<&gtk::Window>, dir: PathBuf, store: Arc<dyn Backend>) {
    let title = adw::WindowTitle::new(&gettext("Case"), &dir.display().to_string());
    let header = adw::HeaderBar::builder().title_widget(&title).build();
    let badge = gtk::Label::new(Some(&gettext("Checking…")));
    badge.add_css_class("case-badge");
    badge.set_halign(gtk::Align::Center);
    // Not selectable: a selectable label would take the window's first focus and show a caret.
    let signer = wrapped_label(false);
    let range = wrapped_label(false);
    range.add_css_class("dim-label");
    let cameras = adw::PreferencesGroup::builder().title(gettext("Cameras")).build();
    let problems = adw::PreferencesGroup::builder()
        .title(gettext("Problems"))
        .visible(false)
        .build();
    let body = gtk::Box::new(gtk::Orientation::Vertical, 18);
    body.set_margin_top(18);
    body.set_margin_bottom(18);
    body.set_margin_start(12);
    body.set_margin_end(12);
    for w in [
        badge.upcast_ref::<gtk::Widget>(),
        signer.upcast_ref(),
        range.upcast_ref(),
    ] {
        body.append(w);
    }
    body.append(&cameras);
    body.append(&problems);
    let clamp = adw::Clamp::builder().maximum_size(640).child(&body).build();
    let scrolled = gtk::ScrolledWindow::builder()
        .hscrollbar_policy(gtk::PolicyType::Never)
        .vexpand(true)
        .child(&clamp)
        .build();
    let content = gtk::Box::new(gtk::Orientation::Vertical, 0);
    content.append(&header);
    content.append(&scrolled);
    let window = adw::Window::builder()
        .title(gettext("Case"))
        .default_width(560)
        .default_height(600)
        .content(&content)
        .build();
    window.set_transient_for(parent);
    window.set_modal(true);
    window.present();
    let name = dir.display().to_string();
    status_report::set_case(Some(CaseStatus::checking(&name)));
    window.connect_destroy(|_| status_report::set_case(None));

    let check_dir = dir.clone();
    let checking = gtk::gio::spawn_blocking(move || check(&check_dir, store.as_ref()));
    gtk::glib::MainContext::default().spawn_local(async move {
        let checked = match checking.await {
            Ok(c) => c,
            Err(_) => Checked {
                report: CaseReport {
                    problems: vec![gettext("The check stopped unexpectedly (internal error)")],
                    ..CaseReport::default()
                },
                range: None,
                store: None,
                compared: false,
            },
        };
        show(&checked, &badge, &signer, &range, &cameras, &problems);
        status_report::set_case(Some(CaseStatus::from_report(
            &name,
            &checked.report,
            checked.compared,
        )));
    });
}

fn wrapped_label(selectable: bool) -> gtk::Label {
    gtk::Label::builder()
        .wrap(true)
        .xalign(0.0)
        .selectable(selectable)
        .build()
}

/// Reads the manifest for the range and store, then verifies, against the store when the case came from it.
fn check(dir: &Path, store: &dyn Backend) -> Checked {
    let manifest = std::fs::read_to_string(dir.join(case::manifest::MANIFEST))
        .ok()
        .and_then(|t| Manifest::parse(&t).ok());
    let compared = manifest.as_ref().is_some_and(|m| m.store == store.uri());
    let report = case::verify_case(dir, compared.then_some(store));
    Checked {
        report,
        range: manifest
            .as_ref()
            .map(|m| (m.range.from_local.clone(), m.range.to_local.clone())),
        store: manifest.map(|m| m.store),
        compared,
    }
}

fn show(
    c: &Checked,
    badge: &gtk::Label,
    signer: &gtk::Label,
    range: &gtk::Label,
    cameras: &adw::PreferencesGroup,
    problems: &adw::PreferencesGroup,
) {
    let intact = c.report.is_intact();
    badge.set_label(&if intact {
        gettext("Verified")
    } else {
        gettext("Not verified")
    });
    badge.add_css_class(if intact { "case-verified" } else { "case-failed" });
    let installation = crate::cmd::verify::installation_key().map(hex::encode);
    let key_text = c.report.public_key.as_ref().map(|key| {
        let print = hex::decode(key)
            .ok()
            .and_then(|b| <[u8; 32]>::try_from(b).ok())
            .map(|k| fingerprint(&k))
            .unwrap_or_else(|| key.clone());
        if installation.as_ref() == Some(key) {
            i18n_f("Signed with this installation's key ({})", &[&print])
        } else {
            i18n_f("Signed with another installation's key ({})", &[&print])
        }
    });
    let mut lines: Vec<String> = key_text.into_iter().collect();
    lines.push(match (&c.store, c.compared) {
        (_, true) => gettext("Compared with the streams in this store"),
        (Some(store), false) => i18n_f("Exported from {}: not compared with a store", &[store]),
        (None, false) => gettext("Not compared with a store"),
    });
    signer.set_label(&lines.join("\n"));
    if let Some((from, to)) = &c.range {
        range.set_label(&i18n_f("From {} to {}", &[from, to]));
    }
    for camera in &c.report.cameras {
        let chain = if camera.has_recording_chain {
            gettext("recording chain included")
        } else {
            gettext("recorded without a chain: proves the export, not the recording")
        };
        let subtitle = i18n_f(
            "{} of {} frames match · {}",
            &[
                &camera.frames_matched.to_string(),
                &camera.frames.to_string(),
                &chain,
            ],
        );
        let row = adw::ActionRow::builder()
            .title(&camera.stream)
            .subtitle(&subtitle)
            .build();
        let icon = if camera.frames_matched == camera.frames && intact {
            "emblem-ok-symbolic"
        } else {
            "dialog-warning-symbolic"
        };
        row.add_suffix(&gtk::Image::from_icon_name(icon));
        cameras.add(&row);
    }
    for problem in &c.report.problems {
        // Selectable, to copy into a report.
        let label = wrapped_label(true);
        label.set_label(problem);
        label.set_margin_top(6);
        label.set_margin_bottom(6);
        label.set_margin_start(12);
        label.set_margin_end(12);
        problems.add(&label);
    }
    problems.set_visible(!c.report.problems.is_empty());
}

/// Asks for a case folder, then opens it over `parent`.
pub fn choose(parent: &adw::ApplicationWindow, store: Arc<dyn Backend>) {
    let dialog = gtk::FileChooserNative::new(
        Some(&gettext("Open Case")),
        Some(parent),
        gtk::FileChooserAction::SelectFolder,
        Some(&gettext("_Open")),
        Some(&gettext("_Cancel")),
    );
    dialog.set_modal(true);
    let window = parent.clone();
    // A native dialog lives only as long as someone holds it: its own response handler does, until it answers.
    let keep = std::cell::RefCell::new(Some(dialog.clone()));
    dialog.connect_response(move |d, response| {
        let dir = (response == gtk::ResponseType::Accept)
            .then(|| d.file().and_then(|f| f.path()))
            .flatten();
        d.destroy();
        keep.borrow_mut().take();
        if let Some(dir) = dir {
            open(Some(window.upcast_ref()), dir, store.clone());
        }
    });
    dialog.show();
}
