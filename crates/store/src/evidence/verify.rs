//! [`verify_stream`]: walks a video stream's data and its chain together.

use std::collections::BTreeSet;

use crate::backend::{Backend, ByteReader};
use crate::error::{Result, StoreError};
use crate::format::{FrameHeader, FRAME_HEADER_LEN, MAX_FRAME_PAYLOAD};
use crate::name::StreamName;
use crate::timestamp::Timestamp;
use crate::video::read_exact_at;

use super::entry::{payload_digests, signed_message, Digest32, Entry, EntryKind};
use super::key::verify as signature_ok;
use super::{entry_at_time, ChainReader};

/// Entries read per request.
const BATCH: u64 = 4096;
/// Problems kept in a report; later ones are only counted.
const KEEP_PROBLEMS: usize = 32;

/// Which part of a stream to verify (inclusive, by stored frame time). Open ends mean the whole stream.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct VerifyRange {
    /// First frame time checked.
    pub from: Option<Timestamp>,
    /// Last frame time checked.
    pub to: Option<Timestamp>,
}

/// Something that does not match what was recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// The stored bytes of this frame differ from the bytes hashed while recording.
    Altered {
        /// Chain entry of the frame.
        entry: u64,
        /// Data offset of the frame.
        offset: u64,
        /// Its recorded time.
        timestamp: Timestamp,
    },
    /// The chain records a frame that is not in the data any more (removed, or the data cut short).
    Missing {
        /// Chain entry of the frame.
        entry: u64,
        /// Where it was.
        offset: u64,
        /// Its recorded time.
        timestamp: Timestamp,
    },
    /// A frame in the data that the chain never recorded, between two recorded frames.
    Inserted {
        /// Its data offset.
        offset: u64,
        /// The time its header gives.
        timestamp: Timestamp,
    },
    /// The entry's hash does not follow from the entry before it: entries were edited, removed or reordered.
    ChainBroken {
        /// The first entry that does not follow.
        entry: u64,
        /// Its time.
        timestamp: Timestamp,
    },
    /// A signature that does not verify with the key it names.
    BadSignature {
        /// The signature entry.
        entry: u64,
        /// Its time (that of the last frame it covers).
        timestamp: Timestamp,
    },
    /// Bytes in the data that are not a frame where one should start.
    CorruptData {
        /// Where they are.
        offset: u64,
    },
    /// An entry that is not a chain entry at all.
    CorruptEntry {
        /// Its number.
        entry: u64,
        /// Why.
        reason: String,
    },
}

impl Problem {
    /// The recorded time the problem is at, when there is one.
    pub fn timestamp(&self) -> Option<Timestamp> {
        match self {
            Problem::Altered { timestamp, .. }
            | Problem::Missing { timestamp, .. }
            | Problem::Inserted { timestamp, .. }
            | Problem::ChainBroken { timestamp, .. }
            | Problem::BadSignature { timestamp, .. } => Some(*timestamp),
            Problem::CorruptEntry { .. } | Problem::CorruptData { .. } => None,
        }
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Problem::Altered { offset, timestamp, entry } => write!(
                f,
                "frame at {} (data offset {offset}, chain entry {entry}): stored bytes do not match what was recorded",
                timestamp.to_rfc3339()
            ),
            Problem::Missing { offset, timestamp, entry } => write!(
                f,
                "frame at {} (data offset {offset}, chain entry {entry}) was recorded but is not in the data",
                timestamp.to_rfc3339()
            ),
            Problem::Inserted { offset, timestamp } => write!(
                f,
                "frame at {} (data offset {offset}) is in the data but was never recorded by the writer",
                timestamp.to_rfc3339()
            ),
            Problem::ChainBroken { entry, timestamp } => write!(
                f,
                "chain entry {entry} ({}) does not follow from the entry before it: the chain was edited",
                timestamp.to_rfc3339()
            ),
            Problem::BadSignature { entry, timestamp } => write!(
                f,
                "signature in chain entry {entry} ({}) does not verify",
                timestamp.to_rfc3339()
            ),
            Problem::CorruptData { offset } => write!(f, "data offset {offset}: not a frame (the data was edited)"),
            Problem::CorruptEntry { entry, reason } => write!(f, "chain entry {entry}: {reason}"),
        }
    }
}

