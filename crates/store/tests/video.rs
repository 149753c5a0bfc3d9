//! The video layer's writing and reading rules (DESIGN.md §2) checked end to end on an embedded store:
//! flags, index policy, end records, clamping, splitting, writer exclusion, resynchronisation, sealing,
//! truncation and the listing helpers.

mod common;

use std::os::unix::fs::FileExt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{
    at_ms, check_payload, name, payload, read_available, read_frames, records, slice_index, temp_store,
};
use hindsight_store::format::{Flags, MAX_FRAME_PAYLOAD};
use hindsight_store::search;
use hindsight_store::video::{self, FrameRole, IndexPolicy};
use hindsight_store::{
    Backend, ByteReader, ByteWriter, EmbeddedStore, Interrupt, ReadOutcome, StoreError, StreamInfo,
    StreamName, Timestamp, VideoReader, VideoWriter,
};

/// Every key frame indexed: makes record positions predictable.
fn every_key_frame() -> IndexPolicy {
    IndexPolicy {
        min_interval: Duration::ZERO,
        max_interval: Duration::from_secs(3600),
    }
}

#[test]
fn first_frame_and_first_index_record_are_discontinuous() {
    let (_dir, store) = temp_store(1 << 20);
    let cam = name("site/cam");
    let mut w = VideoWriter::open(&store, &cam, IndexPolicy::default()).expect("open writer");
    // A delta frame first: it carries the frame discontinuity but gets no record.
    let a = w.append(&payload(0, 100), at_ms(0), false).expect("append");
    assert_eq!(a.record, None);
    let b = w.append(&payload(1, 100), at_ms(40), true).expect("append");
    let rec = b.record.expect("first key frame is indexed");
    assert!(rec.flags.discontinuity() && rec.flags.random_access());
    w.append(&payload(2, 100), at_ms(80), false).expect("append");
    let d = w.append(&payload(3, 100), at_ms(1000), true).expect("append");
    assert!(!d.record.expect("indexed").flags.discontinuity());
    w.finish(None).expect("finish");

    let frames = read_frames(&store, &cam);
    let flagged: Vec<bool> = frames.iter().map(|f| f.header.flags.discontinuity()).collect();
    assert_eq!(flagged, [true, false, false, false]);
    let (_, recs) = records(&store, &cam);
    let flagged: Vec<bool> = recs.iter().map(|r| r.flags.discontinuity()).collect();
    assert_eq!(flagged, [true, false, false], "key, key, end record");

    // A second recording into the same stream starts a new discontinuous run.
    let mut w = VideoWriter::open(&store, &cam, IndexPolicy::default()).expect("reopen writer");
    let e = w.append(&payload(4, 100), at_ms(5000), true).expect("append");
    assert!(e.record.expect("indexed").flags.discontinuity());
    drop(w);
    let frames = read_frames(&store, &cam);
    assert_eq!(frames.len(), 5);
    assert!(frames[4].header.flags.discontinuity());
    assert_eq!(frames[4].offset, e.offset);
}

#[test]
fn key_frames_are_indexed_no_more_often_than_min_interval() {
    let (_dir, store) = temp_store(1 << 20);
    let cam = name("site/cam");
    let policy = IndexPolicy {
        min_interval: Duration::from_millis(500),
        max_interval: Duration::from_secs(10),
    };
    let mut w = VideoWriter::open(&store, &cam, policy).expect("open writer");
    let mut indexed_offsets = Vec::new();
    // Key frames every 200 ms for 5 s.
    for i in 0..25u64 {
        let a = w.append(&payload(i, 64), at_ms(i * 200), true).expect("append");
        if a.record.is_some() {
            indexed_offsets.push(a.offset);
        }
    }
    drop(w);
    let (_, recs) = records(&store, &cam);
    assert_eq!(recs.iter().map(|r| r.offset).collect::<Vec<_>>(), indexed_offsets);
    let times: Vec<u64> = recs
        .iter()
        .map(|r| r.timestamp.duration_since(at_ms(0)).as_millis() as u64)
        .collect();
    assert_eq!(times, [0, 600, 1200, 1800, 2400, 3000, 3600, 4200, 4800]);
    for pair in recs.windows(2) {
        assert!(pair[1].timestamp.duration_since(pair[0].timestamp) >= policy.min_interval);
    }
    // The data frames say which of them were indexed.
    for f in read_frames(&store, &cam) {
        assert_eq!(
            f.header.flags.include_in_index(),
            indexed_offsets.contains(&f.offset)
        );
        assert!(f.header.flags.random_access());
    }
}

