//! A year of footage: streams of 1, 30 and 365 days at one key frame a second (up to 31.5 million index
//! records, 630 MB of index), written directly in the wire format on the embedded store (the data stream is a
//! sparse file: nothing here reads the frames). For each, as separate processes of the release binary:
//!
//! - `hindsight inspect`: the first run builds the timeline digest from the index and caches it beside the
//!   stream, later runs read the cache; baseline in the same run: `inspect --gap 13`, which reads the whole
//!   index as inspect did before the digest;
//! - go to a time (`pravegasrc start-mode=timestamp`, a new pipeline each time) → first decoded frame, at ten
//!   seconds that were given a real GOP (the 1-day stream is the baseline: the search is what grows);
//! - `hindsight play`: exec until the app's status report shows the timeline fitted to the stream (its index
//!   read), and the app's resident memory then.
//!
//! Run under a display (`dbus-run-session -- xvfb-run -a cargo bench --bench year`); `HINDSIGHT_YEAR_STORE=DIR`
//! keeps the generated store in DIR (it must not hold these streams yet). Figures only.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use gst::prelude::*;
use hindsight_store::format::{Flags, FrameHeader, IndexRecord, FRAME_HEADER_LEN};
use hindsight_store::{StoreUri, StreamName, Timestamp};
use hindsight_testkit::pipeline::{launch, run_until_eos};
use hindsight_testkit::process::spawn_app;
use hindsight_testkit::{ms, Latencies};

const DAY: u64 = 86_400;
/// Bytes of a one-second GOP (a 400 kbit/s camera).
const GOP: u64 = 50_000;

fn bin() -> Option<PathBuf> {
    let bin = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/release/hindsight");
    bin.exists().then_some(bin)
}

/// True for the seconds the generated camera was off (an hour every other day: the timeline has gaps to draw).
fn off(s: u64) -> bool {
    s % (2 * DAY) > 40_000 && s % (2 * DAY) < 43_600
}

/// Writes `days` of index records ending now, and a sparse data stream as long as they say; the stream and
/// the time of its first second.
fn generate(store: &Path, days: u64) -> (StreamName, Timestamp) {
    let backend = StoreUri::embedded(store).open_new().expect("store");
    let name = StreamName::parse(&format!("year/d{days}")).expect("name");
    backend.create(&name).expect("data stream");
    backend
        .create(&name.index().expect("index name"))
        .expect("index stream");
    let start = Timestamp::now().saturating_sub(Duration::from_secs(days * DAY));
    let records = days * DAY;
    let mut w = backend
        .writer(&name.index().expect("index name"))
        .expect("writer");
    let mut buf = Vec::with_capacity(1 << 20);
    for s in 0..records {
        if off(s) {
            continue;
        }
        let r = IndexRecord {
            flags: Flags::new(false, true, s == 0),
            timestamp: start.saturating_add(Duration::from_secs(s)),
            offset: s * GOP,
        };
        buf.extend_from_slice(&r.encode());
        if buf.len() >= 1 << 20 {
            w.append(&buf).expect("append");
            buf.clear();
        }
    }
    w.append(&buf).expect("append");
    w.sync().expect("sync");
    drop(w);
    // The data: one sparse segment file (the embedded layout: <root>/<scope>/<stream>/<start offset>.seg).
    let seg = store
        .join("year")
        .join(format!("d{days}"))
        .join(format!("{:020}.seg", 0));
    File::create(&seg)
        .and_then(|f| f.set_len(records * GOP))
        .expect("sparse data");
    (name, start)
}

/// One real GOP (a second of 160x90 H.264 at 10 fps) as stored frames: recorded into a scratch store, read
/// back whole.
fn real_gop(dir: &Path) -> Vec<(FrameHeader, Vec<u8>)> {
    let scratch = dir.join("scratch");
    let desc = format!(
        "videotestsrc pattern=ball num-buffers=10 ! video/x-raw,width=160,height=90,framerate=10/1 ! \
         x264enc key-int-max=10 speed-preset=ultrafast tune=zerolatency ! h264parse ! \
         mp4mux streamable=true fragment-duration=100 ! pravegasink store=\"{}\" stream=g/gop",
        scratch.display()
    );
    run_until_eos(&launch(&desc), Duration::from_secs(60));
    let backend = StoreUri::embedded(&scratch).open().expect("scratch store");
    let name = StreamName::parse("g/gop").expect("name");
    let mut reader = backend.reader(&name).expect("reader");
    let (head, tail) = reader.extent().expect("extent");
    let mut bytes = vec![0u8; (tail - head) as usize];
    assert!(hindsight_store::video::read_exact_at(reader.as_mut(), head, &mut bytes).expect("read"));
    let mut frames = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        let header = FrameHeader::decode(&bytes[at..]).expect("a frame header");
        frames.push((
            header,
            bytes[at + FRAME_HEADER_LEN..at + header.frame_len()].to_vec(),
        ));
        at += header.frame_len();
    }
    frames
}

