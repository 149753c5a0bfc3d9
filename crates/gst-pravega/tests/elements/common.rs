//! Helpers shared by the element tests: GStreamer setup, recording pipelines with the real encoder and muxer,
//! what the store holds (read with `hindsight_store` directly, not through the elements), and decoding
//! pipelines that collect every decoded frame at an appsink.

use std::path::Path;
use std::sync::{Arc, Condvar, Mutex, Once};
use std::time::{Duration, Instant};

use gst::prelude::*;
use hindsight_store::video::{IndexReader, ReadOutcome, VideoReader};
use hindsight_store::{Backend, IndexRecord, Interrupt, StoreUri, StreamName};

/// Frame rate of every recording in the tests.
pub const FPS: u64 = 30;
/// One frame at [`FPS`], in nanoseconds (rounded down).
pub const FRAME_NS: u64 = 1_000_000_000 / FPS;
/// Frames per GOP: x264enc key-int-max, one key frame a second.
pub const GOP: usize = 30;

/// Initialises GStreamer and registers the elements statically, once per process.
pub fn init() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        gst::init().expect("gst::init");
        gstpravega::register_static().expect("register pravegasink/pravegasrc");
    });
}

/// A store for one test: a temporary embedded store directory (deleted when dropped), or the real Pravega
/// server named by `HINDSIGHT_PRAVEGA_CONTROLLER` with a scope of its own.
pub struct TempStore {
    uri: String,
    dir: Option<tempfile::TempDir>,
    scope: String,
    backend: std::sync::OnceLock<Arc<dyn Backend>>,
}

impl TempStore {
    /// A new empty embedded store directory.
    pub fn new() -> Self {
        init();
        let dir = tempfile::tempdir().expect("temp dir");
        TempStore {
            uri: dir.path().display().to_string(),
            dir: Some(dir),
            scope: "t".into(),
            backend: Default::default(),
        }
    }

    /// The Pravega server of `HINDSIGHT_PRAVEGA_CONTROLLER` (`make test` starts one and sets it), with a scope
    /// unique to this call so that re-runs against one server never meet. Without the variable: a panic when
    /// `CI` is set (CI must never skip the Pravega tests), otherwise `None` and a "skipped" note.
    pub fn pravega(test: &str) -> Option<Self> {
        init();
        let uri = hindsight_testkit::env::pravega_controller(&format!("{test} on Pravega"))?;
        Some(TempStore {
            uri,
            dir: None,
            scope: hindsight_testkit::env::unique_scope(test),
            backend: Default::default(),
        })
    }

    /// The store directory of an embedded store.
    pub fn path(&self) -> &Path {
        self.dir
            .as_ref()
            .expect("an embedded store (this test does not run on Pravega)")
            .path()
    }

    /// The store property value.
    pub fn uri(&self) -> String {
        self.uri.clone()
    }

    /// `SCOPE/stream` in this store's own scope.
    pub fn stream(&self, stream: &str) -> String {
        format!("{}/{stream}", self.scope)
    }

    /// The store opened through the storage API (once: a Pravega store holds connections).
    pub fn backend(&self) -> Arc<dyn Backend> {
        self.backend
            .get_or_init(|| {
                StoreUri::parse(&self.uri)
                    .and_then(|u| u.open())
                    .expect("open store")
            })
            .clone()
    }
}

/// How to record test video.
#[derive(Debug, Clone)]
pub struct Recording {
    /// Frames to record (videotestsrc num-buffers).
    pub frames: u32,
    /// Capture at real-time pace (videotestsrc is-live=true).
    pub live: bool,
    /// Seal the stream when the recording stops.
    pub seal: bool,
    /// mp4mux trak-timescale; `None` lets mp4mux choose (3000 at 30 fps).
    pub timescale: Option<u32>,
    /// More pravegasink properties, `name=value` separated by spaces.
    pub sink_props: String,
}

impl Recording {
    /// `frames` frames, as fast as the encoder goes, not sealed, mp4mux's own timescale.
    pub fn frames(frames: u32) -> Self {
        Recording {
            frames,
            live: false,
            seal: false,
            timescale: None,
            sink_props: String::new(),
        }
    }

    /// Seals the stream at the end.
    pub fn sealed(mut self) -> Self {
        self.seal = true;
        self
    }

    /// Records in real time.
    pub fn live(mut self) -> Self {
        self.live = true;
        self
    }