#[test]
fn aux_frames_are_stored_in_order_and_never_indexed() {
    let (_dir, store) = temp_store(1 << 20);
    let cam = name("site/cam-with-sound");
    let policy = IndexPolicy {
        min_interval: Duration::from_millis(0),
        max_interval: Duration::from_secs(1),
    };
    let mut w = VideoWriter::open(&store, &cam, policy).expect("open writer");
    // Five seconds of sound alone after one key frame: no forced record lands on an audio fragment.
    w.append(&payload(0, 64), at_ms(0), true).expect("key frame");
    for i in 1..=250u64 {
        let a = w
            .append_as(&payload(i, 16), at_ms(i * 20), FrameRole::Aux)
            .expect("audio fragment");
        assert!(a.record.is_none(), "aux frame {i} was indexed");
    }
    let key = w
        .append_as(&payload(251, 64), at_ms(5000), FrameRole::Key)
        .expect("key frame");
    assert!(key.record.is_some_and(|r| r.is_seek_target()));
    drop(w);
    let frames = read_frames(&store, &cam);
    assert_eq!(frames.len(), 252);
    assert!(frames[1..251].iter().all(|f| !f.header.flags.include_in_index()
        && !f.header.flags.random_access()
        && !f.header.flags.discontinuity()));
    let (_, recs) = records(&store, &cam);
    assert_eq!(recs.iter().filter(|r| r.is_seek_target()).count(), 2);
}

#[test]
fn a_record_is_forced_after_max_interval_of_delta_frames() {
    let (_dir, store) = temp_store(1 << 20);
    let cam = name("site/cam");
    let policy = IndexPolicy {
        min_interval: Duration::from_millis(500),
        max_interval: Duration::from_secs(2),
    };
    let mut w = VideoWriter::open(&store, &cam, policy).expect("open writer");
    w.append(&payload(0, 64), at_ms(0), true).expect("key frame");
    let mut forced = Vec::new();
    for i in 1..=50u64 {
        let a = w
            .append(&payload(i, 64), at_ms(i * 100), false)
            .expect("delta frame");
        if let Some(r) = a.record {
            forced.push((i, r));
        }
    }
    drop(w);
    let at: Vec<u64> = forced.iter().map(|(i, _)| *i).collect();
    assert_eq!(at, [20, 40], "forced every 2 s of delta frames");
    for (_, r) in &forced {
        assert!(!r.flags.random_access(), "a forced record is not a seek target");
        assert!(!r.flags.discontinuity());
    }
    let frames = read_frames(&store, &cam);
    assert!(frames[20].header.flags.include_in_index() && !frames[20].header.flags.random_access());
    assert_eq!(frames[20].offset, forced[0].1.offset);

    // Seeks skip the forced records back to the key frame.
    let (first, recs) = records(&store, &cam);
    let mut idx = slice_index(first, &recs);
    let (n, target) = search::seek_target_at_or_before(&mut idx, at_ms(4500))
        .expect("search")
        .expect("a seek target");
    assert_eq!((n, target.offset), (0, 0));
}

#[test]
fn a_stream_of_only_delta_frames_still_gets_forced_records() {
    // Some encoders flag every buffer as a delta unit (DESIGN.md §7); the index must still grow so that the
    // timeline and time search have something to work with.
    let (_dir, store) = temp_store(1 << 20);
    let cam = name("site/cam");
    let policy = IndexPolicy {
        min_interval: Duration::from_millis(500),
        max_interval: Duration::from_secs(2),
    };
    let mut w = VideoWriter::open(&store, &cam, policy).expect("open writer");
    let mut forced = Vec::new();
    for i in 0..=50u64 {
        let a = w
            .append(&payload(i, 64), at_ms(i * 100), false)
            .expect("delta frame");
        if let Some(r) = a.record {
            forced.push((i, r));
        }
    }
    drop(w);
    let at: Vec<u64> = forced.iter().map(|(i, _)| *i).collect();
    assert_eq!(at, [20, 40]);
    assert!(
        forced[0].1.flags.discontinuity(),
        "the first record of a run is discontinuous"
    );
    assert!(forced.iter().all(|(_, r)| !r.is_seek_target()));
}

