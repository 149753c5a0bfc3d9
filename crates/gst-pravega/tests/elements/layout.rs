//! What pravegasink writes, checked byte by byte against the format the original plugin reads (DESIGN.md §2),
//! with a parser of its own rather than the store's: every frame header and index record, reserved bytes zero,
//! only the three defined flag bits (the original's readers panic on any other), the end records, and the
//! discontinuity flag where the input's timeline breaks (DISCONT or RESYNC buffers) or a new writer starts.

use std::time::Duration;

use gst::prelude::*;
use hindsight_store::{Backend, StreamName, Timestamp};

use crate::common::*;

const TIMEOUT: Duration = Duration::from_secs(60);
const SEC: u64 = 1_000_000_000;

/// A frame header as the documented layout defines it.
#[derive(Debug, Clone, Copy)]
struct Header {
    offset: u64,
    flags: u8,
    ts: u64,
}

/// An index record as the documented layout defines it.
#[derive(Debug, Clone, Copy)]
struct Record {
    flags: u8,
    ts: u64,
    offset: u64,
}

fn be64(b: &[u8]) -> u64 {
    u64::from_be_bytes(b.try_into().expect("8 bytes"))
}

/// All bytes of a byte stream from its head to its tail.
fn raw(backend: &dyn Backend, stream: &str) -> (u64, Vec<u8>) {
    let name = StreamName::parse(stream).expect("name");
    let mut reader = backend.reader(&name).expect("reader");
    let info = reader.info().expect("info");
    let mut bytes = vec![0u8; (info.tail - info.head) as usize];
    let mut at = 0;
    while at < bytes.len() {
        let n = reader
            .read_at(info.head + at as u64, &mut bytes[at..])
            .expect("read");
        assert!(n > 0, "{stream}: short read at {at}");
        at += n;
    }
    (info.head, bytes)
}

/// Parses the data stream, asserting the header layout of every frame on the way.
fn headers(backend: &dyn Backend, stream: &str) -> (Vec<Header>, u64) {
    let (head, bytes) = raw(backend, stream);
    let mut out = Vec::new();
    let mut at = 0usize;
    while at < bytes.len() {
        let h = &bytes[at..at + 20];
        let offset = head + at as u64;
        assert_eq!(&h[0..4], &[0, 0, 0, 0], "frame at {offset}: type code is not 0");
        let len = u64::from(u32::from_be_bytes(h[4..8].try_into().expect("4 bytes")));
        assert!(
            len >= 12,
            "frame at {offset}: length {len} shorter than its own fields"
        );
        assert_eq!(
            &h[8..11],
            &[0, 0, 0],
            "frame at {offset}: reserved bytes not zero"
        );
        assert_eq!(
            h[11] & !0x07,
            0,
            "frame at {offset}: flag bits beyond IND/RAN/DIS: {:#04x}",
            h[11]
        );
        assert!(
            len + 8 <= 8 * 1024 * 1024,
            "frame at {offset} over the 8 MiB atomic write"
        );
        out.push(Header {
            offset,
            flags: h[11],
            ts: be64(&h[12..20]),
        });
        at += (len + 8) as usize;
    }
    assert_eq!(at, bytes.len(), "{stream}: the last frame runs past the tail");
    (out, head + bytes.len() as u64)
}

/// Parses the index stream, asserting the record layout.
fn records(backend: &dyn Backend, stream: &str) -> Vec<Record> {
    let (_, bytes) = raw(backend, &format!("{stream}-index"));
    assert_eq!(bytes.len() % 20, 0, "{stream}: index is not whole records");
    bytes
        .chunks(20)
        .enumerate()
        .map(|(i, r)| {
            assert_eq!(&r[0..3], &[0, 0, 0], "record {i}: reserved bytes not zero");
            assert_eq!(
                r[3] & !0x06,
                0,
                "record {i}: flag bits beyond RAN/DIS: {:#04x}",
                r[3]
            );
            let rec = Record {
                flags: r[3],
                ts: be64(&r[4..12]),
                offset: be64(&r[12..20]),
            };
            assert_ne!(rec.ts, 0, "record {i}: timestamp 0");
            rec
        })
        .collect()
}

