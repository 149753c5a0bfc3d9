//! Tail latency: how long after a writer starts an append a reader blocked in `wait_beyond` returns, for the
//! embedded store and (when `HINDSIGHT_PRAVEGA_CONTROLLER` names a server) Pravega, side by side.
//!
//! `cargo bench -p hindsight-store --bench pravega_tail` (or `scripts/with-pravega cargo bench ...`).
//! Prints p50/p99/max of append -> wake and of the append call itself (Pravega: until acknowledged); the reader idles between rounds
//! (mostly 2 ms, every tenth round 100 ms) as a live viewer of a camera would.

use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use hindsight_store::{Backend, EmbeddedStore, Interrupt, PravegaStore, StreamName, WaitOutcome};
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
    match std::env::var("HINDSIGHT_PRAVEGA_CONTROLLER").ok().filter(|v| !v.is_empty()) {
        Some(uri) => {
            let store = PravegaStore::open(&uri).expect("open Pravega store");
            let name = StreamName::new(&unique, "tail").expect("name");
            measure("pravega", &store, &name);
        }
        None => println!(
            "  pravega: skipped: set HINDSIGHT_PRAVEGA_CONTROLLER=tcp://127.0.0.1:9090 (scripts/pravega-standalone start)"
        ),
    }
}
