//! Finding the moment on the timeline, in the real window: hovering shows the key frame under the pointer with
//! its time; dragging shows key frames at ten or more a second and, where the drag is let go, exactly the frame
//! whose interval holds that time (20 random places); zoomed all the way in, each frame has its tick; frame step
//! back crosses a key frame. The app reports what it shows through its status file.

use std::path::Path;
use std::time::{Duration, Instant};

mod common;

use common::app::{position, record_pipeline, wait_eos, App, PrivateDisplay};
use hindsight_store::video::IndexReader;
use hindsight_store::{EmbeddedStore, Interrupt, ReadOutcome, StreamName, VideoReader};
use serde_json::Value;

/// Every stored frame time and the key frames' records of `stream`.
fn stored(store: &Path, stream: &str) -> (Vec<u64>, Vec<hindsight_store::IndexRecord>) {
    let backend = EmbeddedStore::open(store).expect("store");
    let name = StreamName::parse(stream).expect("name");
    let mut reader = VideoReader::open(&backend, &name).expect("reader");
    let interrupt = Interrupt::new().expect("interrupt");
    let mut frames = Vec::new();
    while let ReadOutcome::Frame(f) = reader.next_frame(Instant::now(), &interrupt).expect("frame") {
        frames.push(f.header.timestamp.nanos());
    }
    let (_, records) = IndexReader::open(&backend, &name)
        .and_then(|mut i| i.read_all())
        .expect("index");
    let keys = records.into_iter().filter(|r| r.is_seek_target()).collect();
    (frames, keys)
}

/// The frame shown for `t`: the last stored frame at or before it.
fn frame_at(frames: &[u64], t: u64) -> u64 {
    let i = frames.partition_point(|&f| f <= t);
    frames[i.saturating_sub(1)]
}

/// The timeline's place in the window and time span, from the status report.
struct Axis {
    x: f64,
    y: i32,
    width: f64,
    start: u64,
    end: u64,
}

impl Axis {
    fn of(s: &Value) -> Option<Axis> {
        let t = &s["timeline"];
        let rect: Vec<i64> = t["rect"].as_array()?.iter().filter_map(Value::as_i64).collect();
        Some(Axis {
            x: rect[0] as f64,
            y: (rect[1] + rect[3] / 2) as i32,
            width: rect[2] as f64,
            start: t["start_ns"].as_u64()?,
            end: t["end_ns"].as_u64()?,
        })
    }

    /// The screen x of time `t`.
    fn x_of(&self, t: u64) -> i32 {
        (self.x + (t - self.start) as f64 / (self.end - self.start) as f64 * self.width).round() as i32
    }
}

/// The stored frame on screen. Decoded times are the stored ones rounded up to the track's timescale (up to a
/// tick later, far less than a frame), so the frame shown is the last stored one at or before its time.
fn stored_frame_shown(s: &Value, frames: &[u64]) -> u64 {
    let shown = s["cameras"][0]["frame_ns"].as_u64().unwrap_or(0);
    if shown < frames[0] {
        return 0;
    }
    frame_at(frames, shown)
}

