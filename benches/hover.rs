//! Hover thumbnails on a 7-day stream: the pointer reaches a key frame on the timeline → its image is decoded
//! and ready to paint, through the app's [`HoverThumbnails`] (the key frame found in the index the timeline
//! holds, one ranged read of its bytes, decoded on a worker), on the embedded store and on Pravega (when
//! `HINDSIGHT_PRAVEGA_CONTROLLER` names a server: `scripts/with-pravega cargo bench --bench hover`). Baseline in
//! the same run: decoding the same key frame's bytes from memory (no store, no index). 100 hovers at the same
//! pseudo-random times for each, with a cold cache, then the same again (cache hits). Figures only.
//!
//! The 7 days are made quickly: 60 key frames of a 160x90 test pattern are recorded for real, then written again
//! and again in the wire format, one every 30 s for 7 days (20 160 key frames), straight to the byte streams.

use std::path::Path;
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hindsight::engine::hover::{key_frame_at, HoverThumbnails};
use hindsight::engine::thumbnail;
use hindsight_store::format::{split_payload, Flags, IndexRecord};
use hindsight_store::video::{IndexReader, ReadOutcome, VideoReader};
use hindsight_store::{Backend, Interrupt, StoreUri, StreamName, Timestamp};
use hindsight_testkit::{ms, ratio, Latencies};

const HOVERS: usize = 100;
const DAYS: u64 = 7;
const EVERY_SECS: u64 = 30;
const WIDTH: u32 = 240;

fn main() {
    hindsight::engine::init().expect("media engine");
    gstpravega::register_static().expect("elements");
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("hover-bench");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("bench directory");
    let payloads = record_key_frames(&dir.join("source"));
    println!(
        "== hover thumbnails: {DAYS} days of 160x90 H.264, a key frame every {EVERY_SECS} s ({} key frames), image {WIDTH} px wide ==",
        DAYS * 86_400 / EVERY_SECS
    );
    let embedded = StoreUri::embedded(dir.join("store")).open_new().expect("store");
    run("embedded store", embedded, &payloads);
    match hindsight_testkit::env::pravega_controller("the hover bench on Pravega") {
        Some(uri) => {
            let store = StoreUri::parse(&uri)
                .and_then(|u| u.open())
                .expect("Pravega store");
            run("Pravega", store, &payloads);
        }
        None => println!("Pravega: skipped (no HINDSIGHT_PRAVEGA_CONTROLLER)"),
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Records 60 all-key-frame fragments of a test pattern and returns their payloads (each decodes alone).
fn record_key_frames(store_dir: &Path) -> Vec<Vec<u8>> {
    let store = StoreUri::embedded(store_dir).open_new().expect("store");
    let pipeline = hindsight_testkit::pipeline::launch(&format!(
        "videotestsrc num-buffers=60 pattern=ball ! video/x-raw,width=160,height=90,framerate=30/1 ! \
         x264enc key-int-max=1 speed-preset=ultrafast tune=zerolatency ! h264parse ! \
         video/x-h264,alignment=au ! mp4mux streamable=true fragment-duration=1 ! \
         pravegasink store=\"{}\" stream=src/keys",
        store_dir.display()
    ));
    hindsight_testkit::pipeline::run_until_eos(&pipeline, Duration::from_secs(60));
    let name = StreamName::parse("src/keys").expect("name");
    let mut reader = VideoReader::open(store.as_ref(), &name).expect("reader");
    let interrupt = Interrupt::new().expect("interrupt");
    let mut out = Vec::new();
    while let ReadOutcome::Frame(f) = reader.next_frame(Instant::now(), &interrupt).expect("read") {
        if f.header.flags.random_access() {
            out.push(f.payload);
        }
    }
    assert!(out.len() >= 50, "{} key frames recorded", out.len());
    out
}

/// Writes the 7-day stream into `store` in the wire format and returns its index records.
fn write_week(store: &dyn Backend, name: &StreamName, payloads: &[Vec<u8>]) -> Vec<IndexRecord> {
    let index_name = name.index().expect("index name");
    store.create(name).expect("create data");
    store.create(&index_name).expect("create index");
    let mut data = store.writer(name).expect("data writer");
    let mut index = store.writer(&index_name).expect("index writer");
    let start = Timestamp::now().saturating_sub(Duration::from_secs(DAYS * 86_400));
    let mut records = Vec::new();
    let (mut data_buf, mut index_buf) = (Vec::new(), Vec::new());
    let mut offset = data.tail();
    for i in 0..DAYS * 86_400 / EVERY_SECS {
        let ts = start.saturating_add(Duration::from_secs(i * EVERY_SECS));
        let flags = Flags::new(true, true, i == 0);
        let record = IndexRecord {
            flags: Flags::new(false, true, i == 0),
            timestamp: ts,
            offset,
        };
        for frame in split_payload(flags, ts, &payloads[i as usize % payloads.len()]) {
            offset += frame.len() as u64;
            data_buf.extend_from_slice(&frame);
        }
        index_buf.extend_from_slice(&record.encode());
        records.push(record);
        if data_buf.len() > 1 << 20 {
            data.append(&std::mem::take(&mut data_buf)).expect("append data");
            index
                .append(&std::mem::take(&mut index_buf))
                .expect("append index");
        }
    }
    data.append(&data_buf).expect("append data");
    index.append(&index_buf).expect("append index");
    data.sync().expect("sync");
    index.sync().expect("sync");
    records
}

/// Hover times over the week, the same for every store.
fn hover_times(records: &[IndexRecord]) -> Vec<Timestamp> {
    let (first, last) = (records[0].timestamp, records[records.len() - 1].timestamp);
    let span = last.duration_since(first).as_nanos() as u64;
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    (0..HOVERS)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            Timestamp::from_nanos(first.nanos() + x % span)
        })
        .collect()
}