/// What [`verify_stream`] found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// Frames whose bytes matched their entry.
    pub frames_verified: u64,
    /// Signatures that verified.
    pub signatures_verified: u64,
    /// Public keys of the valid signatures.
    pub keys: BTreeSet<[u8; 32]>,
    /// Time of the first and last frame checked.
    pub first_time: Option<Timestamp>,
    /// See `first_time`.
    pub last_time: Option<Timestamp>,
    /// Matching frames not yet covered by a signature (the writer is running, or stopped without finishing).
    pub unsigned_frames: u64,
    /// Frames stored by a writer that stopped before it could record them (just before a new writer started, or
    /// at the tail while recording): not evidence, not tampering either.
    pub uncovered_frames: u64,
    /// Recorded frames deleted since by truncation (retention) inside the range.
    pub truncated_frames: u64,
    /// The first problems, in stream order.
    pub problems: Vec<Problem>,
    /// All problems, including those not kept.
    pub problem_count: u64,
}

impl Report {
    /// True when nothing contradicts the recording.
    pub fn is_intact(&self) -> bool {
        self.problem_count == 0
    }

    fn problem(&mut self, p: Problem) {
        self.problem_count += 1;
        if self.problems.len() < KEEP_PROBLEMS {
            self.problems.push(p);
        }
    }
}

/// Walks the chain of `video` within `range` and checks every recorded frame against the data, every link and
/// every signature. `Ok(None)` when the stream carries no chain (recorded without one, e.g. by the original
/// plugin): it still plays, there is just nothing to check.
pub fn verify_stream(
    backend: &dyn Backend,
    video: &StreamName,
    range: VerifyRange,
) -> Result<Option<Report>> {
    let Some(mut chain) = ChainReader::open(backend, video)? else {
        return Ok(None);
    };
    let mut data = backend.reader(video)?;
    let (first, end) = chain.bounds()?;
    let start = match range.from {
        Some(t) => entry_at_time(&mut chain, first, end, t)?,
        None => first,
    };
    // The hash before the first entry checked: known from the entry before it. The first stored entry (the
    // chain's start, or its new head after truncation, or a copy's first entry) is taken as given when it does
    // not follow from zeros; the next signature vouches for it.
    let mut previous: Option<Digest32> = if start > first {
        Some(chain.entry(start - 1)?.chain)
    } else {
        None
    };
    let mut walk = Walk {
        report: Report::default(),
        data: data.as_mut(),
        video,
        next_frame: None,
        run_started: false,
        past_end: false,
    };
    let mut n = start;
    'entries: while n < end {
        let batch = chain.raw_range(n, (n + BATCH).min(end))?;
        for raw in batch {
            let entry = match Entry::decode(&raw) {
                Ok(e) => e,
                Err(e) => {
                    walk.report.problem(Problem::CorruptEntry {
                        entry: n,
                        reason: e.to_string(),
                    });
                    previous = None;
                    n += 1;
                    continue;
                }
            };
            if let Some(prev) = previous {
                if entry.link(&prev) != entry.chain {
                    walk.report.problem(Problem::ChainBroken {
                        entry: n,
                        timestamp: entry.timestamp,
                    });
                }
            }
            match entry.kind {
                EntryKind::Frame => {
                    if range.to.is_some_and(|to| entry.timestamp > to) {
                        // Past the range: only the signature that covers its last frames is still wanted.
                        walk.past_end = true;
                    } else {
                        walk.frame(n, &entry)?;
                    }
                }
                EntryKind::Signature => {
                    let ok = previous.is_some_and(|prev| {
                        signature_ok(&entry.digest, &signed_message(&prev), &entry.signature)
                    });
                    if ok {
                        walk.report.signatures_verified += 1;
                        walk.report.keys.insert(entry.digest);
                        walk.report.unsigned_frames = 0;
                    } else if previous.is_some() {
                        walk.report.problem(Problem::BadSignature {
                            entry: n,
                            timestamp: entry.timestamp,
                        });
                    }
                    if walk.past_end {
                        break 'entries;
                    }
                }
                EntryKind::Start => walk.run_started = true,
            }
            previous = Some(entry.chain);
            n += 1;
        }
    }
    if range.to.is_none() {
        // Frames after the last recorded one: the writer has not recorded them yet, or was killed before it did.
        if let Some(pos) = walk.next_frame {
            walk.count_uncovered(pos, u64::MAX)?;
        }
    }
    Ok(Some(walk.report))
}

struct Walk<'a> {
    report: Report,
    data: &'a mut dyn ByteReader,
    video: &'a StreamName,
    /// Where the frame after the last checked one starts.
    next_frame: Option<u64>,
    /// A writer started since the last frame entry: unrecorded frames before it are a crash's leftovers.
    run_started: bool,
    past_end: bool,
}

