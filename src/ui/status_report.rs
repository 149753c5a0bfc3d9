//! Automation hook: with `HINDSIGHT_STATUS_FILE=PATH` the player writes what it shows (stream, position, live
//! state, error) to PATH as one JSON object on every tick, replaced atomically. GUI tests drive the real window
//! with key presses and read this file instead of scraping pixels; scripts can use it the same way.

use std::path::PathBuf;
use std::sync::OnceLock;

use serde::Serialize;

/// What the player shows.
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct Status<'a> {
    /// SCOPE/STREAM, or empty in the library.
    pub stream: &'a str,
    /// TAI nanoseconds of the frame on screen, 0 when unknown.
    pub position_ns: u64,
    /// Playing rather than paused.
    pub playing: bool,
    /// `live`, `behind` or `not-recording`.
    pub live: &'a str,
    /// The text over the video (the LIVE badge or how far behind live), translated as shown.
    pub overlay: Option<&'a str>,
    /// The error shown, if any.
    pub error: Option<&'a str>,
}

fn path() -> Option<&'static PathBuf> {
    static PATH: OnceLock<Option<PathBuf>> = OnceLock::new();
    PATH.get_or_init(|| std::env::var_os("HINDSIGHT_STATUS_FILE").map(PathBuf::from))
        .as_ref()
}

/// Writes the status if the hook is enabled; failures are logged, never shown.
pub fn write(status: &Status<'_>) {
    let Some(path) = path() else { return };
    let tmp = path.with_extension("tmp");
    let result = serde_json::to_vec(status)
        .map_err(std::io::Error::other)
        .and_then(|bytes| std::fs::write(&tmp, bytes))
        .and_then(|()| std::fs::rename(&tmp, path));
    if let Err(e) = result {
        tracing::debug!(error = %e, path = %path.display(), "cannot write status file");
    }
}
