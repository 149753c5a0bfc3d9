//! Case export: every camera's MP4 through the clip export, then the manifest that ties each MP4 sample to
//! the stored frame and to the chain entries recorded with it.

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{anyhow, bail, Context};
use hindsight_store::evidence::{sample_digest, ChainReader, EntryKind, ENTRY_LEN};
use hindsight_store::video::{IndexReader, VideoReader};
use hindsight_store::{Backend, Interrupt, ReadOutcome, StreamName, Timestamp};

use super::manifest::{self, frame_chain, Camera, Frame, IndexRecord, Manifest, Range, FORMAT};
use super::samples;
use crate::engine::export::{self, ExportOptions};

/// What to export.
#[derive(Clone)]
pub struct CaseOptions {
    /// The store.
    pub store: Arc<dyn Backend>,
    /// The cameras, in the order they are shown.
    pub streams: Vec<StreamName>,
    /// Start of the range (each clip starts at the key frame at or before it).
    pub from: Timestamp,
    /// End of the range.
    pub to: Timestamp,
    /// The case folder (created; must be empty if it exists).
    pub dir: PathBuf,
    /// The key that signs the manifest.
    pub key: Arc<hindsight_store::evidence::SigningKey>,
}

/// The MP4 name of a camera in the case folder.
pub fn file_name(stream: &StreamName) -> String {
    format!("{}_{}.mp4", stream.scope(), stream.stream())
}

/// Exports the case. `progress(camera, fraction)` reports each camera's export; `cancel` stops it (the case
/// folder is then left without a manifest, so it never verifies).
pub fn export_case(
    opts: &CaseOptions,
    cancel: &AtomicBool,
    mut progress: impl FnMut(usize, f64),
) -> anyhow::Result<Manifest> {
    if opts.streams.is_empty() {
        bail!("a case needs at least one camera");
    }
    prepare_dir(&opts.dir)?;
    let mut cameras = Vec::with_capacity(opts.streams.len());
    for (i, stream) in opts.streams.iter().enumerate() {
        let file = file_name(stream);
        let output = opts.dir.join(&file);
        let summary = export::run(
            &ExportOptions {
                store: opts.store.clone(),
                stream: stream.clone(),
                from: opts.from,
                to: opts.to,
                output: output.clone(),
            },
            cancel,
            |f| progress(i, f),
        )
        .with_context(|| format!("cannot export {stream}"))?;
        cameras.push(
            describe_camera(opts.store.as_ref(), stream, &file, &output, summary.first)
                .with_context(|| format!("cannot describe {stream} in the case"))?,
        );
        progress(i, 1.0);
    }
    let mut manifest = Manifest {
        format: FORMAT.into(),
        created_utc: Timestamp::now().to_rfc3339(),
        store: opts.store.uri(),
        range: Range {
            from_utc: opts.from.to_rfc3339(),
            to_utc: opts.to.to_rfc3339(),
            from_local: local(opts.from),
            to_local: local(opts.to),
        },
        cameras,
        public_key: String::new(),
        signature: String::new(),
    };
    manifest.sign(&opts.key)?;
    let text = serde_json::to_string_pretty(&manifest)?;
    let path = opts.dir.join(manifest::MANIFEST);
    std::fs::write(&path, text + "\n").with_context(|| format!("cannot write {}", path.display()))?;
    Ok(manifest)
}

fn prepare_dir(dir: &Path) -> anyhow::Result<()> {
    if dir.exists() {
        let mut entries = std::fs::read_dir(dir).with_context(|| format!("cannot read {}", dir.display()))?;
        if entries.next().is_some() {
            bail!(
                "{} is not empty: a case goes into a new or empty folder",
                dir.display()
            );
        }
    }
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))
}

/// `2024-05-01T14:03:07+02:00` in the local time zone.
fn local(t: Timestamp) -> String {
    let secs = t.to_utc().datetime.unix_timestamp();
    gst::glib::DateTime::from_unix_local(secs)
        .and_then(|d| d.format("%Y-%m-%dT%H:%M:%S%:z"))
        .map(|s| s.to_string())
        .unwrap_or_else(|_| t.to_rfc3339())
}