/// Writes `gop` at each of `seconds` of a generated stream (where its index records point), retimed to that
/// second; the rest of the data stays sparse.
fn plant(store: &Path, days: u64, start: Timestamp, gop: &[(FrameHeader, Vec<u8>)], seconds: &[u64]) {
    use std::os::unix::fs::FileExt;
    let seg = store
        .join("year")
        .join(format!("d{days}"))
        .join(format!("{:020}.seg", 0));
    let file = std::fs::OpenOptions::new()
        .write(true)
        .open(seg)
        .expect("data segment");
    let t0 = gop[0].0.timestamp.nanos();
    for &s in seconds {
        let mut bytes = Vec::new();
        for (header, payload) in gop {
            let mut h = *header;
            h.timestamp =
                Timestamp::from_nanos(start.nanos() + s * 1_000_000_000 + (h.timestamp.nanos() - t0));
            bytes.extend_from_slice(&h.encode());
            bytes.extend_from_slice(payload);
        }
        assert!(bytes.len() as u64 <= GOP, "a GOP of {} bytes", bytes.len());
        file.write_all_at(&bytes, s * GOP).expect("plant a GOP");
    }
}

/// `pravegasrc start-mode=timestamp` at each second of `seconds` → first decoded frame, each a new pipeline.
fn go_to_time(store: &Path, stream: &str, start: Timestamp, seconds: &[u64]) -> Latencies {
    // The first pipeline of the process loads the decoder: a first go untimed.
    let runs = seconds.first().map(|&s| (false, s)).into_iter();
    let runs = runs.chain(seconds.iter().map(|&s| (true, s)));
    Latencies::new(runs.filter_map(|(timed, s)| {
        let t = start.nanos() + s * 1_000_000_000 + 300_000_000;
        let began = Instant::now();
        let pipeline = gst::parse::launch(&format!(
            "pravegasrc store=\"{}\" stream={stream} start-mode=timestamp start-timestamp={t} ! \
             decodebin ! appsink name=out sync=false",
            store.display()
        ))
        .expect("pipeline")
        .downcast::<gst::Pipeline>()
        .expect("a pipeline");
        let sink = pipeline
            .by_name("out")
            .and_then(|e| e.downcast::<gst_app::AppSink>().ok())
            .expect("appsink");
        pipeline.set_state(gst::State::Playing).expect("play");
        let sample = sink.try_pull_sample(gst::ClockTime::from_seconds(30));
        let took = began.elapsed();
        pipeline.set_state(gst::State::Null).expect("stop");
        assert!(sample.is_some(), "no frame at second {s} of {stream}");
        timed.then_some(took)
    }))
}

/// Runs `hindsight ARGS`; wall time and peak resident memory (MB).
///
/// The peak is the child's VmHWM, read every millisecond while it runs (a high-water mark, so a read after the
/// peak holds it). wait4's ru_maxrss would not do: Linux carries the parent's peak over into a child that
/// execs after a vfork, and this process is larger than the commands it measures.
fn timed(bin: &Path, store: &Path, args: &[&str]) -> (Duration, f64) {
    let start = Instant::now();
    let mut child = Command::new(bin)
        .arg("--store")
        .arg(store)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start hindsight");
    let mut peak_kb = 0.0f64;
    let status = loop {
        peak_kb = peak_kb.max(proc_status_kb(child.id(), "VmHWM:"));
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        std::thread::sleep(Duration::from_millis(1));
    };
    let took = start.elapsed();
    assert!(status.success(), "hindsight {args:?} failed: {status:?}");
    (took, peak_kb / 1024.0)
}

/// A `/proc/PID/status` field in kB (0 once the process is gone).
fn proc_status_kb(pid: u32, field: &str) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .unwrap_or(0.0)
}

