//! The real app window under X (make test runs the suite under xvfb-run): it shows frames, the position
//! advances, opening at a time seeks there through the index, and the live edge of a stream being recorded is
//! reached and followed (`play --live` takes the Live button's path once the first frame is up). The app
//! reports what it shows through `HINDSIGHT_STATUS_FILE`; screenshots come from ImageMagick's `import`.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::app::{position, record_pipeline, screen_variation, wait_eos, App};
use gst::prelude::*;

const SEC: u64 = 1_000_000_000;

#[test]
fn player_shows_frames_advances_seeks_and_goes_live() {
    let store = tempfile::tempdir().expect("tempdir");
    let work = tempfile::tempdir().expect("tempdir");

    // History: 30 s recorded as fast as the encoder goes.
    let history = record_pipeline(store.path(), "site/history", 30, false);
    wait_eos(&history);

    let app = App::start(
        store.path(),
        &["play", "site/history"],
        work.path().join("status.json"),
    );
    let first = app.wait_for("a frame on screen", Duration::from_secs(30), |s| position(s) > 0);
    assert_eq!(first["stream"], "site/history");
    assert_eq!(first["error"], serde_json::Value::Null);
    let later = app.wait_for("the position to advance", Duration::from_secs(10), |s| {
        position(s) > position(&first) + SEC / 2
    });
    assert_eq!(later["playing"], true, "{later}");
    let shot = work.path().join("history.png");
    let variation = screen_variation(&shot);
    assert!(variation > 0.05, "the window looks blank (σ = {variation})");

    // Opening at a time lands on the key frame at or before it (key frames every second here).
    let t0 = hindsight_store::Timestamp::from_nanos(position(&first));
    let target = t0.saturating_add(Duration::from_secs(20));
    let app = App::start(
        store.path(),
        &["play", "site/history", "--at", &target.to_rfc3339()],
        work.path().join("seek.json"),
    );
    let sought = app.wait_for("a frame at the requested time", Duration::from_secs(30), |s| {
        position(s) > 0
    });
    let p = position(&sought);
    assert!(
        p + 2 * SEC >= target.nanos() && p <= target.nanos() + 3 * SEC,
        "opened at {p}, asked for {}",
        target.nanos()
    );
    drop(app);

    // Live: a stream being recorded in real time; L jumps to its tail and follows it.
    let live = record_pipeline(store.path(), "site/live", 40, true);
    std::thread::sleep(Duration::from_secs(4));
    let app = App::start(
        store.path(),
        &["play", "site/live", "--live"],
        work.path().join("live.json"),
    );
    app.wait_for("the live stream to play", Duration::from_secs(30), |s| {
        position(s) > 0
    });
    let at_live = app.wait_for("the LIVE state", Duration::from_secs(15), |s| s["live"] == "live");
    let tai_now = hindsight_store::Timestamp::now().nanos();
    assert!(
        tai_now.saturating_sub(position(&at_live)) < 3 * SEC,
        "live position {} is far behind now {tai_now}",
        position(&at_live)
    );
    let _ = screen_variation(&work.path().join("live.png"));
    drop(app);
    live.set_state(gst::State::Null).expect("stop live recording");
}

#[test]
fn a_missing_stream_is_a_clear_error_not_a_crash() {
    let store = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(store.path()).expect("store dir");
    let out = Command::new(env!("CARGO_BIN_EXE_hindsight"))
        .arg("--store")
        .arg(store.path())
        .args(["play", "site/nothing"])
        .env_remove("HINDSIGHT_STORE")
        .output()
        .expect("run hindsight");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("site/nothing does not exist"), "{err}");
}