const IND: u8 = 0x01;
const RAN: u8 = 0x02;
const DIS: u8 = 0x04;

/// Two recordings by our sink into one stream (a writer restart in between), checked against the layout:
/// only defined bits, DIS on each writer's first frame and first record and nowhere else, every seek record
/// pointing at an IND+RAN frame with its timestamp, every IND frame indexed, and one end record per
/// recording (RAN=0, after the writer's last frame) pointing at the end of its data: the next writer's first
/// frame, or the tail.
#[test]
fn recordings_match_the_documented_layout_bit_for_bit() {
    let store = TempStore::new();
    let stream = "layout/cam";
    Recording::frames(75).run(&store, stream);
    Recording::frames(75).run(&store, stream);
    let backend = store.backend();
    let (frames, tail) = headers(backend.as_ref(), stream);
    let records = records(backend.as_ref(), stream);
    assert!(frames.len() > 140, "{} frames", frames.len());

    // The writers' first frames: DIS, and a key frame each.
    let firsts: Vec<usize> = (0..frames.len())
        .filter(|&i| frames[i].flags & DIS != 0)
        .collect();
    assert_eq!(firsts.len(), 2, "DIS frames at {firsts:?}");
    assert_eq!(firsts[0], 0);
    for &i in &firsts {
        assert_eq!(frames[i].flags, IND | RAN | DIS, "first frame of a writer");
    }
    for (i, f) in frames.iter().enumerate() {
        assert_ne!(f.ts, 0, "frame {i} has no timestamp");
        assert!(
            f.flags & IND == 0 || f.flags & RAN != 0,
            "frame {i}: indexed delta frame"
        );
        if i > 0 {
            assert!(f.ts >= frames[i - 1].ts, "frame {i}: time went back");
        }
    }

    let ends: Vec<&Record> = records.iter().filter(|r| r.flags & RAN == 0).collect();
    assert_eq!(ends.len(), 2, "one end record per recording: {records:?}");
    assert_eq!(ends[0].flags, 0);
    assert_eq!(
        ends[0].offset, frames[firsts[1]].offset,
        "first end record points at the restart"
    );
    assert_eq!(
        ends[1].offset, tail,
        "last end record points at the end of the data"
    );
    assert!(
        ends[0].ts > frames[firsts[1] - 1].ts,
        "end record after the first recording's last frame"
    );
    assert!(
        ends[1].ts > frames[frames.len() - 1].ts,
        "end record after the last frame"
    );

    let seek: Vec<&Record> = records.iter().filter(|r| r.flags & RAN != 0).collect();
    let indexed: Vec<u64> = frames
        .iter()
        .filter(|f| f.flags & IND != 0)
        .map(|f| f.offset)
        .collect();
    assert_eq!(
        seek.iter().map(|r| r.offset).collect::<Vec<_>>(),
        indexed,
        "seek records and IND frames"
    );
    for r in &seek {
        let f = frames
            .iter()
            .find(|f| f.offset == r.offset)
            .expect("frame at record");
        assert_eq!(f.ts, r.ts, "record time is its frame's time");
        assert_eq!(
            r.flags & DIS != 0,
            f.flags & DIS != 0,
            "record DIS is its frame's"
        );
    }
    for w in records.windows(2) {
        assert!(
            w[1].ts >= w[0].ts && w[1].offset >= w[0].offset,
            "index goes back: {w:?}"
        );
    }
    let dis_records = records.iter().filter(|r| r.flags & DIS != 0).count();
    assert_eq!(dis_records, 2, "DIS on each writer's first record only");
}

