//! The library in a real window on an X server of its own: every stream is listed with a picture of its newest
//! key frame (decoded after the rows are shown), and the filter box narrows the list by the words typed. The
//! app reports what the library shows through `HINDSIGHT_STATUS_FILE`.

mod common;

use std::path::Path;
use std::time::Duration;

use common::app::{record_pipeline, wait_eos, App, PrivateDisplay};
use serde_json::Value;

fn shown(s: &Value) -> Vec<&str> {
    s["shown"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

#[test]
fn the_library_shows_what_each_camera_sees_and_filters_by_name() {
    let work = tempfile::tempdir().expect("tempdir");
    let store = work.path().join("store");
    let names = ["lobby/cam1", "lobby/cam2", "yard/gate"];
    for name in names {
        wait_eos(&record_pipeline(&store, name, 2, false));
    }
    let x = PrivateDisplay::start();
    // Memory settings: no stream watched last, so the app opens on the library.
    let env = [("GSETTINGS_BACKEND", Path::new("memory"))];
    let app = App::start_on(&x.name, &store, &[], work.path().join("status.json"), &env);

    let all = app.wait_for("every row with its picture", Duration::from_secs(30), |s| {
        s["view"] == "library" && s["total"] == 3 && s["thumbnails"] == 3
    });
    assert_eq!(shown(&all), names, "{all}");
    x.screenshot(&work.path().join("library.png"));

    // Two words, both in the name, in any order and case.
    x.click_rect(&all["filter_rect"], 1);
    x.type_text("CAM lobby");
    let filtered = app.wait_for("the filter to apply", Duration::from_secs(10), |s| {
        s["filter"] == "CAM lobby"
    });
    assert_eq!(shown(&filtered), ["lobby/cam1", "lobby/cam2"], "{filtered}");
    assert_eq!(filtered["total"], 3);
    assert_eq!(filtered["thumbnails"], 2, "the rows kept keep their pictures");
    x.screenshot(&work.path().join("library-filtered.png"));

    x.type_text(" 2");
    let one = app.wait_for("a narrower filter", Duration::from_secs(10), |s| {
        s["filter"] == "CAM lobby 2"
    });
    assert_eq!(shown(&one), ["lobby/cam2"], "{one}");
}
