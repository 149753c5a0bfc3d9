//! Reading a store for the library, in two steps so that a store of a thousand streams paints at once: [`list`]
//! reads what each row says (a summary: the stream's bounds and its first and last index records) and which rows
//! need a new thumbnail; [`decode_thumbnails`] then decodes those key frames a few at a time while the rows are
//! already shown. Both block: run them off the main thread.

use std::collections::HashMap;
use std::fmt;
use std::time::{Duration, Instant};

use hindsight_store::format::IndexRecord;
use hindsight_store::video::{list_video_streams, summarize, IndexReader, VideoSummary};
use hindsight_store::{fan_out, search};
use hindsight_store::{Backend, StoreError, StreamName};

use crate::engine::thumbnail::{self, Thumbnail};

/// Thumbnails are this wide.
pub const THUMB_WIDTH: u32 = 96;
/// A thumbnail of a stream being recorded is renewed after this long.
const THUMB_MAX_AGE: Duration = Duration::from_secs(10);
/// Decoded thumbnails are handed over at least this often, so rows get their pictures while the rest decode.
const THUMB_BATCH: Duration = Duration::from_millis(150);

/// The thumbnail a row shows now: which key frame, and when it was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shown {
    /// Data offset of the key frame.
    pub offset: u64,
    /// When it was decoded.
    pub at: Instant,
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

/// The store as the library lists it.
#[derive(Debug, Default)]
pub struct Listing {
    /// One summary per video stream, sorted by name.
    pub summaries: Vec<VideoSummary>,
    /// The newest key frame of each stream whose thumbnail is missing or old, in listing order.
    pub wanted: Vec<(StreamName, IndexRecord)>,
}

/// Why the store could not be listed: its error, and the stream it was reading when there was one.
#[derive(Debug)]
pub struct ListError {
    /// The stream being read, `None` when listing the streams failed.
    pub stream: Option<StreamName>,
    /// What the store said.
    pub error: StoreError,
}

impl fmt::Display for ListError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.stream {
            Some(name) => write!(f, "{name}: {}", self.error),
            None => self.error.fmt(f),
        }
    }
}

impl std::error::Error for ListError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.error)
    }
}

/// Lists the store's video streams with their summaries, and the key frames whose thumbnails `shown` lacks or
/// has old. Decodes nothing. A store directory that does not exist yet is an empty library.
pub fn list(store: &dyn Backend, shown: &HashMap<String, Shown>) -> Result<Listing, Box<ListError>> {
    let names = match list_video_streams(store) {
        Err(StoreError::StoreMissing(_)) => Vec::new(),
        other => other.map_err(|error| Box::new(ListError { stream: None, error }))?,
    };
    let now = Instant::now();
    let mut listing = Listing {
        summaries: Vec::with_capacity(names.len()),
        wanted: Vec::new(),
    };
    // Each stream's summary and newest key frame, a few streams at once: on Pravega each is round trips.
    let read = fan_out::map_concurrently(&names, fan_out::LISTING_CONCURRENCY, |name| {
        let summary = summarize(store, name)?;
        let newest =
            IndexReader::open(store, name).and_then(|mut index| search::last_seek_target(&mut index))?;
        Ok((summary, newest))
    });
    for (name, read) in names.into_iter().zip(read) {
        let (summary, newest) = read.map_err(|error| {
            Box::new(ListError {
                stream: Some(name.clone()),
                error,
            })
        })?;
        if let Some((_, record)) = newest {
            let recording = summary.data.writer_active == Some(true);
            if wants_thumbnail(shown.get(&name.to_string()), record.offset, recording, now) {
                listing.wanted.push((name, record));
            }
        }
        listing.summaries.push(summary);
    }
    Ok(listing)
}

/// Decodes the thumbnails of `wanted` in order and hands them to `deliver` a few at a time (whatever decoded
/// within [`THUMB_BATCH`]), the last ones when done. A frame that does not decode leaves its row without a
/// picture; the library still lists the stream.
pub fn decode_thumbnails(
    store: &dyn Backend,
    wanted: Vec<(StreamName, IndexRecord)>,
    mut deliver: impl FnMut(Vec<(String, Thumbnail)>),
) {
    let mut batch = Vec::new();
    let mut since = Instant::now();
    for (name, record) in wanted {
        match thumbnail::at_record(store, &name, record, THUMB_WIDTH) {
            Ok(t) => batch.push((name.to_string(), t)),
            Err(e) => tracing::debug!(stream = %name, error = %format!("{e:#}"), "no thumbnail"),
        }
        if !batch.is_empty() && since.elapsed() >= THUMB_BATCH {
            deliver(std::mem::take(&mut batch));
            since = Instant::now();
        }
    }
    if !batch.is_empty() {
        deliver(batch);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert!(
            !wants_thumbnail(Some(&shown), 200, true, now + Duration::from_secs(1)),
            "a recording stream's thumbnail is renewed at most every THUMB_MAX_AGE"
        );
        assert!(wants_thumbnail(Some(&shown), 200, true, now + THUMB_MAX_AGE));
    }

    #[test]
    fn list_errors_name_the_stream() {
        let name = StreamName::parse("site/cam1").expect("name");
        let e = ListError {
            stream: Some(name),
            error: StoreError::Unreachable("down".into()),
        };
        assert_eq!(e.to_string(), "site/cam1: down");
    }
}