#[test]
fn finish_writes_an_end_record() {
    let (_dir, store) = temp_store(1 << 20);
    let cam = name("site/cam");
    let write_run = |start_ms: u64, end: Option<Timestamp>| -> (u64, Timestamp) {
        let mut w = VideoWriter::open(&store, &cam, every_key_frame()).expect("open writer");
        let mut last = Timestamp::MIN;
        for i in 0..5u64 {
            last = w
                .append(&payload(i, 300), at_ms(start_ms + i * 40), i == 0)
                .expect("append")
                .timestamp;
        }
        let tail = w.data_tail();
        w.finish(end).expect("finish");
        (tail, last)
    };

    // With an end time: last timestamp + duration.
    let (tail, last) = write_run(0, Some(at_ms(160 + 40)));
    let (_, recs) = records(&store, &cam);
    let end = *recs.last().expect("end record");
    assert_eq!(end.flags, Flags(0), "random access 0, no discontinuity");
    assert_eq!(end.offset, tail);
    assert_eq!(end.timestamp, at_ms(200));
    assert!(end.timestamp >= last);
    assert_eq!(store.info(&cam).expect("info").tail, tail);

    // Without one: the last timestamp.
    let (tail, last) = write_run(1000, None);
    let (_, recs) = records(&store, &cam);
    let end = *recs.last().expect("end record");
    assert_eq!((end.flags, end.offset, end.timestamp), (Flags(0), tail, last));

    // An end time before the last frame is raised to it.
    let (tail, last) = write_run(2000, Some(at_ms(0)));
    let (first, recs) = records(&store, &cam);
    let end = *recs.last().expect("end record");
    assert_eq!((end.offset, end.timestamp), (tail, last));

    // End records are never seek targets: the live edge is the last key frame.
    let mut idx = slice_index(first, &recs);
    let (_, target) = search::last_seek_target(&mut idx)
        .expect("search")
        .expect("key frame");
    assert_eq!(target.timestamp, at_ms(2000));
    assert!(target.offset < tail);
}

#[test]
fn timestamps_that_step_back_are_clamped() {
    let (_dir, store) = temp_store(1 << 20);
    let cam = name("site/cam");
    let mut w = VideoWriter::open(&store, &cam, every_key_frame()).expect("open writer");
    let stored: Vec<Timestamp> = [
        (1000, true),
        (900, false),
        (1100, false),
        (1050, true),
        (0, false),
        (1200, false),
    ]
    .iter()
    .enumerate()
    .map(|(i, &(ms, key))| {
        let ts = if ms == 0 {
            Timestamp::from_nanos(0)
        } else {
            at_ms(ms)
        };
        w.append(&payload(i as u64, 50), ts, key)
            .expect("append")
            .timestamp
    })
    .collect();
    drop(w);
    let expected = [
        at_ms(1000),
        at_ms(1000),
        at_ms(1100),
        at_ms(1100),
        Timestamp::from_nanos(0),
        at_ms(1200),
    ];
    assert_eq!(stored, expected);
    let read: Vec<Timestamp> = read_frames(&store, &cam)
        .iter()
        .map(|f| f.header.timestamp)
        .collect();
    assert_eq!(read, expected);
    let (_, recs) = records(&store, &cam);
    assert_eq!(
        recs.iter().map(|r| r.timestamp).collect::<Vec<_>>(),
        [at_ms(1000), at_ms(1100)]
    );

    // A new writer continues from the stored time, not from zero.
    let mut w = VideoWriter::open(&store, &cam, every_key_frame()).expect("reopen writer");
    let a = w.append(&payload(9, 50), at_ms(10), true).expect("append");
    assert_eq!(a.timestamp, at_ms(1200));
    assert_eq!(a.record.expect("indexed").timestamp, at_ms(1200));
}

#[test]
fn buffers_over_8_mib_are_split_and_read_back_whole() {
    let (_dir, store) = temp_store(64 << 20);
    let cam = name("site/cam");
    let big = payload(7, 2 * MAX_FRAME_PAYLOAD + 1000);
    let mut w = VideoWriter::open(&store, &cam, IndexPolicy::default()).expect("open writer");
    let a = w.append(&big, at_ms(0), true).expect("append big buffer");
    let b = w
        .append(&payload(8, 100), at_ms(40), false)
        .expect("append small buffer");
    w.finish(None).expect("finish");
    assert_eq!(a.record.expect("indexed").offset, a.offset);

    let frames = read_frames(&store, &cam);
    assert_eq!(frames.len(), 4);
    let first = &frames[0].header;
    assert!(first.flags.random_access() && first.flags.include_in_index() && first.flags.discontinuity());
    for cont in &frames[1..3] {
        assert_eq!(cont.header.flags, Flags(0), "continuation frames carry no flags");
        assert_eq!(cont.header.timestamp, at_ms(0));
        assert!(!cont.discontinuity);
    }
    let joined: Vec<u8> = frames[..3]
        .iter()
        .flat_map(|f| f.payload.iter().copied())
        .collect();
    assert_eq!(joined.len(), big.len());
    assert!(joined == big, "reassembled payload differs");
    assert_eq!(frames[3].offset, b.offset);
    assert_eq!(check_payload(&frames[3].payload), Some(8));
}

