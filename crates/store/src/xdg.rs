//! The XDG base directories the store's defaults live in.

use std::path::PathBuf;

/// The default embedded store directory: `$XDG_DATA_HOME/hindsight/streams` (or `~/.local/share/...`).
pub fn default_store_dir() -> PathBuf {
    xdg_dir("XDG_DATA_HOME", ".local/share")
        .join("hindsight")
        .join("streams")
}

/// An XDG base directory: `$VAR` when set and not empty, else `$HOME/fallback` (the current directory without
/// a home).
pub(crate) fn xdg_dir(var: &str, fallback: &str) -> PathBuf {
    std::env::var_os(var)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(fallback)))
        .unwrap_or_else(|| PathBuf::from("."))
}
