//! Benchmarks of pravegasink and pravegasrc on the embedded store, each beside a baseline measured in the same
//! run: tail latency (sink to a tailing source), seek latency (seek to first decoded frame) and sink
//! throughput. Figures only, no assertions: `cargo bench -p gst-plugin-pravega`.
//!
//! The stores live under Cargo's target tmp directory, on the same disk as the workspace (not a tmpfs), so the
//! sink's fsyncs at index records cost what they cost on a real recorder.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use gst::prelude::*;
use hindsight_store::video::{IndexReader, VideoStreamNames};
use hindsight_store::{search, StoreUri, StreamName};
use hindsight_testkit::pipeline::{launch, stop, wait_eos};
use hindsight_testkit::{ms, Latencies};

fn main() {
    gst::init().expect("gst::init");
    gstpravega::register_static().expect("register elements");
    let base = Path::new(env!("CARGO_TARGET_TMPDIR")).join("gst-pravega-bench");
    let _ = std::fs::remove_dir_all(&base);
    std::fs::create_dir_all(&base).expect("bench directory");
    let only = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    let run = |name: &str| only.as_deref().is_none_or(|o| name.contains(o));

    if run("tail") {
        let dir = base.join("tail");
        std::fs::create_dir_all(&dir).expect("dir");
        tail_latency(&dir.display().to_string(), "embedded store", "bench/tail");
        // The same on a real Pravega server (scripts/with-pravega sets the variable), in a scope of its own.
        match std::env::var("HINDSIGHT_PRAVEGA_CONTROLLER") {
            Ok(uri) if !uri.is_empty() => {
                let stream = format!("bench-{}/tail", std::process::id());
                let shown = hindsight_store::redact(&uri);
                tail_latency(&uri, &format!("Pravega at {shown}"), &stream);
            }
            _ => println!(
                "== tail latency on Pravega: skipped (run under scripts/with-pravega to measure it) ==\n"
            ),
        }
    }
    if run("seek") {
        seek_latency(&base.join("seek"));
    }
    if run("throughput") {
        sink_throughput(&base.join("throughput"));
    }
    let _ = std::fs::remove_dir_all(&base);
}

// ---------------------------------------------------------------------------------------------------------
// Helpers

fn element<T: IsA<gst::Element>>(pipeline: &gst::Pipeline, name: &str) -> T {
    pipeline
        .by_name(name)
        .unwrap_or_else(|| panic!("no element {name}"))
        .downcast::<T>()
        .unwrap_or_else(|_| panic!("{name} has another type"))
}

/// Detects, in mp4mux's output (moof, mdat header, sample data as separate buffers), the buffer that
/// completes a fragment: that is when pravegasink appends a frame.
#[derive(Default)]
struct FragmentEnds {
    /// Bytes of an mdat still to come.
    remaining: u64,
}

impl FragmentEnds {
    /// True if `data`, the next buffer, completes an mdat.
    fn push(&mut self, data: &[u8]) -> bool {
        let len = data.len() as u64;
        if self.remaining > 0 {
            self.remaining = self.remaining.saturating_sub(len);
            return self.remaining == 0;
        }
        let mut at = 0u64;
        let mut complete = false;
        while at + 8 <= len {
            let h = &data[at as usize..at as usize + 8];
            let size = u64::from(u32::from_be_bytes([h[0], h[1], h[2], h[3]]));
            if size < 8 {
                return false;
            }
            if &h[4..8] == b"mdat" {
                if at + size <= len {
                    complete = true;
                } else {
                    self.remaining = at + size - len;
                    return false;
                }
            }
            at += size;
        }
        complete
    }
}

/// Records the arrival time of every buffer that completes a fragment, through a pad probe.
fn probe_fragment_ends(pad: &gst::Pad) -> Arc<Mutex<Vec<Instant>>> {
    let times = Arc::new(Mutex::new(Vec::new()));
    let t = times.clone();
    // Probes may be called from any streaming thread, hence the mutex.
    let ends = Mutex::new(FragmentEnds::default());
    pad.add_probe(gst::PadProbeType::BUFFER, move |_, info| {
        let now = Instant::now();
        if let Some(buffer) = info.buffer() {
            if let Ok(map) = buffer.map_readable() {
                if ends.lock().expect("ends").push(&map) {
                    t.lock().expect("times").push(now);
                }
            }
        }
        gst::PadProbeReturn::Ok
    });
    times
}

