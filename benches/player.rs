//! The player as the app runs it, under a real GTK window: scrubbing (seek → new frame painted) and cold start
//! (pipeline built → first frame painted) on a 1-hour recording, each beside a baseline measured in the same
//! run: the same decoding into gtk4paintablesink from the same video as an ordinary MP4 file. Also the whole
//! `hindsight play` process from exec to the first frame. Figures only, no assertions:
//! `xvfb-run -a cargo bench --bench player` (it needs an X display).
//!
//! "Painted" is the window's frame clock finishing a paint after the sink published the new frame, so the
//! figures include GTK's frame scheduling, as a user would see it. Seeks happen paused (an analyst scrubbing),
//! 50 of them at the same pseudo-random offsets for both.

use std::cell::Cell;
use std::path::Path;
use std::process::{Command, Stdio};
use std::rc::Rc;
use std::time::{Duration, Instant};

use gst::prelude::*;
use hindsight::engine::player::{Player, StartAt};
use hindsight_store::video::IndexReader;
use hindsight_store::{search, StoreUri, StreamName, Timestamp};
use hindsight_testkit::process::spawn_app;
use hindsight_testkit::{ms, ratio, Latencies};
use relm4::gtk;
use relm4::gtk::prelude::*;

const SEEKS: usize = 50;
const FPS: u64 = 5;
const HOUR_FRAMES: u64 = 3600 * FPS;

fn main() {
    if let Err(e) = gtk::init() {
        eprintln!("player bench: skipped, no display ({e}); run it under xvfb-run");
        return;
    }
    hindsight::engine::init().expect("media engine");
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("player-bench");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("bench directory");
    let store_dir = dir.join("store");
    let file = dir.join("hour.mp4");
    record_hour(&store_dir, &file);

    let store = StoreUri::embedded(&store_dir).open().expect("store");
    let name = StreamName::parse("bench/hour").expect("name");
    let first = {
        let mut index = IndexReader::open(store.as_ref(), &name).expect("index");
        search::first_seek_target(&mut index)
            .expect("search")
            .expect("a key frame")
            .1
            .timestamp
    };
    let offsets = offsets();

    let window = gtk::Window::builder()
        .default_width(640)
        .default_height(480)
        .build();
    let picture = gtk::Picture::new();
    window.set_child(Some(&picture));
    window.present();
    let screen = Screen { picture };

    println!("== player: 1 h of 160x120 {FPS} fps H.264 (key frame every 1 s), window 640x480 ==");
    // Store: the app's Player (pravegasrc ! decodebin ! videoconvert ! gtk4paintablesink).
    let mut store_cold = Vec::new();
    let mut store_seeks = Vec::new();
    for round in 0..3 {
        let built = Instant::now();
        let player = Player::new(store.clone(), &name, StartAt::Earliest, |_| {}).expect("player");
        store_cold.push(screen.wait_painted(player.paintable(), built));
        if round == 0 {
            for off in &offsets {
                let t = Timestamp::from_nanos(first.nanos() + off);
                let start = Instant::now();
                player.seek(t);
                store_seeks.push(screen.wait_painted(player.paintable(), start));
            }
        }
        drop(player);
        screen.settle();
    }

    // Baseline: the same video from an MP4 file into the same sink.
    let mut file_cold = Vec::new();
    let mut file_seeks = Vec::new();
    for round in 0..3 {
        let built = Instant::now();
        let (pipeline, paintable) = file_player(&file);
        file_cold.push(screen.wait_painted(&paintable, built));
        if round == 0 {
            for off in &offsets {
                let start = Instant::now();
                pipeline
                    .seek_simple(
                        gst::SeekFlags::FLUSH | gst::SeekFlags::KEY_UNIT,
                        gst::ClockTime::from_nseconds(*off),
                    )
                    .expect("seek");
                file_seeks.push(screen.wait_painted(&paintable, start));
            }
        }
        let _ = pipeline.set_state(gst::State::Null);
        screen.settle();
    }

    let (s, f) = (
        Latencies::new(store_seeks.iter().copied()),
        Latencies::new(file_seeks.iter().copied()),
    );
    println!("scrub, seek -> new frame painted ({SEEKS} seeks, paused):");
    println!(
        "  store (Player):            p50 {}  p95 {}",
        ms(s.p50()),
        ms(s.p95())
    );
    println!(
        "  baseline (MP4 file):       p50 {}  p95 {}",
        ms(f.p50()),
        ms(f.p95())
    );
    println!(
        "  ratio store/file:          p50 {:.2}x  p95 {:.2}x",
        ratio(s.p50(), f.p50()),
        ratio(s.p95(), f.p95())
    );
    let (s, f) = (
        Latencies::new(store_cold.iter().copied()),
        Latencies::new(file_cold.iter().copied()),
    );
    println!("cold start, pipeline built -> first frame painted (median of 3):");
    println!(
        "  store {}  baseline file {}  ratio {:.2}x",
        ms(s.p50()),
        ms(f.p50()),
        ratio(s.p50(), f.p50())
    );
    process_cold_start(&store_dir, &dir);
    let _ = std::fs::remove_dir_all(&dir);
}

