//! Synchronized review in the real app window: several cameras side by side at one stored instant, stepped one
//! frame forward and back together, with "no recording at this time" for a camera that has no footage at the
//! instant. The app reports every camera's shown frame through `HINDSIGHT_STATUS_FILE`.
//!
//! `HINDSIGHT_REVIEW_SPEED` sets the speed of the 10-minute alignment playback. The default is real time, as
//! an analyst watches: at 4× a 15 fps camera's frame lasts 17 ms of wall time, and a moment's CPU contention on a
//! loaded two-core machine makes a sink drop two late frames in a row (a clean-clone run measured that once).

mod common;

use std::path::Path;
use std::time::Duration;

use common::app::{wait_eos, App, PrivateDisplay};
use gst::prelude::*;
use hindsight_store::Timestamp;
use serde_json::Value;

const SEC: u64 = 1_000_000_000;

/// One test at a time: the alignment test measures what the sinks show, and a second app decoding four cameras
/// on the same two cores would make it measure the machine instead.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    // A test that failed while holding the lock poisoned it; the next test still runs alone.
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// Records `seconds` of one test pattern at `fps` into every stream of `streams` at once (one encoder, a tee
/// after the muxer: the same frames with the same times in each), stamped from `base` on.
fn record_same_source(store: &Path, streams: &[&str], seconds: u32, fps: u32, base: Timestamp) {
    gst::init().expect("gstreamer");
    gstpravega::register_static().expect("register elements");
    let sinks: String = streams
        .iter()
        .map(|s| {
            format!(
                " t. ! queue ! pravegasink store={} stream={s} timestamp-mode=base-plus-running-time \
                 timestamp-base={}",
                store.display(),
                base.nanos()
            )
        })
        .collect();
    let desc = format!(
        "videotestsrc num-buffers={} pattern=ball ! video/x-raw,width=160,height=120,framerate={fps}/1 ! \
         timeoverlay ! x264enc key-int-max={fps} bframes=0 speed-preset=ultrafast tune=zerolatency ! \
         h264parse ! video/x-h264,alignment=au ! mp4mux streamable=true fragment-duration=1 ! \
         tee name=t{sinks}",
        seconds * fps
    );
    let pipeline = gst::parse::launch(&desc)
        .expect("recording pipeline")
        .downcast::<gst::Pipeline>()
        .expect("a pipeline");
    pipeline.set_state(gst::State::Playing).expect("record");
    wait_eos(&pipeline);
}

fn cameras(s: &Value) -> &Vec<Value> {
    s["cameras"].as_array().expect("cameras")
}

fn frame_ns(c: &Value) -> u64 {
    c["frame_ns"].as_u64().unwrap_or(0)
}

/// The largest difference between the shown frames' times.
fn spread(s: &Value) -> u64 {
    let times: Vec<u64> = cameras(s).iter().map(frame_ns).collect();
    times.iter().max().unwrap_or(&0) - times.iter().min().unwrap_or(&0)
}

fn all_shown(s: &Value, n: usize) -> bool {
    cameras(s).len() == n && cameras(s).iter().all(|c| frame_ns(c) > 0)
}