/// Records the time every buffer reaches an appsink.
fn appsink_times(sink: &gst_app::AppSink) -> Arc<Mutex<Vec<Instant>>> {
    let times = Arc::new(Mutex::new(Vec::new()));
    let t = times.clone();
    sink.set_callbacks(
        gst_app::AppSinkCallbacks::builder()
            .new_sample(move |sink| {
                let now = Instant::now();
                sink.pull_sample().map_err(|_| gst::FlowError::Eos)?;
                t.lock().expect("times").push(now);
                Ok(gst::FlowSuccess::Ok)
            })
            .build(),
    );
    times
}

fn latencies(from: &[Instant], to: &[Instant], skip: usize) -> Vec<Duration> {
    from.iter()
        .zip(to)
        .skip(skip)
        .map(|(a, b)| b.saturating_duration_since(*a))
        .collect()
}

// ---------------------------------------------------------------------------------------------------------
// Tail latency

/// A live 30 fps recording (x264enc tune=zerolatency, mp4mux one fragment per frame) goes through a tee into
/// pravegasink and, as the baseline, into a queue and an appsink without the store. A reader pipeline in the
/// same process tails the stream: `pravegasrc ! appsink`. Per frame:
/// - store: pravegasink's sink pad receiving the buffer that completes the fragment (the render that appends
///   the frame follows at once) -> the reader's appsink receiving that frame;
/// - baseline: the tee's sink pad receiving the same buffer -> the baseline appsink receiving it.
///
/// Frames are matched by order: both start at the first frame and neither drops any.
fn tail_latency(store: &str, label: &str, stream: &str) {
    const FRAMES: usize = 330;
    const WARMUP: usize = 30;
    let name = StreamName::parse(stream).expect("name");
    // The reader must find the stream; it then waits at the head for the first key frame.
    let backend = StoreUri::parse(store).and_then(|u| u.open()).expect("store");
    let names = VideoStreamNames::new(&name).expect("names");
    backend.create(&names.data).expect("create data");
    backend.create(&names.index).expect("create index");

    let reader = launch(&format!(
        "pravegasrc store=\"{store}\" stream={stream} start-mode=earliest ! appsink name=out sync=false"
    ));
    let read_times = appsink_times(&element(&reader, "out"));
    reader.set_state(gst::State::Playing).expect("reader playing");

    let writer = launch(&format!(
        "videotestsrc is-live=true num-buffers={FRAMES} ! video/x-raw,width=320,height=240,framerate=30/1 ! \
         x264enc tune=zerolatency speed-preset=ultrafast key-int-max=30 bframes=0 ! h264parse ! \
         video/x-h264,alignment=au ! mp4mux streamable=true fragment-duration=1 ! tee name=t ! \
         queue ! pravegasink name=sink store=\"{store}\" stream={stream} \
         t. ! queue ! appsink name=base sync=false"
    ));
    let sink_times = probe_fragment_ends(
        &element::<gst::Element>(&writer, "sink")
            .static_pad("sink")
            .expect("sink pad"),
    );
    let tee_times = probe_fragment_ends(
        &element::<gst::Element>(&writer, "t")
            .static_pad("sink")
            .expect("tee pad"),
    );
    let base_times = {
        // The baseline appsink gets mp4mux's separate buffers too; keep the ones that complete a fragment.
        let times = Arc::new(Mutex::new(Vec::new()));
        let t = times.clone();
        let mut ends = FragmentEnds::default();
        element::<gst_app::AppSink>(&writer, "base").set_callbacks(
            gst_app::AppSinkCallbacks::builder()
                .new_sample(move |sink| {
                    let now = Instant::now();
                    let sample = sink.pull_sample().map_err(|_| gst::FlowError::Eos)?;
                    let buffer = sample.buffer().ok_or(gst::FlowError::Error)?;
                    let map = buffer.map_readable().map_err(|_| gst::FlowError::Error)?;
                    if ends.push(&map) {
                        t.lock().expect("times").push(now);
                    }
                    Ok(gst::FlowSuccess::Ok)
                })
                .build(),
        );
        times
    };
    writer.set_state(gst::State::Playing).expect("writer playing");
    wait_eos(&writer, Duration::from_secs(60)).expect("recording");
    stop(&writer);
    // The last fragment is complete in the store once the writer stopped; give the reader a moment.
    let written = sink_times.lock().expect("times").len();
    let deadline = Instant::now() + Duration::from_secs(5);
    while read_times.lock().expect("times").len() < written && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    stop(&reader);

    let sink_times = sink_times.lock().expect("times").clone();
    let read_times = read_times.lock().expect("times").clone();
    let tee_times = tee_times.lock().expect("times").clone();
    let base_times = base_times.lock().expect("times").clone();
    // The last fragment holds two samples and is written at EOS, not at frame pace: leave it out.
    let n = sink_times.len().min(read_times.len()).saturating_sub(1);
    let store_lat = Latencies::new(latencies(&sink_times[..n], &read_times[..n], WARMUP));
    let end_to_end = Latencies::new(latencies(&tee_times[..n], &read_times[..n], WARMUP));
    let nb = tee_times.len().min(base_times.len()).saturating_sub(1);
    let base_lat = Latencies::new(latencies(&tee_times[..nb], &base_times[..nb], WARMUP));
    println!("== tail latency, 30 fps live 320x240 H.264 fMP4, {label} ==");
    println!(
        "frames written {}, read {}, measured {} (first {WARMUP} skipped)",
        sink_times.len(),
        read_times.len(),
        store_lat.len()
    );
    println!(
        "store: pravegasink input -> pravegasrc ! appsink: p50 {}  p99 {}  max {}",
        ms(store_lat.p50()),
        ms(store_lat.p99()),
        ms(store_lat.max())
    );
    println!(
        "store incl. tee+queue: tee input -> pravegasrc ! appsink: p50 {}  p99 {}",
        ms(end_to_end.p50()),
        ms(end_to_end.p99())
    );
    println!(
        "baseline: tee input -> queue ! appsink (no store):       p50 {}  p99 {}",
        ms(base_lat.p50()),
        ms(base_lat.p99())
    );
    println!("goal: store p99 <= 5 ms\n");
}

