//! The library's reads in the background, as its rows need them: the engine's listing turned into rows, and the
//! store's error turned into the sentence the page shows.

use std::collections::HashMap;

use gettextrs::gettext;
use hindsight_store::format::IndexRecord;
use hindsight_store::{Backend, StoreError, StreamName};

use super::row::LibraryEntry;
use crate::engine::library::{self, ListCache, ListError, Shown};

/// The library as read.
#[derive(Debug)]
pub struct Listing {
    /// One entry per stream, sorted.
    pub entries: Vec<LibraryEntry>,
    /// Key frames to decode for rows whose thumbnail is missing or old.
    pub wanted: Vec<(StreamName, IndexRecord)>,
}

/// The store's error as the library shows it. A refused password gets the app's way to give one: the store's
/// own hint names the store URI and environment variables, which is for the command line.
fn for_people(e: &ListError) -> String {
    match e.error {
        StoreError::Unauthenticated(_) => format!(
            "{e}\n\n{}",
            gettext("Type the password into Preferences, Store; Hindsight keeps it in the keyring.")
        ),
        _ => e.to_string(),
    }
}

/// Reads the library's rows (blocking: run it off the main thread); thumbnails are decoded afterwards. `cache`
/// holds what the last load read, so that streams that did not change are not read again.
pub fn load(
    store: &dyn Backend,
    shown: &HashMap<String, Shown>,
    cache: &ListCache,
) -> Result<Listing, String> {
    let listing = library::list(store, shown, cache).map_err(|e| for_people(&e))?;
    Ok(Listing {
        entries: listing.summaries.iter().map(LibraryEntry::local).collect(),
        wanted: listing.wanted,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refused_password_points_at_the_preferences() {
        let refused = for_people(&ListError {
            stream: None,
            error: StoreError::Unauthenticated("cannot list scopes: refused".into()),
        });
        assert!(refused.starts_with("cannot list scopes: refused"), "{refused}");
        assert!(refused.contains("Preferences"), "{refused}");
        let other = for_people(&ListError {
            stream: None,
            error: StoreError::Unreachable("cannot connect".into()),
        });
        assert!(!other.contains("Preferences"), "{other}");
    }
}
