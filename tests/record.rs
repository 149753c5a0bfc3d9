//! `hindsight record` end to end with real encoders, muxers and decoders.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

mod common;

use common::{collect_pts, hindsight, init_gst, interrupt, ok, pravega_controller, PrivatePravega};

/// Like [`hindsight`], but kills the process and fails after `limit` (a hang is a failure, not a stuck test).
fn hindsight_within(store: &Path, args: &[&str], limit: Duration) -> Output {
    let child = Command::new(env!("CARGO_BIN_EXE_hindsight"))
        .arg("--store")
        .arg(store)
        .args(args)
        .env_remove("HINDSIGHT_STORE")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run hindsight");
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(limit) {
        Ok(out) => out.expect("wait for hindsight"),
        Err(_) => {
            let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL);
            panic!("hindsight {args:?} did not finish within {limit:?}");
        }
    }
}

/// ffprobe's view of a file: container duration in seconds and the number of video frames.
fn probe(path: &Path) -> (f64, u64) {
    let json = common::ffprobe(
        path,
        &[
            "-count_frames",
            "-select_streams",
            "v:0",
            "-show_entries",
            "format=duration:stream=nb_read_frames,codec_name",
        ],
    );
    let duration = json["format"]["duration"]
        .as_str()
        .and_then(|d| d.parse::<f64>().ok())
        .unwrap_or_else(|| panic!("no duration: {json}"));
    let frames = json["streams"][0]["nb_read_frames"]
        .as_str()
        .and_then(|d| d.parse::<u64>().ok())
        .unwrap_or_else(|| panic!("no frame count: {json}"));
    assert_eq!(json["streams"][0]["codec_name"], "h264", "{json}");
    (duration, frames)
}

