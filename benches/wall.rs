//! The wall at scale, measured: 16 cameras recorded live at 640×360 25 fps, shown as a 4×4 wall, against 16 plain
//! `pravegasrc ! qtdemux ! h264parse ! avdec_h264 ! fakesink` pipelines on the same streams in the same run.
//! Figures only, no assertions: `xvfb-run -a -s "-screen 0 1280x800x24" cargo bench --bench wall` (it needs an X
//! display); under `scripts/with-pravega` it also measures 4 tiles on Pravega.
//!
//! - The cameras are a writer process of this bench (so its CPU time is not counted) that appends a pre-encoded
//!   10 s H.264 loop with the store's own writer, each frame stamped with the wall clock as it is appended.
//! - The wall is what a wall tile is: an engine `Player` at the live edge painting into a `gtk::Picture`, 16 of
//!   them in a grid in a real GTK window. A frame counts as painted when the window's frame clock finishes a
//!   paint after the tile's picture got a new frame; glass-to-glass is the wall clock at that paint minus the
//!   stored time of the frame on screen (which is when it was appended).
//! - CPU time is this process's user + system time over the measured seconds (`/proc/self/stat`).

use std::cell::RefCell;
use std::path::Path;
use std::process::{Command, Stdio};
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use gst::prelude::*;
use hindsight::engine::player::{Player, StartAt};
use hindsight_store::video::{IndexPolicy, VideoReader, VideoWriter};
use hindsight_store::{Interrupt, ReadOutcome, StoreUri, StreamName, Timestamp};
use hindsight_testkit::pipeline::{launch, stop};
use hindsight_testkit::process::Reaped;
use hindsight_testkit::{ms, Latencies};
use relm4::gtk;
use relm4::gtk::prelude::*;

const FPS: u64 = 25;
const MEASURE: Duration = Duration::from_secs(20);
const WARMUP: Duration = Duration::from_secs(4);

fn main() {
    if let Ok(spec) = std::env::var("WALL_BENCH_WRITER") {
        return writer(&spec);
    }
    if let Err(e) = gtk::init() {
        eprintln!("wall bench: skipped, no display ({e}); run it under xvfb-run");
        return;
    }
    hindsight::engine::init().expect("media engine");
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("wall-bench");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("bench directory");
    let store = dir.join("store").display().to_string();
    run("embedded store", &store, 16, &dir);
    match std::env::var("HINDSIGHT_PRAVEGA_CONTROLLER") {
        Ok(uri) if !uri.is_empty() => run("Pravega", &uri, 4, &dir),
        _ => println!("(Pravega: run under scripts/with-pravega for 4 tiles on Pravega)"),
    }
    let _ = std::fs::remove_dir_all(&dir);
}

fn run(label: &str, store: &str, tiles: usize, dir: &Path) {
    let scope = format!("wallbench{}", std::process::id());
    let names: Vec<StreamName> = (0..tiles)
        .map(|i| StreamName::new(&scope, &format!("cam{i}")).expect("name"))
        .collect();
    let mut writer = Writer::start(store, &names, dir);
    // Key frames are stored before anything opens the streams.
    std::thread::sleep(Duration::from_secs(3));
    println!("== wall: {tiles} cameras 640x360 {FPS} fps being recorded, {label} ==");
    let base = plain_pipelines(store, &names);
    let unpainted = wall(store, &names, false);
    let wall = wall(store, &names, true);
    writer.stop();
    let cpu_ratio = wall.cpu / base.cpu.max(1e-9);
    println!(
        "CPU time per second of wall clock: wall {:.3} s/s, {tiles} plain pipelines {:.3} s/s, ratio {cpu_ratio:.2}x",
        wall.cpu, base.cpu
    );
    println!(
        "  of which the tiles' pipelines without painting (window not shown): {:.3} s/s, ratio {:.2}x; \
         painting in the window: {:.3} s/s",
        unpainted.cpu,
        unpainted.cpu / base.cpu.max(1e-9),
        (wall.cpu - unpainted.cpu).max(0.0)
    );
    println!(
        "frames per tile per second: painted by the wall mean {:.1} min {:.1}; decoded by the plain pipelines mean \
         {:.1}, by the unpainted tiles {:.1}",
        wall.mean_fps, wall.min_fps, base.mean_fps, unpainted.mean_fps
    );
    println!(
        "glass-to-glass, frame appended -> frame painted ({} samples): p50 {}  p99 {}",
        wall.latency.len(),
        ms(wall.latency.p50()),
        ms(wall.latency.p99())
    );
    let backend = StoreUri::parse(store).and_then(|u| u.open()).expect("store");
    for n in &names {
        // Bench streams are scratch data.
        let _ = hindsight_store::video::delete_video_stream(backend.as_ref(), n);
    }
}