    /// Uses this mp4mux track timescale.
    pub fn timescale(mut self, ts: u32) -> Self {
        self.timescale = Some(ts);
        self
    }

    /// Adds pravegasink properties.
    pub fn sink_props(mut self, props: &str) -> Self {
        self.sink_props = props.to_owned();
        self
    }

    /// The pipeline description writing to `stream` in `store`.
    pub fn pipeline(&self, store: &str, stream: &str) -> String {
        // Small frames and the fastest x264 settings keep a 300-frame recording well under a second; one key
        // frame a second and no B-frames, the DESIGN.md §7 recording chain.
        format!(
            "videotestsrc num-buffers={frames} is-live={live} pattern=ball ! \
             video/x-raw,width=160,height=120,framerate={FPS}/1 ! \
             x264enc key-int-max={GOP} bframes=0 speed-preset=ultrafast tune=zerolatency ! \
             h264parse ! video/x-h264,alignment=au ! \
             mp4mux streamable=true fragment-duration=1 trak-timescale={timescale} ! \
             pravegasink name=sink store=\"{store}\" stream={stream} seal={seal} {props}",
            frames = self.frames,
            live = self.live,
            timescale = self.timescale.unwrap_or(0),
            seal = self.seal,
            props = self.sink_props,
        )
    }

    /// Records into `stream` and waits for the end of the recording.
    pub fn run(&self, store: &TempStore, stream: &str) {
        self.run_for(store, stream, Duration::from_secs(30));
    }

    /// Records into `stream`, giving the recording up to `timeout`.
    pub fn run_for(&self, store: &TempStore, stream: &str, timeout: Duration) {
        let pipeline = launch(&self.pipeline(&store.uri(), stream));
        if let Err(e) = run_to_eos(&pipeline, timeout) {
            panic!("recording {stream}: {e}");
        }
    }
}

/// `appsrc name=src caps=application/octet-stream format=time ! pravegasink name=sink …` writing `stream`
/// with `sink_props` (e.g. `timestamp-mode=tai`), and its appsrc for pushing opaque buffers.
pub fn appsrc_sink(store: &TempStore, stream: &str, sink_props: &str) -> (gst::Pipeline, gst_app::AppSrc) {
    let pipeline = launch(&format!(
        "appsrc name=src caps=application/octet-stream format=time ! \
         pravegasink name=sink store=\"{}\" stream={stream} {sink_props}",
        store.uri()
    ));
    let appsrc = pipeline
        .by_name("src")
        .expect("appsrc")
        .downcast::<gst_app::AppSrc>()
        .expect("an appsrc");
    (pipeline, appsrc)
}

/// Parses a pipeline description.
pub fn launch(desc: &str) -> gst::Pipeline {
    init();
    gst::parse::launch(desc)
        .unwrap_or_else(|e| panic!("cannot parse {desc}: {e}"))
        .downcast::<gst::Pipeline>()
        .expect("a pipeline")
}

/// An error message from a bus, flattened for assertions.
#[derive(Debug, Clone)]
pub struct BusError {
    /// The element that posted it.
    pub source: String,
    /// The GError.
    pub error: glib::Error,
    /// The debug string.
    pub debug: Option<String>,
    /// The store failure behind it, from the message's details.
    pub store: Option<gstpravega::StoreErrorInfo>,
}

impl std::fmt::Display for BusError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {} ({:?})", self.source, self.error, self.debug)
    }
}

fn bus_error(msg: &gst::Message) -> Option<BusError> {
    match msg.view() {
        gst::MessageView::Error(e) => Some(BusError {
            source: msg.src().map(|s| s.path_string().to_string()).unwrap_or_default(),
            error: e.error(),
            debug: e.debug().map(|d| d.to_string()),
            store: gstpravega::StoreErrorInfo::from_message(e),
        }),
        _ => None,
    }
}

/// Plays `pipeline` until EOS or an error, then stops it. A timeout is an error too.
pub fn run_to_eos(pipeline: &gst::Pipeline, timeout: Duration) -> Result<(), BusError> {
    let result = match pipeline.set_state(gst::State::Playing) {
        Ok(_) => wait_eos(pipeline, timeout),
        Err(_) => Err(first_error(pipeline).unwrap_or_else(|| BusError {
            source: pipeline.name().to_string(),
            error: glib::Error::new(
                gst::CoreError::StateChange,
                "state change failed without a message",
            ),
            debug: None,
            store: None,
        })),
    };
    stop(pipeline);
    result
}