#[test]
fn a_second_writer_is_refused_with_the_stream_name() {
    let (_dir, store) = temp_store(1 << 20);
    let cam = name("site/front-door");
    let w = VideoWriter::open(&store, &cam, IndexPolicy::default()).expect("open writer");
    match VideoWriter::open(&store, &cam, IndexPolicy::default()) {
        Err(e @ StoreError::WriterBusy(_)) => {
            assert!(e.to_string().contains("site/front-door"), "message: {e}");
        }
        Err(e) => panic!("expected WriterBusy, got {e}"),
        Ok(_) => panic!("a second writer was accepted"),
    }
    drop(w);
    VideoWriter::open(&store, &cam, IndexPolicy::default()).expect("writer after the first is dropped");
}

#[test]
fn reading_a_missing_stream_is_not_found() {
    let (_dir, store) = temp_store(1 << 20);
    store.create(&name("site/other")).expect("create a store root");
    let missing = name("site/missing");
    match VideoReader::open(&store, &missing) {
        Err(StoreError::NotFound(n)) => assert_eq!(n, missing),
        Err(e) => panic!("expected NotFound, got {e}"),
        Ok(_) => panic!("a missing stream opened"),
    }
    // A byte stream without its index is not a video stream either; the error names the video stream.
    let raw = name("site/raw");
    store.create(&raw).expect("create byte stream");
    match VideoReader::open(&store, &raw) {
        Err(StoreError::NotFound(n)) => assert_eq!(n, raw),
        Err(e) => panic!("expected NotFound, got {e}"),
        Ok(_) => panic!("a stream without index opened"),
    }
    assert!(!video::video_stream_exists(&store, &raw).expect("exists"));
    assert!(
        !store.exists(&missing).expect("exists"),
        "readers never create streams"
    );
}

/// Overwrites bytes of the data stream directly in its (single) segment file.
fn corrupt(store: &EmbeddedStore, stream: &StreamName, offset: u64, bytes: &[u8]) {
    let path = store
        .root()
        .join(stream.scope())
        .join(stream.stream())
        .join(format!("{:020}.seg", 0));
    let file = std::fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .expect("open segment file");
    file.write_all_at(bytes, offset).expect("corrupt segment file");
}

#[test]
fn the_reader_resynchronises_past_a_corrupt_frame_at_the_next_indexed_frame() {
    let (_dir, store) = temp_store(64 << 20);
    let cam = name("site/cam");
    let mut w = VideoWriter::open(&store, &cam, every_key_frame()).expect("open writer");
    let offsets: Vec<u64> = (0..14u64)
        .map(|i| {
            w.append(&payload(i, 200 + i as usize), at_ms(i * 40), i % 5 == 0)
                .expect("append")
                .offset
        })
        .collect();
    drop(w);
    // A bad type code in frame 2, a bad length in frame 7, and a bad type code after the last record.
    corrupt(&store, &cam, offsets[2], &[0xAB]);
    corrupt(&store, &cam, offsets[7] + 4, &[0xFF, 0xFF, 0xFF, 0xFF]);
    corrupt(&store, &cam, offsets[12], &[0x01]);

    let mut reader = VideoReader::open(&store, &cam).expect("open reader");
    let interrupt = Interrupt::new().expect("interrupt");
    let mut seen = Vec::new();
    let err = loop {
        match reader.next_frame(Instant::now(), &interrupt) {
            Ok(ReadOutcome::Frame(f)) => {
                let seq = check_payload(&f.payload).expect("intact payload");
                seen.push((seq, f.discontinuity));
            }
            Ok(other) => panic!("expected the corrupt tail to be an error, got {other:?}"),
            Err(e) => break e,
        }
    };
    assert_eq!(
        seen,
        [
            (0, true),
            (1, false),
            (5, true), // resynchronised: marked discontinuous
            (6, false),
            (10, true),
            (11, false),
        ]
    );
    match err {
        StoreError::Corrupt { offset, stream, .. } => {
            assert_eq!(offset, offsets[12]);
            assert_eq!(stream, cam);
        }
        other => panic!("expected Corrupt, got {other}"),
    }
}