/// Decodes every frame with ffmpeg and returns what it reported as errors (empty when clean).
fn decode_errors(path: &Path) -> String {
    let out = Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-i"])
        .arg(path)
        .args(["-f", "null", "-"])
        .output()
        .expect("run ffmpeg");
    assert!(
        out.status.success(),
        "ffmpeg failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// An H.264 MP4 with B-frames: 90 frames at 30 fps, key frame every 15.
fn make_mp4(path: &Path) {
    make_mp4_of(path, 90, 15);
}

/// An H.264 MP4 with B-frames: `frames` frames at 30 fps, a key frame every `gop`.
fn make_mp4_of(path: &Path, frames: u32, gop: u32) {
    init_gst();
    collect_pts(&format!(
        "videotestsrc num-buffers={frames} pattern=ball ! video/x-raw,width=320,height=240,framerate=30/1 ! \
         x264enc bframes=2 key-int-max={gop} speed-preset=ultrafast ! h264parse ! mp4mux ! \
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
    let status = interrupt(&mut child, Duration::from_secs(15)).expect("the recorder stops after SIGINT");
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

/// A 12 s recording (key frame every second, B-frames) exported by time range: the clip starts at the key frame
/// at or before --from, lasts the range within one GOP, and decodes without errors in ffmpeg; a range that
/// reaches past the recording ends at its last frame instead of waiting for more.
#[test]
fn export_writes_a_clip_of_the_range_that_plays_anywhere() {
    let store = tempfile::tempdir().expect("tempdir");
    let files = tempfile::tempdir().expect("tempdir");
    let mp4 = files.path().join("twelve.mp4");
    make_mp4_of(&mp4, 360, 30);
    let source = format!("file://{}", mp4.display());
    ok(&hindsight(
        store.path(),
        &[
            "record",
            "--stream",
            "site/clip",
            "--source",
            &source,
            "--start-utc",
            "2024-05-01T12:00:00Z",
        ],
    ));
    let limit = Duration::from_secs(120);

    // 2.5 s .. 7 s: from the key frame at 2 s, so 5 s of video (the range is 4.5 s; one GOP is 1 s).
    let clip = files.path().join("clip.mp4");
    let out = ok(&hindsight_within(
        store.path(),
        &[
            "export",
            "site/clip",
            "--from",
            "2024-05-01T12:00:02.5Z",
            "--to",
            "2024-05-01T12:00:07Z",
            "-o",
            clip.to_str().expect("utf-8 path"),
        ],
        limit,
    ));
    assert!(
        out.contains("2024-05-01T12:00:02Z"),
        "starts at the key frame at 2 s: {out}"
    );
    let (duration, frames) = probe(&clip);
    assert!((4.5..=5.5).contains(&duration), "clip lasts {duration} s");
    assert!((135..=166).contains(&frames), "{frames} frames");
    assert_eq!(decode_errors(&clip), "", "the clip decodes cleanly");
    assert!(!files.path().join("clip.mp4.part").exists());

    // 9 s .. a minute later: past the end of the recording, so 9 s .. 12 s.
    let tail = files.path().join("tail.mp4");
    ok(&hindsight_within(
        store.path(),
        &[
            "export",
            "site/clip",
            "--from",
            "2024-05-01T12:00:09Z",
            "--to",
            "2024-05-01T12:01:00Z",
            "-o",
            tail.to_str().expect("utf-8 path"),
        ],
        limit,
    ));
    let (duration, frames) = probe(&tail);
    assert!((2.5..=3.5).contains(&duration), "tail clip lasts {duration} s");
    assert!((80..=91).contains(&frames), "{frames} frames");
    assert_eq!(decode_errors(&tail), "");

    // A range without footage is a clear error and leaves no file behind.
    let none = files.path().join("none.mp4");
    let failed = hindsight_within(
        store.path(),
        &[
            "export",
            "site/clip",
            "--from",
            "2024-05-02T00:00:00Z",
            "--to",
            "2024-05-02T00:01:00Z",
            "-o",
            none.to_str().expect("utf-8 path"),
        ],
        limit,
    );
    assert!(!failed.status.success());
    let err = String::from_utf8_lossy(&failed.stderr);
    assert!(err.contains("no footage"), "{err}");
    assert!(!none.exists());
}

/// Key-frame records of a stream in a Pravega store, or none while it (or the server) is not there.
fn pravega_records(uri: &str, stream: &str) -> Vec<hindsight_store::IndexRecord> {
    let Ok(store) = hindsight_store::PravegaStore::open(uri) else {
        return Vec::new();
    };
    let name = hindsight_store::StreamName::parse(stream).expect("name");
    hindsight_store::IndexReader::open(&store, &name)
        .and_then(|mut i| i.read_all())
        .map(|(_, r)| r)
        .unwrap_or_default()
}

/// The Pravega server restarts during a recording (its in-memory storage comes back empty): the recorder does
/// not stop or panic, it retries with back-off and records again once the server answers, starting the new
/// recording with a discontinuity; Ctrl-C still ends it cleanly.
#[test]
fn a_pravega_server_restart_during_a_recording_is_retried() {
    if pravega_controller().is_none() {
        return;
    }
    let server = PrivatePravega::start(None);
    let logs = tempfile::tempdir().expect("tempdir");
    let log = logs.path().join("record.log");
    let mut child = Command::new(env!("CARGO_BIN_EXE_hindsight"))
        .args([
            "--store",
            &server.uri(),
            "record",
            "--stream",
            "site/cam",
            "--source",
            "test",
        ])
        .args(["--size", "320x180"])
        .env_remove("HINDSIGHT_STORE")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).expect("log"))
        .spawn()
        .expect("start recording");
    let log_text = || std::fs::read_to_string(&log).unwrap_or_default();
    let wait_keys = |n: usize, what: &str| {
        let deadline = Instant::now() + Duration::from_secs(90);
        loop {
            let keys = pravega_records(&server.uri(), "site/cam")
                .into_iter()
                .filter(|r| r.is_seek_target())
                .collect::<Vec<_>>();
            if keys.len() >= n {
                return keys;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; log:\n{}",
                log_text()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    };
    wait_keys(2, "the first key frames");

    server.down();
    std::thread::sleep(Duration::from_secs(2));
    assert!(
        child.try_wait().expect("wait").is_none(),
        "recorder exited:\n{}",
        log_text()
    );
    server.up();
    let keys = wait_keys(2, "the recording to resume after the restart");
    assert!(
        keys[0].flags.discontinuity(),
        "the resumed recording starts with a discontinuity"
    );

    let status = interrupt(&mut child, Duration::from_secs(30))
        .unwrap_or_else(|| panic!("no stop after SIGINT:\n{}", log_text()));
    let text = log_text();
    assert!(status.success(), "recorder exited with {status}:\n{text}");
    assert!(
        text.contains("store unavailable") && text.contains("retrying"),
        "{text}"
    );
    assert!(!text.contains("panicked"), "{text}");
}

/// A stream of MPEG-TS (`mpegtsmux ! pravegasink`) exports to an MP4 like fMP4 streams do: the clip starts at
/// the key frame at or before the range and ffprobe reads every frame.
#[test]
fn an_mpegts_stream_exports_to_an_mp4() {
    init_gst();
    let store = tempfile::tempdir().expect("tempdir");
    let files = tempfile::tempdir().expect("tempdir");
    let base = "2024-05-01T12:00:00Z";
    let base_ns = hindsight_store::Timestamp::parse_rfc3339(base)
        .expect("time")
        .nanos();
    // 10 s at 15 fps, a key frame a second, stamped from 12:00:00.
    let desc = format!(
        "videotestsrc num-buffers=150 pattern=ball ! video/x-raw,width=320,height=240,framerate=15/1 ! \
         x264enc key-int-max=15 bframes=0 speed-preset=ultrafast tune=zerolatency ! h264parse ! mpegtsmux ! \
         pravegasink store={} stream=site/ts timestamp-mode=base-plus-running-time timestamp-base={base_ns}",
        store.path().display()
    );
    let pipeline = hindsight_testkit::pipeline::launch(&desc);
    hindsight_testkit::pipeline::run_until_eos(&pipeline, Duration::from_secs(60));
    let clip = files.path().join("ts.mp4");
    // 2.5 s .. 7 s: from the key frame at 2 s, so 5 s of video.
    ok(&hindsight_within(
        store.path(),
        &[
            "export",
            "site/ts",
            "--from",
            "2024-05-01T12:00:02.5Z",
            "--to",
            "2024-05-01T12:00:07Z",
            "-o",
            clip.to_str().expect("utf-8 path"),
        ],
        Duration::from_secs(120),
    ));
    let (duration, frames) = probe(&clip);
    assert!((74..=76).contains(&frames), "{frames} frames");
    assert!((duration - 5.0).abs() < 0.2, "{duration} s");
    assert_eq!(decode_errors(&clip), "", "the clip decodes cleanly");
}
