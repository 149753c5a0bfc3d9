//! Benchmarks of the store on the embedded backend, each against the baseline that says whether it is good
//! enough:
//! 1. append throughput of 1 MiB and 4 KiB frames through the byte writer and the video writer, against plain
//!    `File::write_all` of the same bytes, and the cost of the hash chain against the same writer without it;
//! 2. time search in an index of 1 M records, against reading the whole index and scanning it;
//! 3. tail wake-up latency: from a writer's append to the return of a reader blocked in `next_frame`.
//!
//! Criterion measures (1) and (2); afterwards simple timed loops in the same process print the ratios and
//! the latency percentiles, measured back to back so that both sides of a ratio see the same machine state.
//! `cargo bench -p hindsight-store` runs everything in about two minutes.

use std::fs::File;
use std::hint::black_box;
use std::io::Write;
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput};
use hindsight_store::embedded::DEFAULT_SEGMENT_SIZE;
use hindsight_store::evidence::SigningKey;
use hindsight_store::format::{encode_frame, Flags, IndexRecord, INDEX_RECORD_LEN};
use hindsight_store::search::{self, IndexSource};
use hindsight_store::video::{IndexPolicy, IndexReader};
use hindsight_store::{
    Backend, EmbeddedStore, Interrupt, ReadOutcome, StreamName, Timestamp, VideoReader, VideoWriter,
};
use hindsight_testkit::{ratio, Latencies};

const MIB: usize = 1024 * 1024;
const FRAME_INTERVAL: Duration = Duration::from_millis(40);

fn cam() -> StreamName {
    StreamName::parse("bench/cam").expect("valid stream name")
}

fn t0() -> Timestamp {
    Timestamp::parse_rfc3339("2024-05-01T12:00:00Z").expect("valid time")
}

/// A fresh embedded store in a temporary directory; dropping the directory deletes everything written.
fn fresh_store() -> (tempfile::TempDir, EmbeddedStore) {
    let dir = tempfile::tempdir().expect("create temporary directory");
    let store = EmbeddedStore::open(dir.path()).expect("open embedded store");
    (dir, store)
}

/// How frames are appended in one measurement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Appender {
    /// `File::write_all` of the encoded frame: the floor.
    WriteAll,
    /// `File::write_all` plus `sync_data` after every 64 MiB: the floor with the durability the embedded
    /// backend gives, which syncs each segment when it starts the next.
    WriteAllSynced,
    /// The embedded backend's `ByteWriter::append` of the encoded frame.
    ByteWriter,
    /// `VideoWriter::append` of delta frames: framing, clamping and the index policy, but no index record
    /// and so no fsync.
    VideoWriter,
    /// `VideoWriter::append` at 25 frames/s with a key frame each second: one index record, and so one data
    /// and one index fsync, per second of video (what a recording does).
    VideoWriterIndexed,
    /// Like `VideoWriterIndexed`, keeping the hash chain too: two SHA-256 passes per frame, one chain entry, and
    /// a signature plus a chain fsync per index record (what a recording does since the chain exists).
    VideoWriterChained,
}

impl Appender {
    fn name(self) -> &'static str {
        match self {
            Appender::WriteAll => "write_all",
            Appender::WriteAllSynced => "write_all_sync_per_segment",
            Appender::ByteWriter => "byte_writer",
            Appender::VideoWriter => "video_writer",
            Appender::VideoWriterIndexed => "video_writer_indexed_1s",
            Appender::VideoWriterChained => "video_writer_indexed_1s_chain",
        }
    }
}

