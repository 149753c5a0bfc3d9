//! The monitoring wall in a real window on an X server of its own (the test clicks): four streams recorded live
//! play in a 2×2 wall, every tile live and moving; a writer that stops is reported by its tile within 3 s while
//! the others move on; a stream deleted while shown fails in its own tile only; a click enlarges a tile and
//! another brings the grid back; a double click opens the camera in the player at the tile's instant. The app
//! reports what it shows through `HINDSIGHT_STATUS_FILE`.

mod common;

use std::path::Path;
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

    let x = PrivateDisplay::start();
    let config = work.path().join("config");
    let env = [
        ("GSETTINGS_BACKEND", Path::new("memory")),
        ("XDG_CONFIG_HOME", config.as_path()),
    ];
    let mut args = vec!["wall"];
    args.extend(names);
    args.extend(["--layout", "2x2"]);
    let app = App::start_on(&x.name, &store, &args, work.path().join("wall.json"), &env);

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
    app.wait_for("site/b and site/c to play on", Duration::from_secs(10), |s| {
        ["site/b", "site/c"]
            .iter()
            .all(|n| frames(s, n) >= frames(&failed, n) + 10 && tile(s, n)["state"] == "live")
    });

    // Click to enlarge, click again for the grid.
    let rect = tile(&failed, "site/b")["rect"].clone();
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

    // Double click: the player opens that camera at the tile's instant.
    let grid = app.wait_for("the tiles placed again", Duration::from_secs(5), |s| {
        tile(s, "site/c")["rect"].is_array()
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
#[test]
fn small_tiles_decode_key_frames_only() {
    let work = tempfile::tempdir().expect("tempdir");
    let store = work.path().join("store");
    let names = ["small/a", "small/b"];
    let recordings: Vec<gst::Pipeline> = names
        .iter()
        .map(|n| record_pipeline(&store, n, 60, true))
        .collect();
    std::thread::sleep(Duration::from_secs(3));
    let x = PrivateDisplay::start();
    let config = work.path().join("config");
    let env = [
        ("GSETTINGS_BACKEND", Path::new("memory")),
        ("XDG_CONFIG_HOME", config.as_path()),
    ];
    // 4×4 in the default 960-pixel window: every tile is well under 240 pixels wide.
    let args = ["wall", names[0], names[1], "--layout", "4x4"];
    let app = App::start_on(&x.name, &store, &args, work.path().join("small.json"), &env);
    let first = app.wait_for("key-frame tiles", Duration::from_secs(30), |s| {
        s["view"] == "wall"
            && tiles(s).len() == 2
            && tiles(s)
                .iter()
                .all(|t| t["key_frames_only"] == true && t["state"] == "live")
    });
    // Still moving, one image per key frame (a key frame a second here).
    let later = app.wait_for("new key frames", Duration::from_secs(10), |s| {
        names.iter().all(|n| frames(s, n) >= frames(&first, n) + 2)
    });
    let (f0, f1) = (frames(&first, names[0]), frames(&later, names[0]));
    assert!(f1 - f0 < 40, "key frames only, yet {} frames arrived", f1 - f0);
    x.click_rect(&tile(&later, names[0])["rect"], 1);
    let big = app.wait_for("the enlarged tile on every frame", Duration::from_secs(10), |s| {
        s["enlarged"] == 0 && tile(s, names[0])["key_frames_only"] == false
    });
    app.wait_for("full frame rate", Duration::from_secs(10), |s| {
        frames(s, names[0]) >= frames(&big, names[0]) + 20
    });
    drop(app);
    for r in &recordings {
        let _ = r.set_state(gst::State::Null);
    }
}
