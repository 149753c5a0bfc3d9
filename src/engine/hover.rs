//! Hover thumbnails: the key frame under the pointer on the timeline, decoded on demand from one ranged read of
//! its stored bytes ([`super::thumbnail::at_record`]), off the main thread.
//!
//! A small pool of workers takes the newest request only: a request not yet taken when a newer one comes is
//! dropped, so a pointer sweeping across days costs the frames it stops on, not every frame it passed. Results
//! are cached per key frame (its data offset) up to a memory bound, least recently used first out, so going back
//! over the same stretch paints at once.

use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Instant;

use anyhow::Context;
use hindsight_store::video::IndexReader;
use hindsight_store::{search, Backend, IndexRecord, StreamName, Timestamp};
use lru::LruCache;

use super::thumbnail::{self, Thumbnail};

/// Decoding threads: two, so a slow frame does not hold up the next one on a two-core machine.
const WORKERS: usize = 2;
/// Memory the cached images may take.
pub const CACHE_BYTES: usize = 48 * 1024 * 1024;

/// A finished request: its generation (compare with the newest asked for) and the image, or why there is none.
#[derive(Debug, Clone)]
pub struct HoverResult {
    /// The generation [`HoverThumbnails::request`] returned for it.
    pub generation: u64,
    /// When the request was made (for the latency the benchmark reports).
    pub asked: Instant,
    /// The image, or the error in one line.
    pub thumbnail: Result<Arc<Thumbnail>, String>,
}

type Deliver = Box<dyn Fn(HoverResult) + Send + Sync>;

/// What a hover asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HoverTarget {
    /// This key frame (the timeline holds the records there).
    KeyFrame(IndexRecord),
    /// The key frame [`key_frame_at`] this time, searched in the index by the worker (older footage, whose
    /// records the timeline does not keep).
    At(Timestamp),
}

impl HoverTarget {
    /// True when both ask for the same image.
    pub fn same_as(&self, other: &HoverTarget) -> bool {
        match (self, other) {
            (HoverTarget::KeyFrame(a), HoverTarget::KeyFrame(b)) => a.offset == b.offset,
            (a, b) => a == b,
        }
    }
}

struct State {
    /// The newest request not taken by a worker yet.
    pending: Option<(u64, HoverTarget, Instant)>,
    generation: u64,
    cache: LruCache<u64, Arc<Thumbnail>>,
    cached_bytes: usize,
    shutdown: bool,
}

struct Shared {
    store: Arc<dyn Backend>,
    stream: StreamName,
    max_width: u32,
    limit: usize,
    state: Mutex<State>,
    wake: Condvar,
    deliver: Deliver,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn insert(&self, offset: u64, thumb: Arc<Thumbnail>) {
        let mut st = self.lock();
        st.cached_bytes += thumb.rgba.len();
        if let Some(old) = st.cache.put(offset, thumb) {
            st.cached_bytes -= old.rgba.len();
        }
        while st.cached_bytes > self.limit {
            match st.cache.pop_lru() {
                Some((_, old)) => st.cached_bytes -= old.rgba.len(),
                None => break,
            }
        }
    }

    /// The key frame a request shows, searched in the index when asked for by time.
    fn resolve(&self, target: HoverTarget) -> Result<IndexRecord, String> {
        let t = match target {
            HoverTarget::KeyFrame(r) => return Ok(r),
            HoverTarget::At(t) => t,
        };
        let mut index = IndexReader::open(self.store.as_ref(), &self.stream).map_err(|e| e.to_string())?;
        let found = match search::seek_target_at_or_before(&mut index, t) {
            Ok(None) => search::seek_target_at_or_after(&mut index, t),
            other => other,
        };
        match found {
            Ok(Some((_, r))) => Ok(r),
            Ok(None) => Err("no key frame".into()),
            Err(e) => Err(e.to_string()),
        }
    }

