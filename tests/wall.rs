//! The monitoring wall in a real window on an X server of its own (the test clicks): four streams recorded live
//! play in a 2×2 wall, every tile live and moving; a writer that stops is reported by its tile within 3 s while
//! the others move on; a stream deleted while shown fails in its own tile only; a click enlarges a tile and
//! another brings the grid back; a double click opens the camera in the player at the tile's instant. The app
//! reports what it shows through `HINDSIGHT_STATUS_FILE`.

mod common;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::app::{record_pipeline, App, PrivateDisplay};
use gst::prelude::*;
use serde_json::Value;

const SEC: u64 = 1_000_000_000;

fn tiles(s: &Value) -> &Vec<Value> {
    s["tiles"].as_array().expect("tiles")
}

fn tile<'a>(s: &'a Value, stream: &str) -> &'a Value {
    tiles(s)
        .iter()
        .find(|t| t["stream"] == stream)
        .unwrap_or_else(|| panic!("no tile of {stream} in {s}"))
}

fn frames(s: &Value, stream: &str) -> u64 {
    tile(s, stream)["frames"].as_u64().unwrap_or(0)
}

/// The app with `args` on `work/store`, on an X display of its own, with its configuration in `work/config`
/// (returned, for the saved walls).
fn open_wall(work: &Path, args: &[&str]) -> (PrivateDisplay, App, PathBuf) {
    let x = PrivateDisplay::start();
    let config = work.join("config");
    let env = [
        ("GSETTINGS_BACKEND", Path::new("memory")),
        ("XDG_CONFIG_HOME", config.as_path()),
    ];
    let app = App::start_on(&x.name, &work.join("store"), args, work.join("status.json"), &env);
    (x, app, config)
}