// ---------------------------------------------------------------------------------------------------------
// Seek latency

/// A 1-hour recording (64x48, 5 fps, a key frame every second) written at once by a non-live pipeline through
/// a tee into pravegasink and into filesink (the same fragmented MP4 bytes as one file). Then 50 random
/// KEY_UNIT seeks in each, measured from the seek call to the first decoded frame reaching the appsink (its
/// preroll in PAUSED):
/// - store: `pravegasrc ! qtdemux ! h264parse ! avdec_h264 ! appsink`, target = first TAI time + offset;
/// - baseline: `filesrc ! qtdemux ! h264parse ! avdec_h264 ! appsink`, target = offset.
fn seek_latency(dir: &Path) {
    const SEEKS: usize = 50;
    const FPS: u64 = 5;
    const HOUR_FRAMES: u64 = 3600 * FPS;
    std::fs::create_dir_all(dir).expect("dir");
    let store = dir.display().to_string();
    let file = dir.join("hour.mp4");

    let started = Instant::now();
    let writer = launch(&format!(
        "videotestsrc num-buffers={HOUR_FRAMES} pattern=ball ! video/x-raw,width=64,height=48,framerate={FPS}/1 ! \
         x264enc key-int-max={FPS} bframes=0 speed-preset=ultrafast tune=zerolatency ! h264parse ! \
         video/x-h264,alignment=au ! mp4mux streamable=true fragment-duration=1 ! tee name=t ! \
         queue ! pravegasink store=\"{store}\" stream=bench/hour t. ! queue ! filesink location=\"{}\"",
        file.display()
    ));
    writer.set_state(gst::State::Playing).expect("writer playing");
    wait_eos(&writer, Duration::from_secs(600)).expect("recording");
    stop(&writer);
    let generated = started.elapsed();

    let backend = StoreUri::parse(&store).and_then(|u| u.open()).expect("store");
    let name = StreamName::parse("bench/hour").expect("name");
    let mut index = IndexReader::open(backend.as_ref(), &name).expect("index");
    let first = search::first_seek_target(&mut index)
        .expect("search")
        .expect("a key frame")
        .1
        .timestamp
        .nanos();
    let (from, to) = search::IndexSource::bounds(&mut index).expect("bounds");
    let data = backend.info(&name).expect("info");
    println!("== seek latency, 1 h of 64x48 5 fps H.264 fMP4 (key frame every 1 s) ==");
    println!(
        "generated in {:.1} s: store {} index records, {:.1} MiB; file {:.1} MiB",
        generated.as_secs_f64(),
        to - from,
        data.tail as f64 / (1 << 20) as f64,
        std::fs::metadata(&file).map(|m| m.len()).unwrap_or(0) as f64 / (1 << 20) as f64
    );

    // The same pseudo-random offsets for both: a fixed LCG, so runs compare.
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let offsets: Vec<u64> = (0..SEEKS)
        .map(|_| {
            seed = seed
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (seed >> 11) % (3590 * 1_000_000_000)
        })
        .collect();

    let store_dir = store;
    let store = seeks(
        &format!("pravegasrc store=\"{store_dir}\" stream=bench/hour end-mode=latest"),
        &offsets.iter().map(|o| first + o).collect::<Vec<_>>(),
    );
    let open_file = without_mfra(&file);
    let file = seeks(&format!("filesrc location=\"{}\"", file.display()), &offsets);
    let open_file = seeks(&format!("filesrc location=\"{}\"", open_file.display()), &offsets);
    let (s50, s95) = (
        Latencies::new(store.frame.iter().copied()).percentile(0.5),
        Latencies::new(store.frame.iter().copied()).percentile(0.95),
    );
    println!("seek -> first decoded frame at the appsink:");
    println!(
        "store:    pravegasrc ! qtdemux ! ... ! appsink:         p50 {}  p95 {}",
        ms(s50),
        ms(s95)
    );
    for (what, f, goal) in [
        ("file with mfra (as closed by mp4mux)", &file, "1.0x"),
        ("file without mfra (as while recording)", &open_file, "0.2x"),
    ] {
        let (f50, f95) = (
            Latencies::new(f.frame.iter().copied()).percentile(0.5),
            Latencies::new(f.frame.iter().copied()).percentile(0.95),
        );
        println!(
            "baseline: filesrc ! qtdemux ! ... ! appsink, {what}: p50 {}  p95 {}",
            ms(f50),
            ms(f95)
        );
        println!(
            "  ratio store/file: p50 {:.3}x  p95 {:.3}x  (goal <= {goal})",
            s50.as_secs_f64() / f50.as_secs_f64(),
            s95.as_secs_f64() / f95.as_secs_f64()
        );
    }
    println!("p50 by stage (from the seek call): seek returns / first buffer out of the source / first buffer into h264parse / frame decoded");
    for (what, st) in [
        ("store           ", &store),
        ("file            ", &file),
        ("file without mfra", &open_file),
    ] {
        println!(
            "  {what}: {} / {} / {} / {}",
            ms(Latencies::new(st.returned.iter().copied()).percentile(0.5)),
            ms(Latencies::new(st.source.iter().copied()).percentile(0.5)),
            ms(Latencies::new(st.parser.iter().copied()).percentile(0.5)),
            ms(Latencies::new(st.frame.iter().copied()).percentile(0.5))
        );
    }
    println!(
        "  pravegasrc's share: index search {} (p50, storage API alone), the rest is the flush and one frame read",
        ms(index_search(&backend, &name, &offsets.iter().map(|o| first + o).collect::<Vec<_>>()))
    );
    let store_cold = cold_starts(
        |t| {
            format!("pravegasrc store=\"{store_dir}\" stream=bench/hour start-mode=timestamp start-timestamp={t} end-mode=latest")
        },
        &offsets[..10].iter().map(|o| first + o).collect::<Vec<_>>(),
        false,
    );
    let file_cold = cold_starts(
        |_| format!("filesrc location=\"{}\"", dir.join("hour.mp4").display()),
        &offsets[..10],
        true,
    );
    println!(
        "cold start, NULL -> first decoded frame at a random time (p50 of 10): store (start-mode=timestamp) {}, \
         file (preroll, then seek) {}\n",
        ms(Latencies::new(store_cold.iter().copied()).percentile(0.5)),
        ms(Latencies::new(file_cold.iter().copied()).percentile(0.5))
    );
}

