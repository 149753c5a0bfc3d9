//! Bookmarks, retention holds and visible retention, end to end: the `bookmarks` and `hold` commands, holds
//! against `truncate` and a recording's retention, and the player (B adds a bookmark, the timeline shows
//! bookmarks, holds and what retention deletes within the hour, and the playhead follows deleted footage to the
//! new head with a toast), through the app's status report and a screenshot.

use std::path::Path;
use std::time::Duration;

mod common;

use common::app::{position, App, PrivateDisplay};
use common::{base, hindsight, ok, record_two_runs};
use hindsight_store::{marks, EmbeddedStore, StreamName, Timestamp};

const SEC: u64 = 1_000_000_000;

fn at(secs: u64) -> String {
    Timestamp::from_nanos(base().nanos() + secs * SEC).to_rfc3339()
}

fn fails(store: &Path, args: &[&str]) -> String {
    let out = hindsight(store, args);
    assert_eq!(out.status.code(), Some(1), "{args:?} should fail");
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    err
}

fn head(store: &Path, stream: &str) -> String {
    let json: serde_json::Value =
        serde_json::from_str(&ok(&hindsight(store, &["inspect", stream, "--json"]))).expect("json");
    json["first_time"].as_str().expect("first time").to_owned()
}

#[test]
fn bookmarks_and_holds_from_the_command_line_and_truncation_keeps_what_is_held() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = dir.path();
    record_two_runs(store, "site/cam");

    let out = ok(&hindsight(
        store,
        &["bookmarks", "site/cam", "--add", "van arrives", "--at", &at(3)],
    ));
    assert!(out.contains("added") && out.contains("van arrives"), "{out}");
    ok(&hindsight(
        store,
        &["bookmarks", "site/cam", "--add", "gate", "--at", &at(85)],
    ));
    let list: serde_json::Value =
        serde_json::from_str(&ok(&hindsight(store, &["bookmarks", "site/cam", "--json"]))).expect("json");
    let names: Vec<&str> = list
        .as_array()
        .expect("array")
        .iter()
        .map(|b| b["name"].as_str().expect("name"))
        .collect();
    assert_eq!(names, ["van arrives", "gate"]);
    assert_eq!(list[0]["at"], at(3));

    let out = ok(&hindsight(
        store,
        &[
            "hold",
            "site/cam",
            "--from",
            &at(10),
            "--to",
            &at(15),
            "--note",
            "case 41",
        ],
    ));
    assert!(out.contains("placed") && out.contains("case 41"), "{out}");
    let holds: serde_json::Value =
        serde_json::from_str(&ok(&hindsight(store, &["hold", "site/cam", "--json"]))).expect("json");
    let hold_id = holds[0]["id"].as_str().expect("hold id").to_owned();

    // Truncation asked for 90 s stops at the hold's key frame, and says why; the bookmark before goes.
    let out = ok(&hindsight(store, &["truncate", "site/cam", "--before", &at(90)]));
    assert!(
        out.contains("held by") && out.contains(&hold_id) && out.contains("case 41"),
        "{out}"
    );
    assert_eq!(head(store, "site/cam"), at(10));
    let out = ok(&hindsight(store, &["bookmarks", "site/cam"]));
    assert!(!out.contains("van arrives") && out.contains("gate"), "{out}");

    // Released, the next truncation goes where it is asked.
    let out = ok(&hindsight(store, &["hold", "site/cam", "--release", &hold_id]));
    assert!(out.contains("released") && out.contains("has no holds"), "{out}");
    ok(&hindsight(store, &["truncate", "site/cam", "--before", &at(90)]));
    assert_eq!(head(store, "site/cam"), at(90));

    // Bad input: one line, status 1, nothing changed.
    let err = fails(
        store,
        &["bookmarks", "site/cam", "--add", "two\nlines", "--at", &at(95)],
    );
    assert!(err.contains("control characters"), "{err}");
    let err = fails(store, &["bookmarks", "site/cam", "--remove", "b-none"]);
    assert!(err.contains("no bookmark b-none"), "{err}");
    let err = fails(store, &["hold", "site/cam", "--from", &at(99), "--to", &at(95)]);
    assert!(err.contains("end after it starts"), "{err}");
    let err = fails(
        store,
        &["hold", "site/cam", "--from", "yesterday", "--to", &at(95)],
    );
    assert!(err.contains("bad --from time"), "{err}");
    let err = fails(store, &["bookmarks", "site/none"]);
    assert!(err.contains("does not exist"), "{err}");
    let out = ok(&hindsight(store, &["bookmarks", "site/cam"]));
    assert_eq!(out.lines().count(), 1, "only the gate: {out}");
}

#[test]
fn a_recording_keeps_its_retention_policy_beside_the_stream() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = dir.path();
    let mut recorder = std::process::Command::new(env!("CARGO_BIN_EXE_hindsight"))
        .arg("--store")
        .arg(store)
        .args([
            "record",
            "--stream",
            "site/kept",
            "--source",
            "test",
            "--size",
            "160x120",
        ])
        .args(["--retain-days", "2", "--retain-size", "5G"])
        .env_remove("HINDSIGHT_STORE")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start the recorder");
    std::thread::sleep(Duration::from_secs(3));
    let status = common::interrupt(&mut recorder, Duration::from_secs(20)).expect("the recorder stops");
    assert!(status.success(), "{status}");
    let backend = EmbeddedStore::open(store).expect("store");
    let m = marks::read(&backend, &StreamName::parse("site/kept").expect("name")).expect("marks");
    let policy = m.retention.expect("a policy");
    assert_eq!(policy.max_age, Some(Duration::from_secs(2 * 86_400)));
    assert_eq!(policy.max_bytes, Some(5_000_000_000));
    let err = fails(
        store,
        &[
            "record",
            "--stream",
            "site/x",
            "--source",
            "test",
            "--retain-size",
            "lots",
        ],
    );
    assert!(err.contains("--retain-size"), "{err}");
}

