//! The main window's size and maximized state, kept in GSettings.

use relm4::adw::prelude::*;
use relm4::{adw, gtk};

use crate::settings::{Settings, WindowState};

/// Restores the saved window size and saves it again when the window closes.
pub fn restore(window: &adw::ApplicationWindow, settings: &Settings) {
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
