//! Pipelines written for the original plugin run unchanged: its enum nicks and numbers, its start modes
//! (`no-seek`, `timestamp-exact`) and end mode (`latest-indexed`), `allow-create-scope`, the properties it has
//! that we accept for compatibility, and the controller taken from `PRAVEGA_CONTROLLER_URI`.

use std::process::Command;
use std::time::Duration;

use gst::glib;
use gst::prelude::*;
use hindsight_store::video::truncate_before_time;
use hindsight_store::{StreamName, Timestamp};

use crate::common::*;

const TIMEOUT: Duration = Duration::from_secs(30);

/// The nick an enum property holds.
fn nick(element: &gst::Element, property: &str) -> String {
    let value = element.property_value(property);
    glib::EnumValue::from_value(&value)
        .map(|(_, v)| v.nick().to_owned())
        .unwrap_or_else(|| panic!("{property} is not an enum"))
}

/// Every enum value of the original plugin, by nick and by its number there, selects the same mode here.
#[test]
fn the_original_enum_nicks_and_numbers_select_the_same_modes() {
    init();
    let table: [(&str, &str, &[&str]); 4] = [
        (
            "pravegasrc",
            "start-mode",
            &["no-seek", "earliest", "latest", "timestamp", "timestamp-exact"],
        ),
        (
            "pravegasrc",
            "end-mode",
            &["unbounded", "latest", "latest-indexed", "timestamp"],
        ),
        ("pravegasink", "timestamp-mode", &["realtime-clock", "ntp", "tai"]),
        (
            "pravegasink",
            "retention-type",
            &["none", "days", "bytes", "daysAndBytes"],
        ),
    ];
    for (factory, property, nicks) in table {
        let element = gst::ElementFactory::make(factory).build().expect(factory);
        for (number, name) in nicks.iter().enumerate() {
            element.set_property_from_str(property, name);
            assert_eq!(nick(&element, property), *name, "{factory} {property}={name}");
            element.set_property_from_str(property, nicks[(number + 1) % nicks.len()]);
            element.set_property_from_str(property, &number.to_string());
            assert_eq!(nick(&element, property), *name, "{factory} {property}={number}");
        }
    }
    // The original's other properties exist, with its defaults.
    let src = gst::ElementFactory::make("pravegasrc").build().expect("src");
    assert_eq!(nick(&src, "start-mode"), "earliest");
    assert_eq!(src.property::<u32>("buffer-size"), 128 * 1024);
    assert!(src.property::<bool>("allow-create-scope"));
    let sink = gst::ElementFactory::make("pravegasink").build().expect("sink");
    for (name, value) in [
        ("buffer-size", 128u64 * 1024),
        ("retention-maintenance-interval-seconds", 0),
    ] {
        let v = sink.property_value(name);
        let got = v
            .get::<u32>()
            .map(u64::from)
            .or_else(|_| v.get::<u64>())
            .expect("an integer");
        assert_eq!(got, value, "pravegasink {name}");
    }
    assert!(sink.property::<bool>("allow-create-scope"));
    assert_eq!(sink.property::<f64>("index-min-sec"), 0.5);
    assert_eq!(sink.property::<f64>("index-max-sec"), 10.0);
    assert!(sink.property::<Option<String>>("keycloak-file").is_none());
}