#[test]
fn four_cameras_stay_within_a_frame_for_ten_minutes() {
    let _serial = serial();
    let work = tempfile::tempdir().expect("tempdir");
    let store = work.path().join("store");
    let names = ["same/a", "same/b", "same/c", "same/d"];
    let base = Timestamp::now().saturating_sub(Duration::from_secs(3600));
    record_same_source(&store, &names, 610, 15, base);
    let speed: f64 = std::env::var("HINDSIGHT_REVIEW_SPEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1.0);
    // Frame times are whole nanoseconds: 15 fps frames are 66 666 666 or 66 666 667 ns apart.
    let period = SEC.div_ceil(15);

    let x = PrivateDisplay::start();
    let mut args = vec!["play", "--speed"];
    let speed_text = speed.to_string();
    args.push(&speed_text);
    args.extend(names);
    let app = App::start_on(
        &x.name,
        &store,
        &args,
        work.path().join("status.json"),
        &[("GSETTINGS_BACKEND", Path::new("memory"))],
    );
    let first = app.wait_for("four cameras playing", Duration::from_secs(30), |s| {
        all_shown(s, 4) && s["playing"] == true
    });
    x.screenshot(&work.path().join("review-2x2.png"));
    let start = frame_ns(&cameras(&first)[0]);
    let end = start + 600 * SEC;
    // Sample what every camera shows, every tick, until ten minutes of footage have played.
    let wall = Duration::from_secs_f64(600.0 / speed) + Duration::from_secs(60);
    let started = std::time::Instant::now();
    let (mut samples, mut same, mut worst, mut last) = (0u64, 0u64, 0u64, 0u64);
    loop {
        if let Some(s) = app.status().filter(|s| all_shown(s, 4)) {
            let newest = cameras(&s).iter().map(frame_ns).max().unwrap_or(0);
            if newest != last {
                let d = spread(&s);
                assert!(
                    d <= period,
                    "cameras {d} ns apart (a frame is {period} ns) after {samples} samples: {s}"
                );
                worst = worst.max(d);
                samples += 1;
                // The report reads the sinks one after another while they render: a sample taken as the
                // frames change can catch some cameras on the next frame already.
                same += u64::from(d == 0);
                last = newest;
            }
            if newest >= end {
                break;
            }
        }
        assert!(
            started.elapsed() < wall,
            "ten minutes did not play in {wall:?}: {:?}",
            app.status()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    eprintln!(
        "synchronized playback of 4 cameras over 600 s at {speed}x: {samples} samples, {same} with the same \
         frame time on all four, largest difference {worst} ns (one frame: {period} ns)"
    );
    assert!(samples > 300, "only {samples} samples");
}

#[test]
fn stepping_and_cameras_without_footage() {
    let _serial = serial();
    let work = tempfile::tempdir().expect("tempdir");
    let store = work.path().join("store");
    let base = Timestamp::now().saturating_sub(Duration::from_secs(3600));
    // Two cameras from one source; a third starts 20 s later at 10 fps; a fourth has 10 s, a 20 s gap, 10 s.
    record_same_source(&store, &["step/a", "step/b"], 60, 15, base);
    let late = base.saturating_add(Duration::from_secs(20));
    record_same_source(&store, &["step/late"], 40, 10, late);
    record_same_source(&store, &["step/gap"], 10, 15, base);
    let resumed = base.saturating_add(Duration::from_secs(30));
    record_same_source(&store, &["step/gap"], 10, 15, resumed);

    let x = PrivateDisplay::start();
    let open_at = |offset: Duration, status: &str| {
        let at_text = base.saturating_add(offset).to_rfc3339();
        App::start_on(
            &x.name,
            &store,
            &[
                "play",
                "--at",
                &at_text,
                "step/a",
                "step/b",
                "step/late",
                "step/gap",
            ],
            work.path().join(status),
            &[("GSETTINGS_BACKEND", Path::new("memory"))],
        )
    };
    // Opened at 5.5 s: step/late has not started and step/gap has footage.
    let app = open_at(Duration::from_millis(5_500), "status.json");
    let s = app.wait_for("the cameras at 5.5 s", Duration::from_secs(30), |s| {
        let c = cameras(s);
        c.len() == 4 && frame_ns(&c[0]) > 0 && frame_ns(&c[3]) > 0 && c[2]["recorded"] == false
    });
    let c = cameras(&s);
    assert_eq!(
        c[2]["after_ns"].as_u64(),
        Some(late.nanos()),
        "the nearest recording after: {s}"
    );
    assert_eq!(c[2]["before_ns"], Value::Null, "{s}");
    assert_eq!(c[3]["recorded"], true, "{s}");
    // The report is written as the window updates; give the frame clock a moment to paint it.
    std::thread::sleep(Duration::from_millis(700));
    x.screenshot(&work.path().join("review-absent.png"));
    drop(app);

    // Opened at 25 s, in step/gap's gap: it has no footage, with both neighbours as buttons.
    let app = open_at(Duration::from_secs(25), "status2.json");
    let s = app.wait_for("three cameras at 25 s", Duration::from_secs(30), |s| {
        let c = cameras(s);
        c.len() == 4 && (0..3).all(|i| frame_ns(&c[i]) > 0) && c[3]["recorded"] == false
    });
    let gap = &cameras(&s)[3];
    assert!(
        gap["before_ns"]
            .as_u64()
            .is_some_and(|t| t <= base.nanos() + 10 * SEC),
        "{s}"
    );
    assert_eq!(gap["after_ns"].as_u64(), Some(resumed.nanos()), "{s}");
    // Different frame rates, one instant: every camera's frame is within its own frame of the others.
    let c = cameras(&s);
    let d = frame_ns(&c[0]).abs_diff(frame_ns(&c[2]));
    assert!(d < SEC / 10, "15 fps and 10 fps cameras {d} ns apart: {s}");

    // Pause, then step: forward three frames and back three, exact on every camera; back across a key frame.
    x.click(640, 300, 1);
    x.key("space");
    // Paused, every camera lined up on the first one's frame.
    let paused = app.wait_for("paused and lined up", Duration::from_secs(10), |s| {
        let c = cameras(s);
        s["playing"] == false && frame_ns(&c[0]) > 0 && frame_ns(&c[0]) == frame_ns(&c[1])
    });
    std::thread::sleep(Duration::from_millis(500));
    let paused = app.status().unwrap_or(paused);
    let t0 = frame_ns(&cameras(&paused)[0]);
    let step = |key: &str, expect: u64| -> Value {
        x.key(key);
        app.wait_for(&format!("{key} to show {expect}"), Duration::from_secs(10), |s| {
            let c = cameras(s);
            frame_ns(&c[0]).abs_diff(expect) < SEC / 1000 && frame_ns(&c[1]) == frame_ns(&c[0])
        })
    };
    let period = SEC / 15;
    let mut t = t0;
    for _ in 0..3 {
        t += period;
        step("period", t);
    }
    for _ in 0..3 {
        t -= period;
        step("comma", t);
    }
    // Back to the key frame at or before, then one more: the last frame of the GOP before.
    let key = base.nanos() + (t - base.nanos()) / SEC * SEC;
    while t > key + period / 2 {
        t -= period;
        step("comma", t);
    }
    let s = step("comma", key - period);
    eprintln!("stepped back across the key frame at {key}: {s}");
    drop(app);
}

#[test]
fn a_review_exports_a_case_that_verifies() {
    let _serial = serial();
    let work = tempfile::tempdir().expect("tempdir");
    let store = work.path().join("store");
    let home = work.path().join("home");
    std::fs::create_dir_all(&home).expect("home");
    let base = Timestamp::now().saturating_sub(Duration::from_secs(3600));
    record_same_source(&store, &["case/a", "case/b"], 20, 15, base);

    let x = PrivateDisplay::start();
    let at = base.saturating_add(Duration::from_secs(5));
    let at_text = at.to_rfc3339();
    // The dialog offers the home folder (there is no Videos folder); the installation's key is made under it.
    let data = home.join(".local/share");
    let app = App::start_on(
        &x.name,
        &store,
        &["play", "--at", &at_text, "case/a", "case/b"],
        work.path().join("status.json"),
        &[
            ("GSETTINGS_BACKEND", Path::new("memory")),
            ("HOME", &home),
            ("XDG_DATA_HOME", &data),
            ("XDG_CONFIG_HOME", &home.join(".config")),
        ],
    );
    app.wait_for("two cameras playing", Duration::from_secs(30), |s| {
        all_shown(s, 2) && s["playing"] == true
    });
    // Mark about two seconds: I, play on, O; then Ctrl+E and accept the folder name offered.
    x.click(640, 300, 1);
    x.key("i");
    let marked = frame_ns(&cameras(&app.status().expect("status"))[0]);
    app.wait_for("two seconds played", Duration::from_secs(20), |s| {
        frame_ns(&cameras(s)[0]) > marked + 2 * SEC
    });
    x.key("o");
    x.key("ctrl+e");
    std::thread::sleep(Duration::from_secs(2));
    x.screenshot(&work.path().join("review-case-dialog.png"));
    x.key("Return");
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let case = loop {
        let found = std::fs::read_dir(&home)
            .expect("home")
            .flatten()
            .map(|e| e.path())
            .find(|p| p.join("case.json").is_file());
        if let Some(dir) = found {
            break dir;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no case folder in {}",
            home.display()
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    let name = case
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    assert!(
        name.starts_with("case-case-a-"),
        "the folder offered is named for the case: {name}"
    );
    for file in ["case_a.mp4", "case_b.mp4"] {
        assert!(case.join(file).is_file(), "{file} in {}", case.display());
    }
    x.screenshot(&work.path().join("review-case-done.png"));
    drop(app);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_hindsight"))
        .arg("--store")
        .arg(&store)
        .arg("verify")
        .arg(&case)
        .env("XDG_CONFIG_HOME", home.join(".config"))
        .output()
        .expect("hindsight verify");
    let text = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "the case verifies: {text}");
    assert!(
        text.contains("this installation's key"),
        "signed with the key made by the app: {text}"
    );

    // The app opens the case with its verdict; a changed byte in the manifest turns it to "not verified".
    let env = [
        ("GSETTINGS_BACKEND", Path::new("memory")),
        ("HOME", home.as_path()),
        ("XDG_CONFIG_HOME", &home.join(".config")),
    ];
    let case_text = case.to_string_lossy().into_owned();
    let app = App::start_on(
        &x.name,
        &store,
        &["open", &case_text],
        work.path().join("status-case.json"),
        &env,
    );
    let s = case_checked(&app, "the case verified");
    assert_eq!(s["state"], "verified", "{s}");
    assert_eq!(s["compared_with_store"], true, "{s}");
    assert_eq!(s["cameras"].as_array().map(Vec::len), Some(2), "{s}");
    std::thread::sleep(Duration::from_millis(500));
    x.screenshot(&work.path().join("case-verified.png"));
    drop(app);
    let manifest = case.join("case.json");
    let original = std::fs::read_to_string(&manifest).expect("manifest");
    let altered = original.replacen("case/b", "case/x", 1);
    assert_ne!(altered, original);
    std::fs::write(&manifest, altered).expect("alter the manifest");
    let app = App::start_on(
        &x.name,
        &store,
        &["open", &case_text],
        work.path().join("status-altered.json"),
        &env,
    );
    let s = case_checked(&app, "the altered case checked");
    assert_eq!(s["state"], "not-verified", "{s}");
    assert!(s["problems"].as_array().is_some_and(|p| !p.is_empty()), "{s}");
    std::thread::sleep(Duration::from_millis(500));
    x.screenshot(&work.path().join("case-altered.png"));
}

/// The case window's verdict once its check ended. The report is the case window's own (`view` "case") or, once
/// the page behind it (the library) writes its report again, rides along with that one under `case`.
fn case_checked(app: &App, what: &str) -> Value {
    let verdict = |s: &Value| {
        if s["view"] == "case" {
            s.clone()
        } else {
            s["case"].clone()
        }
    };
    let s = app.wait_for(what, Duration::from_secs(30), |s| {
        let v = verdict(s);
        v.is_object() && v["state"] != "checking"
    });
    verdict(&s)
}
