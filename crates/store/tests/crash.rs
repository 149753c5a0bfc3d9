//! Crash safety of the embedded store and the video writer (DESIGN.md §3): a child process appends frames as
//! fast as it can and is killed with SIGKILL at random moments; after each kill a new writer repairs the
//! stream, every frame must parse, the index must point only at frame starts inside the data, readers must
//! read everything without an error, the hash chain kept beside the stream must verify (a kill may leave it
//! behind the data, never ahead of it or torn), and the new writer must append and mark its first frame
//! discontinuous.
//!
//! The child is this test binary re-executed with [`CHILD_ENV`] set, running only [`crash_child`]. Replay a
//! failing run with the seed it prints: `HINDSIGHT_CRASH_SEED=<seed> cargo test -p hindsight-store --test crash`.

mod common;

use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::verify::verify;
use common::{child, name, payload, seed_from_env, temp_store, Rng};
use hindsight_store::evidence::SigningKey;
use hindsight_store::format::{
    encode_frame, Flags, FrameHeader, IndexRecord, FRAME_HEADER_LEN, INDEX_RECORD_LEN,
};
use hindsight_store::video::{self, read_exact_at, IndexPolicy};
use hindsight_store::{Backend, EmbeddedStore, StreamName, Timestamp, VideoWriter};

/// Set to the store directory in the child's environment.
const CHILD_ENV: &str = "HINDSIGHT_CRASH_CHILD";
/// The child's own PRNG seed, derived from the parent's so a run replays exactly.
const CHILD_SEED_ENV: &str = "HINDSIGHT_CRASH_CHILD_SEED";
/// Printed by the child once its writer is open, so kills land while it writes rather than while it starts.
const READY: &str = "CRASH-CHILD-READY";
/// Small segments so that kills also land around segment rolls.
const SEGMENT_SIZE: u64 = 64 * 1024;
/// Past this many stored bytes the parent truncates, so that checking stays fast.
const KEEP_BYTES: u64 = 16 * 1024 * 1024;
const STREAM: &str = "crash/cam";

/// Every writer of the test, child or parent, keeps the hash chain with this key.
fn open_writer(store: &EmbeddedStore, mode: Mode) -> hindsight_store::Result<VideoWriter> {
    let key = std::sync::Arc::new(SigningKey::from_secret([7; 32]));
    VideoWriter::open(store, &name(STREAM), mode.policy())?.with_chain(store, key)
}

#[test]
#[ignore = "child half of sigkill_at_random_moments_leaves_a_repairable_stream; runs only when re-executed by it"]
fn crash_child() {
    let Some((dir, seed)) = child::child_env(CHILD_ENV, CHILD_SEED_ENV) else {
        return;
    };
    let mode = Mode::from_env();
    let mut rng = Rng::new(seed);
    let store = EmbeddedStore::open(&dir)
        .expect("child: open embedded store")
        .with_segment_size(mode.segment_size());
    // Payloads are made up front so that in fast mode the loop is almost only write() calls, where a kill
    // can tear a frame.
    let mut seq = rng.next_u64() >> 16;
    let pool: Vec<Vec<u8>> = (0..16)
        .map(|i| payload(seq + i, rng.range(100, 200 * 1024 + 1) as usize))
        .collect();
    let mut writer = open_writer(&store, mode).expect("child: open writer");
    println!("{READY}");
    loop {
        let p = &pool[(seq % 16) as usize];
        writer
            .append(p, Timestamp::now(), seq % 4 == 0)
            .expect("child: append");
        seq += 1;
    }
}

/// How the child writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// 64 KiB segments and frequent index records: kills land in segment rolls, fsyncs and index appends.
    Sync,
    /// Default (64 MiB) segments and about one index record a second: no fsync, the child is mostly inside
    /// write(), so kills tear frames (a kill cuts a buffered write short at a page boundary).
    Fast,
}

const MODE_ENV: &str = "HINDSIGHT_CRASH_CHILD_MODE";

impl Mode {
    fn from_env() -> Self {
        match std::env::var(MODE_ENV).as_deref() {
            Ok("fast") => Mode::Fast,
            _ => Mode::Sync,
        }
    }