#[test]
fn a_wall_of_four_live_cameras() {
    let work = tempfile::tempdir().expect("tempdir");
    let store = work.path().join("store");
    let names = ["site/a", "site/b", "site/c", "site/d"];
    let recordings: Vec<gst::Pipeline> = names
        .iter()
        .map(|n| record_pipeline(&store, n, 120, true))
        .collect();
    // The first key frames are stored before the wall opens.
    std::thread::sleep(Duration::from_secs(3));

    let mut args = vec!["wall"];
    args.extend(names);
    args.extend(["--layout", "2x2"]);
    let (x, app, config) = open_wall(work.path(), &args);

    // Every tile live and moving.
    let first = app.wait_for("four live tiles", Duration::from_secs(30), |s| {
        s["view"] == "wall" && tiles(s).len() == 4 && tiles(s).iter().all(|t| t["state"] == "live")
    });
    assert_eq!(first["layout"], "2x2");
    let later = app.wait_for("every tile to move", Duration::from_secs(10), |s| {
        names.iter().all(|n| frames(s, n) >= frames(&first, n) + 10)
    });
    for n in names {
        let t = tile(&later, n);
        let behind = common::now_tai().saturating_sub(t["position_ns"].as_u64().unwrap_or(0));
        assert!(behind < 3 * SEC, "{n} shows a frame {behind} ns old: {later}");
        assert_eq!(t["key_frames_only"], false, "{t}");
    }
    x.screenshot(&work.path().join("wall-2x2.png"));
    let saved = std::fs::read_to_string(config.join("hindsight/walls.json")).expect("walls saved");
    assert!(saved.contains("site/d") && saved.contains("2x2"), "{saved}");

    // A writer stops: its tile says so within 3 s; the others keep moving.
    recordings[0].set_state(gst::State::Null).expect("stop site/a");
    let stopped_at = Instant::now();
    let stopped = app.wait_for("site/a to say its writer stopped", Duration::from_secs(3), |s| {
        tile(s, "site/a")["state"] == "writer-stopped"
    });
    eprintln!(
        "site/a reported its stopped writer after {:?}",
        stopped_at.elapsed()
    );
    let moved = app.wait_for("the other tiles to move on", Duration::from_secs(10), |s| {
        names[1..]
            .iter()
            .all(|n| frames(s, n) >= frames(&stopped, n) + 10)
            && names[1..].iter().all(|n| tile(s, n)["state"] == "live")
    });
    assert_eq!(tile(&moved, "site/a")["state"], "writer-stopped");

    // A stream deleted while shown: an error in its own tile, the others play on.
    recordings[3].set_state(gst::State::Null).expect("stop site/d");
    let backend = hindsight_store::StoreUri::embedded(&store)
        .open_new()
        .expect("store");
    let d = hindsight_store::StreamName::parse("site/d").expect("name");
    hindsight_store::video::delete_video_stream(backend.as_ref(), &d).expect("delete site/d");
    let failed = app.wait_for("site/d to fail in its tile", Duration::from_secs(10), |s| {
        tile(s, "site/d")["state"] == "error"
    });
    assert!(
        tile(&failed, "site/d")["detail"]
            .as_str()
            .is_some_and(|d| !d.is_empty()),
        "{failed}"
    );
    let playing = app.wait_for("site/b and site/c to play on", Duration::from_secs(10), |s| {
        ["site/b", "site/c"].iter().all(|n| {
            frames(s, n) >= frames(&failed, n) + 10
                && tile(s, n)["state"] == "live"
                && tile(s, n)["rect"].is_array()
        })
    });

    // Click to enlarge, click again for the grid.
    let rect = tile(&playing, "site/b")["rect"].clone();
    x.click_rect(&rect, 1);
    let big = app.wait_for("site/b enlarged", Duration::from_secs(5), |s| {
        s["enlarged"] == 1
            && tile(s, "site/b")["rect"][2].as_i64().unwrap_or(0) > rect[2].as_i64().unwrap_or(0)
    });
    assert_eq!(tile(&big, "site/b")["key_frames_only"], false);
    x.screenshot(&work.path().join("wall-enlarged.png"));
    x.click_rect(&tile(&big, "site/b")["rect"], 1);
    app.wait_for("the grid back", Duration::from_secs(5), |s| {
        s["enlarged"].is_null()
    });

    // Enlarged again, Escape returns (the app runs under a session bus, so keys reach it).
    let grid = app.wait_for("the tiles placed again", Duration::from_secs(5), |s| {
        tile(s, "site/b")["rect"].is_array() && tile(s, "site/c")["rect"].is_array()
    });
    x.click_rect(&tile(&grid, "site/b")["rect"], 1);
    app.wait_for("site/b enlarged again", Duration::from_secs(5), |s| {
        s["enlarged"] == 1
    });
    x.key("Escape");
    let grid = app.wait_for("the grid back after Escape", Duration::from_secs(5), |s| {
        s["enlarged"].is_null() && tile(s, "site/c")["rect"].is_array()
    });

    // Drag site/b onto site/c: it takes that place, site/c moves up, the order is saved; nothing is enlarged.
    x.drag(&tile(&grid, "site/b")["rect"], &tile(&grid, "site/c")["rect"]);
    let order = |s: &Value| -> Vec<String> {
        tiles(s)
            .iter()
            .map(|t| t["stream"].as_str().unwrap_or("").to_owned())
            .collect()
    };
    let moved = app.wait_for("site/b moved after site/c", Duration::from_secs(10), |s| {
        order(s) == ["site/a", "site/c", "site/b", "site/d"]
    });
    std::thread::sleep(Duration::from_millis(800));
    assert!(
        app.status().is_some_and(|s| s["enlarged"].is_null()),
        "a drag is not a click: {moved}"
    );
    let saved = std::fs::read_to_string(config.join("hindsight/walls.json")).expect("walls saved");
    let (b, c) = (saved.find("site/b"), saved.find("site/c"));
    assert!(c < b, "the new order is saved: {saved}");

    // Double click: the player opens that camera at the tile's instant.
    let grid = app.wait_for("the tiles placed again", Duration::from_secs(5), |s| {
        tile(s, "site/c")["rect"].is_array() && s["enlarged"].is_null()
    });
    let shown = tile(&grid, "site/c")["position_ns"].as_u64().unwrap_or(0);
    x.click_rect(&tile(&grid, "site/c")["rect"], 2);
    let player = app.wait_for("the player on site/c", Duration::from_secs(15), |s| {
        s["view"] == "player" && s["stream"] == "site/c" && s["position_ns"].as_u64().unwrap_or(0) > 0
    });
    let at = player["position_ns"].as_u64().unwrap_or(0);
    // It opens at the key frame at or before the tile's instant (one per second here) and plays on.
    assert!(
        at + 2 * SEC >= shown && at <= shown + 5 * SEC,
        "player at {at}, tile showed {shown}"
    );
    drop(app);
    for r in &recordings {
        let _ = r.set_state(gst::State::Null);
    }
}