/// What a phase measured.
struct Measured {
    /// CPU seconds per wall-clock second.
    cpu: f64,
    mean_fps: f64,
    min_fps: f64,
    latency: Latencies,
}

/// This process's user + system CPU time.
fn cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").expect("/proc/self/stat");
    // Fields after the command name (which may hold spaces): state is field 3, utime 14, stime 15.
    let rest = &stat[stat.rfind(')').expect("stat format") + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = fields[11].parse::<u64>().expect("utime") + fields[12].parse::<u64>().expect("stime");
    // SAFETY: sysconf only reads a configuration value.
    let hz = match unsafe { nix::libc::sysconf(nix::libc::_SC_CLK_TCK) } {
        n if n > 0 => n as u64,
        _ => 100,
    };
    Duration::from_secs_f64(ticks as f64 / hz as f64)
}

/// Runs the main loop for `d`.
fn pump(d: Duration) {
    let until = Instant::now() + d;
    let ctx = gtk::glib::MainContext::default();
    while Instant::now() < until {
        while ctx.iteration(false) {}
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// 16 (or 4) `pravegasrc ! qtdemux ! h264parse ! avdec_h264 ! fakesink` at the live edge.
fn plain_pipelines(store: &str, names: &[StreamName]) -> Measured {
    let counters: Vec<Arc<AtomicU64>> = names.iter().map(|_| Arc::default()).collect();
    let pipelines: Vec<gst::Pipeline> = names
        .iter()
        .zip(&counters)
        .map(|(n, count)| {
            let p = launch(&format!(
                "pravegasrc store=\"{store}\" stream={n} start-mode=latest ! qtdemux ! h264parse ! \
                 avdec_h264 ! fakesink name=out sync=false"
            ));
            let pad = p
                .by_name("out")
                .and_then(|s| s.static_pad("sink"))
                .expect("sink pad");
            let count = count.clone();
            pad.add_probe(gst::PadProbeType::BUFFER, move |_, _| {
                count.fetch_add(1, Ordering::Relaxed);
                gst::PadProbeReturn::Ok
            });
            p.set_state(gst::State::Playing).expect("play");
            p
        })
        .collect();
    pump(WARMUP);
    let (cpu0, t0) = (cpu_time(), Instant::now());
    let before: Vec<u64> = counters.iter().map(|c| c.load(Ordering::Relaxed)).collect();
    pump(MEASURE);
    let secs = t0.elapsed().as_secs_f64();
    let cpu = (cpu_time() - cpu0).as_secs_f64() / secs;
    let fps: Vec<f64> = counters
        .iter()
        .zip(&before)
        .map(|(c, b)| (c.load(Ordering::Relaxed) - b) as f64 / secs)
        .collect();
    for p in &pipelines {
        stop(p);
    }
    Measured {
        cpu,
        mean_fps: fps.iter().sum::<f64>() / fps.len() as f64,
        min_fps: fps.iter().copied().fold(f64::MAX, f64::min),
        latency: Latencies::default(),
    }
}

/// The tiles of a wall: engine players at the live edge in a grid of pictures in a real window (`shown`), or the
/// same players with the window never shown, which leaves out the painting.
fn wall(store: &str, names: &[StreamName], shown: bool) -> Measured {
    let backend = StoreUri::parse(store).and_then(|u| u.open()).expect("store");
    let side = (names.len() as f64).sqrt().ceil() as i32;
    let window = gtk::Window::builder()
        .default_width(1280)
        .default_height(720)
        .build();
    let grid = gtk::Grid::builder()
        .row_homogeneous(true)
        .column_homogeneous(true)
        .row_spacing(2)
        .column_spacing(2)
        .build();
    window.set_child(Some(&grid));
    let mut pictures = Vec::new();
    let players: Vec<Player> = names
        .iter()
        .enumerate()
        .map(|(i, n)| {
            let player = Player::new(backend.clone(), n, StartAt::Live, |_| {}).expect("player");
            let picture = gtk::Picture::for_paintable(player.paintable());
            picture.set_can_shrink(true);
            picture.set_hexpand(true);
            picture.set_vexpand(true);
            grid.attach(&picture, i as i32 % side, i as i32 / side, 1, 1);
            pictures.push(picture);
            player.play();
            player
        })
        .collect();
    let tile = (1280 / side - 2, 720 / side - 2);
    if shown {
        window.present();
        pump(Duration::from_millis(300));
    }
    // As a wall tile does: decode into the tile's size on screen.
    for (player, picture) in players.iter().zip(&pictures) {
        let size = if shown {
            (picture.width(), picture.height())
        } else {
            tile
        };
        player.set_max_size(Some((size.0.max(16), size.1.max(16))));
    }
    // A tile is painted when the frame clock finishes a paint after its picture got a new frame.
    let dirty: Rc<RefCell<Vec<bool>>> = Rc::new(RefCell::new(vec![false; players.len()]));
    for (i, p) in players.iter().enumerate() {
        let dirty = dirty.clone();
        p.paintable()
            .connect_invalidate_contents(move |_| dirty.borrow_mut()[i] = true);
    }
    let painted: Rc<RefCell<Vec<u64>>> = Rc::new(RefCell::new(vec![0; players.len()]));
    let samples: Rc<RefCell<Vec<Duration>>> = Rc::default();
    let measuring = Rc::new(std::cell::Cell::new(false));
    let players = Rc::new(players);
    pump(Duration::from_millis(500));
    if let Some(clock) = window.frame_clock() {
        let (dirty, painted, samples, measuring, players) = (
            dirty.clone(),
            painted.clone(),
            samples.clone(),
            measuring.clone(),
            players.clone(),
        );
        clock.connect_after_paint(move |_| {
            let now = Timestamp::now();
            for (i, d) in dirty.borrow_mut().iter_mut().enumerate() {
                if std::mem::take(d) && measuring.get() {
                    painted.borrow_mut()[i] += 1;
                    if let Some(t) = players[i].frame_stats().last_time() {
                        samples.borrow_mut().push(now.duration_since(t));
                    }
                }
            }
        });
    }
    pump(WARMUP);
    measuring.set(true);
    let (cpu0, t0) = (cpu_time(), Instant::now());
    let decoded0: Vec<u64> = players.iter().map(|p| p.frame_stats().frames()).collect();
    pump(MEASURE);
    measuring.set(false);
    let secs = t0.elapsed().as_secs_f64();
    let cpu = (cpu_time() - cpu0).as_secs_f64() / secs;
    // Painted frames when the window is shown; frames that reached the sinks when it is not.
    let fps: Vec<f64> = if shown {
        painted.borrow().iter().map(|&n| n as f64 / secs).collect()
    } else {
        players
            .iter()
            .zip(&decoded0)
            .map(|(p, n0)| (p.frame_stats().frames() - n0) as f64 / secs)
            .collect()
    };
    window.close();
    drop(players);
    pump(Duration::from_millis(500));
    Measured {
        cpu,
        mean_fps: fps.iter().sum::<f64>() / fps.len() as f64,
        min_fps: fps.iter().copied().fold(f64::MAX, f64::min),
        latency: Latencies::new(samples.take()),
    }
}

/// The writer process: records the cameras.
struct Writer {
    process: Reaped,
}

impl Writer {
    fn start(store: &str, names: &[StreamName], dir: &Path) -> Self {
        let spec = format!(
            "{store}\n{}\n{}",
            dir.join("template").display(),
            names
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(" ")
        );
        let process = Reaped::spawn(
            Command::new(std::env::current_exe().expect("bench executable"))
                .env("WALL_BENCH_WRITER", spec)
                .stdout(Stdio::null()),
        )
        .expect("start the writer process");
        Writer { process }
    }

    fn stop(&mut self) {
        self.process.stop();
    }
}

/// Writer mode: encodes 10 s of 640x360 H.264 once, then appends it in a loop to every stream at 25 fps.
fn writer(spec: &str) {
    let mut lines = spec.lines();
    let (store, template_dir, names) = (
        lines.next().expect("store"),
        lines.next().expect("template dir"),
        lines.next().expect("streams"),
    );
    gst::init().expect("gstreamer");
    gstpravega::register_static().expect("elements");
    let frames = template(template_dir);
    let backend = StoreUri::parse(store)
        .and_then(|u| u.open_or_create())
        .expect("store");
    let names: Vec<StreamName> = names
        .split_whitespace()
        .map(|n| StreamName::parse(n).expect("name"))
        .collect();
    let frames = Arc::new(frames);
    let threads: Vec<_> = names
        .into_iter()
        .map(|name| {
            let (backend, frames) = (backend.clone(), frames.clone());
            std::thread::spawn(move || {
                let mut w =
                    VideoWriter::open(backend.as_ref(), &name, IndexPolicy::default()).expect("writer");
                let start = Instant::now();
                for (n, (payload, key)) in frames.iter().cycle().enumerate() {
                    let due = start + Duration::from_nanos(n as u64 * 1_000_000_000 / FPS);
                    if let Some(wait) = due.checked_duration_since(Instant::now()) {
                        std::thread::sleep(wait);
                    }
                    w.append(payload, Timestamp::now(), *key).expect("append");
                }
            })
        })
        .collect();
    for t in threads {
        let _ = t.join();
    }
}

/// 250 frames (10 s) of 640x360 H.264, one fMP4 fragment each, as stored: recorded once into a scratch
/// store and read back.
fn template(dir: &str) -> Vec<(Vec<u8>, bool)> {
    // Afresh each time: the template of an earlier phase is sealed.
    let _ = std::fs::remove_dir_all(dir);
    let desc = format!(
        "videotestsrc num-buffers=250 pattern=ball ! video/x-raw,width=640,height=360,framerate={FPS}/1 ! \
         x264enc key-int-max={FPS} bframes=0 speed-preset=ultrafast tune=zerolatency ! h264parse ! \
         video/x-h264,alignment=au ! mp4mux streamable=true fragment-duration=1 ! \
         pravegasink store=\"{dir}\" stream=template/t seal=true timestamp-mode=base-plus-running-time"
    );
    let p = launch(&desc);
    hindsight_testkit::pipeline::run_until_eos(&p, Duration::from_secs(120));
    let backend = StoreUri::parse(dir)
        .and_then(|u| u.open())
        .expect("template store");
    let mut reader =
        VideoReader::open(backend.as_ref(), &StreamName::parse("template/t").expect("name")).expect("reader");
    let interrupt = Interrupt::new().expect("interrupt");
    let mut frames = Vec::new();
    while let ReadOutcome::Frame(f) = reader.next_frame(Instant::now(), &interrupt).expect("read") {
        frames.push((f.payload, f.header.flags.random_access()));
    }
    frames
}