/// Appends `frames` frames of `payload` the given way into a fresh store and returns the time the appends
/// took (setup and cleanup not included).
fn time_appends(how: Appender, payload: &[u8], frames: u64) -> Duration {
    let (dir, store) = fresh_store();
    let encoded = encode_frame(Flags::new(false, false, false), t0(), payload);
    let elapsed = match how {
        Appender::WriteAll | Appender::WriteAllSynced => {
            let sync_every = if how == Appender::WriteAllSynced {
                DEFAULT_SEGMENT_SIZE
            } else {
                u64::MAX
            };
            let mut file = File::create(dir.path().join("plain")).expect("create file");
            let mut unsynced = 0u64;
            let start = Instant::now();
            for _ in 0..frames {
                // Like a segment roll: sync what is there before the write that would pass the size.
                if unsynced > 0 && unsynced + encoded.len() as u64 > sync_every {
                    file.sync_data().expect("sync_data");
                    unsynced = 0;
                }
                file.write_all(&encoded).expect("write_all");
                unsynced += encoded.len() as u64;
            }
            start.elapsed()
        }
        Appender::ByteWriter => {
            store.create(&cam()).expect("create stream");
            let mut w = store.writer(&cam()).expect("byte writer");
            let start = Instant::now();
            for _ in 0..frames {
                black_box(w.append(&encoded).expect("append"));
            }
            start.elapsed()
        }
        Appender::VideoWriter | Appender::VideoWriterIndexed | Appender::VideoWriterChained => {
            let indexed = how != Appender::VideoWriter;
            let policy = if indexed {
                IndexPolicy::default()
            } else {
                IndexPolicy {
                    min_interval: Duration::from_millis(500),
                    max_interval: Duration::MAX,
                }
            };
            let mut w = VideoWriter::open(&store, &cam(), policy).expect("video writer");
            if how == Appender::VideoWriterChained {
                let key = std::sync::Arc::new(SigningKey::from_secret([9; 32]));
                w = w.with_chain(&store, key).expect("chain");
            }
            let start = Instant::now();
            for i in 0..frames {
                let ts = t0().saturating_add(FRAME_INTERVAL * i as u32);
                black_box(w.append(payload, ts, indexed && i % 25 == 0).expect("append"));
            }
            start.elapsed()
        }
    };
    drop(dir);
    elapsed
}

fn bench_appends(c: &mut Criterion) {
    for (label, size) in [("1MiB", MIB), ("4KiB", 4096)] {
        let payload = vec![0x5Au8; size];
        let mut group = c.benchmark_group(format!("append_{label}"));
        group.throughput(Throughput::Bytes((size + 20) as u64));
        for how in [
            Appender::WriteAll,
            Appender::WriteAllSynced,
            Appender::ByteWriter,
            Appender::VideoWriter,
            Appender::VideoWriterIndexed,
            Appender::VideoWriterChained,
        ] {
            group.bench_function(how.name(), |b| {
                b.iter_custom(|iters| time_appends(how, &payload, iters))
            });
        }
        group.finish();
    }
}

/// `median(how) / median(baseline)` over `reps` back-to-back pairs of `frames` appends. Payloads are shaped
/// as an fMP4 fragment (a `moof` and an `mdat` around the bytes), so the chain hashes the sample as it does in
/// a recording.
fn append_ratio(how: Appender, baseline: Appender, size: usize, frames: u64, reps: usize) -> f64 {
    let mut payload = Vec::with_capacity(size + 64);
    payload.extend_from_slice(&48u32.to_be_bytes());
    payload.extend_from_slice(b"moof");
    payload.extend_from_slice(&[0u8; 40]);
    payload.extend_from_slice(&((size + 8) as u32).to_be_bytes());
    payload.extend_from_slice(b"mdat");
    payload.resize(56 + size, 0x5A);
    let (mut base, mut measured) = (Vec::new(), Vec::new());
    for _ in 0..reps {
        base.push(time_appends(baseline, &payload, frames));
        measured.push(time_appends(how, &payload, frames));
    }
    ratio(Latencies::new(measured).p50(), Latencies::new(base).p50())
}