    fn as_env(self) -> &'static str {
        match self {
            Mode::Sync => "sync",
            Mode::Fast => "fast",
        }
    }

    fn segment_size(self) -> u64 {
        match self {
            Mode::Sync => SEGMENT_SIZE,
            Mode::Fast => hindsight_store::embedded::DEFAULT_SEGMENT_SIZE,
        }
    }

    fn policy(self) -> IndexPolicy {
        match self {
            // Indexes often and forces records at delta frames too.
            Mode::Sync => IndexPolicy {
                min_interval: Duration::from_millis(2),
                max_interval: Duration::from_millis(5),
            },
            Mode::Fast => IndexPolicy {
                min_interval: Duration::from_secs(1),
                max_interval: Duration::from_secs(10),
            },
        }
    }
}

/// Starts a child writer and returns once it is writing.
fn spawn_child(dir: &Path, seed: u64, mode: Mode) -> std::process::Child {
    let seed = seed.to_string();
    let dir = dir.to_string_lossy();
    let (child, _) = child::spawn(
        "crash_child",
        &[
            (CHILD_ENV, &dir),
            (CHILD_SEED_ENV, &seed),
            (MODE_ENV, mode.as_env()),
        ],
        READY,
    );
    child
}

fn stream_dir(store: &EmbeddedStore, stream: &StreamName) -> PathBuf {
    store.root().join(stream.scope()).join(stream.stream())
}

/// Appends `bytes` to a byte stream's files as a dying writer could have: to its last segment, or to a new
/// segment starting at the tail (a crash right after a roll).
fn append_raw(store: &EmbeddedStore, stream: &StreamName, bytes: &[u8], new_segment: bool) {
    let dir = stream_dir(store, stream);
    let tail = store.info(stream).expect("info").tail;
    let mut segments: Vec<u64> = std::fs::read_dir(&dir)
        .expect("list stream directory")
        .filter_map(|e| e.ok()?.file_name().to_str()?.strip_suffix(".seg")?.parse().ok())
        .collect();
    segments.sort_unstable();
    let start = match segments.last() {
        Some(&last) if !new_segment || last == tail => last,
        _ => tail,
    };
    let path = dir.join(format!("{start:020}.seg"));
    let mut file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .expect("open segment file");
    file.write_all(bytes).expect("write torn bytes");
}

/// A torn tail made on purpose, so every run repairs some whatever the kills hit: a frame cut short (maybe in
/// a fresh segment), and an index record cut short or pointing at that frame (as a writer that appends the
/// record before its frame, like the original plugin, leaves behind). Call it on a repaired stream only: no
/// writer appends after a torn write of its own. Returns a description for the log.
fn simulate_torn_tail(store: &EmbeddedStore, cam: &StreamName, rng: &mut Rng) -> String {
    let tail = store.info(cam).expect("info").tail;
    let frame = encode_frame(
        Flags::new(true, true, false),
        Timestamp::now(),
        &payload(rng.next_u64() >> 16, rng.range(100, 200 * 1024) as usize),
    );
    let cut = rng.range(1, frame.len() as u64) as usize;
    let new_segment = rng.range(0, 4) == 0;
    append_raw(store, cam, &frame[..cut], new_segment);
    let record = IndexRecord {
        flags: Flags::new(false, true, false),
        timestamp: Timestamp::now(),
        offset: tail,
    }
    .encode();
    let index = cam.index().expect("index name");
    let what = match rng.range(0, 3) {
        0 => "no index record".to_owned(),
        1 => {
            let n = rng.range(1, INDEX_RECORD_LEN as u64) as usize;
            append_raw(store, &index, &record[..n], false);
            format!("{n} bytes of a record")
        }
        _ => {
            append_raw(store, &index, &record, false);
            "a record for it".to_owned()
        }
    };
    format!(
        "simulated {cut} of {} bytes{} and {what}",
        frame.len(),
        if new_segment { " in a new segment" } else { "" }
    )
}

