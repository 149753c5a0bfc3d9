//! `hindsight record` end to end with real encoders, muxers and decoders.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use gst::prelude::*;

fn hindsight(store: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hindsight"))
        .arg("--store")
        .arg(store)
        .args(args)
        .env_remove("HINDSIGHT_STORE")
        .output()
        .expect("run hindsight")
}

fn ok(o: &Output) -> String {
    assert!(
        o.status.success(),
        "failed:\n{}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn init() {
    gst::init().expect("gstreamer");
    gstpravega::register_static().expect("elements");
}

/// Runs `desc` (ending in `fakesink name=out`) to EOS and returns the PTS of every buffer the sink got.
fn collect_pts(desc: &str) -> Vec<u64> {
    init();
    let pipeline = gst::parse::launch(desc)
        .expect("pipeline")
        .downcast::<gst::Pipeline>()
        .expect("a pipeline");
    let sink = pipeline.by_name("out").expect("a sink named out");
    let pts = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let pts2 = pts.clone();
    let pad = sink.static_pad("sink").expect("sink pad");
    pad.add_probe(gst::PadProbeType::BUFFER, move |_, info| {
        if let Some(t) = info.buffer().and_then(|b| b.pts()) {
            pts2.lock().expect("lock").push(t.nseconds());
        }
        gst::PadProbeReturn::Ok
    });
    pipeline.set_state(gst::State::Playing).expect("play");
    let msg = pipeline
        .bus()
        .expect("bus")
        .timed_pop_filtered(
            gst::ClockTime::from_seconds(60),
            &[gst::MessageType::Eos, gst::MessageType::Error],
        )
        .expect("pipeline finished");
    assert!(matches!(msg.view(), gst::MessageView::Eos(_)), "{desc}: {msg:?}");
    pipeline.set_state(gst::State::Null).expect("stop");
    let v = pts.lock().expect("lock").clone();
    v
}

/// An H.264 MP4 with B-frames: 90 frames at 30 fps, key frame every 15.
fn make_mp4(path: &Path) {
    init();
    collect_pts(&format!(
        "videotestsrc num-buffers=90 pattern=ball ! video/x-raw,width=320,height=240,framerate=30/1 ! \
         x264enc bframes=2 key-int-max=15 speed-preset=ultrafast ! h264parse ! mp4mux ! \
         tee name=t ! queue ! filesink location={} t. ! queue ! fakesink name=out sync=false",
        path.display()
    ));
}

#[test]
fn a_file_with_b_frames_records_and_plays_back_frame_for_frame() {
    let store = tempfile::tempdir().expect("tempdir");
    let files = tempfile::tempdir().expect("tempdir");
    let mp4 = files.path().join("b-frames.mp4");
    make_mp4(&mp4);
    let source = format!("file://{}", mp4.display());
    ok(&hindsight(
        store.path(),
        &[
            "record",
            "--stream",
            "site/file",
            "--source",
            &source,
            "--start-utc",
            "2024-05-01T12:00:00Z",
        ],
    ));

    let direct = collect_pts(&format!(
        "filesrc location={} ! qtdemux ! h264parse ! avdec_h264 ! fakesink name=out sync=false",
        mp4.display()
    ));
    let stored = collect_pts(&format!(
        "pravegasrc store={} stream=site/file end-mode=latest ! qtdemux ! h264parse ! avdec_h264 ! \
         fakesink name=out sync=false",
        store.path().display()
    ));
    assert_eq!(direct.len(), 90);
    assert_eq!(stored.len(), direct.len(), "decoded frame count differs");
    // Same order and spacing: decoded PTS relative to the first frame match the file's, within the
    // rounding to the track timescale that the TAI rewrite involves (mp4mux picks 1/30000 s or coarser).
    let rel = |v: &[u64]| v.iter().map(|p| p - v[0]).collect::<Vec<_>>();
    for (i, (a, b)) in rel(&direct).iter().zip(rel(&stored)).enumerate() {
        assert!(
            a.abs_diff(b) <= 1_000_000,
            "frame {i}: file {a} ns, stream {b} ns"
        );
    }
    // And the stream is on the requested wall clock.
    let first = hindsight_store::Timestamp::parse_rfc3339("2024-05-01T12:00:00Z").expect("time");
    assert!(
        stored[0].abs_diff(first.nanos()) < 200_000_000,
        "first frame at {}",
        stored[0]
    );
}

#[test]
fn sigint_stops_a_recording_with_an_end_record() {
    let store = tempfile::tempdir().expect("tempdir");
    let mut child = Command::new(env!("CARGO_BIN_EXE_hindsight"))
        .arg("--store")
        .arg(store.path())
        .args([
            "record",
            "--stream",
            "site/live",
            "--source",
            "test",
            "--size",
            "320x180",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start recording");
    std::thread::sleep(Duration::from_secs(4));
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGINT,
    )
    .expect("SIGINT");
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break s;
        }
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "recorder did not stop after SIGINT"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "recorder exited with {status}");
    let json: serde_json::Value = serde_json::from_str(&ok(&hindsight(
        store.path(),
        &["inspect", "site/live", "--json", "--records"],
    )))
    .expect("json");
    let records = json["records"].as_array().expect("records");
    assert!(records.len() >= 3, "{json}");
    let last = records.last().expect("a record");
    assert_eq!(
        last["random_access"], false,
        "last record is not an end record: {last}"
    );
    assert_eq!(
        last["offset"], json["data_tail"],
        "end record must point at the end of the data"
    );
    assert_eq!(json["state"], "idle");
}