/// An embedded index stream of `n` records: 25 frames/s of 40 KiB each, three of four records key frames
/// and every fourth forced at a delta frame.
fn index_fixture(n: u64) -> (tempfile::TempDir, EmbeddedStore) {
    let (dir, store) = fresh_store();
    let index = cam().index().expect("index name");
    store.create(&cam()).expect("create data stream");
    store.create(&index).expect("create index stream");
    let mut w = store.writer(&index).expect("index writer");
    let mut chunk = Vec::with_capacity(65_536 * INDEX_RECORD_LEN);
    for i in 0..n {
        let rec = IndexRecord {
            flags: Flags::new(false, i % 4 != 3, i == 0),
            timestamp: t0().saturating_add(Duration::from_secs(i)),
            offset: i * 25 * 40 * 1024,
        };
        chunk.extend_from_slice(&rec.encode());
        if chunk.len() == chunk.capacity() || i + 1 == n {
            w.append(&chunk).expect("append records");
            chunk.clear();
        }
    }
    w.sync().expect("sync index");
    (dir, store)
}

/// Query times spread over the index, from a fixed LCG so runs compare.
fn query_times(n: u64, count: usize) -> Vec<Timestamp> {
    let mut x = 0x2545_F491_4F6C_DD1Du64;
    (0..count)
        .map(|_| {
            x = x
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            t0().saturating_add(Duration::from_secs((x >> 11) % n) + Duration::from_millis(500))
        })
        .collect()
}

/// The linear scan the search replaces: read every record, take the last key frame at or before `t`.
fn linear_scan(index: &mut IndexReader, t: Timestamp) -> Option<IndexRecord> {
    let (_, records) = index.read_all().expect("read index");
    records
        .into_iter()
        .rev()
        .find(|r| r.timestamp <= t && r.is_seek_target())
}

fn bench_search(c: &mut Criterion, store: &EmbeddedStore, n: u64) {
    let times = query_times(n, 1024);
    let mut index = IndexReader::open(store, &cam()).expect("open index");
    assert_eq!(index.bounds().expect("bounds"), (0, n));
    let mut group = c.benchmark_group("index_search_1M");
    let mut i = 0;
    group.bench_function("seek_target_at_or_before", |b| {
        b.iter(|| {
            i = (i + 1) % times.len();
            black_box(search::seek_target_at_or_before(&mut index, times[i]).expect("search"))
        })
    });
    group.bench_function("linear_scan", |b| {
        b.iter(|| {
            i = (i + 1) % times.len();
            black_box(linear_scan(&mut index, times[i]))
        })
    });
    group.finish();
}

/// Median time of one search and of one scan, measured back to back; the results are checked to agree.
fn search_ratio(store: &EmbeddedStore, n: u64, searches: usize, scans: usize) -> (Duration, Duration) {
    let times = query_times(n, searches.max(scans));
    let mut index = IndexReader::open(store, &cam()).expect("open index");
    let mut search_times = Vec::new();
    for &t in &times[..searches] {
        let start = Instant::now();
        black_box(search::seek_target_at_or_before(&mut index, t).expect("search"));
        search_times.push(start.elapsed());
    }
    let mut scan_times = Vec::new();
    for &t in &times[..scans] {
        let start = Instant::now();
        let scanned = linear_scan(&mut index, t);
        scan_times.push(start.elapsed());
        let found = search::seek_target_at_or_before(&mut index, t).expect("search");
        assert_eq!(found.map(|(_, r)| r), scanned, "search and scan disagree at {t}");
    }
    (
        Latencies::new(search_times).p50(),
        Latencies::new(scan_times).p50(),
    )
}

/// Microseconds from an append to the return of a reader blocked in `next_frame` in another thread.
fn wake_up_latencies(samples: usize) -> Vec<Duration> {
    let (_dir, store) = fresh_store();
    let mut writer = VideoWriter::open(&store, &cam(), IndexPolicy::default()).expect("video writer");
    let (ready_tx, ready_rx) = mpsc::channel();
    let (woke_tx, woke_rx) = mpsc::channel();
    let reader_thread = {
        let store = store.clone();
        thread::spawn(move || {
            let mut reader = VideoReader::open(&store, &cam()).expect("video reader");
            let interrupt = Interrupt::new().expect("interrupt");
            for _ in 0..samples {
                ready_tx.send(()).expect("send ready");
                let outcome = reader
                    .next_frame(Instant::now() + Duration::from_secs(10), &interrupt)
                    .expect("next_frame");
                let woke = Instant::now();
                assert!(matches!(outcome, ReadOutcome::Frame(_)), "{outcome:?}");
                woke_tx.send(woke).expect("send wake-up time");
            }
        })
    };
    let payload = vec![0x5Au8; 4096];
    let mut latencies = Vec::with_capacity(samples);
    for i in 0..samples {
        ready_rx.recv().expect("reader ready");
        // Long enough for the reader to be asleep in poll(), as at a live edge.
        thread::sleep(Duration::from_millis(1));
        let appended = Instant::now();
        let ts = t0().saturating_add(FRAME_INTERVAL * i as u32);
        writer.append(&payload, ts, i % 25 == 0).expect("append");
        let woke = woke_rx.recv().expect("reader woke");
        latencies.push(woke.duration_since(appended));
    }
    reader_thread.join().expect("reader thread");
    latencies.sort_unstable();
    latencies
}

