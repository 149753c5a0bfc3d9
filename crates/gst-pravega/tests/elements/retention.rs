//! Retention while recording.

use std::time::Duration;

use hindsight_store::StreamName;

use crate::common::*;

/// retention-bytes on a 3 s live recording deletes old footage while recording (the data head moves past 0)
/// at a key frame, and what stays plays from that key frame to the end.
#[test]
fn retention_bytes_truncates_at_a_key_frame_while_recording() {
    let store = TempStore::new();
    // About 1 s of this video is well over 20 kB, so the cut happens once the second key frame exists.
    Recording::frames(90)
        .live()
        .sink_props("retention-bytes=20000")
        .run(&store, "ret/cam");
    let backend = store.backend();
    let name = StreamName::parse("ret/cam").expect("name");
    let summary = hindsight_store::video::summarize(backend.as_ref(), &name).expect("summary");
    assert!(summary.data.head > 0, "nothing was deleted: {summary:?}");

    let records = index_records(&store, "ret/cam");
    assert!(records[0].is_seek_target(), "the index starts at a key frame");
    assert_eq!(
        records[0].offset, summary.data.head,
        "the data starts at that key frame"
    );
    let frames = stored_frames(&store, "ret/cam");
    assert!(frames[0].key && frames[0].ts == records[0].timestamp.nanos());
    assert_eq!(frames[0].offset, summary.data.head);

    let reader = Collector::decoder(&store, "ret/cam", "end-mode=latest");
    let seen = reader.run(Duration::from_secs(30));
    let tick = tick_ns(track_timescale(&frames));
    assert_times_match(
        &pts_list(&seen),
        &expected_frame_times(&frames, frames.len() + 1),
        tick,
    );
    let raw = reader.src_seen();
    assert!(!raw[0].delta, "playback starts at a key frame");
}
