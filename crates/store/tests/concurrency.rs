//! Readers, a writer and truncation at the same time (DESIGN.md §2, §3): four tailing readers follow ten
//! truncations to the new head without an error and says so with a discontinuity, a reader blocked at the tail wakes
//! soon after an append from another thread, and an interrupt ends a blocked read at once.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::thread;
use std::time::{Duration, Instant};

use common::{at_ms, check_payload, name, payload, seed_from_env, temp_store, Rng};
use hindsight_store::format::{encode_frame, Flags, FRAME_HEADER_LEN};
use hindsight_store::video::{self, IndexPolicy};
use hindsight_store::{Backend, Interrupt, ReadOutcome, Timestamp, VideoReader, VideoWriter};

/// What one tailing reader saw.
struct Tailed {
    frames: u64,
    jumps: u64,
    last_seq: Option<u64>,
    last_offset: Option<u64>,
}

/// Reads to the end of a sealed stream, lagging `lag` per frame while `writing`, and checks that every jump
/// is a discontinuity and payloads are intact and in order.
fn tail_through_truncations(mut reader: VideoReader, writing: &AtomicBool, lag: Duration) -> Tailed {
    let interrupt = Interrupt::new().expect("interrupt");
    let mut t = Tailed {
        frames: 0,
        jumps: 0,
        last_seq: None,
        last_offset: None,
    };
    let mut expected_next: Option<u64> = None;
    loop {
        let deadline = Instant::now() + Duration::from_secs(10);
        match reader.next_frame(deadline, &interrupt) {
            Ok(ReadOutcome::Frame(f)) => {
                let seq = check_payload(&f.payload).expect("intact payload");
                assert!(
                    t.last_offset.is_none_or(|o| f.offset > o),
                    "offsets go back at {}",
                    f.offset
                );
                assert!(
                    t.last_seq.is_none_or(|s| seq > s),
                    "frame {seq} after {:?}",
                    t.last_seq
                );
                match expected_next {
                    Some(next) if next != f.offset => {
                        assert!(
                            f.discontinuity,
                            "jump from {next} to {} without a discontinuity",
                            f.offset
                        );
                        t.jumps += 1;
                    }
                    Some(_) => assert!(!f.discontinuity, "contiguous frame {seq} marked discontinuous"),
                    None => assert!(f.discontinuity, "the first frame read is a discontinuity"),
                }
                expected_next = Some(f.offset + f.header.frame_len() as u64);
                t.last_offset = Some(f.offset);
                t.last_seq = Some(seq);
                t.frames += 1;
                // Lag behind the writer while it writes, so that truncation overtakes the reader.
                if writing.load(Ordering::SeqCst) {
                    thread::sleep(lag);
                }
            }
            Ok(ReadOutcome::End) => return t,
            Ok(other) => panic!("unexpected {other:?} after {} frames", t.frames),
            Err(e) => panic!("reader failed after {} frames: {e}", t.frames),
        }
    }
}

#[test]
fn tailing_readers_follow_truncation_to_the_new_head() {
    const FRAMES: u64 = 1200;
    const READERS: u64 = 4;
    const TRUNCATIONS: usize = 10;
    let seed = seed_from_env("HINDSIGHT_CONCURRENCY_SEED");
    let (_dir, store) = temp_store(32 * 1024);
    let cam = name("site/cam");
    let policy = IndexPolicy {
        min_interval: Duration::ZERO,
        max_interval: Duration::from_secs(3600),
    };
    // The stream exists before the readers open it.
    let mut writer = VideoWriter::open(&store, &cam, policy).expect("open writer");
    let writing = Arc::new(AtomicBool::new(true));
    let readers: Vec<_> = (0..READERS)
        .map(|i| {
            let reader = VideoReader::open(&store, &cam).expect("open reader");
            let writing = Arc::clone(&writing);
            // Each lags by a different amount, so truncation overtakes them at different places.
            let lag = Duration::from_millis(3 + i);
            thread::spawn(move || tail_through_truncations(reader, &writing, lag))
        })
        .collect();

    let writer_thread = {
        let writing = Arc::clone(&writing);
        thread::spawn(move || {
            let mut rng = Rng::new(seed);
            let mut last = None;
            for seq in 0..FRAMES {
                let len = rng.range(1000, 8 * 1024) as usize;
                let a = writer
                    .append(&payload(seq, len), at_ms(seq * 10), seq % 4 == 0)
                    .expect("append");
                last = Some(a.offset);
                thread::sleep(Duration::from_micros(rng.range(500, 2500)));
            }
            writer.finish_and_seal(None).expect("finish and seal");
            writing.store(false, Ordering::SeqCst);
            last.expect("frames were written")
        })
    };

    // Ten truncations while the writer writes, each up to the newest key frame: the lagging readers are below.
    let mut truncations = 0;
    while truncations < TRUNCATIONS && writing.load(Ordering::SeqCst) {
        thread::sleep(Duration::from_millis(120));
        let before = store.info(&cam).expect("info").head;
        video::truncate_before_time(&store, &cam, Timestamp::MAX).expect("truncate");
        if store.info(&cam).expect("info").head > before {
            truncations += 1;
        }
    }
    let last_written = writer_thread.join().expect("writer thread");
    assert_eq!(
        truncations, TRUNCATIONS,
        "the writer finished before ten truncations"
    );
    for (i, r) in readers.into_iter().enumerate() {
        let t = r.join().expect("reader thread");
        println!(
            "reader {i}: read {} of {FRAMES} frames; {} jumps over {truncations} truncations",
            t.frames, t.jumps
        );
        assert_eq!(
            t.last_seq,
            Some(FRAMES - 1),
            "reader {i} gets the last frame written"
        );
        assert_eq!(t.last_offset, Some(last_written));
        assert!(t.jumps > 0, "truncation never overtook reader {i}");
        assert!(t.jumps <= truncations as u64);
    }
}