/// Copies `file` without its trailing `mfra` box (the random-access table mp4mux writes when it finishes),
/// as a fragmented MP4 looks while it is still being recorded. Returns the copy's path.
fn without_mfra(file: &Path) -> std::path::PathBuf {
    let data = std::fs::read(file).expect("read MP4");
    let mut at = 0usize;
    let mut end = data.len();
    while at + 8 <= data.len() {
        let size = u32::from_be_bytes([data[at], data[at + 1], data[at + 2], data[at + 3]]) as usize;
        if &data[at + 4..at + 8] == b"mfra" {
            end = at;
            break;
        }
        if size < 8 {
            break;
        }
        at += size;
    }
    let out = file.with_extension("open.mp4");
    std::fs::write(&out, &data[..end]).expect("write MP4 copy");
    out
}

/// Per-stage seek latencies, each sorted.
struct SeekTimes {
    /// `seek_simple` returned.
    returned: Vec<Duration>,
    /// The first buffer left the source element.
    source: Vec<Duration>,
    /// The first buffer reached h264parse (after qtdemux).
    parser: Vec<Duration>,
    /// The decoded frame was prerolled at the appsink.
    frame: Vec<Duration>,
}

/// A decoding pipeline from `source` whose appsink reports prerolled frames with their PTS.
type Prerolled = Arc<(Mutex<Vec<(Instant, u64)>>, std::sync::Condvar)>;

