//! The GTK4 + libadwaita app, built with relm4. Widgets never hold GStreamer elements or store handles
//! directly: blocking store access runs in relm4 commands off the main thread.

mod actions;
mod case_view;
mod i18n;
mod jobs;
mod library;
mod localtime;
mod player;
mod preferences;
mod record_dialog;
mod recording;
mod shortcuts;
mod status_report;
pub mod timeline;
pub mod timeline_draw;
pub mod timeline_lane;
pub mod timeline_model;
pub mod wall;
pub mod window;
mod window_state;

/// A wall layout from its name (`1`, `2x2`, `3x3`, `4x4`, `auto`), for the command line.
pub fn wall_layout(name: &str) -> Option<wall::layout::Layout> {
    wall::layout::Layout::parse(name)
}

use std::sync::Arc;

use gettextrs::gettext;
use hindsight_store::Backend;
use relm4::{adw, gtk, RelmApp};

use crate::config;
use crate::settings::Settings;

/// Sets up translations; failures only mean English text.
fn init_gettext() {
    gettextrs::setlocale(gettextrs::LocaleCategory::LcAll, "");
    if let Err(e) = gettextrs::bindtextdomain(config::GETTEXT_PACKAGE, config::LOCALEDIR) {
        tracing::debug!(error = %e, "no translations bound");
    }
    if let Err(e) = gettextrs::bind_textdomain_codeset(config::GETTEXT_PACKAGE, "UTF-8")
        .and_then(|_| gettextrs::textdomain(config::GETTEXT_PACKAGE).map(|_| ()))
    {
        tracing::debug!(error = %e, "no text domain");
    }
}

/// Runs the app window on `store` until it is closed, optionally opening a stream at once.
pub fn run(store: Arc<dyn Backend>, settings: Settings, show: window::StartView) {
    crate::startup::mark("store");
    // GStreamer reads its registry while GTK connects to the display and loads its styles: both take tens of
    // milliseconds, and the player's first use waits for whatever is left.
    let gst_ready =
        std::thread::Builder::new()
            .name("gst-init".into())
            .spawn(|| match crate::engine::init() {
                Ok(()) => {
                    crate::startup::mark("gstreamer");
                    crate::engine::preload_player_plugins();
                    crate::startup::mark("player plugins loaded");
                }
                // Said again, in the window, by whatever needed it.
                Err(e) => tracing::error!(error = %format!("{e:#}"), "cannot start GStreamer"),
            });
    if let Err(e) = gst_ready {
        tracing::warn!(error = %e, "cannot start GStreamer on a thread of its own; it starts when needed");
    }
    init_gettext();
    gtk::glib::set_application_name(&gettext("Hindsight"));
    // The style sheet and the keyboard shortcuts window, found by libadwaita and GTK at the base path.
    gtk::gio::resources_register_include!("hindsight.gresource")
        .unwrap_or_else(|e| tracing::error!(error = %e, "cannot register the app's resources"));
    // Each start is its own window and process: `hindsight play a` next to `hindsight wall b c` must show what
    // each asked for, not hand the request to an instance that is already running and drop it.
    let app = adw::Application::builder()
        .application_id(config::APP_ID)
        .flags(gtk::gio::ApplicationFlags::NON_UNIQUE)
        .resource_base_path(config::RESOURCE_BASE_PATH)
        .build();
    gtk::gio::prelude::ApplicationExt::connect_startup(&app, |_| {
        crate::startup::mark("gtk and libadwaita started")
    });
    let app = RelmApp::from_app(app).with_args(Vec::new());
    app.run::<window::Window>(window::Init {
        store,
        settings,
        show,
    });
}