/// The window showing one paintable at a time, and the wait for a frame to reach the screen.
struct Screen {
    picture: gtk::Picture,
}

impl Screen {
    /// Shows `paintable` and waits until a frame published after `since` has been painted; returns the time
    /// from `since`.
    fn wait_painted(&self, paintable: &gtk::gdk::Paintable, since: Instant) -> Duration {
        self.picture.set_paintable(Some(paintable));
        let published = Rc::new(Cell::new(None::<Instant>));
        let painted = Rc::new(Cell::new(None::<Instant>));
        let p = published.clone();
        let invalidated = paintable.connect_invalidate_contents(move |_| {
            if p.get().is_none() {
                p.set(Some(Instant::now()));
            }
        });
        let clock = self
            .picture
            .frame_clock()
            .expect("a realized window has a frame clock");
        let (p, d) = (published.clone(), painted.clone());
        let after_paint = clock.connect_after_paint(move |_| {
            if p.get().is_some() && d.get().is_none() {
                d.set(Some(Instant::now()));
            }
        });
        let ctx = gtk::glib::MainContext::default();
        let deadline = Instant::now() + Duration::from_secs(30);
        while painted.get().is_none() {
            assert!(Instant::now() < deadline, "no frame painted within 30 s");
            ctx.iteration(true);
        }
        paintable.disconnect(invalidated);
        clock.disconnect(after_paint);
        painted.get().map_or(Duration::ZERO, |t| t - since)
    }