#[test]
fn a_sealed_stream_ends_instead_of_waiting() {
    let (_dir, store) = temp_store(1 << 20);
    let cam = name("site/cam");
    let mut w = VideoWriter::open(&store, &cam, IndexPolicy::default()).expect("open writer");
    for i in 0..3u64 {
        w.append(&payload(i, 100), at_ms(i * 40), i == 0).expect("append");
    }
    w.finish_and_seal(Some(at_ms(120))).expect("finish and seal");

    let mut reader = VideoReader::open(&store, &cam).expect("open reader");
    let interrupt = Interrupt::new().expect("interrupt");
    let far = Instant::now() + Duration::from_secs(30);
    for i in 0..3u64 {
        match reader.next_frame(far, &interrupt).expect("next_frame") {
            ReadOutcome::Frame(f) => assert_eq!(check_payload(&f.payload), Some(i)),
            other => panic!("expected frame {i}, got {other:?}"),
        }
    }
    let start = Instant::now();
    assert_eq!(
        reader.next_frame(far, &interrupt).expect("next_frame"),
        ReadOutcome::End
    );
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "End came only after {:?}",
        start.elapsed()
    );
    assert!(matches!(
        VideoWriter::open(&store, &cam, IndexPolicy::default()),
        Err(StoreError::Sealed(_))
    ));
}

/// A backend that logs truncations, to see their order.
struct Logged {
    inner: EmbeddedStore,
    truncations: Mutex<Vec<(String, u64)>>,
}

impl Backend for Logged {
    fn uri(&self) -> String {
        self.inner.uri()
    }
    fn create(&self, name: &StreamName) -> hindsight_store::Result<()> {
        self.inner.create(name)
    }
    fn exists(&self, name: &StreamName) -> hindsight_store::Result<bool> {
        self.inner.exists(name)
    }
    fn scope_exists(&self, name: &StreamName) -> hindsight_store::Result<bool> {
        self.inner.scope_exists(name)
    }
    fn list(&self) -> hindsight_store::Result<Vec<StreamName>> {
        self.inner.list()
    }
    fn delete(&self, name: &StreamName) -> hindsight_store::Result<()> {
        self.inner.delete(name)
    }
    fn info(&self, name: &StreamName) -> hindsight_store::Result<StreamInfo> {
        self.inner.info(name)
    }
    fn truncate_before(&self, name: &StreamName, offset: u64) -> hindsight_store::Result<()> {
        self.truncations
            .lock()
            .expect("log lock")
            .push((name.to_string(), offset));
        self.inner.truncate_before(name, offset)
    }
    fn writer(&self, name: &StreamName) -> hindsight_store::Result<Box<dyn ByteWriter>> {
        self.inner.writer(name)
    }
    fn reader(&self, name: &StreamName) -> hindsight_store::Result<Box<dyn ByteReader>> {
        self.inner.reader(name)
    }
}