/// Opaque buffers pushed with explicit flags and TAI times, returning the stored headers and records.
fn push_flagged(
    store: &TempStore,
    stream: &str,
    mode: &str,
    buffers: &[(u64, gst::BufferFlags)],
) -> (Vec<Header>, Vec<Record>) {
    let (pipeline, appsrc) = appsrc_sink(store, stream, &format!("timestamp-mode={mode} hash-chain=false"));
    pipeline.set_state(gst::State::Playing).expect("playing");
    for (i, &(pts, flags)) in buffers.iter().enumerate() {
        let mut b = gst::Buffer::from_slice(vec![i as u8; 100]);
        let m = b.get_mut().expect("writable");
        m.set_pts(gst::ClockTime::from_nseconds(pts));
        m.set_duration(gst::ClockTime::from_mseconds(40));
        m.set_flags(flags);
        appsrc.push_buffer(b).expect("push");
    }
    appsrc.end_of_stream().expect("eos");
    if let Err(e) = wait_eos(&pipeline, TIMEOUT) {
        panic!("{stream}: {e}");
    }
    stop(&pipeline);
    let backend = store.backend();
    (
        headers(backend.as_ref(), stream).0,
        records(backend.as_ref(), stream),
    )
}

/// A DISCONT or RESYNC buffer after the first sets DIS on its frame and on the next index record (its own
/// when it is an indexed key frame; the next key frame's when it is a delta frame), so that a camera that
/// reset its clock shows as a gap; no other frame gets it.
#[test]
fn discont_and_resync_buffers_are_stored_as_discontinuities() {
    let store = TempStore::new();
    let base = 1_800_000_000 * SEC;
    let key = gst::BufferFlags::empty();
    let delta = gst::BufferFlags::DELTA_UNIT;
    let buffers = [
        (base, key),
        (base + SEC, key),
        (base + 2 * SEC, key | gst::BufferFlags::DISCONT),
        (base + 3 * SEC, key),
        (base + 4 * SEC, key | gst::BufferFlags::RESYNC),
        (base + 5 * SEC, delta | gst::BufferFlags::DISCONT),
        (base + 5 * SEC + SEC / 2, delta),
        (base + 6 * SEC, key),
        (base + 7 * SEC, key),
    ];
    let (frames, records) = push_flagged(&store, "dis/cam", "tai", &buffers);
    let dis: Vec<usize> = (0..frames.len())
        .filter(|&i| frames[i].flags & DIS != 0)
        .collect();
    assert_eq!(dis, [0, 2, 4, 5], "frames with DIS");
    let times: Vec<u64> = frames.iter().map(|f| f.ts).collect();
    assert_eq!(
        times,
        buffers.iter().map(|b| b.0).collect::<Vec<_>>(),
        "TAI times stored as given"
    );
    let dis_records: Vec<u64> = records
        .iter()
        .filter(|r| r.flags & DIS != 0)
        .map(|r| (r.ts - base) / (SEC / 2))
        .collect();
    // In half seconds from the base: frames 0, 2 and 4 are indexed key frames; the delta frame at 5 s
    // passes DIS on to the key frame at 6 s.
    assert_eq!(dis_records, [0, 4, 8, 12], "records with DIS");
}

/// timestamp-mode=ntp: buffer times are NTP nanoseconds (since 1900 UTC); they are stored as TAI, leap
/// seconds included. A buffer time that is no NTP time after 1970 is stored as unknown (0), unindexed.
#[test]
fn ntp_buffer_times_are_stored_as_tai() {
    let store = TempStore::new();
    let unix = 1_780_000_000u64;
    let ntp = (unix + 2_208_988_800) * SEC;
    let key = gst::BufferFlags::empty();
    let buffers = [(ntp, key), (ntp + SEC, key), (5 * SEC, key), (ntp + 2 * SEC, key)];
    let (frames, records) = push_flagged(&store, "ntp/cam", "ntp", &buffers);
    let tai = |s: u64| {
        Timestamp::from_unix_nanos(i128::from(s * SEC))
            .expect("time")
            .nanos()
    };
    let times: Vec<u64> = frames.iter().map(|f| f.ts).collect();
    assert_eq!(times, [tai(unix), tai(unix + 1), 0, tai(unix + 2)]);
    assert_eq!(
        tai(unix) - unix * SEC,
        37 * SEC,
        "TAI is 37 s ahead of UTC in 2026"
    );
    let indexed: Vec<u64> = records
        .iter()
        .filter(|r| r.flags & RAN != 0)
        .map(|r| r.ts)
        .collect();
    assert_eq!(indexed, [tai(unix), tai(unix + 1), tai(unix + 2)]);
}
