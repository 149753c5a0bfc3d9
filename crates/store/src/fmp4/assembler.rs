//! [`Assembler`]: mp4mux's separate ftyp, moov, moof, mdat-header and sample buffers into one self-contained
//! payload per fragment.

use super::*;

/// Timing and flags of an input buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BufferMeta {
    /// Presentation time in the pipeline's time.
    pub pts: Option<u64>,
    /// Decode time.
    pub dts: Option<u64>,
    /// Duration.
    pub duration: Option<u64>,
    /// Upstream's DELTA_UNIT flag.
    pub delta_unit: bool,
}

impl BufferMeta {
    fn has_time(&self) -> bool {
        self.pts.is_some() || self.dts.is_some()
    }
}

/// One assembled fragment, ready to be one frame of the data stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fragment {
    /// `ftyp+moov+moof+mdat` for key frames, `moof+mdat` otherwise.
    pub data: Vec<u8>,
    /// Starts with a sync sample of a video track (an audio fragment never is a key frame: every audio
    /// sample is a sync sample, and a reader must not start a video stream at one).
    pub key: bool,
    /// Carries a sound track's samples.
    pub audio: bool,
    /// The track its (first) track fragment belongs to.
    pub track: Option<u32>,
    /// Timing of the first timed input buffer that belonged to it.
    pub meta: Option<BufferMeta>,
}

/// Collects mp4mux output into whole fragments.
#[derive(Debug, Default)]
pub struct Assembler {
    pending: Vec<u8>,
    header: Vec<u8>,
    fragment: Vec<u8>,
    moof: Option<(usize, usize)>,
    meta: Option<BufferMeta>,
    /// Track ids of the current moov's sound tracks.
    audio_tracks: Vec<u32>,
    /// Track ids of the current moov, in its order.
    track_ids: Vec<u32>,
}

impl Assembler {
    /// A fresh assembler (no header seen).
    pub fn new() -> Self {
        Self::default()
    }

    /// The current ftyp+moov header (empty before the muxer sent it).
    pub fn header(&self) -> &[u8] {
        &self.header
    }

    /// The track ids of the current moov (empty before the muxer sent it).
    pub fn track_ids(&self) -> &[u32] {
        &self.track_ids
    }

    /// Feeds one input buffer; returns the fragments it completed.
    pub fn push(&mut self, data: &[u8], meta: BufferMeta) -> Result<Vec<Fragment>, Fmp4Error> {
        if meta.has_time() {
            match self.meta.as_mut() {
                None => self.meta = Some(meta),
                // A fragment may hold several samples (mp4mux puts the last two together at EOS): its
                // duration is theirs together, so an end record after it covers all of them.
                Some(m) => {
                    m.duration = match (m.duration, meta.duration) {
                        (Some(a), Some(b)) => Some(a + b),
                        (a, b) => a.or(b),
                    }
                }
            }
        }
        self.pending.extend_from_slice(data);
        let mut out = Vec::new();
        let mut at = 0;
        while let Some(b) = box_at(&self.pending, at)? {
            let bytes = &self.pending[b.start..b.end];
            match &b.kind {
                b"ftyp" => {
                    self.header.clear();
                    self.header.extend_from_slice(bytes);
                }
                b"moov" => {
                    let tracks = tracks(&self.pending, &b)?;
                    self.audio_tracks = tracks.iter().filter(|t| t.is_audio()).map(|t| t.id).collect();
                    self.track_ids = tracks.iter().map(|t| t.id).collect();
                    self.header.extend_from_slice(&self.pending[b.start..b.end]);
                }
                b"styp" | b"sidx" | b"prft" | b"emsg" => self.fragment.extend_from_slice(bytes),
                b"moof" => {
                    let start = self.fragment.len();
                    self.fragment.extend_from_slice(bytes);
                    self.moof = Some((start, self.fragment.len()));
                }
                b"mdat" => {
                    self.fragment.extend_from_slice(bytes);
                    out.push(self.finish_fragment()?);
                }
                // mfra (end-of-file random access table), free, skip, udta...: not part of any fragment.
                _ => tracing::debug!(kind = %String::from_utf8_lossy(&b.kind), "dropping top-level box"),
            }
            at = b.end;
        }
        self.pending.drain(..at);
        if self.pending.len() > MAX_PENDING {
            return Err(Fmp4Error::Overflow(MAX_PENDING));
        }
        Ok(out)
    }

    fn finish_fragment(&mut self) -> Result<Fragment, Fmp4Error> {
        let meta = self.meta.take();
        let moof = self.moof.map(|(s, e)| BoxRef {
            kind: *b"moof",
            start: s,
            body: s + 8,
            end: e,
        });
        let track = match &moof {
            Some(m) => moof_track_id(&self.fragment, m)?,
            None => None,
        };
        let audio = track.is_some_and(|id| self.audio_tracks.contains(&id));
        let key = !audio
            && match (meta, &moof) {
                (Some(m), _) => !m.delta_unit,
                (None, Some(moof)) => moof_starts_with_sync_sample(&self.fragment, moof)?,
                (None, None) => false,
            };
        self.moof = None;
        let body = std::mem::take(&mut self.fragment);
        let data = if key && !self.header.is_empty() {
            let mut d = Vec::with_capacity(self.header.len() + body.len());
            d.extend_from_slice(&self.header);
            d.extend_from_slice(&body);
            d
        } else {
            body
        };
        Ok(Fragment {
            data,
            key,
            audio,
            track,
            meta,
        })
    }
}