#[test]
fn truncation_cuts_index_then_data_at_a_key_frame_and_readers_follow() {
    let (_dir, store) = temp_store(4096);
    let logged = Arc::new(Logged {
        inner: store.clone(),
        truncations: Mutex::new(Vec::new()),
    });
    let cam = name("site/cam");
    let mut w = VideoWriter::open(&store, &cam, every_key_frame()).expect("open writer");
    let offsets: Vec<u64> = (0..30u64)
        .map(|i| {
            w.append(&payload(i, 500), at_ms(i * 100), i % 5 == 0)
                .expect("append")
                .offset
        })
        .collect();

    // A reader that has read three frames, now positioned below the coming head.
    let mut reader = VideoReader::open(&store, &cam).expect("open reader");
    let interrupt = Interrupt::new().expect("interrupt");
    for _ in 0..3 {
        assert!(matches!(
            reader.next_frame(Instant::now(), &interrupt),
            Ok(ReadOutcome::Frame(_))
        ));
    }

    // Nothing before the first record: nothing happens.
    let none = video::truncate_before_time(&*logged, &cam, Timestamp::MIN).expect("truncate");
    assert_eq!(none, None);
    assert!(logged.truncations.lock().expect("log lock").is_empty());

    // 1.7 s lies in the GOP that starts with key frame 15 (record 3).
    let rec = video::truncate_before_time(&*logged, &cam, at_ms(1700))
        .expect("truncate")
        .expect("a key frame before 1.7 s");
    assert_eq!((rec.offset, rec.timestamp), (offsets[15], at_ms(1500)));
    assert!(rec.is_seek_target());
    assert_eq!(
        *logged.truncations.lock().expect("log lock"),
        [
            ("site/cam-index".to_owned(), 3 * 20),
            ("site/cam".to_owned(), offsets[15])
        ],
        "index first, then data, at the key frame's offset"
    );

    let summary = video::summarize(&store, &cam).expect("summarize");
    assert_eq!((summary.first_record, summary.end_record), (3, 6));
    assert_eq!(summary.data.head, offsets[15]);
    assert_eq!(summary.first_time, Some(at_ms(1500)));

    // The reader below the head jumps to it and says so; then it goes on normally, also with new frames.
    let rest = read_available(&mut reader);
    let seqs: Vec<u64> = rest
        .iter()
        .map(|f| check_payload(&f.payload).expect("payload"))
        .collect();
    assert_eq!(seqs, (15..30).collect::<Vec<_>>());
    assert!(rest[0].discontinuity);
    assert!(rest[1..].iter().all(|f| !f.discontinuity));
    w.append(&payload(30, 500), at_ms(3000), true)
        .expect("append after truncation");
    let more = read_available(&mut reader);
    assert_eq!(more.len(), 1);
    assert!(!more[0].discontinuity);

    // A fresh reader starts at the new head; the old offsets are gone.
    let frames = read_frames(&store, &cam);
    assert_eq!(frames[0].offset, offsets[15]);
    let mut raw = store.reader(&cam).expect("byte reader");
    assert!(matches!(
        raw.read_at(offsets[14], &mut [0u8; 4]),
        Err(StoreError::Truncated { head, .. }) if head == offsets[15]
    ));
}

#[test]
fn summaries_and_listing() {
    let (_dir, store) = temp_store(1 << 20);
    let (a, b) = (name("site/a"), name("site/b"));
    let mut tails = Vec::new();
    for (stream, start) in [(&a, 0u64), (&b, 10_000)] {
        let mut w = VideoWriter::open(&store, stream, every_key_frame()).expect("open writer");
        for i in 0..10u64 {
            w.append(&payload(i, 1000), at_ms(start + i * 100), i % 5 == 0)
                .expect("append");
        }
        tails.push(w.data_tail());
        w.finish(Some(at_ms(start + 1000))).expect("finish");
    }
    // Neither a byte stream without an index nor an index without its data stream is a video stream.
    store.create(&name("site/raw")).expect("create raw");
    store
        .create(&name("site/orphan-index"))
        .expect("create orphan index");

    assert_eq!(
        video::list_video_streams(&store).expect("list"),
        [a.clone(), b.clone()]
    );

    let s = video::summarize(&store, &a).expect("summarize a");
    assert_eq!(s.name, a);
    assert_eq!(
        (s.first_record, s.end_record),
        (0, 3),
        "two key frames and the end record"
    );
    assert_eq!(s.first_time, Some(at_ms(0)));
    assert_eq!(s.last_time, Some(at_ms(1000)));
    assert_eq!((s.data.head, s.data.tail), (0, tails[0]));
    assert_eq!(s.stored_bytes(), tails[0]);
    assert_eq!(s.data.writer_active, Some(false));
    assert!(!s.data.sealed);

    let s = video::summarize(&store, &b).expect("summarize b");
    assert_eq!(s.first_time, Some(at_ms(10_000)));
    assert_eq!(s.last_time, Some(at_ms(11_000)));

    // Recording now shows in the summary.
    let w = VideoWriter::open(&store, &b, every_key_frame()).expect("open writer");
    assert_eq!(
        video::summarize(&store, &b)
            .expect("summarize")
            .data
            .writer_active,
        Some(true)
    );
    drop(w);

    video::delete_video_stream(&store, &a).expect("delete");
    assert_eq!(video::list_video_streams(&store).expect("list"), [b]);
    assert!(!video::video_stream_exists(&store, &a).expect("exists"));
    assert!(matches!(
        video::summarize(&store, &a),
        Err(StoreError::NotFound(_))
    ));
}
