//! Opaque buffers through pravegasink and pravegasrc: buffers over the 8 MiB frame limit round-trip, and a
//! second writer of a stream is refused while the first is recording.

use std::time::Duration;

use gst::prelude::*;
use hindsight_store::format::MAX_FRAME_PAYLOAD;

use crate::common::*;

const TIMEOUT: Duration = Duration::from_secs(60);

/// Bytes that do not look like MP4 boxes or MPEG-TS packets, different in every buffer.
fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u32).wrapping_mul(2_654_435_761).to_be_bytes()[0] ^ seed)
        .collect()
}

/// 20 MiB buffers (three frames each in the store) and one of exactly two full frames' payload come back
/// from pravegasrc byte for byte, one buffer each, with their TAI timestamps. While the first pravegasink is
/// PLAYING, a second one on the same stream fails with a Busy resource error that names the stream.
#[test]
fn big_buffers_round_trip_and_a_second_writer_is_refused() {
    let store = TempStore::new();
    let (pipeline, appsrc) = appsrc_sink(&store, "big/blob", "timestamp-mode=tai");
    pipeline
        .set_state(gst::State::Playing)
        .expect("first writer playing");
    let base = 1_800_000_000_000_000_000u64;
    let sizes = [20 << 20, 20 << 20, 1000, 2 * MAX_FRAME_PAYLOAD];
    let buffers: Vec<Vec<u8>> = sizes
        .iter()
        .enumerate()
        .map(|(i, &len)| pattern(len, i as u8))
        .collect();
    let push = |i: usize| {
        let mut b = gst::Buffer::from_slice(buffers[i].clone());
        b.get_mut()
            .expect("writable")
            .set_pts(gst::ClockTime::from_nseconds(base + i as u64 * 1_000_000_000));
        appsrc.push_buffer(b).expect("push");
    };
    push(0);
    // The first writer has started (it opened the stream in start()); wait for its first frame anyway.
    let deadline = std::time::Instant::now() + TIMEOUT;
    while stored_bytes(&store, "big/blob") == 0 {
        assert!(std::time::Instant::now() < deadline, "first buffer never stored");
        std::thread::sleep(Duration::from_millis(10));
    }

    let (second, _second_src) = appsrc_sink(&store, "big/blob", "timestamp-mode=tai");
    assert!(
        second.set_state(gst::State::Playing).is_err(),
        "a second writer must not start"
    );
    let err = first_error(&second).expect("an error message from the second writer");
    assert!(
        err.error.matches(gst::ResourceError::Busy),
        "Busy resource error, got {err}"
    );
    assert!(
        err.error.message().contains("big/blob"),
        "the message names the stream: {err}"
    );
    stop(&second);

    for i in 1..buffers.len() {
        push(i);
    }
    appsrc.end_of_stream().expect("eos");
    if let Err(e) = wait_eos(&pipeline, TIMEOUT) {
        panic!("writer: {e}");
    }
    stop(&pipeline);

    // 20 MiB = three frames of at most 8 MiB; the exact multiple is two frames.
    let stored = stored_frames(&store, "big/blob");
    assert_eq!(stored.len(), 3 + 3 + 1 + 2);
    assert!(stored.iter().all(|f| f.payload.len() <= MAX_FRAME_PAYLOAD));

    let reader = Collector::new(
        &format!(
            "pravegasrc name=src store=\"{}\" stream=big/blob end-mode=latest ! appsink name=sink sync=false",
            store.uri()
        ),
        true,
    );
    let seen = reader.run(TIMEOUT);
    assert_eq!(seen.len(), buffers.len(), "one buffer per buffer written");
    for (i, (s, b)) in seen.iter().zip(&buffers).enumerate() {
        assert_eq!(s.size, b.len(), "buffer {i} size");
        assert!(s.data.as_deref() == Some(b.as_slice()), "buffer {i} bytes differ");
        assert_eq!(s.pts, Some(base + i as u64 * 1_000_000_000), "buffer {i} PTS");
    }
}

fn stored_bytes(store: &TempStore, stream: &str) -> usize {
    let backend = store.backend();
    let name = hindsight_store::StreamName::parse(stream).expect("name");
    match hindsight_store::video::summarize(backend.as_ref(), &name) {
        Ok(s) => s.stored_bytes() as usize,
        Err(_) => 0,
    }
}
