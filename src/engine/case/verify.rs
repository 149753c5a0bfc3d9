//! `hindsight verify CASE`: the manifest's signature, each camera's frame chain, the MP4s' samples against the
//! manifest, the recording-time chain entries the case carries, and (with a store) the stream as it is now.

use std::path::Path;
use std::time::Instant;

use hindsight_store::evidence::{self, sample_digest, signed_message, Entry, EntryKind, ENTRY_LEN};
use hindsight_store::video::VideoReader;
use hindsight_store::{Backend, Interrupt, ReadOutcome, StreamName, Timestamp};

use super::manifest::{frame_chain, hex_array, Camera, Manifest, MANIFEST};
use super::samples;

/// What verifying a case found.
#[derive(Debug, Clone, Default)]
pub struct CaseReport {
    /// The manifest's signing key (hex), when the manifest could be read.
    pub public_key: Option<String>,
    /// Per camera: stream, frames that matched, and what the recording chain says.
    pub cameras: Vec<CameraReport>,
    /// Everything that does not match, each naming the file, the camera and the frame.
    pub problems: Vec<String>,
}

impl CaseReport {
    /// True when nothing contradicts the manifest, the files or the recording.
    pub fn is_intact(&self) -> bool {
        self.problems.is_empty()
    }
}

/// One camera's result.
#[derive(Debug, Clone, Default)]
pub struct CameraReport {
    /// SCOPE/STREAM.
    pub stream: String,
    /// The MP4.
    pub file: String,
    /// Frames whose sample matched the manifest.
    pub frames_matched: usize,
    /// Frames in the manifest.
    pub frames: usize,
    /// Recording keys whose signatures cover the frames (fingerprints); empty without a chain.
    pub recorded_by: Vec<String>,
    /// The case carries chain entries for this camera.
    pub has_recording_chain: bool,
}

/// Verifies the case in `dir`; with `store`, also against the streams as they are stored now.
pub fn verify_case(dir: &Path, store: Option<&dyn Backend>) -> CaseReport {
    let mut report = CaseReport::default();
    let path = dir.join(MANIFEST);
    let manifest = match std::fs::read_to_string(&path)
        .map_err(anyhow::Error::from)
        .and_then(|t| Manifest::parse(&t))
    {
        Ok(m) => m,
        Err(e) => {
            report.problems.push(format!("{}: {e:#}", path.display()));
            return report;
        }
    };
    report.public_key = Some(manifest.public_key.clone());
    if !manifest.signature_ok() {
        report.problems.push(format!(
            "{MANIFEST}: the signature does not verify: the manifest was changed after it was signed"
        ));
    }
    for camera in &manifest.cameras {
        let mut c = CameraReport {
            stream: camera.stream.clone(),
            file: camera.file.clone(),
            frames: camera.frames.len(),
            has_recording_chain: !camera.recording_chain.is_empty(),
            ..CameraReport::default()
        };
        check_frame_chain(camera, &mut report.problems);
        check_mp4(dir, camera, &mut c, &mut report.problems);
        check_recording_chain(camera, &mut c, &mut report.problems);
        if let Some(store) = store {
            check_store(store, camera, &mut report.problems);
        }
        report.cameras.push(c);
    }
    report
}

fn frame_label(camera: &Camera, n: usize) -> String {
    let time = camera.frames.get(n).map(|f| f.time_utc.as_str()).unwrap_or("?");
    format!("camera {} ({}), frame {n} at {time}", camera.stream, camera.file)
}

fn check_frame_chain(camera: &Camera, problems: &mut Vec<String>) {
    let mut previous = [0u8; 32];
    for (n, frame) in camera.frames.iter().enumerate() {
        let (Ok(sample), Ok(chain)) = (
            hex_array::<32>(&frame.sample_sha256),
            hex_array::<32>(&frame.chain),
        ) else {
            problems.push(format!(
                "{}: the manifest's hashes are not hex",
                frame_label(camera, n)
            ));
            return;
        };
        if frame_chain(&previous, frame.timestamp_ns, &sample) != chain {
            problems.push(format!(
                "{}: the manifest's frame chain breaks here (frames removed, added or changed)",
                frame_label(camera, n)
            ));
            return;
        }
        previous = chain;
    }
}

fn check_mp4(dir: &Path, camera: &Camera, report: &mut CameraReport, problems: &mut Vec<String>) {
    let path = dir.join(&camera.file);
    // The manifest names files inside the case only.
    if Path::new(&camera.file).components().count() != 1 {
        problems.push(format!(
            "camera {}: file name {:?} leaves the case folder",
            camera.stream, camera.file
        ));
        return;
    }
    let mut count = 0;
    let mut mismatched = false;
    let result = samples::for_each_sample(&path, |n, digest| {
        count = n + 1;
        match camera.frames.get(n) {
            Some(f) if hex::encode(digest) == f.sample_sha256 => report.frames_matched += 1,
            Some(_) => {
                mismatched = true;
                problems.push(format!(
                    "{}: the MP4's sample bytes differ from the manifest",
                    frame_label(camera, n)
                ));
            }
            None => {}
        }
        Ok(())
    });
    if let Err(e) = result {
        if count < camera.frames.len() {
            problems.push(format!("{}: {e:#}", frame_label(camera, count)));
        } else {
            problems.push(format!("camera {} ({}): {e:#}", camera.stream, camera.file));
        }
        return;
    }
    if count < camera.frames.len() {
        problems.push(format!(
            "camera {} ({}): the MP4 holds {count} of the manifest's {} frames; the frames from {} on are missing",
            camera.stream,
            camera.file,
            camera.frames.len(),
            camera.frames[count].time_utc
        ));
        mismatched = true;
    } else if count > camera.frames.len() {
        problems.push(format!(
            "camera {} ({}): the MP4 holds {} frames the manifest does not list",
            camera.stream,
            camera.file,
            count - camera.frames.len()
        ));
        mismatched = true;
    }
    if !mismatched {
        match samples::file_digest(&path) {
            Ok(d) if hex::encode(d) == camera.file_sha256 => {}
            Ok(_) => problems.push(format!(
                "camera {} ({}): bytes outside the video samples changed (every frame still matches)",
                camera.stream, camera.file
            )),
            Err(e) => problems.push(format!("camera {}: {e:#}", camera.stream)),
        }
    }
}

