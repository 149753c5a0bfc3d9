//! `hindsight record` from an RTSP camera that drops: an in-process gst-rtsp-server serves a test camera, the
//! recorder runs as a separate process, the camera goes away for a few seconds and comes back on the same
//! port. The recording must continue by itself in the same stream, marked with a discontinuity, and play back
//! across the gap.

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

mod common;

use common::{collect_pts, init_gst, interrupt};
use gst::glib;
use gst_rtsp_server::prelude::*;
use hindsight_store::video::{video_stream_exists, IndexReader};
use hindsight_store::{EmbeddedStore, IndexRecord, Interrupt, ReadOutcome, StreamName, VideoReader};

/// A test camera: videotestsrc → x264enc → RTP, served at rtsp://127.0.0.1:PORT/cam.
struct Camera {
    server: gst_rtsp_server::RTSPServer,
    source: Option<glib::SourceId>,
}

/// The test camera's pictures.
const VIDEO: &str =
    "videotestsrc is-live=true pattern=ball ! video/x-raw,width=320,height=180,framerate=30/1 ! \
     x264enc tune=zerolatency key-int-max=30 bframes=0 speed-preset=ultrafast ! \
     rtph264pay name=pay0 pt=96 config-interval=-1";

impl Camera {
    fn start(port: u16) -> Camera {
        Camera::serve(port, &format!("( {VIDEO} )"))
    }

    /// A camera that also sends AAC sound (RTP MPEG4-GENERIC, as most cameras with a microphone).
    fn start_with_sound(port: u16) -> Camera {
        Camera::serve(
            port,
            &format!(
                "( {VIDEO} audiotestsrc is-live=true wave=sine ! audio/x-raw,rate=48000,channels=1 ! \
                 audioconvert ! avenc_aac ! rtpmp4gpay name=pay1 pt=97 )"
            ),
        )
    }

    fn serve(port: u16, launch: &str) -> Camera {
        let server = gst_rtsp_server::RTSPServer::new();
        server.set_address("127.0.0.1");
        server.set_service(&port.to_string());
        let factory = gst_rtsp_server::RTSPMediaFactory::new();
        factory.set_launch(launch);
        factory.set_shared(true);
        server
            .mount_points()
            .expect("mount points")
            .add_factory("/cam", factory);
        // On the default main context, which the loop thread of `main_loop()` runs.
        let source = server.attach(None).expect("RTSP server listens");
        Camera {
            server,
            source: Some(source),
        }
    }

    /// The camera goes away: no more listening, every client connection closed.
    fn stop(mut self) {
        if let Some(source) = self.source.take() {
            source.remove();
        }
        self.server
            .client_filter(Some(&mut |_, _| gst_rtsp_server::RTSPFilterResult::Remove));
    }
}

