//! MPEG-TS payloads: `mpegtsmux ! pravegasink` records packets with key frames indexed, and `pravegasrc !
//! tsdemux` plays them back with every picture at its stored time, from the start and from a key frame
//! chosen by time or by a flushing seek.

use std::collections::BTreeSet;
use std::time::Duration;

use gst::prelude::*;

use crate::common::*;

const TIMEOUT: Duration = Duration::from_secs(30);
/// tsdemux works in 90 kHz ticks: one tick is 11.1 µs.
const TS_TICK_NS: u64 = 11_112;

fn record_ts(store: &TempStore, stream: &str, frames: u32) {
    let desc = format!(
        "videotestsrc num-buffers={frames} pattern=ball ! video/x-raw,width=160,height=120,framerate={FPS}/1 ! \
         x264enc key-int-max={GOP} bframes=0 speed-preset=ultrafast tune=zerolatency ! h264parse ! \
         mpegtsmux ! pravegasink store=\"{}\" stream={stream}",
        store.uri()
    );
    if let Err(e) = run_to_eos(&launch(&desc), TIMEOUT) {
        panic!("recording {stream}: {e}");
    }
}

fn ts_decoder(store: &TempStore, stream: &str, src_props: &str) -> Collector {
    Collector::new(
        &format!(
            "pravegasrc name=src store=\"{}\" stream={stream} {src_props} ! tsdemux ! h264parse ! avdec_h264 ! \
             appsink name=sink sync=false",
            store.uri()
        ),
        false,
    )
}

/// The pictures' stored times: every frame of one picture carries its time.
fn picture_times(store: &TempStore, stream: &str) -> Vec<u64> {
    let times: BTreeSet<u64> = stored_frames(store, stream).iter().map(|f| f.ts).collect();
    times.into_iter().collect()
}

fn assert_close(decoded: &[u64], stored: &[u64], what: &str) {
    assert_eq!(decoded.len(), stored.len(), "{what}: decoded vs stored pictures");
    for (i, (d, s)) in decoded.iter().zip(stored).enumerate() {
        assert!(
            d.abs_diff(*s) <= TS_TICK_NS,
            "{what}: picture {i} decoded at {d}, stored at {s} ({} ns apart)",
            *d as i128 - *s as i128
        );
    }
}

#[test]
fn mpegts_recordings_play_and_seek_by_key_frame_at_their_stored_times() {
    let store = TempStore::new();
    let stream = "ts/cam";
    record_ts(&store, stream, 150);
    let frames = stored_frames(&store, stream);
    assert!(
        frames.iter().all(|f| gstpravega::mpegts::is_ts(&f.payload)),
        "every stored frame is whole TS packets"
    );
    let keys: Vec<u64> = index_records(&store, stream)
        .iter()
        .filter(|r| r.is_seek_target())
        .map(|r| r.timestamp.nanos())
        .collect();
    assert_eq!(keys.len(), 5, "a key frame indexed every second: {keys:?}");
    let pictures = picture_times(&store, stream);
    assert_eq!(pictures.len(), 150, "one stored time per picture");

    let all = ts_decoder(&store, stream, "end-mode=latest").run(TIMEOUT);
    assert_close(&pts_list(&all), &pictures, "from the start");

    // Started by time inside the third GOP: the pictures from its key frame on.
    let target = keys[2] + 10 * FRAME_NS;
    let from = ts_decoder(
        &store,
        stream,
        &format!("start-mode=timestamp start-timestamp={target} end-mode=latest"),
    )
    .run(TIMEOUT);
    let after = pictures.iter().position(|&t| t == keys[2]).expect("key picture");
    assert_close(&pts_list(&from), &pictures[after..], "started at a time");

    // A flushing key-unit seek in a playing pipeline lands on the key frame at or before the target.
    let reader = ts_decoder(&store, stream, "end-mode=latest");
    reader.pipeline.set_state(gst::State::Playing).expect("playing");
    wait_eos(&reader.pipeline, TIMEOUT).expect("first play");
    for key in [3, 1] {
        reader.clear();
        reader
            .pipeline
            .seek_simple(
                gst::SeekFlags::FLUSH | gst::SeekFlags::KEY_UNIT,
                gst::ClockTime::from_nseconds(keys[key] + FRAME_NS * 5),
            )
            .expect("seek");
        wait_eos(&reader.pipeline, TIMEOUT).expect("play after seek");
        let after = pictures
            .iter()
            .position(|&t| t == keys[key])
            .expect("key picture");
        assert_close(
            &pts_list(&reader.seen()),
            &pictures[after..],
            &format!("seek to GOP {key}"),
        );
    }
}