/// The chain entries recorded with the frames: they must link, their signatures must verify, and their frame
/// entries must carry the manifest's frames (time and sample hash) in order.
fn check_recording_chain(camera: &Camera, report: &mut CameraReport, problems: &mut Vec<String>) {
    if camera.recording_chain.is_empty() {
        return;
    }
    let mut entries = Vec::with_capacity(camera.recording_chain.len());
    for (i, text) in camera.recording_chain.iter().enumerate() {
        match hex_array::<ENTRY_LEN>(text)
            .ok()
            .and_then(|raw| Entry::decode(&raw).ok())
        {
            Some(e) => entries.push(e),
            None => {
                problems.push(format!(
                    "camera {}: recording chain entry {i} is not a chain entry",
                    camera.stream
                ));
                return;
            }
        }
    }
    let (Some(first), Some(last)) = (camera.frames.first(), camera.frames.last()) else {
        return;
    };
    let (t0, t1) = (first.timestamp_ns, last.timestamp_ns);
    let mut next = 0usize;
    let mut signed_through = None;
    for (i, pair) in entries.windows(2).enumerate() {
        let (prev, e) = (&pair[0], &pair[1]);
        if e.link(&prev.chain) != e.chain {
            problems.push(format!(
                "camera {}: recording chain entry {} does not follow from the one before it",
                camera.stream,
                i + 1
            ));
            return;
        }
        match e.kind {
            EntryKind::Frame if (t0..=t1).contains(&e.timestamp.nanos()) && next < camera.frames.len() => {
                let f = &camera.frames[next];
                if f.timestamp_ns != e.timestamp.nanos() || f.sample_sha256 != hex::encode(e.sample) {
                    problems.push(format!(
                        "{}: not the frame recorded at that place in the stream",
                        frame_label(camera, next)
                    ));
                    return;
                }
                next += 1;
            }
            EntryKind::Signature => {
                if evidence::verify_signature(&e.digest, &signed_message(&prev.chain), &e.signature) {
                    signed_through = Some(next);
                    let fp = evidence::fingerprint(&e.digest);
                    if !report.recorded_by.contains(&fp) {
                        report.recorded_by.push(fp);
                    }
                } else {
                    problems.push(format!(
                        "camera {}: a recording signature at {} does not verify",
                        camera.stream,
                        e.timestamp.to_rfc3339()
                    ));
                    return;
                }
            }
            _ => {}
        }
    }
    if next < camera.frames.len() {
        problems.push(format!(
            "{}: the recording chain the case carries does not record this frame",
            frame_label(camera, next)
        ));
    } else if signed_through != Some(camera.frames.len()) {
        // Frames after the last signature are chained but not signed (the writer was still recording): said,
        // not failed.
        report
            .recorded_by
            .push("(last frames not yet signed when exported)".into());
    }
}

fn check_store(store: &dyn Backend, camera: &Camera, problems: &mut Vec<String>) {
    let result = (|| -> anyhow::Result<()> {
        let name = StreamName::parse(&camera.stream)?;
        let Some(first) = camera.frames.first() else {
            return Ok(());
        };
        let mut reader = VideoReader::open(store, &name)?;
        reader.seek_to_time(Timestamp::from_nanos(first.timestamp_ns))?;
        let interrupt = Interrupt::new()?;
        let mut n = 0;
        while n < camera.frames.len() {
            let frame = match reader.next_frame(Instant::now(), &interrupt)? {
                ReadOutcome::Frame(f) => f,
                _ => break,
            };
            if frame.header.timestamp.nanos() < first.timestamp_ns {
                continue;
            }
            let f = &camera.frames[n];
            if frame.header.timestamp.nanos() != f.timestamp_ns
                || hex::encode(sample_digest(&frame.payload)) != f.sample_sha256
            {
                problems.push(format!(
                    "{}: differs from the stream in the store now",
                    frame_label(camera, n)
                ));
                return Ok(());
            }
            n += 1;
        }
        if n < camera.frames.len() {
            problems.push(format!(
                "{}: no longer in the store (deleted since the export?)",
                frame_label(camera, n)
            ));
        }
        Ok(())
    })();
    if let Err(e) = result {
        problems.push(format!(
            "camera {}: cannot compare with the store: {e:#}",
            camera.stream
        ));
    }
}