fn decoding_pipeline(source: &str) -> (gst::Pipeline, Prerolled) {
    let pipeline = launch(&format!(
        "{source} ! qtdemux ! h264parse ! avdec_h264 ! appsink name=out sync=false"
    ));
    let prerolled: Prerolled = Arc::default();
    let p = prerolled.clone();
    element::<gst_app::AppSink>(&pipeline, "out").set_callbacks(
        gst_app::AppSinkCallbacks::builder()
            .new_preroll(move |sink| {
                let now = Instant::now();
                let sample = sink.pull_preroll().map_err(|_| gst::FlowError::Eos)?;
                let pts = sample
                    .buffer()
                    .and_then(|b| b.pts())
                    .map(|t| t.nseconds())
                    .unwrap_or(0);
                p.0.lock().expect("preroll").push((now, pts));
                p.1.notify_all();
                Ok(gst::FlowSuccess::Ok)
            })
            .build(),
    );
    (pipeline, prerolled)
}

/// Waits for the next prerolled frame; returns when it arrived and its PTS.
fn wait_preroll(prerolled: &Prerolled, what: &str) -> (Instant, u64) {
    let mut got = prerolled.0.lock().expect("preroll");
    let deadline = Instant::now() + Duration::from_secs(30);
    while got.is_empty() {
        assert!(Instant::now() < deadline, "{what}: no frame");
        got = prerolled
            .1
            .wait_timeout(got, Duration::from_secs(1))
            .expect("preroll wait")
            .0;
    }
    got[0]
}

/// Records when the first buffer after a reset passes `pad`.
fn first_buffer_probe(pad: &gst::Pad) -> Arc<Mutex<Option<Instant>>> {
    let slot: Arc<Mutex<Option<Instant>>> = Arc::default();
    let s = slot.clone();
    pad.add_probe(gst::PadProbeType::BUFFER, move |_, _| {
        let mut s = s.lock().expect("slot");
        if s.is_none() {
            *s = Some(Instant::now());
        }
        gst::PadProbeReturn::Ok
    });
    slot
}