/// Preferences live in GSettings: the stream being watched is saved (keyfile backend in a temporary
/// XDG_CONFIG_HOME, so the test neither needs dconf nor touches the user's settings) and the app started again
/// without a stream reopens it.
#[test]
fn the_stream_watched_last_is_reopened_from_gsettings() {
    let work = tempfile::tempdir().expect("tempdir");
    let store = work.path().join("store");
    let config = work.path().join("config");
    wait_eos(&record_pipeline(&store, "site/door", 4, false));
    let env = [
        ("GSETTINGS_BACKEND", Path::new("keyfile")),
        ("XDG_CONFIG_HOME", config.as_path()),
    ];

    let app = App::start_with(&store, &["play", "site/door"], work.path().join("s1.json"), &env);
    app.wait_for("playback", Duration::from_secs(30), |s| {
        s["stream"] == "site/door" && position(s) > 0
    });
    let keyfile = config.join("glib-2.0/settings/keyfile");
    let start = Instant::now();
    loop {
        let text = std::fs::read_to_string(&keyfile).unwrap_or_default();
        if text.contains("last-stream='site/door'") {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "last-stream not saved in {}: {text:?}",
            keyfile.display()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    drop(app);

    // The app alone (no stream argument) comes back to it.
    let app = App::start_with(&store, &[], work.path().join("s2.json"), &env);
    app.wait_for("the saved stream reopened", Duration::from_secs(30), |s| {
        s["stream"] == "site/door" && position(s) > 0
    });
}

/// Translations work end to end: with `LANGUAGE=de` the overlay over the video is German. The stream is not being
/// recorded, so `--live` lands on its newest key frame and the overlay says there is no recording any more.
#[test]
fn the_app_speaks_german_with_language_de() {
    let work = tempfile::tempdir().expect("tempdir");
    let store = work.path().join("store");
    wait_eos(&record_pipeline(&store, "site/gate", 4, false));
    // gettext ignores LANGUAGE in the C locale; C.UTF-8 is always there.
    let env = [
        ("GSETTINGS_BACKEND", Path::new("memory")),
        ("LANG", Path::new("C.UTF-8")),
        ("LANGUAGE", Path::new("de")),
    ];
    let app = App::start_with(
        &store,
        &["play", "site/gate", "--live"],
        work.path().join("de.json"),
        &env,
    );
    let shown = app.wait_for("the German overlay", Duration::from_secs(30), |s| {
        s["overlay"].is_string()
    });
    assert_eq!(shown["overlay"], "Keine Aufnahme mehr", "{shown}");
}

/// A recording made with `mpegtsmux ! pravegasink` (MPEG-TS payloads, not fMP4) plays in the app: frames on
/// screen, the position advancing at the stored times, and opening at a time lands on the key frame before it.
#[test]
fn an_mpegts_recording_plays_in_the_app() {
    let store = tempfile::tempdir().expect("tempdir");
    let work = tempfile::tempdir().expect("tempdir");
    gst::init().expect("gstreamer");
    gstpravega::register_static().expect("register elements");
    let desc = format!(
        "videotestsrc num-buffers=300 pattern=ball ! video/x-raw,width=320,height=240,framerate=15/1 ! \
         x264enc key-int-max=15 bframes=0 speed-preset=ultrafast tune=zerolatency ! h264parse ! mpegtsmux ! \
         pravegasink store={} stream=site/ts",
        store.path().display()
    );
    let recording = gst::parse::launch(&desc)
        .expect("recording pipeline")
        .downcast::<gst::Pipeline>()
        .expect("a pipeline");
    recording.set_state(gst::State::Playing).expect("record");
    wait_eos(&recording);
    let backend = hindsight_store::StoreUri::parse(&store.path().display().to_string())
        .and_then(|u| u.open())
        .expect("store");
    let name = hindsight_store::StreamName::parse("site/ts").expect("name");
    let mut index = hindsight_store::video::IndexReader::open(backend.as_ref(), &name).expect("index");
    let keys: Vec<u64> = index
        .read_all()
        .expect("records")
        .1
        .iter()
        .filter(|r| r.is_seek_target())
        .map(|r| r.timestamp.nanos())
        .collect();
    assert!(keys.len() >= 19, "a key frame a second: {keys:?}");

    let app = App::start(store.path(), &["play", "site/ts"], work.path().join("ts.json"));
    let first = app.wait_for("a frame on screen", Duration::from_secs(30), |s| position(s) > 0);
    assert_eq!(first["error"], serde_json::Value::Null, "{first}");
    assert!(
        position(&first) >= keys[0] && position(&first) < keys[0] + 2 * SEC,
        "starts at the first key frame {}: {first}",
        keys[0]
    );
    app.wait_for("the position to advance", Duration::from_secs(10), |s| {
        position(s) > position(&first) + SEC
    });
    let variation = screen_variation(&work.path().join("mpegts.png"));
    assert!(variation > 0.05, "the window looks blank (σ = {variation})");
    drop(app);

    let target = hindsight_store::Timestamp::from_nanos(keys[10] + SEC / 2);
    let app = App::start(
        store.path(),
        &["play", "site/ts", "--at", &target.to_rfc3339()],
        work.path().join("ts-at.json"),
    );
    let sought = app.wait_for("a frame at the requested time", Duration::from_secs(30), |s| {
        position(s) > 0
    });
    let p = position(&sought);
    assert!(
        p >= keys[10] && p <= target.nanos() + 2 * SEC,
        "opened at {p}, key frame {} before {}",
        keys[10],
        target.nanos()
    );
}