impl Walk<'_> {
    fn frame(&mut self, n: u64, entry: &Entry) -> Result<()> {
        if let Some(pos) = self.next_frame {
            if pos < entry.offset {
                if self.run_started {
                    self.count_uncovered(pos, entry.offset)?;
                } else {
                    self.report_inserted(pos, entry.offset)?;
                }
            }
        }
        self.run_started = false;
        match read_payload(self.data, self.video, entry.offset, entry.payload_len as usize) {
            Ok(Some((header_time, payload, next))) => {
                self.next_frame = Some(next);
                if header_time == entry.timestamp && payload_digests(&payload) == (entry.digest, entry.sample)
                {
                    self.report.frames_verified += 1;
                    self.report.unsigned_frames += 1;
                    self.report.first_time.get_or_insert(entry.timestamp);
                    self.report.last_time = Some(entry.timestamp);
                } else {
                    self.report.problem(Problem::Altered {
                        entry: n,
                        offset: entry.offset,
                        timestamp: entry.timestamp,
                    });
                }
            }
            Ok(None) => {
                self.next_frame = None;
                self.report.problem(Problem::Missing {
                    entry: n,
                    offset: entry.offset,
                    timestamp: entry.timestamp,
                });
            }
            Err(StoreError::Truncated { .. }) => {
                self.next_frame = None;
                self.report.truncated_frames += 1;
            }
            Err(StoreError::Corrupt { .. }) => {
                self.next_frame = None;
                self.report.problem(Problem::Altered {
                    entry: n,
                    offset: entry.offset,
                    timestamp: entry.timestamp,
                });
            }
            Err(e) => return Err(e),
        }
        Ok(())
    }

    /// The header of a frame no chain entry records; `None` at the end of the data or at bytes that are not a
    /// frame (reported as such).
    fn unrecorded_header(&mut self, pos: u64) -> Result<Option<FrameHeader>> {
        match header_at(self.data, pos, self.video) {
            Err(StoreError::Corrupt { offset, .. }) => {
                self.report.problem(Problem::CorruptData { offset });
                Ok(None)
            }
            other => other,
        }
    }

    /// Frames in `from..to` of the data that no entry records, each reported as inserted.
    fn report_inserted(&mut self, from: u64, to: u64) -> Result<()> {
        let mut pos = from;
        while pos < to {
            let Some(h) = self.unrecorded_header(pos)? else {
                break;
            };
            self.report.problem(Problem::Inserted {
                offset: pos,
                timestamp: h.timestamp,
            });
            pos += h.frame_len() as u64;
        }
        Ok(())
    }

    fn count_uncovered(&mut self, from: u64, to: u64) -> Result<()> {
        let mut pos = from;
        let mut previous = None;
        while pos < to {
            let Some(h) = self.unrecorded_header(pos)? else {
                break;
            };
            // Continuation frames of a split payload are part of the payload before them.
            let continuation = previous.is_some_and(|p: FrameHeader| {
                p.payload_len == MAX_FRAME_PAYLOAD && p.timestamp == h.timestamp
            }) && h.flags.0 == 0;
            if !continuation {
                self.report.uncovered_frames += 1;
            }
            previous = Some(h);
            pos += h.frame_len() as u64;
        }
        Ok(())
    }
}

fn header_at(data: &mut dyn ByteReader, pos: u64, video: &StreamName) -> Result<Option<FrameHeader>> {
    let mut raw = [0u8; FRAME_HEADER_LEN];
    if !read_exact_at(data, pos, &mut raw)? {
        return Ok(None);
    }
    FrameHeader::decode(&raw)
        .map(Some)
        .map_err(|source| StoreError::Corrupt {
            stream: video.clone(),
            offset: pos,
            source,
        })
}

/// Reads a payload of `len` bytes stored from `offset` on (one frame, or a frame and its continuations):
/// `(time in the first header, payload, offset after it)`; `None` when the data ends first.
fn read_payload(
    data: &mut dyn ByteReader,
    video: &StreamName,
    offset: u64,
    len: usize,
) -> Result<Option<(Timestamp, Vec<u8>, u64)>> {
    let mut payload = Vec::with_capacity(len);
    let mut pos = offset;
    let mut time = None;
    loop {
        let Some(h) = header_at(data, pos, video)? else {
            return Ok(None);
        };
        time.get_or_insert(h.timestamp);
        let take = h.payload_len.min(len - payload.len());
        let start = payload.len();
        payload.resize(start + take, 0);
        if !read_exact_at(data, pos + FRAME_HEADER_LEN as u64, &mut payload[start..])? {
            return Ok(None);
        }
        pos += h.frame_len() as u64;
        // A frame longer than the recorded payload means its length field changed: the hash will not match.
        if payload.len() >= len || take < h.payload_len || h.payload_len == 0 {
            let t = time.unwrap_or(Timestamp::from_nanos(0));
            return Ok(Some((t, payload, pos)));
        }
    }
}
