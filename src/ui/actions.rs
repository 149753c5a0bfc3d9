//! Window and app actions with their accelerators, the primary menu and the About window. The keyboard
//! shortcuts window is GTK's help overlay (loaded from the resources), opened by `win.show-help-overlay`.

use gettextrs::gettext;
use relm4::adw::prelude::*;
use relm4::{adw, gtk};

use crate::config;

/// The primary menu (GNOME HIG): preferences, shortcuts, about.
pub fn main_menu() -> gtk::gio::Menu {
    let menu = gtk::gio::Menu::new();
    let open = gtk::gio::Menu::new();
    open.append(Some(&gettext("_Open Case…")), Some("win.open-case"));
    menu.append_section(None, &open);
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

/// Adds `win.about`, `win.preferences` (calling `preferences`), `win.open-case` (calling `open_case`) and
/// `app.quit` with their accelerators.
pub fn install(
    window: &adw::ApplicationWindow,
    preferences: impl Fn(&adw::ApplicationWindow) + 'static,
    open_case: impl Fn(&adw::ApplicationWindow) + 'static,
) {
    let about = gtk::gio::SimpleAction::new("about", None);
    let w = window.downgrade();
    about.connect_activate(move |_, _| {
        if let Some(w) = w.upgrade() {
            show_about(&w);
        }
    });
    window.add_action(&about);

    let prefs = gtk::gio::SimpleAction::new("preferences", None);
    let w = window.downgrade();
    prefs.connect_activate(move |_, _| {
        if let Some(w) = w.upgrade() {
            preferences(&w);
        }
    });
    window.add_action(&prefs);

    let case = gtk::gio::SimpleAction::new("open-case", None);
    let w = window.downgrade();
    case.connect_activate(move |_, _| {
        if let Some(w) = w.upgrade() {
            open_case(&w);
        }
    });
    window.add_action(&case);

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
        app.set_accels_for_action("win.open-case", &["<Control>o"]);
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