/// Stored time of the first and last index record of `stream`.
fn span(store: &Path, stream: &StreamName) -> (Timestamp, Timestamp) {
    let backend = EmbeddedStore::open(store).expect("store");
    let mut index = hindsight_store::video::IndexReader::open(&backend, stream).expect("index");
    let (_, records) = index.read_all().expect("records");
    (
        records.first().expect("a record").timestamp,
        records.last().expect("a record").timestamp,
    )
}

#[test]
fn the_player_shows_bookmarks_holds_and_what_retention_deletes_next() {
    let dir = tempfile::tempdir().expect("tempdir");
    let work = tempfile::tempdir().expect("tempdir");
    let store = dir.path();
    let name = StreamName::parse("site/marks").expect("name");
    common::app::wait_eos(&common::app::record_pipeline(store, "site/marks", 90, false));
    let (first, last) = span(store, &name);
    let backend = EmbeddedStore::open(store).expect("store");
    // Retention by age that, within the hour, reaches 60 s into the recording; a hold from 45 s stops it there.
    let now = Timestamp::now();
    let reach = first.saturating_add(Duration::from_secs(60));
    let age = now
        .saturating_add(Duration::from_secs(3600))
        .duration_since(reach);
    marks::set_retention(
        &backend,
        &name,
        hindsight_store::RetentionPolicy {
            max_age: Some(age),
            max_bytes: None,
        },
    )
    .expect("policy");
    let held = first.saturating_add(Duration::from_secs(45));
    marks::add_hold(
        &backend,
        &name,
        held,
        held.saturating_add(Duration::from_secs(10)),
        "case 9",
    )
    .expect("hold");
    marks::add_bookmark(
        &backend,
        &name,
        first.saturating_add(Duration::from_secs(70)),
        "from the CLI",
    )
    .expect("bookmark");

    let x = PrivateDisplay::start();
    let app = App::start_on(
        &x.name,
        store,
        &["play", "site/marks"],
        work.path().join("s.json"),
        &[("GSETTINGS_BACKEND", Path::new("memory"))],
    );
    let shown = app.wait_for("the marks", Duration::from_secs(30), |s| {
        position(s) > 0 && !s["marks"]["due"].is_null()
    });
    let due = &shown["marks"]["due"];
    assert_eq!(due[0].as_u64(), Some(first.nanos()), "{shown}");
    assert_eq!(
        due[1].as_u64(),
        Some(held.nanos()),
        "the hold stops what is due: {shown}"
    );
    assert_eq!(shown["marks"]["holds"].as_array().map(Vec::len), Some(1));

    // B names a bookmark at the frame on screen; Return adds it, for every client of the store.
    x.key("b");
    std::thread::sleep(Duration::from_millis(500));
    x.key("Return");
    let marked = app.wait_for("the new bookmark", Duration::from_secs(15), |s| {
        s["marks"]["bookmarks"].as_array().is_some_and(|b| b.len() == 2)
    });
    let stored = marks::read(&backend, &name).expect("marks").bookmarks;
    assert_eq!(stored.len(), 2, "{marked}");
    assert!(stored[0].name.starts_with("Bookmark at"), "{stored:?}");
    assert!(stored[0].at >= first && stored[0].at <= last, "{stored:?}");
    x.screenshot(&work.path().join("marks.png"));

    // ] goes to the next bookmark (half a second past the frame on screen), exactly, up to the one from the CLI.
    let cli = first.saturating_add(Duration::from_secs(70)).nanos();
    x.press_until(&app, "space", |s| s["playing"] == false);
    x.key("Home");
    let mut at = app
        .wait_for("the start", Duration::from_secs(15), |s| {
            position(s) > 0 && position(s) < first.nanos() + 1_000_000_000
        })
        .to_owned();
    let mut reached = 0;
    while reached != cli {
        let pos = position(&at);
        let next = stored
            .iter()
            .map(|b| b.at.nanos())
            .find(|&t| t > pos + 500_000_000)
            .expect("a bookmark ahead");
        at = x.press_until(&app, "bracketright", |s| {
            position(s).abs_diff(next) < 1_000_000
                && s["cameras"][0]["frame_ns"]
                    .as_u64()
                    .is_some_and(|f| f.abs_diff(next) < 100_000_000)
        });
        reached = next;
    }
    // Back to the start, playing, for what follows.
    x.key("Home");
    x.key("space");
    app.wait_for("the start", Duration::from_secs(15), |s| {
        position(s) > 0 && position(s) < first.nanos() + 5_000_000_000
    });

    // Footage deleted under the playhead: the player goes to the new head and says so.
    let watched = position(&app.status().expect("status"));
    let cut = Timestamp::from_nanos(watched).saturating_add(Duration::from_secs(10));
    let new_head = hindsight_store::video::truncate_before_time(&backend, &name, cut)
        .expect("truncate")
        .expect("cut")
        .timestamp;
    assert!(new_head.nanos() > watched);
    let moved = app.wait_for("the jump to the new head", Duration::from_secs(15), |s| {
        s["marks"]["deleted_under_playhead"].as_u64() == Some(1) && position(s) >= new_head.nanos()
    });
    assert!(moved["error"].is_null(), "{moved}");
    let bookmarks = moved["marks"]["bookmarks"].as_array().expect("bookmarks").len();
    assert_eq!(
        bookmarks, 1,
        "the bookmark of deleted footage went with it: {moved}"
    );
}
