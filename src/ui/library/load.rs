//! Reading the library in the background: a summary of every video stream, and a fresh thumbnail of the newest
//! key frame of the streams whose thumbnail is missing or old (a stream being recorded gets a new one about every
//! ten seconds).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use gettextrs::gettext;
use hindsight_store::search;
use hindsight_store::video::{list_video_streams, summarize, IndexReader};
use hindsight_store::{Backend, StoreError};

use super::row::LibraryEntry;
use crate::engine::thumbnail::{self, Thumbnail};

/// Thumbnails are this wide.
pub const THUMB_WIDTH: u32 = 96;
/// A thumbnail of a stream being recorded is renewed after this long.
const THUMB_MAX_AGE: Duration = Duration::from_secs(10);

/// The thumbnail a row shows now: which key frame, and when it was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shown {
    /// Data offset of the key frame.
    pub offset: u64,
    /// When it was decoded.
    pub at: Instant,
}

/// The library as read.
#[derive(Debug)]
pub struct Listing {
    /// One entry per stream, sorted.
    pub entries: Vec<LibraryEntry>,
    /// New thumbnails, by stream.
    pub thumbnails: Vec<(String, Thumbnail)>,
}

/// Whether a row needs a new thumbnail of the key frame at `offset`.
pub fn wants_thumbnail(shown: Option<&Shown>, offset: u64, recording: bool, now: Instant) -> bool {
    match shown {
        None => true,
        Some(s) if s.offset == offset => false,
        // A finished stream's newest key frame does not change; one being recorded gets a new one now and then.
        Some(s) => !recording || now.saturating_duration_since(s.at) >= THUMB_MAX_AGE,
    }
}

/// The store's error as the library shows it. A refused password gets the app's way to give one: the store's
/// own hint names the store URI and environment variables, which is for the command line.
fn for_people(e: &StoreError) -> String {
    match e {
        StoreError::Unauthenticated(_) => format!(
            "{e}\n\n{}",
            gettext("Type the password into Preferences, Store; Hindsight keeps it in the keyring.")
        ),
        _ => e.to_string(),
    }
}

/// Reads the library (blocking: run it off the main thread). `shown` are the thumbnails the rows have; a store
/// directory that does not exist yet is an empty library.
pub fn load(store: &dyn Backend, shown: &HashMap<String, Shown>) -> Result<Listing, String> {
    let names = match list_video_streams(store) {
        Err(StoreError::StoreMissing(_)) => Vec::new(),
        other => other.map_err(|e| for_people(&e))?,
    };
    let now = Instant::now();
    let mut listing = Listing {
        entries: Vec::with_capacity(names.len()),
        thumbnails: Vec::new(),
    };
    for name in &names {
        let summary = summarize(store, name).map_err(|e| format!("{name}: {e}"))?;
        let entry = LibraryEntry::local(&summary);
        let key = IndexReader::open(store, name)
            .and_then(|mut index| search::last_seek_target(&mut index))
            .map_err(|e| format!("{name}: {e}"))?;
        if let Some((_, record)) = key {
            let key = name.to_string();
            if wants_thumbnail(shown.get(&key), record.offset, entry.recording, now) {
                // A frame that does not decode leaves the row without a picture; the library still lists it.
                match thumbnail::at_record(store, name, record, THUMB_WIDTH) {
                    Ok(t) => listing.thumbnails.push((key, t)),
                    Err(e) => tracing::debug!(stream = %name, error = %format!("{e:#}"), "no thumbnail"),
                }
            }
        }
        listing.entries.push(entry);
    }
    Ok(listing)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refused_password_points_at_the_preferences() {
        let refused = for_people(&StoreError::Unauthenticated("cannot list scopes: refused".into()));
        assert!(refused.starts_with("cannot list scopes: refused"), "{refused}");
        assert!(refused.contains("Preferences"), "{refused}");
        let other = for_people(&StoreError::Unreachable("cannot connect".into()));
        assert!(!other.contains("Preferences"), "{other}");
    }

    #[test]
    fn thumbnails_are_renewed_only_when_their_key_frame_changed() {
        let now = Instant::now();
        let shown = Shown { offset: 100, at: now };
        assert!(wants_thumbnail(None, 100, false, now));
        assert!(!wants_thumbnail(Some(&shown), 100, true, now + THUMB_MAX_AGE));
        assert!(
            wants_thumbnail(Some(&shown), 200, false, now),
            "a finished stream's new key frame"
        );
        assert!(!wants_thumbnail(
            Some(&shown),
            200,
            true,
            now + Duration::from_secs(1)
        ));
        assert!(wants_thumbnail(Some(&shown), 200, true, now + THUMB_MAX_AGE));
    }
}