#[test]
fn sigkill_at_random_moments_leaves_a_repairable_stream() {
    let started = Instant::now();
    let seed = seed_from_env("HINDSIGHT_CRASH_SEED");
    let mut rng = Rng::new(seed);
    let (_dir, store) = temp_store(SEGMENT_SIZE);
    let root = store.root().to_path_buf();
    let cam = name(STREAM);
    let index_name = cam.index().expect("index name");
    let (mut torn_data, mut torn_index, mut wrote, mut checked_to) = (0, 0, 0, 0);

    let rounds = common::rounds();
    for round in 0..rounds {
        let mode = if round % 3 == 1 { Mode::Fast } else { Mode::Sync };
        let mut child = spawn_child(&root, rng.next_u64(), mode);
        let delay = Duration::from_millis(rng.range(5, 151));
        child::kill_after(&mut child, delay, round);
        // The kernel dropped the dead writer's lock.
        assert_eq!(
            store.info(&cam).expect("info").writer_active,
            Some(false),
            "lock outlived its process"
        );

        let simulated = if round % 4 == 3 {
            // Repair what the kill left first: a writer never appends after a torn write of its own.
            let before = store.info(&cam).expect("data info");
            drop(open_writer(&store, mode).expect("open writer after the crash"));
            torn_data += usize::from(store.info(&cam).expect("data info").tail != before.tail);
            Some(simulate_torn_tail(&store, &cam, &mut rng))
        } else {
            None
        };
        let before = store.info(&cam).expect("data info");
        let index_before = store.info(&index_name).expect("index info");

        // Opening a writer repairs the stream; check it as readers will see it.
        let mut writer = open_writer(&store, mode).expect("open writer after the crash");
        let checked = verify(&store, &cam, checked_to);
        let data_repaired = checked.tail != before.tail;
        let index_repaired = store.info(&index_name).expect("index info").tail != index_before.tail;
        if simulated.is_some() {
            assert!(
                data_repaired,
                "round {round}: the simulated torn frame was not dropped"
            );
        } else {
            torn_data += usize::from(data_repaired);
            torn_index += usize::from(index_repaired);
        }
        wrote += usize::from(checked.tail > checked_to);

        // The new writer appends, and its first frame and record say there was a break.
        let appended = writer
            .append(&payload(u64::MAX - round as u64, 1000), Timestamp::now(), true)
            .expect("append after the crash");
        assert_eq!(
            appended.offset, checked.tail,
            "appends continue at the repaired tail"
        );
        let record = appended.record.expect("a new writer indexes its first key frame");
        assert!(record.flags.discontinuity() && record.is_seek_target());
        let mut reader = store.reader(&cam).expect("byte reader");
        let mut header = [0u8; FRAME_HEADER_LEN];
        assert!(read_exact_at(reader.as_mut(), appended.offset, &mut header).expect("read header"));
        let header = FrameHeader::decode(&header).expect("new frame parses");
        assert!(
            header.flags.discontinuity(),
            "first frame after a crash is not discontinuous"
        );
        // Alternate between a clean stop (end record) and leaving the stream as a crash would.
        if round % 2 == 0 {
            writer.finish(None).expect("finish");
        } else {
            drop(writer);
        }
        let after = store.info(&cam).expect("info");
        println!(
            "round {round:2} ({:?}): killed after {:3} ms; {} frames, {} records, bytes {}..{}{}{}",
            mode,
            delay.as_millis(),
            checked.frames,
            checked.records,
            checked.head,
            checked.tail,
            if data_repaired {
                "; dropped a torn frame"
            } else {
                ""
            },
            simulated.map(|s| format!(" ({s})")).unwrap_or_default(),
        );
        checked_to = checked.tail;
        // Keep the stream small; this also puts repairs after truncation to the test.
        if after.tail - after.head > KEEP_BYTES {
            video::truncate_before_time(&store, &cam, Timestamp::MAX)
                .expect("truncate")
                .expect("a key frame to truncate at");
        }
    }
    // The state the last round left (after its clean or crash-like stop) is checked too.
    verify(&store, &cam, checked_to);
    println!(
        "{rounds} kills: the child had written in {wrote}; real kills left {torn_data} torn data tails and \
         {torn_index} torn or dangling index tails; {:?}",
        started.elapsed()
    );
    // Kills before the first append test little; most rounds must have caught the child writing.
    assert!(
        wrote * 2 >= rounds,
        "the child wrote in only {wrote} of {rounds} rounds"
    );
}
