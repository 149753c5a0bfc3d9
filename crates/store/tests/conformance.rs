//! One conformance suite for every storage backend: the contract of `Backend`, `ByteWriter` and `ByteReader`
//! (DESIGN.md §3) plus the video layer on top, run against each backend through `&dyn Backend`.
//!
//! Instances: `embedded` always; `pravega` against the server named by `HINDSIGHT_PRAVEGA_CONTROLLER`
//! (e.g. `tcp://127.0.0.1:9090`, started by `scripts/pravega-standalone start`; `make test` does this).
//! Without that variable the Pravega tests fail when `CI` is set (so CI can never skip them silently) and
//! otherwise pass with a "skipped" note. Every run uses its own Pravega scope, so re-runs against one server
//! do not collide.

mod common;

use std::sync::{mpsc, Arc, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

use common::{at_ms, check_payload, payload};
use hindsight_store::video::{self, IndexPolicy, VideoStreamNames};
use hindsight_store::{
    copy_video_stream, Backend, ByteReader, EmbeddedStore, Interrupt, PravegaStore, ReadOutcome, StoreError,
    StreamName, VideoReader, VideoWriter, WaitOutcome,
};
use hindsight_testkit::{ms, Latencies};

/// A backend under test and a scope of its own.
struct Fixture {
    backend: Arc<dyn Backend>,
    scope: String,
    label: &'static str,
    _dir: Option<tempfile::TempDir>,
}

impl Fixture {
    fn name(&self, stream: &str) -> StreamName {
        StreamName::new(&self.scope, stream).expect("valid test stream name")
    }

    fn b(&self) -> &dyn Backend {
        self.backend.as_ref()
    }
}

fn embedded() -> Option<Fixture> {
    let dir = tempfile::tempdir().expect("create temporary directory");
    // Small segments, so reads and truncation cross segment files.
    let store = EmbeddedStore::open(dir.path())
        .expect("open embedded store")
        .with_segment_size(4096);
    Some(Fixture {
        backend: Arc::new(store),
        scope: "conformance".into(),
        label: "embedded",
        _dir: Some(dir),
    })
}

fn pravega() -> Option<Fixture> {
    static STORE: OnceLock<(Arc<PravegaStore>, String)> = OnceLock::new();
    let uri = hindsight_testkit::env::pravega_controller("the Pravega conformance tests")?;
    let (store, scope) = STORE.get_or_init(|| {
        let store = PravegaStore::open(&uri).unwrap_or_else(|e| panic!("open Pravega store {uri}: {e}"));
        // Unique per run: re-runs against one long-lived server never see each other's streams.
        (
            Arc::new(store),
            hindsight_testkit::env::unique_scope("conformance"),
        )
    });
    Some(Fixture {
        backend: store.clone(),
        scope: scope.clone(),
        label: "pravega",
        _dir: None,
    })
}

/// Instantiates every test of the suite for one backend, in a module named after it.
macro_rules! suite {
    ($backend:ident: $($test:ident),+ $(,)?) => {
        mod $backend {
            $(
                #[test]
                fn $test() {
                    if let Some(f) = super::$backend() {
                        super::$test(&f);
                    }
                }
            )+
        }
    };
}

macro_rules! all_tests {
    ($backend:ident) => {
        suite!($backend:
            create_exists_list_delete,
            append_read_at_and_info,
            tail_wait_wakes_on_append,
            wait_returns_promptly_on_interrupt,
            wait_times_out_at_deadline,
            truncate_before_and_reads_below_head,
            seal_stops_appends_and_ends_waits,
            second_writer_is_refused,
            video_round_trip_with_index,
            video_reader_follows_live_writer,
            video_reader_follows_truncation,
            copy_round_trip_is_byte_exact,
        );
    };
}

all_tests!(embedded);
all_tests!(pravega);

/// What only the Pravega backend promises (or refuses), beyond the shared contract.
mod pravega_only {
    use super::*;

    fn store() -> Option<(PravegaStore, String)> {
        super::pravega()?;
        let uri = std::env::var("HINDSIGHT_PRAVEGA_CONTROLLER").expect("checked by pravega()");
        let scope = super::pravega().expect("fixture").scope;
        Some((PravegaStore::open(&uri).expect("open"), scope))
    }

    #[test]
    fn streams_are_tagged_video() {
        let Some((store, scope)) = store() else { return };
        let cam = StreamName::new(&scope, "tagged").expect("name");
        let index = cam.index().expect("index name");
        store.create(&cam).expect("create");
        store.create(&index).expect("create");
        assert_eq!(store.stream_tags(&cam).expect("tags"), ["video"]);
        let mut tags = store.stream_tags(&index).expect("tags");
        tags.sort();
        assert_eq!(tags, ["index", "video"]);
    }

    #[test]
    fn appends_are_atomic_and_final() {
        let Some((store, scope)) = store() else { return };
        let s = StreamName::new(&scope, "atomic").expect("name");
        store.create(&s).expect("create");
        let mut w = store.writer(&s).expect("writer");
        w.append(&[7u8; 100]).expect("append");
        w.truncate_tail(100).expect("the current tail is fine");
        assert!(matches!(w.truncate_tail(50), Err(StoreError::Unsupported(_))));
        let max = hindsight_store::pravega::MAX_APPEND;
        assert!(matches!(
            w.append(&vec![0u8; max + 1]),
            Err(StoreError::TooLarge { .. })
        ));
        // The largest frame the format allows goes in as one append.
        assert_eq!(w.append(&vec![1u8; max]).expect("8 MiB append"), 100);
        assert_eq!(store.info(&s).expect("info").tail, 100 + max as u64);
    }

    #[test]
    fn uri_shown_never_carries_a_password() {
        let Some((_, _)) = store() else { return };
        let uri = std::env::var("HINDSIGHT_PRAVEGA_CONTROLLER").expect("set");
        let Some(rest) = uri.strip_prefix("tcp://") else {
            return;
        };
        let store = PravegaStore::open(&format!("tcp://someone:hunter2@{rest}")).expect("open");
        assert!(!store.uri().contains("hunter2"), "{}", store.uri());
        assert!(store.uri().starts_with("tcp://someone@"));
    }
}

// ---------------------------------------------------------------------------------------------------------
// helpers

fn far() -> Instant {
    Instant::now() + Duration::from_secs(30)
}

/// Reads `[from, to)` with a deliberately odd buffer size.
fn read_range(r: &mut dyn ByteReader, from: u64, to: u64) -> Vec<u8> {
    let mut out = Vec::new();
    let mut buf = vec![0u8; 7777];
    let mut at = from;
    while at < to {
        let want = buf.len().min((to - at) as usize);
        let n = r.read_at(at, &mut buf[..want]).expect("read_at");
        assert!(n > 0, "read_at({at}) returned 0 before the tail {to}");
        out.extend_from_slice(&buf[..n]);
        at += n as u64;
    }
    out
}

/// Every byte of a stream from its head, via a fresh reader.
fn read_stream(b: &dyn Backend, name: &StreamName) -> Vec<u8> {
    let info = b.info(name).expect("info");
    let mut r = b.reader(name).expect("reader");
    read_range(r.as_mut(), info.head, info.tail)
}

fn every_key_frame() -> IndexPolicy {
    IndexPolicy {
        min_interval: Duration::ZERO,
        max_interval: Duration::from_secs(3600),
    }
}

// ---------------------------------------------------------------------------------------------------------
// the suite

fn create_exists_list_delete(f: &Fixture) {
    let b = f.b();
    let a = f.name("a");
    let c = f.name("c");
    assert!(!b.exists(&a).expect("exists before create"));
    assert!(
        matches!(b.reader(&a), Err(StoreError::NotFound(_))),
        "reader of a missing stream"
    );
    assert!(
        matches!(b.writer(&a), Err(StoreError::NotFound(_))),
        "writer of a missing stream"
    );
    assert!(
        matches!(b.info(&a), Err(StoreError::NotFound(_))),
        "info of a missing stream"
    );
    b.create(&a).expect("create");
    b.create(&a).expect("create again is a no-op");
    b.create(&c).expect("create another");
    assert!(b.exists(&a).expect("exists"));
    let info = b.info(&a).expect("info of a new stream");
    assert_eq!((info.head, info.tail, info.sealed), (0, 0, false));
    let listed: Vec<StreamName> = b
        .list()
        .expect("list")
        .into_iter()
        .filter(|n| n.scope() == f.scope)
        .collect();
    assert!(listed.contains(&a) && listed.contains(&c), "{listed:?}");
    assert!(
        listed.windows(2).all(|w| w[0] < w[1]),
        "list is sorted: {listed:?}"
    );
    b.delete(&a).expect("delete");
    assert!(!b.exists(&a).expect("exists after delete"));
    assert!(!b.list().expect("list").contains(&a));
    assert!(
        matches!(b.delete(&a), Err(StoreError::NotFound(_))),
        "delete twice"
    );
    assert!(b.exists(&c).expect("the other stream stays"));
}

fn append_read_at_and_info(f: &Fixture) {
    let b = f.b();
    let s = f.name("bytes");
    b.create(&s).expect("create");
    let mut w = b.writer(&s).expect("writer");
    assert_eq!(w.tail(), 0);
    let chunks: Vec<Vec<u8>> = [1usize, 1000, 70_000, 20]
        .iter()
        .enumerate()
        .map(|(i, &len)| (0..len).map(|j| (i * 31 + j * 7) as u8).collect())
        .collect();
    let mut expected = Vec::new();
    for c in &chunks {
        assert_eq!(
            w.append(c).expect("append"),
            expected.len() as u64,
            "offset of an append"
        );
        expected.extend_from_slice(c);
        assert_eq!(w.tail(), expected.len() as u64);
    }
    w.sync().expect("sync");
    let tail = expected.len() as u64;
    let info = b.info(&s).expect("info");
    assert_eq!((info.head, info.tail, info.sealed), (0, tail, false));
    assert_ne!(info.writer_active, Some(false), "a writer is open");

    let mut r = b.reader(&s).expect("reader");
    assert_eq!(read_range(r.as_mut(), 0, tail), expected);
    assert_eq!(read_range(r.as_mut(), 999, 1100), expected[999..1100]);
    assert_eq!(
        read_range(r.as_mut(), tail - 5, tail),
        expected[expected.len() - 5..]
    );
    let mut buf = [0u8; 16];
    assert_eq!(r.read_at(tail, &mut buf).expect("read at the tail"), 0);
    let rinfo = r.info().expect("reader info");
    assert_eq!((rinfo.head, rinfo.tail), (0, tail));

    // The reader sees later appends.
    w.append(b"more").expect("append");
    assert_eq!(r.read_at(tail, &mut buf).expect("read new bytes"), 4);
    assert_eq!(&buf[..4], b"more");
    drop(w);
    assert_ne!(
        b.info(&s).expect("info").writer_active,
        Some(true),
        "no writer after drop"
    );
}

fn tail_wait_wakes_on_append(f: &Fixture) {
    let b = f.b();
    let s = f.name("tailwait");
    b.create(&s).expect("create");
    let mut w = b.writer(&s).expect("writer");
    let interrupt = Interrupt::new().expect("interrupt");
    let mut r = b.reader(&s).expect("reader");
    // Data already there: no waiting.
    w.append(b"x").expect("append");
    assert_eq!(
        r.wait_beyond(0, far(), &interrupt).expect("wait"),
        WaitOutcome::Data
    );

    const ROUNDS: usize = 60;
    let (tx, rx) = mpsc::channel::<u64>();
    let (back, done) = mpsc::channel::<Instant>();
    let waiter = thread::spawn(move || {
        let interrupt = Interrupt::new().expect("interrupt");
        for offset in rx {
            // Blocks until the byte at `offset` (the next one to be appended) exists.
            let outcome = r.wait_beyond(offset, far(), &interrupt).expect("wait");
            assert_eq!(outcome, WaitOutcome::Data);
            let woke = Instant::now();
            let mut buf = [0u8; 8];
            let n = r.read_at(offset, &mut buf).expect("read what woke us");
            assert_eq!(n, 8);
            assert_eq!(u64::from_be_bytes(buf), offset);
            back.send(woke).expect("report");
        }
    });
    let mut latencies = Vec::new();
    let mut tail = 1u64;
    for i in 0..ROUNDS {
        tx.send(tail).expect("start wait");
        // Give the waiter time to block (and, every tenth round, to idle a while).
        thread::sleep(Duration::from_millis(if i % 10 == 9 { 200 } else { 3 }));
        let start = Instant::now();
        w.append(&tail.to_be_bytes()).expect("append");
        tail += 8;
        let woke = done.recv().expect("waiter woke");
        latencies.push(woke.saturating_duration_since(start));
    }
    drop(tx);
    waiter.join().expect("waiter thread");
    let latencies = Latencies::new(latencies);
    let (p50, max) = (latencies.p50(), latencies.max());
    println!(
        "tail latency [{}] append -> waiting reader returns: {} (n={ROUNDS})",
        f.label,
        latencies.summary()
    );
    assert!(p50 < Duration::from_millis(100), "p50 tail latency {p50:?}");
    assert!(max < Duration::from_secs(2), "max tail latency {max:?}");
}

fn wait_returns_promptly_on_interrupt(f: &Fixture) {
    let b = f.b();
    let s = f.name("interrupt");
    b.create(&s).expect("create");
    let interrupt = Interrupt::new().expect("interrupt");
    let mut r = b.reader(&s).expect("reader");
    for round in 0..3 {
        let i2 = interrupt.clone();
        let fired = thread::spawn(move || {
            thread::sleep(Duration::from_millis(80));
            let at = Instant::now();
            i2.interrupt();
            at
        });
        let outcome = r.wait_beyond(0, far(), &interrupt).expect("wait");
        let returned = Instant::now();
        let fired_at = fired.join().expect("interrupt thread");
        let delay = returned.saturating_duration_since(fired_at);
        println!(
            "interrupt [{}] round {round}: wait returned {} after interrupt()",
            f.label,
            ms(delay)
        );
        assert_eq!(outcome, WaitOutcome::Interrupted);
        assert!(delay < Duration::from_millis(100), "interrupt took {delay:?}");
        // Still set: the next wait returns at once.
        let t = Instant::now();
        assert_eq!(
            r.wait_beyond(0, far(), &interrupt).expect("wait"),
            WaitOutcome::Interrupted
        );
        assert!(t.elapsed() < Duration::from_millis(100));
        interrupt.clear();
    }
    let soon = Instant::now() + Duration::from_millis(30);
    assert_eq!(
        r.wait_beyond(0, soon, &interrupt).expect("wait"),
        WaitOutcome::TimedOut
    );
}

fn wait_times_out_at_deadline(f: &Fixture) {
    let b = f.b();
    let s = f.name("deadline");
    b.create(&s).expect("create");
    let mut w = b.writer(&s).expect("writer");
    w.append(b"abc").expect("append");
    let interrupt = Interrupt::new().expect("interrupt");
    let mut r = b.reader(&s).expect("reader");
    for wait in [
        Duration::ZERO,
        Duration::from_millis(150),
        Duration::from_millis(400),
    ] {
        let start = Instant::now();
        let outcome = r.wait_beyond(3, start + wait, &interrupt).expect("wait");
        let took = start.elapsed();
        assert_eq!(outcome, WaitOutcome::TimedOut);
        assert!(
            took >= wait,
            "returned after {took:?}, before the deadline {wait:?}"
        );
        assert!(
            took < wait + Duration::from_millis(300),
            "returned {took:?} after a {wait:?} deadline"
        );
    }
    // A deadline in the past still reports data that is there.
    assert_eq!(
        r.wait_beyond(2, Instant::now(), &interrupt).expect("wait"),
        WaitOutcome::Data
    );
}

fn truncate_before_and_reads_below_head(f: &Fixture) {
    let b = f.b();
    let s = f.name("truncate");
    b.create(&s).expect("create");
    let mut w = b.writer(&s).expect("writer");
    for i in 0..100u8 {
        w.append(&[i; 100]).expect("append");
    }
    b.truncate_before(&s, 4550).expect("truncate");
    let info = b.info(&s).expect("info");
    assert_eq!((info.head, info.tail), (4550, 10_000));
    let mut r = b.reader(&s).expect("reader");
    match r.read_at(10, &mut [0u8; 4]) {
        Err(StoreError::Truncated { head, offset, .. }) => assert_eq!((head, offset), (4550, 10)),
        other => panic!("expected Truncated below the head, got {other:?}"),
    }
    match r.read_at(4549, &mut [0u8; 4]) {
        Err(StoreError::Truncated { head, .. }) => assert_eq!(head, 4550),
        other => panic!("expected Truncated just below the head, got {other:?}"),
    }
    let rest = read_range(r.as_mut(), 4550, 10_000);
    assert_eq!(rest.len(), 5450);
    assert!(rest[..50].iter().all(|&x| x == 45) && rest[50..150].iter().all(|&x| x == 46));
    assert_eq!(r.info().expect("reader info").head, 4550);

    // Below the head: nothing to do. Past the tail: refused.
    b.truncate_before(&s, 100).expect("truncate below the head");
    assert_eq!(b.info(&s).expect("info").head, 4550);
    assert!(matches!(
        b.truncate_before(&s, 10_001),
        Err(StoreError::PastTail { tail: 10_000, .. })
    ));

    // Offsets are absolute: the writer goes on after truncation, and an existing reader notices a later
    // truncation of bytes it already read.
    assert_eq!(w.append(b"after").expect("append after truncation"), 10_000);
    b.truncate_before(&s, 9000).expect("truncate again");
    assert!(matches!(
        r.read_at(5000, &mut [0u8; 4]),
        Err(StoreError::Truncated { head: 9000, .. })
    ));
    assert_eq!(read_range(r.as_mut(), 10_000, 10_005), b"after");
}

fn seal_stops_appends_and_ends_waits(f: &Fixture) {
    let b = f.b();
    let s = f.name("seal");
    b.create(&s).expect("create");
    let mut w = b.writer(&s).expect("writer");
    w.append(b"final bytes").expect("append");
    let mut r = b.reader(&s).expect("reader");
    let waiter = thread::spawn(move || {
        let interrupt = Interrupt::new().expect("interrupt");
        let start = Instant::now();
        let outcome = r.wait_beyond(11, far(), &interrupt).expect("wait");
        (outcome, start.elapsed(), r)
    });
    thread::sleep(Duration::from_millis(100));
    let sealed_at = Instant::now();
    w.seal().expect("seal");
    let (outcome, _, mut r) = waiter.join().expect("waiter");
    let delay = sealed_at.elapsed();
    println!(
        "seal [{}]: seal() returned and the waiting reader ended within {}",
        f.label,
        ms(delay)
    );
    assert_eq!(outcome, WaitOutcome::Sealed);
    assert!(
        delay < Duration::from_secs(2),
        "seal took {delay:?} to end the wait"
    );
    drop(w);
    assert!(
        matches!(b.writer(&s), Err(StoreError::Sealed(_))),
        "a writer of a sealed stream"
    );
    let info = b.info(&s).expect("info");
    assert!(info.sealed);
    assert_eq!(info.tail, 11);
    assert_eq!(read_range(r.as_mut(), 0, 11), b"final bytes");
    let interrupt = Interrupt::new().expect("interrupt");
    assert_eq!(
        r.wait_beyond(5, far(), &interrupt).expect("wait"),
        WaitOutcome::Data
    );
    let start = Instant::now();
    assert_eq!(
        r.wait_beyond(11, far(), &interrupt).expect("wait"),
        WaitOutcome::Sealed
    );
    assert!(start.elapsed() < Duration::from_secs(2));
    let mut fresh = b.reader(&s).expect("reader");
    assert_eq!(
        fresh.wait_beyond(11, far(), &interrupt).expect("wait"),
        WaitOutcome::Sealed
    );
}

fn second_writer_is_refused(f: &Fixture) {
    let b = f.b();
    let s = f.name("exclusive");
    b.create(&s).expect("create");
    let mut w = b.writer(&s).expect("first writer");
    w.append(b"one").expect("append");
    match b.writer(&s) {
        Err(StoreError::WriterBusy(n)) => assert_eq!(n, s),
        Err(e) => panic!("unexpected error {e}"),
        Ok(_) => panic!("a second writer was accepted"),
    }
    assert_eq!(b.info(&s).expect("info").writer_active, Some(true));
    drop(w);
    assert_eq!(b.info(&s).expect("info").writer_active, Some(false));
    let mut w2 = b.writer(&s).expect("writer after the first was dropped");
    assert_eq!(w2.tail(), 3);
    assert_eq!(w2.append(b"two").expect("append"), 3);
    assert_eq!(read_stream(b, &s), b"onetwo");
}

/// 30 frames, a key frame every 5th, 40 ms apart, sizes from tiny to 300 kB.
fn write_frames(b: &dyn Backend, name: &StreamName, count: u64) -> Vec<(u64, usize)> {
    let mut w = VideoWriter::open(b, name, every_key_frame()).expect("video writer");
    let mut written = Vec::new();
    for i in 0..count {
        let len = match i % 7 {
            0 => 300_000,
            1 => 8,
            _ => 1000 + (i as usize * 997) % 20_000,
        };
        let a = w
            .append(&payload(i, len), at_ms(i * 40), i % 5 == 0)
            .expect("append frame");
        written.push((a.offset, len));
    }
    w.finish(Some(at_ms(count * 40))).expect("finish");
    written
}

fn video_round_trip_with_index(f: &Fixture) {
    let b = f.b();
    let cam = f.name("cam");
    let written = write_frames(b, &cam, 30);
    let mut r = VideoReader::open(b, &cam).expect("video reader");
    let interrupt = Interrupt::new().expect("interrupt");
    let mut seen = 0u64;
    loop {
        match r
            .next_frame(Instant::now() + Duration::from_millis(200), &interrupt)
            .expect("next_frame")
        {
            ReadOutcome::Frame(frame) => {
                let seq = check_payload(&frame.payload).expect("intact payload");
                assert_eq!(seq, seen);
                assert_eq!(frame.offset, written[seq as usize].0);
                assert_eq!(frame.payload.len(), written[seq as usize].1);
                assert_eq!(frame.header.timestamp, at_ms(seq * 40));
                assert_eq!(frame.header.flags.random_access(), seq % 5 == 0);
                assert_eq!(frame.discontinuity, seq == 0);
                seen += 1;
            }
            ReadOutcome::TimedOut => break,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(seen, 30);
    let (first, records) = r.index().read_all().expect("index");
    assert_eq!(first, 0);
    assert_eq!(records.len(), 7, "6 key frames and the end record");
    for (k, rec) in records[..6].iter().enumerate() {
        assert!(rec.is_seek_target());
        assert_eq!(rec.offset, written[k * 5].0);
        assert_eq!(rec.timestamp, at_ms(k as u64 * 200));
    }
    let end = records[6];
    assert!(!end.is_seek_target());
    assert_eq!(end.offset, b.info(&cam).expect("info").tail);
    assert_eq!(end.timestamp, at_ms(30 * 40));
    // Seek by time lands on the key frame at or before.
    let rec = r.seek_to_time(at_ms(17 * 40)).expect("seek").expect("a target");
    assert_eq!(rec.offset, written[15].0);
    match r.next_frame(far(), &interrupt).expect("next_frame") {
        ReadOutcome::Frame(frame) => {
            assert_eq!(check_payload(&frame.payload), Some(15));
            assert!(frame.discontinuity);
        }
        other => panic!("unexpected {other:?}"),
    }
    let summary = video::summarize(b, &cam).expect("summary");
    assert_eq!(
        (summary.first_time, summary.last_time),
        (Some(at_ms(0)), Some(at_ms(1200)))
    );
    assert!(video::list_video_streams(b).expect("list").contains(&cam));
}

fn video_reader_follows_live_writer(f: &Fixture) {
    let b = f.backend.clone();
    let cam = f.name("live");
    let names = VideoStreamNames::new(&cam).expect("names");
    b.create(&names.data).expect("create");
    b.create(&names.index).expect("create");
    let mut r = VideoReader::open(b.as_ref(), &cam).expect("reader on an empty stream");
    let writer = {
        let b = b.clone();
        let cam = cam.clone();
        thread::spawn(move || {
            let mut w = VideoWriter::open(b.as_ref(), &cam, every_key_frame()).expect("writer");
            let mut sent = Vec::new();
            for i in 0..20u64 {
                thread::sleep(Duration::from_millis(10));
                sent.push(Instant::now());
                w.append(&payload(i, 2000 + i as usize * 10), at_ms(i * 40), i % 5 == 0)
                    .expect("append");
            }
            w.finish(None).expect("finish");
            sent
        })
    };
    let interrupt = Interrupt::new().expect("interrupt");
    let mut got = Vec::new();
    while got.len() < 20 {
        match r
            .next_frame(Instant::now() + Duration::from_secs(10), &interrupt)
            .expect("next_frame")
        {
            ReadOutcome::Frame(frame) => {
                got.push((check_payload(&frame.payload).expect("intact"), Instant::now()))
            }
            other => panic!("live frame {} not delivered: {other:?}", got.len()),
        }
    }
    let sent = writer.join().expect("writer thread");
    let delays: Vec<Duration> = got
        .iter()
        .map(|(seq, at)| at.saturating_duration_since(sent[*seq as usize]))
        .collect();
    assert_eq!(
        got.iter().map(|g| g.0).collect::<Vec<_>>(),
        (0..20).collect::<Vec<_>>()
    );
    println!(
        "live frames [{}] append start -> next_frame returns: {} (n=20)",
        f.label,
        Latencies::new(delays).summary()
    );
}

fn video_reader_follows_truncation(f: &Fixture) {
    let b = f.b();
    let cam = f.name("retention");
    let written = write_frames(b, &cam, 30);
    let interrupt = Interrupt::new().expect("interrupt");
    let mut r = VideoReader::open(b, &cam).expect("reader");
    for expect in 0..2 {
        match r.next_frame(far(), &interrupt).expect("next_frame") {
            ReadOutcome::Frame(frame) => assert_eq!(check_payload(&frame.payload), Some(expect)),
            other => panic!("unexpected {other:?}"),
        }
    }
    // Retention cuts before frame 10 (a key frame): index first, then data.
    let rec = video::truncate_before_time(b, &cam, at_ms(10 * 40 + 5))
        .expect("truncate")
        .expect("record");
    assert_eq!(rec.offset, written[10].0);
    assert_eq!(b.info(&cam).expect("info").head, written[10].0);
    match r
        .next_frame(far(), &interrupt)
        .expect("next_frame after truncation")
    {
        ReadOutcome::Frame(frame) => {
            assert_eq!(
                check_payload(&frame.payload),
                Some(10),
                "reader moved to the new head"
            );
            assert!(frame.discontinuity, "a jump is a discontinuity");
        }
        other => panic!("unexpected {other:?}"),
    }
    let (first, records) = r.index().read_all().expect("index");
    assert_eq!(first, 2);
    assert_eq!(records[0].offset, written[10].0);
    // A fresh reader starts at the new head.
    let mut fresh = VideoReader::open(b, &cam).expect("reader");
    match fresh.next_frame(far(), &interrupt).expect("next_frame") {
        ReadOutcome::Frame(frame) => assert_eq!(check_payload(&frame.payload), Some(10)),
        other => panic!("unexpected {other:?}"),
    }
}

/// A video stream written to an embedded store, copied into the backend under test and back into another
/// embedded store, comes back byte-for-byte (data and index).
fn copy_round_trip_is_byte_exact(f: &Fixture) {
    let (_d1, origin) = common::temp_store(1 << 16);
    let (_d2, back) = common::temp_store(1 << 20);
    let cam = StreamName::parse("site/cam").expect("name");
    write_frames(&origin, &cam, 30);
    let there = f.name("copied");
    let c1 = copy_video_stream(&origin, &cam, f.b(), &there).expect("copy into the backend under test");
    assert_eq!((c1.frames, c1.records, c1.offset_shift), (30, 7, 0));
    let c2 = copy_video_stream(f.b(), &there, &back, &cam).expect("copy back");
    assert_eq!(c1, c2);
    let (o, t, k) = (
        VideoStreamNames::new(&cam).expect("names"),
        VideoStreamNames::new(&there).expect("names"),
        VideoStreamNames::new(&cam).expect("names"),
    );
    let original_data = read_stream(&origin, &o.data);
    assert_eq!(
        read_stream(f.b(), &t.data),
        original_data,
        "data in the backend under test"
    );
    assert_eq!(
        read_stream(&back, &k.data),
        original_data,
        "data after the round trip"
    );
    let original_index = read_stream(&origin, &o.index);
    assert_eq!(
        read_stream(f.b(), &t.index),
        original_index,
        "index in the backend under test"
    );
    assert_eq!(
        read_stream(&back, &k.index),
        original_index,
        "index after the round trip"
    );
    println!(
        "copy [{}]: {} frames, {} data bytes, {} index records round-tripped byte-exact",
        f.label, c1.frames, c1.data_bytes, c1.records
    );
}