    fn work(&self) {
        loop {
            let (generation, target, asked) = {
                let mut st = self.lock();
                loop {
                    if st.shutdown {
                        return;
                    }
                    if let Some(p) = st.pending.take() {
                        break p;
                    }
                    st = self.wake.wait(st).unwrap_or_else(|e| e.into_inner());
                }
            };
            let thumbnail = self.resolve(target).and_then(|record| {
                let cached = self.lock().cache.get(&record.offset).cloned();
                match cached {
                    Some(t) => Ok(t),
                    None => thumbnail::at_record(self.store.as_ref(), &self.stream, record, self.max_width)
                        .map(Arc::new)
                        .inspect(|t| self.insert(record.offset, t.clone()))
                        .map_err(|e| format!("{e:#}")),
                }
            });
            (self.deliver)(HoverResult {
                generation,
                asked,
                thumbnail,
            });
        }
    }
}

/// Hover thumbnails of one stream; the workers stop when it is dropped.
pub struct HoverThumbnails {
    shared: Arc<Shared>,
}

impl HoverThumbnails {
    /// Thumbnails of `stream` at most `max_width` wide; `deliver` gets each finished request on a worker thread.
    pub fn new(
        store: Arc<dyn Backend>,
        stream: StreamName,
        max_width: u32,
        deliver: impl Fn(HoverResult) + Send + Sync + 'static,
    ) -> anyhow::Result<Self> {
        Self::with_cache(store, stream, max_width, CACHE_BYTES, deliver)
    }

    /// Like [`HoverThumbnails::new`] with a cache of at most `cache_bytes` of images.
    pub fn with_cache(
        store: Arc<dyn Backend>,
        stream: StreamName,
        max_width: u32,
        cache_bytes: usize,
        deliver: impl Fn(HoverResult) + Send + Sync + 'static,
    ) -> anyhow::Result<Self> {
        let hover = Self::without_workers(store, stream, max_width, cache_bytes, deliver);
        hover.add_workers(WORKERS)?;
        Ok(hover)
    }

    fn without_workers(
        store: Arc<dyn Backend>,
        stream: StreamName,
        max_width: u32,
        cache_bytes: usize,
        deliver: impl Fn(HoverResult) + Send + Sync + 'static,
    ) -> Self {
        let shared = Arc::new(Shared {
            store,
            stream,
            max_width,
            limit: cache_bytes,
            state: Mutex::new(State {
                pending: None,
                generation: 0,
                // Bounded by bytes, not entries.
                cache: LruCache::unbounded(),
                cached_bytes: 0,
                shutdown: false,
            }),
            wake: Condvar::new(),
            deliver: Box::new(deliver),
        });
        HoverThumbnails { shared }
    }

    fn add_workers(&self, n: usize) -> anyhow::Result<()> {
        for i in 0..n {
            let s = self.shared.clone();
            std::thread::Builder::new()
                .name(format!("hover-{i}"))
                .spawn(move || s.work())
                .context("cannot start a thumbnail worker")?;
        }
        Ok(())
    }

    /// Asks for the key frame `record`. A cached image comes back at once; otherwise the request replaces any
    /// request not yet started, and its result is delivered with the returned generation.
    pub fn request(&self, record: IndexRecord) -> Result<Arc<Thumbnail>, u64> {
        self.request_target(HoverTarget::KeyFrame(record))
    }

    /// Like [`HoverThumbnails::request`] for either kind of target (a time is searched by a worker, so its
    /// image always comes back later, from the cache when it is there).
    pub fn request_target(&self, target: HoverTarget) -> Result<Arc<Thumbnail>, u64> {
        let mut st = self.shared.lock();
        st.generation += 1;
        if let HoverTarget::KeyFrame(record) = target {
            if let Some(t) = st.cache.get(&record.offset) {
                return Ok(t.clone());
            }
        }
        let generation = st.generation;
        st.pending = Some((generation, target, Instant::now()));
        drop(st);
        self.shared.wake.notify_one();
        Err(generation)
    }