fn run(label: &str, store: Arc<dyn Backend>, payloads: &[Vec<u8>]) {
    let scope = hindsight_testkit::env::unique_scope("hover");
    let name = StreamName::parse(&format!("{scope}/week")).expect("name");
    let written = Instant::now();
    let records = write_week(store.as_ref(), &name, payloads);
    let (_, stored) = IndexReader::open(store.as_ref(), &name)
        .and_then(|mut i| i.read_all())
        .expect("index");
    assert_eq!(stored.len(), records.len());
    println!(
        "{label}: 7-day stream written in {:.1} s",
        written.elapsed().as_secs_f64()
    );
    let times = hover_times(&records);

    let (tx, rx) = mpsc::channel();
    let hover = HoverThumbnails::new(store.clone(), name.clone(), WIDTH, move |r| {
        let _ = tx.send((r, Instant::now()));
    })
    .expect("hover thumbnails");
    let mut cold = Vec::new();
    let mut warm = Vec::new();
    for pass in 0..2 {
        for t in &times {
            let record = key_frame_at(&records, *t).expect("a key frame");
            let asked = Instant::now();
            match hover.request(record) {
                Ok(_) => warm.push(asked.elapsed()),
                Err(generation) => loop {
                    let (r, at) = rx.recv_timeout(Duration::from_secs(30)).expect("a thumbnail");
                    if r.generation == generation {
                        r.thumbnail.expect("decoded");
                        if pass == 0 {
                            cold.push(at - asked);
                        } else {
                            warm.push(at - asked);
                        }
                        break;
                    }
                },
            }
        }
    }
    let baseline: Vec<Duration> = times
        .iter()
        .map(|t| {
            let record = key_frame_at(&records, *t).expect("a key frame");
            let i = records
                .iter()
                .position(|r| r.offset == record.offset)
                .unwrap_or(0);
            let payload = &payloads[i % payloads.len()];
            let start = Instant::now();
            thumbnail::decode(payload, WIDTH).expect("decode");
            start.elapsed()
        })
        .collect();
    let (c, w, b) = (
        Latencies::new(cold),
        Latencies::new(warm),
        Latencies::new(baseline),
    );
    println!("{label}: hover -> image ready ({HOVERS} hovers over {DAYS} days):");
    println!(
        "  cold cache:                  p50 {}  p95 {}",
        ms(c.p50()),
        ms(c.p95())
    );
    println!(
        "  baseline (decode from RAM):  p50 {}  p95 {}",
        ms(b.p50()),
        ms(b.p95())
    );
    println!(
        "  ratio hover/baseline:        p50 {:.2}x  p95 {:.2}x",
        ratio(c.p50(), b.p50()),
        ratio(c.p95(), b.p95())
    );
    println!(
        "  again (cache hits):          p50 {}  p95 {}",
        ms(w.p50()),
        ms(w.p95())
    );
    let (n, bytes) = hover.cached();
    println!("  cache: {n} images, {:.1} MiB", bytes as f64 / (1024.0 * 1024.0));
    drop(hover);
    if let Err(e) = hindsight_store::video::delete_video_stream(store.as_ref(), &name) {
        println!("  (could not delete the bench stream: {e})");
    }
}