#[test]
fn a_reader_blocked_at_the_tail_wakes_soon_after_an_append() {
    let (_dir, store) = temp_store(1 << 20);
    let cam = name("site/cam");
    let mut writer = VideoWriter::open(&store, &cam, IndexPolicy::default()).expect("open writer");
    let (ready_tx, ready_rx) = mpsc::channel();
    let reader_thread = {
        let (store, cam) = (store.clone(), cam.clone());
        thread::spawn(move || {
            let mut reader = VideoReader::open(&store, &cam).expect("open reader");
            let interrupt = Interrupt::new().expect("interrupt");
            let mut woke = Vec::new();
            for i in 0..5u64 {
                ready_tx.send(()).expect("signal ready");
                let called = Instant::now();
                let outcome = reader
                    .next_frame(called + Duration::from_secs(20), &interrupt)
                    .expect("next_frame");
                let returned = Instant::now();
                match outcome {
                    ReadOutcome::Frame(f) => assert_eq!(check_payload(&f.payload), Some(i)),
                    other => panic!("expected frame {i}, got {other:?}"),
                }
                woke.push((called, returned));
            }
            woke
        })
    };
    let mut appended_at = Vec::new();
    for i in 0..5u64 {
        ready_rx.recv().expect("reader ready");
        // Let the reader get into its wait.
        thread::sleep(Duration::from_millis(100));
        appended_at.push(Instant::now());
        writer
            .append(&payload(i, 2000), at_ms(i * 40), i == 0)
            .expect("append");
    }
    let woke = reader_thread.join().expect("reader thread");
    let mut latencies = Vec::new();
    for ((called, returned), appended) in woke.into_iter().zip(appended_at) {
        assert!(
            returned.duration_since(called) >= Duration::from_millis(90),
            "the reader did not block"
        );
        latencies.push(returned.duration_since(appended));
    }
    println!("wake-up latencies: {latencies:?}");
    let worst = latencies.iter().max().copied().unwrap_or_default();
    assert!(
        worst < Duration::from_millis(500),
        "a blocked reader woke {worst:?} after the append"
    );
}

#[test]
fn an_interrupt_ends_a_blocked_read_promptly() {
    let (_dir, store) = temp_store(1 << 20);
    let cam = name("site/cam");
    let mut writer = VideoWriter::open(&store, &cam, IndexPolicy::default()).expect("open writer");
    writer.append(&payload(0, 500), at_ms(0), true).expect("append");
    let reader = VideoReader::open(&store, &cam).expect("open reader");
    let interrupt = Interrupt::new().expect("interrupt");

    // Blocked at the tail after one frame, then interrupted from another thread.
    let reader_thread = {
        let interrupt = interrupt.clone();
        thread::spawn(move || {
            let mut reader = reader;
            let far = Instant::now() + Duration::from_secs(30);
            assert!(matches!(
                reader.next_frame(far, &interrupt),
                Ok(ReadOutcome::Frame(_))
            ));
            let outcome = reader.next_frame(far, &interrupt).expect("next_frame");
            (outcome, Instant::now(), reader)
        })
    };
    thread::sleep(Duration::from_millis(150));
    let interrupted_at = Instant::now();
    interrupt.interrupt();
    let (outcome, returned, mut reader) = reader_thread.join().expect("reader thread");
    assert_eq!(outcome, ReadOutcome::Interrupted);
    let took = returned.duration_since(interrupted_at);
    println!("interrupt to return: {took:?}");
    assert!(
        took < Duration::from_millis(100),
        "next_frame returned {took:?} after the interrupt"
    );

    // It stays set: the next call returns at once too. Cleared, reads block and time out again.
    let start = Instant::now();
    let far = start + Duration::from_secs(30);
    assert_eq!(
        reader.next_frame(far, &interrupt).expect("next_frame"),
        ReadOutcome::Interrupted
    );
    assert!(start.elapsed() < Duration::from_millis(100));
    interrupt.clear();
    let soon = Instant::now() + Duration::from_millis(50);
    assert_eq!(
        reader.next_frame(soon, &interrupt).expect("next_frame"),
        ReadOutcome::TimedOut
    );

    // The interrupted read lost nothing: the next frame comes normally.
    writer.append(&payload(1, 500), at_ms(40), false).expect("append");
    match reader.next_frame(far, &interrupt).expect("next_frame") {
        ReadOutcome::Frame(f) => {
            assert_eq!(check_payload(&f.payload), Some(1));
            assert!(!f.discontinuity);
        }
        other => panic!("expected frame 1, got {other:?}"),
    }
}

