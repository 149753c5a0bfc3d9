//! Preferences in GSettings (schema `io.github.hindsight.Hindsight`): the store and Pravega controller to use,
//! the last stream, the window size, the player's volume.
//!
//! The schema is looked up among the installed ones first, then in the copy the build compiled
//! (`build.rs`), so development builds keep their preferences too. Without either the app still runs, with
//! defaults and nothing saved: preferences are a convenience, never a reason to fail.

use gtk::gio;
use gtk::prelude::*;
use relm4::gtk;

/// The schema id (the same for development builds, whose app id ends in `.Devel`).
pub const SCHEMA_ID: &str = "io.github.hindsight.Hindsight";

/// The app's preferences; every getter has the schema's default when no schema is available.
#[derive(Clone)]
pub struct Settings {
    inner: Option<gio::Settings>,
}

/// The window geometry to restore.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WindowState {
    /// Width in logical pixels.
    pub width: i32,
    /// Height in logical pixels.
    pub height: i32,
    /// Maximized.
    pub maximized: bool,
}

impl Default for WindowState {
    fn default() -> Self {
        WindowState {
            width: 960,
            height: 640,
            maximized: false,
        }
    }
}

fn lookup_schema() -> Option<gio::SettingsSchema> {
    let default = gio::SettingsSchemaSource::default();
    if let Some(schema) = default.as_ref().and_then(|s| s.lookup(SCHEMA_ID, true)) {
        return Some(schema);
    }
    let dir = option_env!("HINDSIGHT_DEV_SCHEMA_DIR")?;
    match gio::SettingsSchemaSource::from_directory(dir, default.as_ref(), false) {
        Ok(source) => source.lookup(SCHEMA_ID, false),
        Err(e) => {
            tracing::debug!(dir, error = %e, "no development schema");
            None
        }
    }
}

impl Settings {
    /// Opens the preferences (GIO only: usable before GTK starts, e.g. to pick the store).
    pub fn open() -> Self {
        let inner = lookup_schema()
            .map(|schema| gio::Settings::new_full(&schema, None::<&gio::SettingsBackend>, None));
        if inner.is_none() {
            tracing::warn!("GSettings schema {SCHEMA_ID} is not installed: preferences will not be saved");
        }
        Settings { inner }
    }

    /// True when changes are saved.
    pub fn is_persistent(&self) -> bool {
        self.inner.is_some()
    }

    fn string(&self, key: &str) -> String {
        self.inner
            .as_ref()
            .map(|s| s.string(key).to_string())
            .unwrap_or_default()
    }

    fn set_string(&self, key: &str, value: &str) {
        if let Some(s) = &self.inner {
            if let Err(e) = s.set_string(key, value) {
                tracing::warn!(key, error = %e, "cannot save a preference");
            }
        }
    }

    /// The store chosen in the preferences; `None` for the default embedded store.
    pub fn store_uri(&self) -> Option<String> {
        Some(self.string("store-uri")).filter(|s| !s.is_empty())
    }

    /// Saves the store to open next time (empty: the default embedded store).
    pub fn set_store_uri(&self, uri: &str) {
        self.set_string("store-uri", uri);
    }

    /// The Pravega controller offered when switching to Pravega.
    pub fn controller_uri(&self) -> String {
        let uri = self.string("controller-uri");
        if uri.is_empty() {
            "tcp://127.0.0.1:9090".to_owned()
        } else {
            uri
        }
    }

    /// Saves the Pravega controller URI.
    pub fn set_controller_uri(&self, uri: &str) {
        self.set_string("controller-uri", uri);
    }

    /// The stream open when the app last closed, as SCOPE/STREAM.
    pub fn last_stream(&self) -> Option<String> {
        Some(self.string("last-stream")).filter(|s| !s.is_empty())
    }

    /// Saves the stream open now (empty: none).
    pub fn set_last_stream(&self, stream: &str) {
        self.set_string("last-stream", stream);
    }

    /// The saved window geometry.
    pub fn window_state(&self) -> WindowState {
        match &self.inner {
            Some(s) => WindowState {
                width: s.int("window-width").max(360),
                height: s.int("window-height").max(294),
                maximized: s.boolean("window-maximized"),
            },
            None => WindowState::default(),
        }
    }

    /// Saves the window geometry (the unmaximized size, so un-maximizing next time restores it).
    pub fn set_window_state(&self, state: WindowState) {
        if let Some(s) = &self.inner {
            let saved = s
                .set_int("window-width", state.width)
                .and_then(|()| s.set_int("window-height", state.height))
                .and_then(|()| s.set_boolean("window-maximized", state.maximized));
            if let Err(e) = saved {
                tracing::warn!(error = %e, "cannot save the window size");
            }
        }
    }

    /// The player's sound: volume (0..=1) and mute.
    pub fn player_sound(&self) -> crate::engine::player::SoundSettings {
        match &self.inner {
            Some(s) => crate::engine::player::SoundSettings {
                volume: s.double("player-volume").clamp(0.0, 1.0),
                muted: s.boolean("player-muted"),
            },
            None => Default::default(),
        }
    }

    /// Saves the player's volume and mute.
    pub fn set_player_sound(&self, sound: crate::engine::player::SoundSettings) {
        if let Some(s) = &self.inner {
            let saved = s
                .set_double("player-volume", sound.volume.clamp(0.0, 1.0))
                .and_then(|()| s.set_boolean("player-muted", sound.muted));
            if let Err(e) = saved {
                tracing::warn!(error = %e, "cannot save the player's volume");
            }
        }
    }

    /// Writes pending changes now (before the process exits).
    pub fn sync(&self) {
        if self.inner.is_some() {
            gio::Settings::sync();
        }
    }
}