    /// The newest generation asked for: results of older ones are stale.
    pub fn generation(&self) -> u64 {
        self.shared.lock().generation
    }

    /// Images cached and the bytes they take.
    pub fn cached(&self) -> (usize, usize) {
        let st = self.shared.lock();
        (st.cache.len(), st.cached_bytes)
    }
}

impl Drop for HoverThumbnails {
    fn drop(&mut self) {
        self.shared.lock().shutdown = true;
        self.shared.wake.notify_all();
    }
}

/// The key frame a hover at `t` shows: the newest seek target at or before `t`, else the first one after it;
/// `records` in time order (a lane's index).
pub fn key_frame_at(records: &[IndexRecord], t: Timestamp) -> Option<IndexRecord> {
    let after = records.partition_point(|r| r.timestamp <= t);
    records[..after]
        .iter()
        .rev()
        .find(|r| r.is_seek_target())
        .or_else(|| records[after..].iter().find(|r| r.is_seek_target()))
        .copied()
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc;
    use std::time::Duration;

    use hindsight_store::format::Flags;
    use hindsight_store::video::IndexReader;
    use hindsight_store::{StoreUri, Timestamp};

    use super::*;

    fn rec(secs: u64, key: bool) -> IndexRecord {
        IndexRecord {
            flags: Flags::new(false, key, false),
            timestamp: Timestamp::from_nanos(secs * 1_000_000_000),
            offset: secs * 100,
        }
    }

    #[test]
    fn a_hover_shows_the_key_frame_playback_would_start_from() {
        let records = [rec(10, true), rec(15, false), rec(20, true), rec(30, true)];
        let at =
            |s: u64| key_frame_at(&records, Timestamp::from_nanos(s * 1_000_000_000)).map(|r| r.offset / 100);
        assert_eq!(at(5), Some(10), "before the first: the first");
        assert_eq!(at(10), Some(10));
        assert_eq!(at(17), Some(10), "a forced record is not a key frame");
        assert_eq!(at(25), Some(20));
        assert_eq!(at(99), Some(30));
        assert_eq!(key_frame_at(&[], Timestamp::from_nanos(1)), None);
    }

    /// Ten key frames of a 160x90 test pattern in an embedded store.
    fn recorded() -> (tempfile::TempDir, Arc<dyn Backend>, StreamName, Vec<IndexRecord>) {
        crate::engine::init().expect("gstreamer");
        let dir = tempfile::tempdir().expect("temp dir");
        let desc = format!(
            "videotestsrc num-buffers=10 ! video/x-raw,width=160,height=90,framerate=10/1 ! \
             x264enc key-int-max=1 speed-preset=ultrafast tune=zerolatency ! h264parse ! \
             mp4mux streamable=true fragment-duration=1 ! pravegasink store=\"{}\" stream=h/cam \
             index-min-sec=0",
            dir.path().display()
        );
        let pipeline = gst::parse::launch(&desc)
            .expect("pipeline")
            .downcast::<gst::Pipeline>()
            .expect("a pipeline");
        use gst::prelude::*;
        pipeline.set_state(gst::State::Playing).expect("play");
        let bus = pipeline.bus().expect("bus");
        let msg = bus
            .timed_pop_filtered(
                gst::ClockTime::from_seconds(30),
                &[gst::MessageType::Eos, gst::MessageType::Error],
            )
            .expect("the recording ends");
        pipeline.set_state(gst::State::Null).expect("stop");
        assert!(matches!(msg.view(), gst::MessageView::Eos(_)), "{msg:?}");
        let store = StoreUri::embedded(dir.path()).open().expect("store");
        let name = StreamName::parse("h/cam").expect("name");
        let (_, records) = IndexReader::open(store.as_ref(), &name)
            .and_then(|mut i| i.read_all())
            .expect("index");
        let keys: Vec<IndexRecord> = records.into_iter().filter(|r| r.is_seek_target()).collect();
        assert!(keys.len() >= 7, "{keys:?}");
        (dir, store, name, keys)
    }

    #[test]
    fn only_the_newest_request_is_decoded_and_results_are_cached_within_the_bound() {
        let (_dir, store, name, keys) = recorded();
        let (tx, rx) = mpsc::channel();
        let hover = HoverThumbnails::without_workers(store, name, 64, 3 * 64 * 36 * 4, move |r| {
            let _ = tx.send(r);
        });
        // Three hovers before any worker is free: only the last is worked on.
        let stale: Vec<u64> = keys[..2]
            .iter()
            .map(|r| hover.request(*r).expect_err("not cached"))
            .collect();
        let newest = hover.request(keys[2]).expect_err("not cached");
        hover.add_workers(1).expect("worker");
        let r = rx.recv_timeout(Duration::from_secs(30)).expect("a result");
        assert_eq!(r.generation, newest);
        let thumb = r.thumbnail.expect("decoded");
        assert_eq!((thumb.width, thumb.time), (64, keys[2].timestamp));
        assert!(
            rx.recv_timeout(Duration::from_millis(500)).is_err(),
            "the stale ones {stale:?} are dropped"
        );
        // Cached: the same key frame comes back at once.
        assert_eq!(hover.request(keys[2]).expect("cached").time, keys[2].timestamp);
        // The cache keeps to its bound (three 64x36 images), the least recently used out first.
        for k in &keys[3..] {
            if hover.request(*k).is_err() {
                rx.recv_timeout(Duration::from_secs(30)).expect("a result");
            }
        }
        let (n, bytes) = hover.cached();
        assert!(n <= 3 && bytes <= 3 * 64 * 36 * 4, "{n} images, {bytes} bytes");
        assert!(hover.request(keys[2]).is_err(), "the oldest went out");
    }

    #[test]
    fn a_hover_by_time_is_searched_in_the_index() {
        let (_dir, store, name, keys) = recorded();
        let (tx, rx) = mpsc::channel();
        let hover = HoverThumbnails::without_workers(store, name, 64, 1 << 20, move |r| {
            let _ = tx.send(r);
        });
        hover.add_workers(1).expect("worker");
        let between = Timestamp::from_nanos(keys[4].timestamp.nanos() + 1);
        for (t, shown) in [(between, keys[4]), (Timestamp::from_nanos(1), keys[0])] {
            let generation = hover
                .request_target(HoverTarget::At(t))
                .expect_err("searched by a worker");
            let r = rx.recv_timeout(Duration::from_secs(30)).expect("a result");
            assert_eq!(r.generation, generation);
            assert_eq!(r.thumbnail.expect("decoded").time, shown.timestamp);
        }
        // The image found by time is cached under its key frame.
        assert!(hover.request(keys[4]).is_ok());
    }

    #[test]
    fn a_damaged_key_frame_has_no_image_rather_than_another_frames() {
        use std::os::unix::fs::FileExt;
        let (dir, store, name, keys) = recorded();
        let seg = std::fs::read_dir(dir.path().join("h").join("cam"))
            .expect("stream directory")
            .filter_map(|e| e.ok().map(|e| e.path()))
            .find(|p| p.extension().is_some_and(|x| x == "seg"))
            .expect("a segment");
        let file = std::fs::OpenOptions::new()
            .write(true)
            .open(seg)
            .expect("segment");
        file.write_all_at(&[0u8; 20], keys[3].offset)
            .expect("damage a header");
        let e = thumbnail::at_record(store.as_ref(), &name, keys[3], 64).expect_err("damaged");
        assert!(format!("{e:#}").contains("damaged"), "{e:#}");
        let next = thumbnail::at_record(store.as_ref(), &name, keys[4], 64).expect("the next one decodes");
        assert_eq!(next.time, keys[4].timestamp);
    }
}