#[test]
fn an_interrupt_ends_a_wait_for_the_rest_of_a_frame() {
    // A reader that has a frame's header but not yet its payload waits too; an interrupt must end that wait,
    // and the read must resume at the same frame afterwards.
    let (_dir, store) = temp_store(1 << 20);
    let cam = name("site/cam");
    drop(VideoWriter::open(&store, &cam, IndexPolicy::default()).expect("create the stream"));
    let mut raw = store.writer(&cam).expect("byte writer");
    let frame = encode_frame(Flags::new(false, true, true), at_ms(0), &payload(5, 4000));
    raw.append(&frame[..FRAME_HEADER_LEN + 100])
        .expect("append a partial frame");

    let interrupt = Interrupt::new().expect("interrupt");
    let reader_thread = {
        let (store, cam, interrupt) = (store.clone(), cam.clone(), interrupt.clone());
        thread::spawn(move || {
            let mut reader = VideoReader::open(&store, &cam).expect("open reader");
            let far = Instant::now() + Duration::from_secs(30);
            let outcome = reader.next_frame(far, &interrupt).expect("next_frame");
            (outcome, Instant::now(), reader)
        })
    };
    thread::sleep(Duration::from_millis(150));
    let interrupted_at = Instant::now();
    interrupt.interrupt();
    let (outcome, returned, mut reader) = reader_thread.join().expect("reader thread");
    assert_eq!(outcome, ReadOutcome::Interrupted);
    assert!(returned.duration_since(interrupted_at) < Duration::from_millis(100));

    interrupt.clear();
    raw.append(&frame[FRAME_HEADER_LEN + 100..])
        .expect("append the rest");
    match reader
        .next_frame(Instant::now() + Duration::from_secs(5), &interrupt)
        .expect("next_frame")
    {
        ReadOutcome::Frame(f) => {
            assert_eq!(f.offset, 0);
            assert_eq!(check_payload(&f.payload), Some(5));
        }
        other => panic!("expected the completed frame, got {other:?}"),
    }
}

#[test]
fn a_reader_waiting_inside_a_torn_frame_continues_with_the_next_writer() {
    // A writer dies in the middle of a frame while a reader, which already has that frame's header, waits for
    // the rest. The next writer cuts the torn frame off and appends from its start: the reader must go on
    // with the new frames (marked discontinuous), not glue new bytes onto the old header.
    let (_dir, store) = temp_store(1 << 20);
    let cam = name("site/cam");
    let mut writer = VideoWriter::open(&store, &cam, IndexPolicy::default()).expect("open writer");
    let first = writer.append(&payload(0, 3000), at_ms(0), true).expect("append");
    drop(writer);
    let torn_at = store.info(&cam).expect("info").tail;
    let torn = encode_frame(Flags::new(false, false, false), at_ms(40), &payload(1, 50_000));
    let mut raw = store.writer(&cam).expect("byte writer");
    raw.append(&torn[..FRAME_HEADER_LEN + 1000])
        .expect("append the start of a frame");
    drop(raw);

    let (store2, cam2) = (store.clone(), cam.clone());
    let reader_thread = thread::spawn(move || {
        let mut reader = VideoReader::open(&store2, &cam2).expect("open reader");
        let interrupt = Interrupt::new().expect("interrupt");
        let mut seen = Vec::new();
        while seen.len() < 4 {
            match reader.next_frame(Instant::now() + Duration::from_secs(10), &interrupt) {
                Ok(ReadOutcome::Frame(f)) => {
                    seen.push((f.offset, check_payload(&f.payload), f.discontinuity));
                }
                Ok(other) => panic!("unexpected {other:?} after {seen:?}"),
                Err(e) => panic!("reader failed after {seen:?}: {e}"),
            }
        }
        seen
    });
    // Let the reader read frame 0 and block on the torn frame's payload.
    thread::sleep(Duration::from_millis(200));
    let mut writer = VideoWriter::open(&store, &cam, IndexPolicy::default()).expect("repairing writer");
    assert_eq!(writer.data_tail(), torn_at, "the torn frame was cut off");
    // Enough new bytes to cover the torn frame's claimed length.
    let mut offsets = Vec::new();
    for seq in 2..5u64 {
        offsets.push(
            writer
                .append(&payload(seq, 30_000), at_ms(seq * 40), seq == 2)
                .expect("append")
                .offset,
        );
    }
    let seen = reader_thread.join().expect("reader thread");
    assert_eq!(
        seen,
        [
            (first.offset, Some(0), true),
            (offsets[0], Some(2), true),
            (offsets[1], Some(3), false),
            (offsets[2], Some(4), false),
        ]
    );
}