    /// Lets the main loop run a little between measurements.
    fn settle(&self) {
        self.picture.set_paintable(gtk::gdk::Paintable::NONE);
        let ctx = gtk::glib::MainContext::default();
        let until = Instant::now() + Duration::from_millis(200);
        while Instant::now() < until {
            ctx.iteration(false);
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

/// `filesrc ! qtdemux ! h264parse ! avdec_h264 ! videoconvert ! gtk4paintablesink`, paused.
fn file_player(file: &Path) -> (gst::Pipeline, gtk::gdk::Paintable) {
    let pipeline = gst::parse::launch(&format!(
        "filesrc location=\"{}\" ! qtdemux ! h264parse ! avdec_h264 thread-type=slice ! videoconvert ! \
         gtk4paintablesink name=sink",
        file.display()
    ))
    .expect("file pipeline")
    .downcast::<gst::Pipeline>()
    .expect("a pipeline");
    let sink = pipeline.by_name("sink").expect("sink");
    let paintable = sink.property::<gtk::gdk::Paintable>("paintable");
    pipeline.set_state(gst::State::Paused).expect("paused");
    (pipeline, paintable)
}

/// `hindsight play` from exec until its first frame reaches the picture, beside `gst-launch-1.0` playing the
/// file into a window the same way. The app reports when that was (and when each stage of its start ended) in
/// its status file; the exec time is noted here on the same wall clock.
fn process_cold_start(store: &Path, dir: &Path) {
    let bin = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/release/hindsight");
    let bin = if bin.exists() {
        bin
    } else {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("target/debug/hindsight")
    };
    if !bin.exists() {
        println!("process cold start: skipped, build the hindsight binary first");
        return;
    }
    const RUNS: usize = 7;
    let mut times = Vec::new();
    let mut stages: Vec<(String, Vec<Duration>)> = Vec::new();
    for i in 0..RUNS {
        let status = dir.join(format!("status-{i}.json"));
        let exec_wall = std::time::SystemTime::now();
        let start = Instant::now();
        let mut child = spawn_app(&bin, store, &["play", "bench/hour"], &status).expect("start hindsight");
        let deadline = start + Duration::from_secs(30);
        let mut report = None;
        while Instant::now() < deadline {
            let text = std::fs::read_to_string(&status).unwrap_or_default();
            let json: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
            if json["startup"]["first_frame_unix_ns"].as_u64().unwrap_or(0) > 0 {
                report = Some(json["startup"].clone());
                break;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        let _ = child.kill();
        let _ = child.wait();
        let Some(report) = report else { continue };
        let exec_ns = exec_wall
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        let first = report["first_frame_unix_ns"].as_u64().unwrap_or(0);
        let main = report["main_unix_ns"].as_u64().unwrap_or(0);
        times.push(Duration::from_nanos(first.saturating_sub(exec_ns)));
        let mut add = |name: &str, d: Duration| match stages.iter_mut().find(|(n, _)| n == name) {
            Some((_, v)) => v.push(d),
            None => stages.push((name.to_owned(), vec![d])),
        };
        add(
            "exec -> main (loading the libraries)",
            Duration::from_nanos(main.saturating_sub(exec_ns)),
        );
        for stage in report["stages"].as_array().into_iter().flatten() {
            let (Some(name), Some(ms)) = (stage[0].as_str(), stage[1].as_f64()) else {
                continue;
            };
            add(&format!("main -> {name}"), Duration::from_secs_f64(ms / 1e3));
        }
    }
    let mut base = Vec::new();
    for _ in 0..RUNS {
        let start = Instant::now();
        // The baseline ends right after its first frame: identity sends EOS after one buffer.
        let ok = Command::new("gst-launch-1.0")
            .args(["-q", "filesrc"])
            .arg(format!("location={}", dir.join("hour.mp4").display()))
            .args([
                "!",
                "qtdemux",
                "!",
                "h264parse",
                "!",
                "avdec_h264",
                "!",
                "identity",
                "eos-after=1",
                "!",
                "videoconvert",
                "!",
                "ximagesink",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if ok {
            base.push(start.elapsed());
        }
    }
    let (t, b) = (
        Latencies::new(times.iter().copied()),
        Latencies::new(base.iter().copied()),
    );
    println!(
        "process cold start, exec -> first frame (median of {RUNS}; the first run also warms the caches):"
    );
    println!(
        "  hindsight play {} (fastest {})  baseline gst-launch-1.0 file->ximagesink {}  ratio {:.2}x  goal <= 300 ms",
        ms(t.p50()),
        ms(t.percentile(0.0)),
        ms(b.p50()),
        ratio(t.p50(), b.p50())
    );
    println!("  stages of the app's start (median; GStreamer and its plugins load on a thread of their own while GTK starts):");
    for (name, values) in &stages {
        println!(
            "    {name:<45} {}",
            ms(Latencies::new(values.iter().copied()).p50())
        );
    }
}

/// One hour of video into the store and, through a tee, into an MP4 file.
fn record_hour(store: &Path, file: &Path) {
    let started = Instant::now();
    let pipeline = gst::parse::launch(&format!(
        "videotestsrc num-buffers={HOUR_FRAMES} pattern=ball ! video/x-raw,width=160,height=120,framerate={FPS}/1 ! \
         x264enc key-int-max={FPS} bframes=0 speed-preset=ultrafast tune=zerolatency ! h264parse ! \
         video/x-h264,alignment=au ! mp4mux streamable=true fragment-duration=1 ! tee name=t ! \
         queue ! pravegasink store=\"{}\" stream=bench/hour t. ! queue ! filesink location=\"{}\"",
        store.display(),
        file.display()
    ))
    .expect("recording pipeline")
    .downcast::<gst::Pipeline>()
    .expect("a pipeline");
    pipeline.set_state(gst::State::Playing).expect("record");
    let msg = pipeline
        .bus()
        .expect("bus")
        .timed_pop_filtered(
            gst::ClockTime::from_seconds(900),
            &[gst::MessageType::Eos, gst::MessageType::Error],
        )
        .expect("recording finished");
    assert!(matches!(msg.view(), gst::MessageView::Eos(_)), "{msg:?}");
    let _ = pipeline.set_state(gst::State::Null);
    println!("recorded 1 h in {:.1} s", started.elapsed().as_secs_f64());
}

/// The same pseudo-random offsets into the hour every run (a fixed LCG), 0 .. 3590 s.
fn offsets() -> Vec<u64> {
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    (0..SEEKS)
        .map(|_| {
            seed = seed
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (seed >> 11) % (3590 * 1_000_000_000)
        })
        .collect()
}