/// `no-seek` reads from the first stored byte (here the head after truncation) without the index, in a
/// segment left at 0; `timestamp-exact` decodes from the key frame before the time and starts the segment at
/// the time, so the first decoded frame is the one on screen at it; plain `timestamp` starts at the key frame.
#[test]
fn no_seek_and_timestamp_exact_start_where_the_original_starts() {
    let store = TempStore::new();
    let stream = "modes/cam";
    Recording::frames(150).run(&store, stream);
    let backend = store.backend();
    let name = StreamName::parse(stream).expect("name");
    let before = stored_frames(&store, stream);
    let head = truncate_before_time(backend.as_ref(), &name, Timestamp::from_nanos(before[40].ts))
        .expect("truncate")
        .expect("cut at a key frame");
    let frames = stored_frames(&store, stream);
    assert_eq!(frames[0].offset, head.offset);

    let raw = Collector::new(
        &format!(
            "pravegasrc name=src store=\"{}\" stream={stream} start-mode=no-seek end-mode=latest ! \
             appsink name=sink sync=false",
            store.uri()
        ),
        false,
    );
    let seen = raw.run(TIMEOUT);
    assert_eq!(seen.len(), frames.len(), "no-seek reads every stored frame");
    assert_eq!(seen[0].pts, Some(frames[0].ts), "no-seek starts at the head");
    assert!(
        seen.iter().all(|s| s.segment_start == Some(0)),
        "no-seek leaves the segment at 0"
    );

    let expected = expected_frame_times(&frames, frames.len() + 1);
    let tick = tick_ns(track_timescale(&frames));
    let target = frames[70].ts + FRAME_NS / 2;
    let key = frames
        .iter()
        .rev()
        .find(|f| f.key && f.ts <= target)
        .expect("key frame before")
        .ts;
    assert!(key < frames[70].ts, "the target is inside a GOP");
    let exact = Collector::decoder(
        &store,
        stream,
        &format!("start-mode=timestamp-exact start-timestamp={target} end-mode=latest"),
    );
    let seen = exact.run(TIMEOUT);
    let decoded = pts_list(&seen);
    assert_eq!(
        seen[0].segment_start,
        Some(target),
        "timestamp-exact: segment at the time"
    );
    assert!(
        decoded[0] >= target && decoded[0] < target + FRAME_NS,
        "timestamp-exact: first frame {} for {target}",
        decoded[0]
    );
    let after = expected.iter().position(|&e| e >= target).expect("frames after");
    let rest = &expected[after..];
    assert!(decoded.len() == rest.len() || decoded.len() == rest.len() + 1);
    assert_times_match(&decoded[decoded.len() - rest.len()..], rest, tick);

    let utc = Timestamp::from_nanos(target).to_rfc3339();
    let plain = Collector::decoder(
        &store,
        stream,
        &format!("start-mode=timestamp start-utc={utc} end-mode=latest"),
    );
    let seen = plain.run(TIMEOUT);
    assert_eq!(
        seen[0].segment_start,
        Some(key),
        "timestamp: segment at the key frame"
    );
    assert_times_match(&pts_list(&seen)[..1], &[key], tick);
}

/// `latest-indexed` ends just before the last index record when the source starts: while a recording is
/// being written, before its newest key frame; once it finished, at its end record, so everything.
#[test]
fn latest_indexed_ends_before_the_last_index_record() {
    let store = TempStore::new();
    let stream = "modes/live";
    let (pipeline, appsrc) = appsrc_sink(&store, stream, "timestamp-mode=tai");
    pipeline.set_state(gst::State::Playing).expect("playing");
    let base = 1_800_000_000_000_000_000u64;
    let sec = 1_000_000_000u64;
    for (i, (t, delta)) in [
        (0, false),
        (sec / 2, true),
        (sec, false),
        (3 * sec / 2, true),
        (7 * sec / 4, true),
    ]
    .into_iter()
    .enumerate()
    {
        let mut b = gst::Buffer::from_slice(vec![i as u8; 64]);
        let m = b.get_mut().expect("writable");
        m.set_pts(gst::ClockTime::from_nseconds(base + t));
        if delta {
            m.set_flags(gst::BufferFlags::DELTA_UNIT);
        }
        appsrc.push_buffer(b).expect("push");
    }
    let deadline = std::time::Instant::now() + TIMEOUT;
    while stored_frames(&store, stream).len() < 5 {
        assert!(std::time::Instant::now() < deadline, "frames not written");
        std::thread::sleep(Duration::from_millis(10));
    }
    let read = |end_mode: &str| {
        let c = Collector::new(
            &format!(
                "pravegasrc store=\"{}\" stream={stream} end-mode={end_mode} ! appsink name=sink sync=false",
                store.uri()
            ),
            false,
        );
        c.run(TIMEOUT)
            .iter()
            .map(|s| s.pts.expect("pts") - base)
            .collect::<Vec<u64>>()
    };
    assert_eq!(read("latest-indexed"), [0, sec / 2], "while recording");
    assert_eq!(read("latest").len(), 5, "latest reads to the tail");
    appsrc.end_of_stream().expect("eos");
    wait_eos(&pipeline, TIMEOUT).expect("recording ends");
    stop(&pipeline);
    assert_eq!(read("latest-indexed").len(), 5, "after the end record");
}