fn main() {
    // `cargo bench` passes --bench; `cargo test --benches` does not, and then everything runs once, briefly.
    let full = std::env::args().any(|a| a == "--bench");
    let mut c = Criterion::default()
        .measurement_time(Duration::from_secs(3))
        .warm_up_time(Duration::from_secs(1))
        .sample_size(10)
        .configure_from_args();

    bench_appends(&mut c);
    let records = if full { 1_000_000 } else { 10_000 };
    let (_index_dir, index_store) = index_fixture(records);
    bench_search(&mut c, &index_store, records);
    c.final_summary();

    let reps = if full { 7 } else { 1 };
    // 1 MiB: 320 frames pass the 64 MiB segment size four times, so the segment syncs are in the figures.
    let (big, small) = if full { (320, 32_768) } else { (4, 64) };
    // 40 KiB is a 720p frame; 2 500 of them are 100 s of video with 100 index records.
    let chain_frames = if full { 2500 } else { 64 };
    let ratios = [
        (
            "append/write_all 1MiB",
            Appender::VideoWriter,
            Appender::WriteAll,
            MIB,
            big,
        ),
        (
            "append/write_all 4KiB",
            Appender::VideoWriter,
            Appender::WriteAll,
            4096,
            small,
        ),
        (
            "byte_writer/write_all 1MiB",
            Appender::ByteWriter,
            Appender::WriteAll,
            MIB,
            big,
        ),
        (
            "append/write_all+sync_per_segment 1MiB",
            Appender::VideoWriter,
            Appender::WriteAllSynced,
            MIB,
            big,
        ),
        (
            "append/write_all+sync_per_segment 4KiB",
            Appender::VideoWriter,
            Appender::WriteAllSynced,
            4096,
            small,
        ),
        (
            "append+index_1s/write_all+sync_per_segment 1MiB",
            Appender::VideoWriterIndexed,
            Appender::WriteAllSynced,
            MIB,
            big,
        ),
        (
            "append+index_1s+chain/append+index_1s 1MiB",
            Appender::VideoWriterChained,
            Appender::VideoWriterIndexed,
            MIB,
            big,
        ),
        (
            "append+index_1s+chain/append+index_1s 40KiB",
            Appender::VideoWriterChained,
            Appender::VideoWriterIndexed,
            40 * 1024,
            chain_frames,
        ),
    ];
    println!();
    for (label, how, baseline, size, frames) in ratios {
        println!(
            "ratio {label}: {:.2}",
            append_ratio(how, baseline, size, frames, reps)
        );
    }

    let (search, scan) = search_ratio(&index_store, records, if full { 2000 } else { 20 }, reps);
    println!(
        "index search over {records} records: seek_target_at_or_before {:.1} us, linear scan {:.1} ms, \
         ratio scan/search: {:.0}",
        search.as_secs_f64() * 1e6,
        scan.as_secs_f64() * 1e3,
        scan.as_secs_f64() / search.as_secs_f64()
    );

    let latencies = Latencies::new(wake_up_latencies(if full { 500 } else { 20 }));
    println!(
        "tail wake-up append -> next_frame over {} samples: {}",
        latencies.len(),
        latencies.summary()
    );
}