/// Runs the default GLib main context in a thread (the RTSP server's sockets are served there).
fn main_loop() {
    static STARTED: std::sync::Once = std::sync::Once::new();
    STARTED.call_once(|| {
        init_gst();
        let ml = glib::MainLoop::new(None, false);
        std::thread::spawn(move || ml.run());
    });
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

fn records(store: &Path, stream: &str) -> Vec<IndexRecord> {
    let backend = EmbeddedStore::open(store).expect("store");
    let name = StreamName::parse(stream).expect("name");
    if !video_stream_exists(&backend, &name).unwrap_or(false) {
        return Vec::new();
    }
    IndexReader::open(&backend, &name)
        .and_then(|mut i| i.read_all())
        .map(|(_, r)| r)
        .unwrap_or_default()
}

/// Waits until `pred` holds for the stream's index records; fails with the recorder's log after `limit`.
fn wait_for(
    store: &Path,
    stream: &str,
    limit: Duration,
    what: &str,
    log: &Path,
    pred: impl Fn(&[IndexRecord]) -> bool,
) {
    let deadline = Instant::now() + limit;
    while !pred(&records(store, stream)) {
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}; recorder log:\n{}",
            std::fs::read_to_string(log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// How many frames the data stream holds, read with the storage API.
fn stored_frames(store: &Path, stream: &str) -> usize {
    let backend = EmbeddedStore::open(store).expect("store");
    let name = StreamName::parse(stream).expect("name");
    let mut reader = VideoReader::open(&backend, &name).expect("reader");
    let interrupt = Interrupt::new().expect("interrupt");
    let mut n = 0;
    while let ReadOutcome::Frame(_) = reader
        .next_frame(Instant::now(), &interrupt)
        .expect("read a frame")
    {
        n += 1;
    }
    n
}

/// `hindsight record` of the test camera on `port` into `stream`, its output in `log`.
fn start_recorder(store: &Path, stream: &str, port: u16, log: &Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_hindsight"))
        .arg("--store")
        .arg(store)
        .args(["record", "--stream", stream, "--source"])
        .arg(format!("rtsp://127.0.0.1:{port}/cam"))
        .env_remove("HINDSIGHT_STORE")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log).expect("log file"))
        .spawn()
        .expect("start the recorder")
}

fn stop_recorder(mut child: Child, log: &Path) {
    let status = interrupt(&mut child, Duration::from_secs(20)).expect("the recorder stops after SIGINT");
    assert!(
        status.success(),
        "recorder exited with {status}:\n{}",
        std::fs::read_to_string(log).unwrap_or_default()
    );
}

#[test]
fn a_camera_that_drops_and_returns_continues_the_same_stream_with_a_discontinuity() {
    main_loop();
    let store = tempfile::tempdir().expect("tempdir");
    let logs = tempfile::tempdir().expect("tempdir");
    let log = logs.path().join("record.log");
    let port = free_port();
    let camera = Camera::start(port);

    let child = start_recorder(store.path(), "site/door", port, &log);
    let key_frames = |r: &[IndexRecord]| r.iter().filter(|r| r.is_seek_target()).count();
    wait_for(
        store.path(),
        "site/door",
        Duration::from_secs(60),
        "3 key frames",
        &log,
        |r| key_frames(r) >= 3,
    );

    // The camera drops for 4 s.
    camera.stop();
    let dropped_at = Instant::now();
    let before = records(store.path(), "site/door");
    std::thread::sleep(Duration::from_secs(4));
    let camera = Camera::start(port);

    // The recorder notices, retries with back-off, and records again into the same stream.
    let resumed = |r: &[IndexRecord]| {
        r.iter()
            .skip(before.len())
            .filter(|r| r.is_seek_target() && r.flags.discontinuity())
            .count()
            >= 1
            && key_frames(r) >= key_frames(&before) + 3
    };
    wait_for(
        store.path(),
        "site/door",
        Duration::from_secs(90),
        "the recording to resume",
        &log,
        resumed,
    );
    eprintln!(
        "resumed {:.1} s after the drop",
        dropped_at.elapsed().as_secs_f64()
    );
    stop_recorder(child, &log);
    camera.stop();

    let all = records(store.path(), "site/door");
    let resume = all
        .iter()
        .position(|r| r.is_seek_target() && r.flags.discontinuity() && r.offset > before[0].offset)
        .expect("a discontinuity record after the drop");
    assert!(
        all[resume].timestamp.nanos() - all[resume - 1].timestamp.nanos() >= 3_000_000_000,
        "the gap in the index covers the camera's outage"
    );
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(text.contains("camera dropped"), "{text}");

    // Playback across the gap: every frame decodes, in order, with a jump of at least 3 s somewhere.
    let pts = collect_pts(&format!(
        "pravegasrc store={} stream=site/door end-mode=latest ! qtdemux ! h264parse ! avdec_h264 ! \
         fakesink name=out sync=false",
        store.path().display()
    ));
    // Every stored frame decodes: mp4mux writes the last two samples of a recording that ends cleanly as one
    // fragment, so up to one frame per recording (two here) decodes beyond the stored frame count.
    let stored = stored_frames(store.path(), "site/door");
    assert!(stored >= 4 * 30, "{stored} frames stored");
    assert!(
        (stored..=stored + 2).contains(&pts.len()),
        "{} frames decoded, {stored} stored",
        pts.len()
    );
    assert!(pts.windows(2).all(|w| w[1] > w[0]), "frames in order");
    let largest_jump = pts.windows(2).map(|w| w[1] - w[0]).max().unwrap_or(0);
    assert!(largest_jump >= 3_000_000_000, "largest jump {largest_jump} ns");
    let last_before = before.last().expect("records").timestamp.nanos();
    assert!(
        pts.iter().any(|&t| t > last_before + 3_000_000_000),
        "frames after the gap are played"
    );
}

#[test]
fn a_camera_with_sound_records_its_sound_beside_the_video() {
    main_loop();
    let store = tempfile::tempdir().expect("tempdir");
    let logs = tempfile::tempdir().expect("tempdir");
    let log = logs.path().join("record.log");
    let port = free_port();
    let camera = Camera::start_with_sound(port);
    let child = start_recorder(store.path(), "site/lobby", port, &log);
    wait_for(
        store.path(),
        "site/lobby",
        Duration::from_secs(60),
        "4 key frames",
        &log,
        |r| r.iter().filter(|r| r.is_seek_target()).count() >= 4,
    );
    stop_recorder(child, &log);
    camera.stop();

    let source = format!(
        "pravegasrc store={} stream=site/lobby end-mode=latest ! qtdemux name=d",
        store.path().display()
    );
    let video = collect_pts(&format!(
        "{source} d.video_0 ! h264parse ! fakesink name=out sync=false"
    ));
    let audio = collect_pts(&format!(
        "{source} d.audio_0 ! aacparse ! fakesink name=out sync=false"
    ));
    let span = |v: &[u64]| (v[v.len() - 1] - v[0]) as f64 / 1e9;
    assert!(video.len() >= 90, "{} video frames", video.len());
    // 48 kHz AAC: 46.875 frames a second, over the same time as the pictures.
    let (vs, aus) = (span(&video), span(&audio));
    assert!((aus - vs).abs() < 0.5, "sound over {aus} s, pictures over {vs} s");
    let rate = audio.len() as f64 / aus;
    assert!((40.0..=54.0).contains(&rate), "{rate} AAC frames a second");
    assert!(audio.windows(2).all(|w| w[1] > w[0]), "sound in order");
    let start_gap = audio[0].abs_diff(video[0]) as f64 / 1e6;
    assert!(start_gap < 200.0, "sound starts {start_gap} ms from the pictures");
}