/// `allow-create-scope=false` refuses to write into a scope that does not exist, with a message naming it,
/// and writes once the scope exists.
#[test]
fn allow_create_scope_false_needs_an_existing_scope() {
    let mut stores = vec![TempStore::new()];
    stores.extend(TempStore::pravega("allow-create-scope"));
    for store in stores {
        let missing = store.stream("cam").replace("/cam", "-new/cam");
        let err = Recording::frames(5)
            .sink_props("allow-create-scope=false")
            .pipeline(&store.uri(), &missing);
        let pipeline = launch(&err);
        let err = run_to_eos(&pipeline, TIMEOUT).expect_err("missing scope refused");
        let scope = missing.split('/').next().expect("scope");
        assert!(
            err.error
                .message()
                .contains(&format!("Scope {scope} does not exist"))
                && err.error.message().contains("allow-create-scope"),
            "{err}"
        );
        let name = StreamName::parse(&missing).expect("name");
        assert!(!store.backend().exists(&name).expect("exists"), "nothing created");
        Recording::frames(5).run(&store, &store.stream("first"));
        Recording::frames(5)
            .sink_props("allow-create-scope=false")
            .run(&store, &store.stream("second"));
        assert!(!stored_frames(&store, &store.stream("second")).is_empty());
    }
}

/// Environment of the child process of [`the_controller_comes_from_pravega_controller_uri`].
const CHILD: &str = "HINDSIGHT_COMPAT_CHILD";

/// With no store or controller property, the elements use `PRAVEGA_CONTROLLER_URI` as the original does,
/// and without it the embedded store in the XDG data directory. Environment variables are per process, so
/// the elements run in a child process of this test binary.
#[test]
fn the_controller_comes_from_pravega_controller_uri() {
    if std::env::var_os(CHILD).is_some() {
        // The child: record and read back without naming a store.
        init();
        let desc = Recording::frames(10)
            .pipeline("", "env/cam")
            .replace("store=\"\" ", "");
        run_to_eos(&launch(&desc), TIMEOUT).expect("record");
        let read = Collector::new(
            "pravegasrc stream=env/cam end-mode=latest ! appsink name=sink sync=false",
            false,
        );
        assert!(!read.run(TIMEOUT).is_empty(), "read back");
        return;
    }
    let env_store = TempStore::new();
    let xdg = tempfile::tempdir().expect("xdg");
    for controller in [Some(env_store.uri()), None] {
        let mut child = Command::new(std::env::current_exe().expect("test binary"));
        child
            .args([
                "--exact",
                "compat::the_controller_comes_from_pravega_controller_uri",
            ])
            .env(CHILD, "1")
            .env("XDG_DATA_HOME", xdg.path())
            .env_remove("PRAVEGA_CONTROLLER_URI");
        if let Some(c) = &controller {
            child.env("PRAVEGA_CONTROLLER_URI", c);
        }
        let out = child.output().expect("run child");
        assert!(
            out.status.success() && String::from_utf8_lossy(&out.stdout).contains("1 passed"),
            "child with PRAVEGA_CONTROLLER_URI={controller:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert!(
        !stored_frames(&env_store, "env/cam").is_empty(),
        "written where the variable says"
    );
    let default = xdg
        .path()
        .join("hindsight")
        .join("streams")
        .join("env")
        .join("cam");
    assert!(
        default.is_dir(),
        "without it, the embedded default store: {default:?}"
    );
}