/// Matches the MP4's samples one by one with the stored frames from the clip's first key frame on, and
/// collects the index records and the recording chain entries that cover them.
fn describe_camera(
    store: &dyn Backend,
    stream: &StreamName,
    file: &str,
    mp4: &Path,
    first: Timestamp,
) -> anyhow::Result<Camera> {
    let exported = samples::sample_digests(mp4)?;
    let mut reader = VideoReader::open(store, stream)?;
    reader
        .seek_to_time(first)?
        .ok_or_else(|| anyhow!("no key frame at {}", first.to_rfc3339()))?;
    let interrupt = Interrupt::new()?;
    let mut frames = Vec::with_capacity(exported.len());
    let mut previous = [0u8; 32];
    for (n, want) in exported.iter().enumerate() {
        let frame = match reader.next_frame(Instant::now(), &interrupt)? {
            ReadOutcome::Frame(f) => f,
            _ => bail!(
                "the MP4 has {} frames, the store only {n} from {}",
                exported.len(),
                first.to_rfc3339()
            ),
        };
        let stored = sample_digest(&frame.payload);
        if &stored != want {
            bail!(
                "frame {n} of the MP4 differs from the stored frame at {}: the export changed the coded samples",
                frame.header.timestamp.to_rfc3339()
            );
        }
        let ts = frame.header.timestamp.nanos();
        previous = frame_chain(&previous, ts, &stored);
        frames.push(Frame {
            timestamp_ns: ts,
            time_utc: frame.header.timestamp.to_rfc3339(),
            sample_sha256: hex::encode(stored),
            chain: hex::encode(previous),
        });
    }
    let (Some(first_frame), Some(last_frame)) = (frames.first(), frames.last()) else {
        bail!("the MP4 of {stream} has no frames");
    };
    let (t0, t1) = (first_frame.timestamp_ns, last_frame.timestamp_ns);

    let mut index = IndexReader::open(store, stream)?;
    let (_, records) = index.read_all()?;
    let index_records = records
        .iter()
        .filter(|r| (t0..=t1).contains(&r.timestamp.nanos()))
        .map(|r| IndexRecord {
            timestamp_ns: r.timestamp.nanos(),
            offset: r.offset,
            random_access: r.is_seek_target(),
            discontinuity: r.flags.discontinuity(),
        })
        .collect();

    Ok(Camera {
        stream: stream.to_string(),
        file: file.to_owned(),
        file_sha256: hex::encode(samples::file_digest(mp4)?),
        frames,
        index_records,
        recording_chain: recording_chain(store, stream, t0, t1)?,
    })
}

/// The chain entries from the one before the first frame at or after `t0` to the first signature after the
/// last frame at or before `t1`, hex-encoded.
fn recording_chain(
    store: &dyn Backend,
    stream: &StreamName,
    t0: u64,
    t1: u64,
) -> anyhow::Result<Vec<String>> {
    let Some(mut chain) = ChainReader::open(store, stream)? else {
        return Ok(Vec::new());
    };
    let (first, end) = chain.bounds()?;
    let start = chain.first_at_or_after(first, end, t0, |e| e.timestamp.nanos())?;
    let start = start.saturating_sub(1).max(first);
    let mut out = Vec::new();
    let mut n = start;
    let mut past_last = false;
    while n < end {
        let to = (n + 1024).min(end);
        for raw in chain.raw_range(n, to)? {
            let entry = hindsight_store::evidence::Entry::decode(&raw)?;
            out.push(hex::encode(raw));
            past_last |= entry.kind == EntryKind::Frame && entry.timestamp.nanos() >= t1;
            if past_last && entry.kind == EntryKind::Signature {
                return Ok(out);
            }
        }
        n = to;
    }
    // No signature after the last frame yet (the writer is recording, or was killed): the chain still links.
    debug_assert!(out.iter().all(|e| e.len() == ENTRY_LEN * 2));
    Ok(out)
}