/// Waits for EOS (Ok) or an error message on the bus.
pub fn wait_eos(pipeline: &gst::Pipeline, timeout: Duration) -> Result<(), BusError> {
    let bus = pipeline.bus().expect("bus");
    match bus.timed_pop_filtered(
        gst::ClockTime::from_nseconds(timeout.as_nanos() as u64),
        &[gst::MessageType::Eos, gst::MessageType::Error],
    ) {
        Some(msg) => match bus_error(&msg) {
            Some(e) => Err(e),
            None => Ok(()),
        },
        None => Err(BusError {
            source: pipeline.name().to_string(),
            error: glib::Error::new(gst::CoreError::Failed, &format!("no EOS within {timeout:?}")),
            debug: None,
            store: None,
        }),
    }
}

/// The first error message queued on the bus, if any (without waiting).
pub fn first_error(pipeline: &gst::Pipeline) -> Option<BusError> {
    let bus = pipeline.bus().expect("bus");
    // Not timed_pop_filtered(ZERO): it gives up after the first message of another type.
    while let Some(msg) = bus.pop() {
        if let Some(e) = bus_error(&msg) {
            return Some(e);
        }
    }
    None
}

/// Sets the pipeline to NULL, waiting for it.
pub fn stop(pipeline: &gst::Pipeline) {
    let _ = pipeline.set_state(gst::State::Null);
    let _ = pipeline.state(gst::ClockTime::from_seconds(5));
}