#[test]
fn hover_drag_release_zoom_and_step_find_the_exact_frame() {
    let store = tempfile::tempdir().expect("tempdir");
    let work = tempfile::tempdir().expect("tempdir");
    wait_eos(&record_pipeline(store.path(), "site/scrub", 60, false));
    let (frames, keys) = stored(store.path(), "site/scrub");
    assert!(
        frames.len() >= 890 && keys.len() >= 59,
        "{} frames, {} keys",
        frames.len(),
        keys.len()
    );

    let x = PrivateDisplay::start();
    let app = App::start_on(
        &x.name,
        store.path(),
        &["play", "site/scrub"],
        work.path().join("s.json"),
        &[("GSETTINGS_BACKEND", Path::new("memory"))],
    );
    app.wait_for("playing", Duration::from_secs(30), |s| {
        position(s) > 0 && Axis::of(s).is_some()
    });
    let s = x.press_until(&app, "space", |s| s["playing"] == false);
    let axis = Axis::of(&s).expect("the timeline");

    // Hover: the key frame under the pointer, with its image.
    for key in [&keys[10], &keys[40], &keys[25]] {
        let t = key.timestamp.nanos() + 400_000_000;
        x.point_at(axis.x_of(t), axis.y);
        let s = app.wait_for("the hover image", Duration::from_secs(10), |s| {
            s["hover"]["shown_ns"].as_u64() == Some(key.timestamp.nanos())
        });
        assert_eq!(
            s["hover"]["key_frame_ns"].as_u64(),
            Some(key.timestamp.nanos()),
            "{s}"
        );
    }
    x.screenshot(&work.path().join("hover.png"));

    // A long drag: key frames shown at ten a second or more.
    let before = app.status().expect("status");
    let (from, to) = (
        axis.x_of(keys[5].timestamp.nanos()),
        axis.x_of(keys[50].timestamp.nanos()),
    );
    // Motion events 50 times a second, as a hand on a mouse makes them (and more).
    let points: Vec<(i32, i32)> = (0..=100)
        .map(|i| (from + (to - from) * i / 100, axis.y))
        .collect();
    let dragged = Instant::now();
    x.drag_through(&points, 0.02, 0.05);
    let secs = dragged.elapsed().as_secs_f64();
    let after = app.wait_for("the drag's end", Duration::from_secs(10), |s| {
        s["scrub"]["released_ns"].as_u64() != before["scrub"]["released_ns"].as_u64()
    });
    let seeks = after["scrub"]["drag_seeks"].as_u64().unwrap_or(0)
        - before["scrub"]["drag_seeks"].as_u64().unwrap_or(0);
    let shown =
        after["scrub"]["frames"].as_u64().unwrap_or(0) - before["scrub"]["frames"].as_u64().unwrap_or(0);
    eprintln!("drag of {secs:.1} s: {seeks} key-frame seeks, {shown} frames shown");
    assert!(seeks as f64 / secs >= 10.0, "{seeks} seeks in {secs:.1} s");
    assert!(shown as f64 / secs >= 10.0, "{shown} frames shown in {secs:.1} s");

    // Let go at 20 random places: the frame shown is the one whose interval holds the time let go at.
    let mut r: u64 = 0x2545_F491_4F6C_DD1D;
    for i in 0..20 {
        r ^= r << 13;
        r ^= r >> 7;
        r ^= r << 17;
        let target = frames[0] + r % (frames[frames.len() - 1] - frames[0]);
        let end = axis.x_of(target);
        let start = (end + if i % 2 == 0 { 40 } else { -40 })
            .clamp(axis.x as i32 + 1, (axis.x + axis.width) as i32 - 1);
        let before = app.status().expect("status");
        x.drag_through(
            &[(start, axis.y), ((start + end) / 2, axis.y), (end, axis.y)],
            0.05,
            0.1,
        );
        let s = app.wait_for("the drag's end", Duration::from_secs(10), |s| {
            s["scrub"]["released_ns"].as_u64() != before["scrub"]["released_ns"].as_u64()
        });
        let released = s["scrub"]["released_ns"].as_u64().expect("released");
        let want = frame_at(&frames, released);
        app.wait_for("the exact frame", Duration::from_secs(15), |s| {
            stored_frame_shown(s, &frames) == want
        });
    }

    // Frame step back across a key frame: from a key frame to the last frame of the GOP before it.
    let key = keys[30].timestamp.nanos();
    let before = app.status().expect("status");
    x.drag_through(
        &[(axis.x_of(key) - 30, axis.y), (axis.x_of(key), axis.y)],
        0.05,
        0.1,
    );
    let s = app.wait_for("the drag's end", Duration::from_secs(10), |s| {
        s["scrub"]["released_ns"].as_u64() != before["scrub"]["released_ns"].as_u64()
    });
    let at = frame_at(&frames, s["scrub"]["released_ns"].as_u64().expect("released"));
    app.wait_for("the frame let go at", Duration::from_secs(15), |s| {
        stored_frame_shown(s, &frames) == at
    });
    let i = frames.iter().position(|&f| f == at).expect("a stored frame");
    x.press_until(&app, "comma", |s| stored_frame_shown(s, &frames) == frames[i - 1]);

    // Zoomed all the way in: a tick per frame.
    for _ in 0..8 {
        x.key("plus");
        std::thread::sleep(Duration::from_millis(150));
    }
    let in_view = |s: &Value| {
        let (a, b) = (
            s["timeline"]["start_ns"].as_u64().unwrap_or(0),
            s["timeline"]["end_ns"].as_u64().unwrap_or(0),
        );
        (
            frames.iter().filter(|&&f| f >= a && f <= b).count() as u64,
            b.saturating_sub(a),
        )
    };
    let s = app.wait_for("a tick per frame in view", Duration::from_secs(15), |s| {
        let ticks = s["timeline"]["frame_ticks"].as_u64().unwrap_or(0);
        ticks >= 20 && ticks == in_view(s).0
    });
    let span = in_view(&s).1;
    assert!(span <= 2_100_000_000, "zoomed to {span} ns");
    x.screenshot(&work.path().join("frames.png"));
}