/// Prerolls `source ! qtdemux ! h264parse ! avdec_h264 ! appsink`, then times KEY_UNIT seeks to each target
/// until the decoded frame is prerolled.
fn seeks(source: &str, targets: &[u64]) -> SeekTimes {
    let (pipeline, prerolled) = decoding_pipeline(source);
    let mut source_pad = None;
    let mut parser_pad = None;
    for e in pipeline.iterate_elements().into_iter().flatten() {
        match e.factory().map(|f| f.name().to_string()).as_deref() {
            Some("pravegasrc" | "filesrc") => source_pad = e.static_pad("src"),
            Some("h264parse") => parser_pad = e.static_pad("sink"),
            _ => {}
        }
    }
    let first_src = first_buffer_probe(&source_pad.expect("source pad"));
    let first_parse = first_buffer_probe(&parser_pad.expect("parser pad"));
    pipeline.set_state(gst::State::Paused).expect("paused");
    let (res, _, _) = pipeline.state(gst::ClockTime::from_seconds(60));
    res.unwrap_or_else(|e| panic!("{source}: no preroll: {e}"));

    let mut times = SeekTimes {
        returned: Vec::new(),
        source: Vec::new(),
        parser: Vec::new(),
        frame: Vec::new(),
    };
    for &t in targets {
        prerolled.0.lock().expect("preroll").clear();
        *first_src.lock().expect("slot") = None;
        *first_parse.lock().expect("slot") = None;
        let asked = Instant::now();
        pipeline
            .seek_simple(
                gst::SeekFlags::FLUSH | gst::SeekFlags::KEY_UNIT,
                gst::ClockTime::from_nseconds(t),
            )
            .unwrap_or_else(|e| panic!("{source}: seek to {t}: {e}"));
        times.returned.push(asked.elapsed());
        let (at, pts) = wait_preroll(&prerolled, source);
        // A key-unit seek shows a key frame next to the target (one a second).
        assert!(
            pts.abs_diff(t) <= 1_100_000_000,
            "{source}: seek to {t} showed {pts}"
        );
        times.frame.push(at.duration_since(asked));
        let since = |slot: &Arc<Mutex<Option<Instant>>>| {
            slot.lock()
                .expect("slot")
                .map_or(Duration::ZERO, |i| i.duration_since(asked))
        };
        times.source.push(since(&first_src));
        times.parser.push(since(&first_parse));
        // Let the seek's state change finish before the next one.
        let _ = pipeline.state(gst::ClockTime::from_seconds(10));
    }
    stop(&pipeline);
    for v in [
        &mut times.returned,
        &mut times.source,
        &mut times.parser,
        &mut times.frame,
    ] {
        v.sort();
    }
    times
}

/// Times from a new pipeline to the first decoded frame at each target: the source either starts there
/// (`seek == false`) or prerolls at its start and is then seeked.
fn cold_starts(source: impl Fn(u64) -> String, targets: &[u64], seek: bool) -> Vec<Duration> {
    let mut out = Vec::new();
    for &t in targets {
        let started = Instant::now();
        let desc = source(t);
        let (pipeline, prerolled) = decoding_pipeline(&desc);
        pipeline.set_state(gst::State::Paused).expect("paused");
        let (mut at, mut pts) = wait_preroll(&prerolled, &desc);
        if seek {
            let _ = pipeline.state(gst::ClockTime::from_seconds(60));
            prerolled.0.lock().expect("preroll").clear();
            pipeline
                .seek_simple(
                    gst::SeekFlags::FLUSH | gst::SeekFlags::KEY_UNIT,
                    gst::ClockTime::from_nseconds(t),
                )
                .unwrap_or_else(|e| panic!("{desc}: seek to {t}: {e}"));
            (at, pts) = wait_preroll(&prerolled, &desc);
        }
        assert!(
            pts.abs_diff(t) <= 1_100_000_000,
            "{desc}: start at {t} showed {pts}"
        );
        out.push(at.duration_since(started));
        stop(&pipeline);
    }
    out.sort();
    out
}

/// p50 of the storage API's key-frame search alone (what pravegasrc does in `do_seek`).
fn index_search(backend: &Arc<dyn hindsight_store::Backend>, name: &StreamName, targets: &[u64]) -> Duration {
    let mut index = IndexReader::open(backend.as_ref(), name).expect("index");
    let times: Vec<Duration> = targets
        .iter()
        .map(|&t| {
            let started = Instant::now();
            search::seek_target_at_or_before(&mut index, hindsight_store::Timestamp::from_nanos(t))
                .expect("search")
                .expect("a key frame");
            started.elapsed()
        })
        .collect();
    Latencies::new(times).p50()
}

