//! Reading a store for the library, in two steps so that a store of a thousand streams paints at once: [`list`]
//! reads what each row says (a summary: the stream's bounds and its first and last index records) and which rows
//! need a new thumbnail; [`decode_thumbnails`] then decodes those key frames a few at a time while the rows are
//! already shown. Both block: run them off the main thread.

use std::collections::HashMap;
use std::fmt;
use std::sync::Mutex;
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
    /// Streams whose index was read (new, or changed since the listing before); the others came from the cache.
    pub reread: usize,
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

/// What the last listing read of each stream, so that a refresh reads again only the streams that changed.
#[derive(Debug, Default)]
pub struct ListCache {
    streams: Mutex<HashMap<StreamName, Read>>,
}

/// One stream as a listing read it.
#[derive(Debug, Clone)]
struct Read {
    /// The index stream's head and tail then: its records (and so the summary's times and the newest key
    /// frame) are the same while these are.
    index: (u64, u64),
    summary: VideoSummary,
    newest: Option<search::Numbered>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Lists the store's video streams with their summaries, and the key frames whose thumbnails `shown` lacks or
/// has old. Decodes nothing. A store directory that does not exist yet is an empty library. Streams whose
/// index did not change since the listing that filled `cache` are not read again beyond their bounds; the
/// count of those read is in [`Listing::reread`].
pub fn list(
    store: &dyn Backend,
    shown: &HashMap<String, Shown>,
    cache: &ListCache,
) -> Result<Listing, Box<ListError>> {
    let names = match list_video_streams(store) {
        Err(StoreError::StoreMissing(_)) => Vec::new(),
        other => other.map_err(|error| Box::new(ListError { stream: None, error }))?,
    };
    let now = Instant::now();
    let before = std::mem::take(&mut *lock(&cache.streams));
    let mut listing = Listing {
        summaries: Vec::with_capacity(names.len()),
        wanted: Vec::new(),
        reread: 0,
    };
    // Each stream's summary and newest key frame, a few streams at once: on Pravega each is round trips.
    let read = fan_out::map_concurrently(&names, fan_out::LISTING_CONCURRENCY, |name| {
        let data = store.info(name)?;
        let index = store.info(&name.index()?)?;
        let index = (index.head, index.tail);
        if let Some(known) = before.get(name).filter(|r| r.index == index) {
            let mut summary = known.summary.clone();
            summary.data = data;
            return Ok((
                Read {
                    summary,
                    ..known.clone()
                },
                false,
            ));
        }
        let summary = summarize(store, name)?;
        let newest =
            IndexReader::open(store, name).and_then(|mut index| search::last_seek_target(&mut index))?;
        Ok((
            Read {
                index,
                summary,
                newest,
            },
            true,
        ))
    });
    let mut kept = HashMap::with_capacity(names.len());
    for (name, read) in names.into_iter().zip(read) {
        let (read, fresh) = read.map_err(|error| {
            Box::new(ListError {
                stream: Some(name.clone()),
                error,
            })
        })?;
        listing.reread += usize::from(fresh);
        if let Some((_, record)) = read.newest {
            let recording = read.summary.data.writer_active == Some(true);
            if wants_thumbnail(shown.get(&name.to_string()), record.offset, recording, now) {
                listing.wanted.push((name.clone(), record));
            }
        }
        listing.summaries.push(read.summary.clone());
        kept.insert(name, read);
    }
    *lock(&cache.streams) = kept;
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

    /// Appends `frames` key frames a second apart, each with its index record.
    fn record(store: &dyn Backend, name: &StreamName, from_secs: u64, frames: u64) {
        use hindsight_store::video::{IndexPolicy, VideoWriter};
        let mut writer = VideoWriter::open(store, name, IndexPolicy::default()).expect("writer");
        for i in 0..frames {
            let t = hindsight_store::Timestamp::from_nanos((1_000_000 + from_secs + i) * 1_000_000_000);
            writer.append(&[7; 100], t, true).expect("append");
        }
        writer.finish(None).expect("finish");
    }

    #[test]
    fn a_refresh_reads_again_only_the_streams_that_changed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = hindsight_store::EmbeddedStore::open(dir.path()).expect("store");
        let names: Vec<StreamName> = ["a/one", "a/two", "b/three"]
            .iter()
            .map(|n| StreamName::parse(n).expect("name"))
            .collect();
        for name in &names {
            record(&store, name, 0, 3);
        }
        let cache = ListCache::default();
        let none = HashMap::new();
        let first = list(&store, &none, &cache).expect("first listing");
        assert_eq!(
            (first.summaries.len(), first.reread, first.wanted.len()),
            (3, 3, 3)
        );

        let again = list(&store, &none, &cache).expect("refresh");
        assert_eq!(again.reread, 0, "nothing changed");
        assert_eq!(again.summaries, first.summaries);
        let offsets = |l: &Listing| {
            l.wanted
                .iter()
                .map(|(n, r)| (n.clone(), r.offset))
                .collect::<Vec<_>>()
        };
        assert_eq!(offsets(&again), offsets(&first), "the same newest key frames");

        // New footage in one stream: only that one is read, and its newest key frame is the new one.
        record(&store, &names[1], 10, 2);
        let grown = list(&store, &none, &cache).expect("refresh after recording");
        assert_eq!(grown.reread, 1);
        let two = &grown.summaries[1];
        assert_eq!(two.name, names[1]);
        assert!(two.last_time > first.summaries[1].last_time);
        assert!(offsets(&grown)[1].1 > offsets(&first)[1].1);

        // A deleted stream leaves the listing; the others still come from the cache.
        hindsight_store::video::delete_video_stream(&store, &names[2]).expect("delete");
        let fewer = list(&store, &none, &cache).expect("refresh after deleting");
        assert_eq!((fewer.summaries.len(), fewer.reread), (2, 0));
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