/// `hindsight play STREAM` until its status report shows the timeline fitted to the stream; the time that took
/// and the app's resident memory then (MB).
fn open_app(bin: &Path, store: &Path, stream: &str, days: u64, dir: &Path) -> Option<(Duration, f64)> {
    let status = dir.join(format!("status-{days}.json"));
    let _ = std::fs::remove_file(&status);
    let start = Instant::now();
    let mut child = spawn_app(bin, store, &["play", stream], &status).expect("start hindsight");
    // The window fits the stream (up to the widest the timeline zooms out to).
    let want = Duration::from_secs(days * DAY * 9 / 10)
        .min(hindsight::timeline_model::MAX_SPAN.mul_f64(0.9))
        .as_nanos() as u64;
    let deadline = start + Duration::from_secs(120);
    let mut found = None;
    while Instant::now() < deadline {
        let text = std::fs::read_to_string(&status).unwrap_or_default();
        let json: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
        let tl = &json["timeline"];
        let span = tl["end_ns"]
            .as_u64()
            .unwrap_or(0)
            .saturating_sub(tl["start_ns"].as_u64().unwrap_or(0));
        if span >= want {
            let took = start.elapsed();
            // Let the first index read settle before reading the memory.
            std::thread::sleep(Duration::from_millis(500));
            found = Some((took, rss_mb(child.id())));
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let _ = child.kill();
    let _ = child.wait();
    found
}

fn rss_mb(pid: u32) -> f64 {
    proc_status_kb(pid, "VmRSS:") / 1024.0
}

fn main() {
    let Some(bin) = bin() else {
        println!("year: skipped, build the release binary first (cargo build --release --bin hindsight)");
        return;
    };
    let work = tempfile::Builder::new()
        .prefix("hindsight-year")
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .expect("temp dir");
    // HINDSIGHT_YEAR_STORE keeps the generated store there (to open it in the app afterwards).
    let store =
        std::env::var_os("HINDSIGHT_YEAR_STORE").map_or_else(|| work.path().join("store"), PathBuf::from);
    hindsight::engine::init().expect("media engine");
    let gop = real_gop(work.path());
    println!("== a year of footage: 1 s key frames, index written directly, sparse data ==");
    let mut rows = Vec::new();
    for days in [1u64, 30, 365] {
        let t = Instant::now();
        let (name, start) = generate(&store, days);
        let stream = name.to_string();
        // Ten seconds spread over the stream, where the camera was on, get real frames to go to.
        let mut rng = fastrand::Rng::with_seed(days);
        let seconds: Vec<u64> = std::iter::repeat_with(|| rng.u64(0..days * DAY - 2))
            .filter(|&s| !off(s))
            .take(10)
            .collect();
        plant(&store, days, start, &gop, &seconds);
        println!(
            "{days} days: {} index records written in {:.1} s",
            days * DAY,
            t.elapsed().as_secs_f64()
        );
        let first = timed(&bin, &store, &["inspect", &stream]);
        let cached = timed(&bin, &store, &["inspect", &stream]);
        let baseline = timed(&bin, &store, &["inspect", "--gap", "13", &stream]);
        let app = open_app(&bin, &store, &stream, days, work.path());
        let seek = go_to_time(&store, &stream, start, &seconds);
        rows.push((days, first, cached, baseline, app, seek));
        let _ = std::io::stdout().flush();
    }
    println!(
        "{:>5} | {:>22} | {:>22} | {:>22} | {:>22} | go to time: first frame",
        "days", "inspect, digest built", "inspect, cached", "baseline: whole index", "app: timeline drawn"
    );
    for (days, first, cached, baseline, app, seek) in rows {
        let cell = |(d, mb): (Duration, f64)| format!("{} {:>6.0} MB", ms(d), mb);
        println!(
            "{days:>5} | {:>22} | {:>22} | {:>22} | {:>22} | p50 {} p95 {}",
            cell(first),
            cell(cached),
            cell(baseline),
            app.map_or("no timeline in 120 s".into(), cell),
            ms(seek.p50()),
            ms(seek.p95())
        );
    }
    // The digest caches left in the store are small beside the index.
    let backend = StoreUri::embedded(&store).open().expect("store");
    for days in [1u64, 30, 365] {
        let name = StreamName::parse(&format!("year/d{days}-digest")).expect("name");
        if let Ok(info) = backend.info(&name) {
            println!(
                "{days:>5} days: digest cache {:.2} MB, index {:.0} MB",
                (info.tail - info.head) as f64 / 1e6,
                (days * DAY * 20) as f64 / 1e6
            );
        }
    }
}