/// Waits until the stream exists and has at least `n` random-access index records.
pub fn wait_for_key_records(store: &TempStore, stream: &str, n: usize, timeout: Duration) {
    let deadline = Instant::now() + timeout;
    let name = StreamName::parse(stream).expect("name");
    let backend = store.backend();
    loop {
        if hindsight_store::video::video_stream_exists(backend.as_ref(), &name).unwrap_or(false)
            && index_records(store, stream)
                .iter()
                .filter(|r| r.is_seek_target())
                .count()
                >= n
        {
            return;
        }
        assert!(Instant::now() < deadline, "no {n} key frames in {stream}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// A frame as the store holds it.
#[derive(Debug, Clone)]
pub struct StoredFrame {
    /// Data offset.
    pub offset: u64,
    /// Stored TAI timestamp, ns.
    pub ts: u64,
    /// Random-access flag.
    pub key: bool,
    /// The payload.
    pub payload: Vec<u8>,
}

/// Every whole frame between the data head and tail, read with the storage API (no elements involved).
pub fn stored_frames(store: &TempStore, stream: &str) -> Vec<StoredFrame> {
    let backend = store.backend();
    let name = StreamName::parse(stream).expect("stream name");
    let mut reader = VideoReader::open(backend.as_ref(), &name).expect("open reader");
    let interrupt = Interrupt::new().expect("interrupt");
    let mut out = Vec::new();
    loop {
        match reader.next_frame(Instant::now(), &interrupt).expect("read frame") {
            ReadOutcome::Frame(f) => out.push(StoredFrame {
                offset: f.offset,
                ts: f.header.timestamp.nanos(),
                key: f.header.flags.random_access(),
                payload: f.payload,
            }),
            ReadOutcome::TimedOut | ReadOutcome::End => return out,
            ReadOutcome::Interrupted => panic!("interrupted"),
        }
    }
}

/// Every index record from the head on.
pub fn index_records(store: &TempStore, stream: &str) -> Vec<IndexRecord> {
    let backend = store.backend();
    let name = StreamName::parse(stream).expect("stream name");
    let mut index = IndexReader::open(backend.as_ref(), &name).expect("open index");
    index.read_all().expect("read index").1
}

/// The video track's timescale, from the moov in front of the first stored key frame.
pub fn track_timescale(frames: &[StoredFrame]) -> u32 {
    let key = frames.iter().find(|f| f.key).expect("a key frame");
    let data = &key.payload;
    let top = gstpravega::fmp4::children(data, 0, data.len()).expect("boxes");
    let moov = top
        .iter()
        .find(|b| &b.kind == b"moov")
        .expect("moov in key frame");
    let scales = gstpravega::fmp4::track_timescales(data, moov).expect("timescales");
    *scales.values().next().expect("one track")
}

/// One tick of the track timescale in ns, rounded up: the most a retimed PTS may exceed the stored time.
pub fn tick_ns(timescale: u32) -> u64 {
    1_000_000_000u64.div_ceil(u64::from(timescale))
}

/// A buffer that reached an appsink.
#[derive(Debug, Clone)]
pub struct Seen {
    /// PTS in ns.
    pub pts: Option<u64>,
    /// Duration in ns.
    pub duration: Option<u64>,
    /// DISCONT flag.
    pub discont: bool,
    /// DELTA_UNIT flag.
    pub delta: bool,
    /// Size in bytes.
    pub size: usize,
    /// The bytes, when the sink keeps them.
    pub data: Option<Vec<u8>>,
    /// Start of the segment it came in.
    pub segment_start: Option<u64>,
    /// When the appsink got it.
    pub at: Instant,
}

/// A pipeline ending in `appsink name=sink` whose buffers are collected as they arrive. When the pipeline has
/// an element named `src`, the buffers leaving its src pad are collected too (before any demuxing).
pub struct Collector {
    /// The pipeline.
    pub pipeline: gst::Pipeline,
    seen: Arc<Mutex<Vec<Seen>>>,
    src_seen: Arc<Mutex<Vec<Seen>>>,
    gate: Arc<Gate>,
}

/// Holds the appsink's streaming thread (and so, without queues, the whole pipeline) after a number of
/// buffers, until released.
#[derive(Default)]
struct Gate {
    hold_at: Mutex<Option<usize>>,
    cond: Condvar,
}

fn seen_of(buffer: &gst::BufferRef, segment_start: Option<u64>, keep_data: bool) -> Seen {
    let data = keep_data.then(|| {
        buffer
            .map_readable()
            .map(|m| m.as_slice().to_vec())
            .unwrap_or_default()
    });
    Seen {
        pts: buffer.pts().map(|t| t.nseconds()),
        duration: buffer.duration().map(|t| t.nseconds()),
        discont: buffer.flags().contains(gst::BufferFlags::DISCONT),
        delta: buffer.flags().contains(gst::BufferFlags::DELTA_UNIT),
        size: buffer.size(),
        data,
        segment_start,
        at: Instant::now(),
    }
}

impl Collector {
    /// Builds the pipeline; `keep_data` copies every buffer's bytes.
    pub fn new(desc: &str, keep_data: bool) -> Self {
        let pipeline = launch(desc);
        let sink = pipeline
            .by_name("sink")
            .expect("appsink named sink")
            .downcast::<gst_app::AppSink>()
            .expect("an appsink");
        let seen = Arc::new(Mutex::new(Vec::new()));
        let gate = Arc::new(Gate::default());
        let (seen2, gate2) = (seen.clone(), gate.clone());
        sink.set_callbacks(
            gst_app::AppSinkCallbacks::builder()
                .new_sample(move |sink| {
                    let sample = sink.pull_sample().map_err(|_| gst::FlowError::Eos)?;
                    let buffer = sample.buffer().ok_or(gst::FlowError::Error)?;
                    let segment_start = sample
                        .segment()
                        .and_then(|s| s.downcast_ref::<gst::ClockTime>().and_then(|s| s.start()))
                        .map(|t| t.nseconds());
                    let count = {
                        let mut seen = seen2.lock().expect("seen lock");
                        seen.push(seen_of(buffer, segment_start, keep_data));
                        seen.len()
                    };
                    let mut hold = gate2.hold_at.lock().expect("gate lock");
                    while hold.is_some_and(|n| count >= n) {
                        hold = gate2.cond.wait(hold).expect("gate wait");
                    }
                    Ok(gst::FlowSuccess::Ok)
                })
                .build(),
        );
        let src_seen = Arc::new(Mutex::new(Vec::new()));
        if let Some(pad) = pipeline.by_name("src").and_then(|e| e.static_pad("src")) {
            let src_seen = src_seen.clone();
            pad.add_probe(gst::PadProbeType::BUFFER, move |_, info| {
                if let Some(buffer) = info.buffer() {
                    src_seen
                        .lock()
                        .expect("src lock")
                        .push(seen_of(buffer, None, false));
                }
                gst::PadProbeReturn::Ok
            });
        }
        Collector {
            pipeline,
            seen,
            src_seen,
            gate,
        }
    }

    /// Buffers that left the element named `src`, so far.
    pub fn src_seen(&self) -> Vec<Seen> {
        self.src_seen.lock().expect("src lock").clone()
    }

    /// Blocks the appsink once it has received `n` buffers in total, until [`Collector::release`].
    pub fn hold_at(&self, n: usize) {
        *self.gate.hold_at.lock().expect("gate lock") = Some(n);
    }

    /// Lets a held appsink continue.
    pub fn release(&self) {
        *self.gate.hold_at.lock().expect("gate lock") = None;
        self.gate.cond.notify_all();
    }

    /// A decoding pipeline: `pravegasrc {src_props} ! qtdemux ! h264parse ! avdec_h264 ! appsink`.
    pub fn decoder(store: &TempStore, stream: &str, src_props: &str) -> Self {
        Collector::decoder_with(store, stream, src_props, "")
    }

    /// A decoding pipeline for a reader at the tail: pravegasrc is not live, so avdec_h264 picks frame
    /// threading, which holds back the newest frame until the next one arrives (or EOS). A live view wants
    /// every frame at once, so tailing readers use slice threading.
    pub fn tail_decoder(store: &TempStore, stream: &str, src_props: &str) -> Self {
        Collector::decoder_with(store, stream, src_props, "thread-type=slice")
    }

    fn decoder_with(store: &TempStore, stream: &str, src_props: &str, dec_props: &str) -> Self {
        Collector::new(
            &format!(
                "pravegasrc name=src store=\"{}\" stream={stream} {src_props} ! qtdemux ! h264parse ! \
                 avdec_h264 {dec_props} ! appsink name=sink sync=false",
                store.uri()
            ),
            false,
        )
    }

    /// Everything collected so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().expect("seen lock").clone()
    }

    /// How many buffers arrived so far.
    pub fn count(&self) -> usize {
        self.seen.lock().expect("seen lock").len()
    }

    /// Forgets what was collected.
    pub fn clear(&self) {
        self.seen.lock().expect("seen lock").clear();
        self.src_seen.lock().expect("src lock").clear();
    }

    /// Plays to EOS (or fails on an error or after `timeout`), stops and returns what arrived.
    pub fn run(&self, timeout: Duration) -> Vec<Seen> {
        if let Err(e) = run_to_eos(&self.pipeline, timeout) {
            panic!("pipeline failed: {e}");
        }
        self.seen()
    }

    /// Polls until `pred` holds for what arrived; panics after `timeout`, with any bus error.
    pub fn wait_until(&self, timeout: Duration, what: &str, pred: impl Fn(&[Seen]) -> bool) {
        let deadline = Instant::now() + timeout;
        loop {
            if pred(&self.seen.lock().expect("seen lock")) {
                return;
            }
            // The bus is only read on failure, so that an EOS stays queued for a later wait_eos.
            if Instant::now() >= deadline {
                panic!(
                    "timed out waiting for {what}; {} buffers; bus error: {:?}",
                    self.count(),
                    first_error(&self.pipeline).map(|e| e.to_string())
                );
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

impl Drop for Collector {
    fn drop(&mut self) {
        self.release();
        stop(&self.pipeline);
    }
}

/// PTS values of what arrived, in arrival order.
pub fn pts_list(seen: &[Seen]) -> Vec<u64> {
    seen.iter()
        .map(|s| s.pts.expect("every decoded frame has a PTS"))
        .collect()
}

/// The stored timestamps of `frames` as seen by a decoder: mp4mux merges the last two samples of a recording
/// into one fragment at EOS, so a recording of n frames stores n-1; the missing one follows the last stored
/// frame by one frame duration.
pub fn expected_frame_times(frames: &[StoredFrame], recorded: usize) -> Vec<u64> {
    let mut times: Vec<u64> = frames.iter().map(|f| f.ts).collect();
    while times.len() < recorded {
        let last = *times.last().expect("at least one frame");
        times.push(last + FRAME_NS);
    }
    times
}

/// Asserts that decoded PTS values are the stored times, each at most one tick of the track timescale late
/// (pravegasrc rounds the rewritten tfdt up to a whole tick; qtdemux converts ticks back rounding down).
pub fn assert_times_match(decoded: &[u64], stored: &[u64], tick: u64) {
    assert_eq!(
        decoded.len(),
        stored.len(),
        "decoded {} frames, stored {}",
        decoded.len(),
        stored.len()
    );
    for (i, (d, s)) in decoded.iter().zip(stored).enumerate() {
        assert!(
            *d >= *s && *d - *s <= tick,
            "frame {i}: decoded PTS {d} vs stored {s} (diff {} ns, tick {tick} ns)",
            *d as i128 - *s as i128
        );
    }
}
