//! Which store the app and the command line use: `--store`, else `$HINDSIGHT_STORE`, else the embedded store in
//! the XDG data directory.

use std::sync::Arc;

use anyhow::Context;
use hindsight_store::{default_store_dir, open_store, Backend};

/// The store URI to use given an optional explicit one (clap already folds in `$HINDSIGHT_STORE`).
pub fn resolve_uri(explicit: Option<&str>) -> String {
    match explicit.filter(|s| !s.is_empty()) {
        Some(uri) => uri.to_owned(),
        None => default_store_dir().display().to_string(),
    }
}

/// Opens the store for reading; a missing embedded store directory is reported by the first listing.
pub fn open(explicit: Option<&str>) -> anyhow::Result<Arc<dyn Backend>> {
    let uri = resolve_uri(explicit);
    open_store(&uri).with_context(|| format!("cannot open store {}", hindsight_store::pravega::redact(&uri)))
}

/// Opens the store and creates the embedded default directory if it is missing, so a first start works.
pub fn open_or_create_default(explicit: Option<&str>) -> anyhow::Result<Arc<dyn Backend>> {
    if explicit.filter(|s| !s.is_empty()).is_none() {
        let dir = default_store_dir();
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("cannot create store directory {}", dir.display()))?;
    }
    open(explicit)
}
