//! Tail latency: how long after a writer starts an append a reader blocked in `wait_beyond` returns, for the
//! embedded store and (when `HINDSIGHT_PRAVEGA_CONTROLLER` names a server) Pravega, side by side.
//!
//! `cargo bench -p hindsight-store --bench pravega_tail` (or `scripts/with-pravega cargo bench ...`).
//! Prints p50/p99/max of append -> wake and of the append call itself (Pravega: until acknowledged); the reader idles between rounds
//! (mostly 2 ms, every tenth round 100 ms) as a live viewer of a camera would.

use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use hindsight_store::video::VideoStreamNames;
use hindsight_store::{
    Backend, EmbeddedStore, IndexPolicy, Interrupt, PravegaStore, ReadOutcome, StreamName, Timestamp,
    VideoReader, VideoWriter, WaitOutcome,
};
use hindsight_testkit::Latencies;

const ROUNDS: usize = 300;
const FRAME: usize = 4096;

fn measure(label: &str, backend: &dyn Backend, name: &StreamName) {
    backend.create(name).expect("create stream");
    let mut w = backend.writer(name).expect("writer");
    let mut r = backend.reader(name).expect("reader");
    let (tx, rx) = mpsc::channel::<u64>();
    let (back, woke) = mpsc::channel::<Instant>();
    let frame = vec![0x5a_u8; FRAME];
    thread::scope(|s| {
        s.spawn(move || {
            let interrupt = Interrupt::new().expect("interrupt");
            for offset in rx {
                let deadline = Instant::now() + Duration::from_secs(30);
                let outcome = r.wait_beyond(offset, deadline, &interrupt).expect("wait");
                let at = Instant::now();
                assert_eq!(outcome, WaitOutcome::Data);
                let mut buf = vec![0u8; FRAME];
                let mut got = 0;
                while got < FRAME {
                    got += r.read_at(offset + got as u64, &mut buf[got..]).expect("read");
                }
                back.send(at).expect("report");
            }
        });
        let mut wake = Vec::with_capacity(ROUNDS);
        let mut append = Vec::with_capacity(ROUNDS);
        let mut tail = w.tail();
        for i in 0..ROUNDS {
            tx.send(tail).expect("start wait");
            thread::sleep(Duration::from_millis(if i % 10 == 9 { 100 } else { 2 }));
            let start = Instant::now();
            w.append(&frame).expect("append");
            append.push(start.elapsed());
            tail += FRAME as u64;
            let at = woke.recv().expect("woke");
            wake.push(at.saturating_duration_since(start));
        }
        drop(tx);
        let (wake, append) = (Latencies::new(wake), Latencies::new(append));
        println!(
            "{label:>9}: append -> waiting reader returns  {}  (n={ROUNDS}, {FRAME} B)",
            wake.summary()
        );
        println!("{label:>9}: append call returns            {}", append.summary());
    });
    drop(w);
    if let Err(e) = backend.delete(name) {
        eprintln!("{label}: cannot delete the bench stream {name}: {e}");
    }
}

/// The same through the video layer, as the elements use it: a writer appending a 30 fps stream (a key frame
/// and its index record every 30th frame) and a reader in `next_frame` at the tail. Per frame: append call ->
/// the reader has the whole frame.
fn measure_video(label: &str, backend: &dyn Backend, name: &StreamName) {
    const FRAMES: usize = 300;
    let names = VideoStreamNames::new(name).expect("names");
    backend.create(&names.data).expect("create data");
    backend.create(&names.index).expect("create index");
    let mut w = VideoWriter::open(backend, name, IndexPolicy::default()).expect("video writer");
    let mut r = VideoReader::open(backend, name).expect("video reader");
    let (back, got) = mpsc::channel::<Instant>();
    let frame = vec![0x5a_u8; FRAME];
    let t0 = Timestamp::now();
    thread::scope(|s| {
        s.spawn(move || {
            let interrupt = Interrupt::new().expect("interrupt");
            for _ in 0..FRAMES {
                let deadline = Instant::now() + Duration::from_secs(30);
                match r.next_frame(deadline, &interrupt).expect("next frame") {
                    ReadOutcome::Frame(_) => back.send(Instant::now()).expect("report"),
                    other => panic!("reader: {other:?} instead of a frame"),
                }
            }
        });
        let (mut wake, mut append, mut after) = (Vec::new(), Vec::new(), Vec::new());
        for i in 0..FRAMES {
            thread::sleep(Duration::from_millis(33));
            let ts = t0.saturating_add(Duration::from_millis(33 * i as u64));
            let start = Instant::now();
            w.append(&frame, ts, i % 30 == 0).expect("append");
            let returned = Instant::now();
            append.push(returned - start);
            let at = got.recv().expect("frame read");
            wake.push(at.saturating_duration_since(start));
            after.push(at.saturating_duration_since(returned));
        }
        let (wake, append, after) = (
            Latencies::new(wake),
            Latencies::new(append),
            Latencies::new(after),
        );
        println!(
            "{label:>9}: video frame appended -> next_frame returns it  {}  (n={FRAMES}, 30 fps)",
            wake.summary()
        );
        println!(
            "{label:>9}: video append call (index record every 30th)  {}",
            append.summary()
        );
        println!(
            "{label:>9}: video reader, append returned -> frame read  {}",
            after.summary()
        );
    });
    // One round trip to the store with nothing to wait for, as the floor of what a reader can add.
    let mut r = backend.reader(&names.data).expect("reader");
    let trips = (0..100)
        .map(|_| {
            let start = Instant::now();
            r.info().expect("info");
            start.elapsed()
        })
        .collect::<Vec<_>>();
    println!(
        "{label:>9}: one round trip (stream info)            {}",
        Latencies::new(trips).summary()
    );
    drop(w);
    for n in [&names.data, &names.index] {
        if let Err(e) = backend.delete(n) {
            eprintln!("{label}: cannot delete the bench stream {n}: {e}");
        }
    }
}

fn main() {
    // `cargo test --benches` runs bench binaries with no arguments as well; keep that quick.
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let unique = format!(
        "bench-{}-{:x}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_micros())
            .unwrap_or(0)
    );
    let dir = tempfile::tempdir().expect("temporary directory");
    let embedded = EmbeddedStore::open(dir.path()).expect("embedded store");
    let name = StreamName::new("bench", "tail").expect("name");
    measure("embedded", &embedded, &name);
    measure_video(
        "embedded",
        &embedded,
        &StreamName::new("bench", "video").expect("name"),
    );
    match std::env::var("HINDSIGHT_PRAVEGA_CONTROLLER").ok().filter(|v| !v.is_empty()) {
        Some(uri) => {
            let store = PravegaStore::open(&uri).expect("open Pravega store");
            let name = StreamName::new(&unique, "tail").expect("name");
            measure("pravega", &store, &name);
            measure_video("pravega", &store, &StreamName::new(&unique, "video").expect("name"));
        }
        None => println!(
            "  pravega: skipped: set HINDSIGHT_PRAVEGA_CONTROLLER=tcp://127.0.0.1:9090 (scripts/pravega-standalone start)"
        ),
    }
}
