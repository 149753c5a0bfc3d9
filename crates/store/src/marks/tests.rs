use super::*;
use crate::video::{truncate_before_time, IndexPolicy, IndexReader, VideoWriter};
use crate::StoreUri;

const SEC: u64 = 1_000_000_000;

fn at(secs: u64) -> Timestamp {
    Timestamp::from_nanos(1_000 * SEC + secs * SEC)
}

/// Ten GOPs of one second: a key frame and nine delta frames, 1 kB each.
fn recorded() -> (tempfile::TempDir, std::sync::Arc<dyn Backend>, StreamName) {
    let dir = tempfile::tempdir().expect("temp dir");
    let backend = StoreUri::embedded(dir.path()).open_new().expect("store");
    let name = StreamName::parse("marks/cam").expect("name");
    let mut writer = VideoWriter::open(backend.as_ref(), &name, IndexPolicy::default()).expect("writer");
    for i in 0..100u64 {
        let ts = Timestamp::from_nanos(at(0).nanos() + i * SEC / 10);
        writer.append(&[0u8; 1000], ts, i % 10 == 0).expect("append");
    }
    writer.finish(None).expect("finish");
    (dir, backend, name)
}

fn head_time(backend: &dyn Backend, name: &StreamName) -> Timestamp {
    let mut index = IndexReader::open(backend, name).expect("index");
    crate::search::first_record(&mut index)
        .expect("read")
        .expect("a record")
        .1
        .timestamp
}

#[test]
fn events_fold_in_order_and_a_torn_or_unknown_line_is_skipped() {
    let text = concat!(
        r#"{"event":"bookmark","id":"b1","at":5,"name":"door opens"}"#,
        "\n",
        r#"{"event":"bookmark","id":"b2","at":3,"name":"car"}"#,
        "\n",
        r#"{"event":"some-future-kind","x":1}"#,
        "\n",
        "not json\n",
        r#"{"event":"hold","id":"h1","from":2,"to":4,"note":"case 12"}"#,
        "\n",
        r#"{"event":"unbookmark","id":"b1"}"#,
        "\n",
        r#"{"event":"retention","max_age_secs":86400,"max_bytes":null}"#,
        "\n",
        r#"{"event":"release","id":"h1"#
    );
    let m = fold(text.as_bytes());
    assert_eq!(m.bookmarks.len(), 1);
    assert_eq!(
        (m.bookmarks[0].id.as_str(), m.bookmarks[0].name.as_str()),
        ("b2", "car")
    );
    assert_eq!(m.holds.len(), 1, "the torn release line does not count");
    assert_eq!(m.protected_from(), Some(Timestamp::from_nanos(2)));
    assert_eq!(m.allowed_cut(Timestamp::from_nanos(10)), Timestamp::from_nanos(2));
    assert_eq!(m.allowed_cut(Timestamp::from_nanos(1)), Timestamp::from_nanos(1));
    assert_eq!(
        m.retention,
        Some(RetentionPolicy {
            max_age: Some(Duration::from_secs(86400)),
            max_bytes: None
        })
    );
    assert_eq!(fold(b""), Marks::default());
}

#[test]
fn bookmarks_and_holds_round_trip_through_the_store() {
    let (_dir, backend, name) = recorded();
    assert_eq!(read(backend.as_ref(), &name).expect("read"), Marks::default());
    let b = add_bookmark(backend.as_ref(), &name, at(4), "  the van  ").expect("bookmark");
    assert_eq!(b.name, "the van");
    add_bookmark(backend.as_ref(), &name, at(2), "earlier").expect("bookmark");
    let h = add_hold(backend.as_ref(), &name, at(3), at(5), "case 7").expect("hold");
    set_retention(
        backend.as_ref(),
        &name,
        RetentionPolicy {
            max_age: None,
            max_bytes: Some(1 << 30),
        },
    )
    .expect("retention");
    let m = read(backend.as_ref(), &name).expect("read");
    let names: Vec<&str> = m.bookmarks.iter().map(|b| b.name.as_str()).collect();
    assert_eq!(names, ["earlier", "the van"], "in time order");
    assert_eq!(m.holds, std::slice::from_ref(&h));
    assert_eq!(m.retention.and_then(|r| r.max_bytes), Some(1 << 30));
    assert!(remove_bookmark(backend.as_ref(), &name, &b.id).expect("remove"));
    assert!(!remove_bookmark(backend.as_ref(), &name, &b.id).expect("remove again"));
    assert!(release_hold(backend.as_ref(), &name, &h.id).expect("release"));
    assert!(!release_hold(backend.as_ref(), &name, "h-none").expect("release unknown"));
    let m = read(backend.as_ref(), &name).expect("read");
    assert_eq!((m.bookmarks.len(), m.holds.len()), (1, 0));
    // The marks are not a video stream of their own.
    assert_eq!(
        crate::video::list_video_streams(backend.as_ref()).expect("list"),
        std::slice::from_ref(&name)
    );
    crate::video::delete_video_stream(backend.as_ref(), &name).expect("delete");
    assert!(!backend.exists(&marks_name(&name).expect("name")).expect("exists"));
}