/// Tiles narrower than the threshold decode key frames only and say so; enlarged, a tile decodes every frame.
/// Beside them, a stream of unreadable frames and one whose footage is all deleted each say so in their own tile
/// while the good ones play on.
#[test]
fn small_tiles_decode_key_frames_only() {
    let work = tempfile::tempdir().expect("tempdir");
    let store = work.path().join("store");
    let names = ["small/a", "small/b"];
    let recordings: Vec<gst::Pipeline> = names
        .iter()
        .map(|n| record_pipeline(&store, n, 60, true))
        .collect();
    // Finished footage that will be deleted whole while shown.
    common::app::wait_eos(&record_pipeline(&store, "small/gone", 2, false));
    // Frames whose bytes are no video at all, written live.
    let stop = Arc::new(AtomicBool::new(false));
    let garbage = {
        let (store, stop) = (store.clone(), stop.clone());
        std::thread::spawn(move || write_garbage(&store, "small/corrupt", &stop))
    };
    std::thread::sleep(Duration::from_secs(3));
    // 4×4 in the default 960-pixel window: every tile is well under 240 pixels wide.
    let args = [
        "wall",
        names[0],
        names[1],
        "small/corrupt",
        "small/gone",
        "--layout",
        "4x4",
    ];
    let (x, app, _) = open_wall(work.path(), &args);
    let first = app.wait_for("key-frame tiles", Duration::from_secs(30), |s| {
        s["view"] == "wall"
            && tiles(s).len() == 4
            && names
                .iter()
                .all(|n| tile(s, n)["key_frames_only"] == true && tile(s, n)["state"] == "live")
    });
    // Still moving, one image per key frame (a key frame a second here).
    let later = app.wait_for("new key frames", Duration::from_secs(10), |s| {
        names.iter().all(|n| frames(s, n) >= frames(&first, n) + 2)
    });
    let (f0, f1) = (frames(&first, names[0]), frames(&later, names[0]));
    assert!(f1 - f0 < 40, "key frames only, yet {} frames arrived", f1 - f0);

    // The unreadable stream fails (or, if its decoder keeps quiet, says nothing came) in its own tile.
    let bad = app.wait_for("the corrupt stream to say so", Duration::from_secs(20), |s| {
        matches!(
            tile(s, "small/corrupt")["state"].as_str(),
            Some("error" | "stalled")
        )
    });
    assert_eq!(frames(&bad, "small/corrupt"), 0, "{bad}");
    // All of small/gone deleted, as retention would: its tile says so.
    let backend = hindsight_store::StoreUri::embedded(&store)
        .open_new()
        .expect("store");
    let gone = hindsight_store::video::VideoStreamNames::new(
        &hindsight_store::StreamName::parse("small/gone").expect("name"),
    )
    .expect("names");
    for s in [&gone.index, &gone.data] {
        let tail = backend.info(s).expect("info").tail;
        backend.truncate_before(s, tail).expect("delete everything");
    }
    let emptied = app.wait_for("the emptied stream to say so", Duration::from_secs(10), |s| {
        tile(s, "small/gone")["state"] == "error"
    });
    assert!(
        tile(&emptied, "small/gone")["detail"]
            .as_str()
            .is_some_and(|d| d.contains("deleted")),
        "{emptied}"
    );
    x.screenshot(&work.path().join("wall-4x4-errors.png"));

    x.click_rect(&tile(&emptied, names[0])["rect"], 1);
    let big = app.wait_for("the enlarged tile on every frame", Duration::from_secs(10), |s| {
        s["enlarged"] == 0 && tile(s, names[0])["key_frames_only"] == false
    });
    app.wait_for("full frame rate", Duration::from_secs(10), |s| {
        frames(s, names[0]) >= frames(&big, names[0]) + 20
    });
    drop(app);
    stop.store(true, Ordering::SeqCst);
    let _ = garbage.join();
    for r in &recordings {
        let _ = r.set_state(gst::State::Null);
    }
}

/// Appends frames of noise (every one a "key frame") to `stream` at 10 fps until `stop`.
fn write_garbage(store: &Path, stream: &str, stop: &AtomicBool) {
    let backend = hindsight_store::StoreUri::embedded(store)
        .open_or_create()
        .expect("store");
    let name = hindsight_store::StreamName::parse(stream).expect("name");
    let mut w = hindsight_store::video::VideoWriter::open(
        backend.as_ref(),
        &name,
        hindsight_store::video::IndexPolicy::default(),
    )
    .expect("writer");
    let mut n = 0u32;
    while !stop.load(Ordering::SeqCst) {
        let noise: Vec<u8> = (0..2000u32)
            .map(|i| (i.wrapping_mul(2_654_435_761).wrapping_add(n) >> 13) as u8)
            .collect();
        w.append(&noise, hindsight_store::Timestamp::now(), true)
            .expect("append");
        n += 1;
        std::thread::sleep(Duration::from_millis(100));
    }
}