// ---------------------------------------------------------------------------------------------------------
// Sink throughput

/// appsrc pushes 1 MiB buffers (1 GiB in all, a key frame every 30 buffers, 30 buffers per second of
/// timestamps, so one index record and its fsync per 30 MiB, as for 1 MiB frames at 30 fps) into
/// pravegasink, and the same buffers into filesink in the same directory. Time runs from the first push until
/// the pipeline is back in NULL (pravegasink syncs and writes its end record on stop). filesink leaves the
/// data in the page cache, so a second baseline adds an fsync of its file: the time until the bytes are as
/// durable as the store's.
fn sink_throughput(dir: &Path) {
    const BUF: usize = 1 << 20;
    const COUNT: u64 = 1024;
    std::fs::create_dir_all(dir).expect("dir");
    let store = dir.display().to_string();
    let payload: Vec<u8> = (0..BUF)
        .map(|i| (i as u32).wrapping_mul(2_654_435_761).to_be_bytes()[0])
        .collect();
    let buffer = gst::Buffer::from_slice(payload);

    let run = |sink: &str| -> Duration {
        let pipeline = launch(&format!(
            "appsrc name=src caps=application/octet-stream format=time block=true max-bytes={} ! {sink}",
            16 * BUF
        ));
        let src: gst_app::AppSrc = element(&pipeline, "src");
        pipeline.set_state(gst::State::Playing).expect("playing");
        let started = Instant::now();
        let t0 = 1_800_000_000_000_000_000u64;
        for i in 0..COUNT {
            let mut b = buffer.clone();
            {
                let b = b.make_mut();
                b.set_pts(gst::ClockTime::from_nseconds(t0 + i * 1_000_000_000 / 30));
                b.set_duration(gst::ClockTime::from_nseconds(1_000_000_000 / 30));
                if i % 30 != 0 {
                    b.set_flags(gst::BufferFlags::DELTA_UNIT);
                }
            }
            src.push_buffer(b).expect("push");
        }
        src.end_of_stream().expect("eos");
        wait_eos(&pipeline, Duration::from_secs(600)).expect("pipeline");
        stop(&pipeline);
        started.elapsed()
    };
    let mib = (COUNT * BUF as u64) as f64 / (1 << 20) as f64;
    let file = dir.join("out.bin");
    let (mut store_t, mut file_t, mut durable_t) = (Duration::MAX, Duration::MAX, Duration::MAX);
    // Alternating, best of 2 each, to even out cache and disk effects.
    for round in 0..2 {
        let _ = std::fs::remove_file(&file);
        let took = run(&format!("filesink location=\"{}\"", file.display()));
        file_t = file_t.min(took);
        let synced = Instant::now();
        std::fs::File::open(&file)
            .and_then(|f| f.sync_all())
            .expect("fsync filesink output");
        durable_t = durable_t.min(took + synced.elapsed());
        let _ = std::fs::remove_file(&file);
        store_t = store_t.min(run(&format!(
            "pravegasink store=\"{store}\" stream=bench/throughput{round} timestamp-mode=tai"
        )));
        let _ = std::fs::remove_dir_all(dir.join("bench"));
    }
    let rate = |t: Duration| mib / t.as_secs_f64();
    println!("== sink throughput, 1 MiB buffers, {mib:.0} MiB per run, best of 2 ==");
    println!(
        "store:    appsrc ! pravegasink:          {:.0} MiB/s ({:.2} s)",
        rate(store_t),
        store_t.as_secs_f64()
    );
    println!(
        "baseline: appsrc ! filesink:             {:.0} MiB/s ({:.2} s)",
        rate(file_t),
        file_t.as_secs_f64()
    );
    println!(
        "baseline: appsrc ! filesink, then fsync: {:.0} MiB/s ({:.2} s)",
        rate(durable_t),
        durable_t.as_secs_f64()
    );
    println!(
        "ratio store/filesink: {:.2}x, store/filesink+fsync: {:.2}x  (goal >= 0.9x)\n",
        rate(store_t) / rate(file_t),
        rate(store_t) / rate(durable_t)
    );
}