#[test]
fn bad_marks_are_refused_and_change_nothing() {
    let (_dir, backend, name) = recorded();
    for bad in ["", "   ", "line\nbreak", "nul\0", &"x".repeat(MAX_TEXT + 1)] {
        let e = add_bookmark(backend.as_ref(), &name, at(1), bad).expect_err(bad);
        assert_eq!(e.kind(), crate::ErrorKind::Invalid, "{bad:?}: {e}");
    }
    let e = add_hold(backend.as_ref(), &name, at(5), at(4), "").expect_err("backwards");
    assert!(e.to_string().contains("end after it starts"), "{e}");
    assert_eq!(read(backend.as_ref(), &name).expect("read"), Marks::default());
}

#[test]
fn a_torn_last_line_stays_apart_from_the_next_append() {
    let (_dir, backend, name) = recorded();
    add_bookmark(backend.as_ref(), &name, at(1), "one").expect("bookmark");
    let marks = marks_name(&name).expect("name");
    let mut w = backend.writer(&marks).expect("writer");
    w.append(br#"{"event":"bookmark","id":"torn","at":1,"na"#)
        .expect("torn append");
    drop(w);
    add_bookmark(backend.as_ref(), &name, at(2), "two").expect("bookmark after the tear");
    let names: Vec<String> = read(backend.as_ref(), &name)
        .expect("read")
        .bookmarks
        .into_iter()
        .map(|b| b.name)
        .collect();
    assert_eq!(names, ["one", "two"]);
}

#[test]
fn truncation_stops_at_a_hold_until_it_is_released_and_drops_bookmarks_of_deleted_footage() {
    let (_dir, backend, name) = recorded();
    add_bookmark(backend.as_ref(), &name, at(1), "gone soon").expect("bookmark");
    add_bookmark(backend.as_ref(), &name, at(8), "stays").expect("bookmark");
    let hold = add_hold(
        backend.as_ref(),
        &name,
        at(3).saturating_add(Duration::from_millis(500)),
        at(4),
        "case",
    )
    .expect("hold");
    // Asked to cut at 7 s, truncation keeps the held range from its key frame (3 s) on.
    let rec = truncate_before_time(backend.as_ref(), &name, at(7))
        .expect("truncate")
        .expect("cut");
    assert_eq!(rec.timestamp, at(3));
    assert_eq!(head_time(backend.as_ref(), &name), at(3));
    let names: Vec<String> = read(backend.as_ref(), &name)
        .expect("read")
        .bookmarks
        .into_iter()
        .map(|b| b.name)
        .collect();
    assert_eq!(names, ["stays"], "the bookmark of deleted footage went with it");
    // Released, the next cut goes where it was asked.
    assert!(release_hold(backend.as_ref(), &name, &hold.id).expect("release"));
    truncate_before_time(backend.as_ref(), &name, at(7))
        .expect("truncate")
        .expect("cut");
    assert_eq!(head_time(backend.as_ref(), &name), at(7));
}

#[test]
fn retention_keeps_held_footage() {
    let (_dir, backend, name) = recorded();
    add_hold(backend.as_ref(), &name, at(2), at(3), "").expect("hold");
    let policy = RetentionPolicy {
        max_age: None,
        max_bytes: Some(10_000),
    };
    let kept_from = crate::retention::apply(backend.as_ref(), &name, policy, at(100)).expect("retention");
    assert_eq!(
        kept_from,
        Some(at(2)),
        "the size limit would cut at 9 s; the hold keeps 2 s on"
    );
    let policy = RetentionPolicy {
        max_age: Some(Duration::from_secs(1)),
        max_bytes: None,
    };
    crate::retention::apply(backend.as_ref(), &name, policy, at(100)).expect("retention");
    assert_eq!(head_time(backend.as_ref(), &name), at(2));
}
