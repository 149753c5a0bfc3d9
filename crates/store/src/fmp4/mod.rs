//! Fragmented-MP4 handling for the elements, without GStreamer types so it can be tested alone.
//!
//! - [`Assembler`] turns `mp4mux streamable=true fragment-duration=1` output (ftyp, moov, then per fragment a
//!   moof buffer, an mdat header and the sample data, each a separate buffer) into one payload per fragment,
//!   with ftyp+moov in front of every key-frame fragment so each indexed frame is a self-contained random-access
//!   point.
//! - [`Interleaver`] puts the fragments of several tracks (video and sound) in decode-time order, since a
//!   stream's stored times only increase.
//! - [`Retimer`] rewrites the `tfdt` decode time of each fragment read back from a stream to the frame's stored
//!   TAI time. qtdemux takes fragment times from `tfdt`, so this puts the demuxed timestamps on the same
//!   absolute TAI timeline as the index, the segment and seeks, whatever timeline the recording pipeline had.

use std::collections::HashMap;

mod assembler;
mod interleave;
mod retimer;

pub use assembler::{Assembler, BufferMeta, Fragment};
pub use interleave::{Interleaver, DEFAULT_HOLD};
pub use retimer::Retimer;

/// Errors from parsing fMP4 boxes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Fmp4Error {
    /// A box header with an impossible size.
    #[error("bad MP4 box size {size} for '{kind}' at byte {at}")]
    BadBoxSize {
        /// The four-character code.
        kind: String,
        /// The declared size.
        size: u64,
        /// Where the box starts.
        at: usize,
    },
    /// A box too short for the fields it must hold.
    #[error("MP4 box '{0}' is truncated")]
    Truncated(&'static str),
    /// The stream has more pending bytes than any sane fragment.
    #[error("more than {0} bytes without a complete MP4 box")]
    Overflow(usize),
}

/// Largest box we wait for; far above an 8 MiB frame, so only garbage input reaches it.
const MAX_PENDING: usize = 256 * 1024 * 1024;

/// A top-level box found in a byte slice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BoxRef {
    /// Four-character code.
    pub kind: [u8; 4],
    /// Start of the box header.
    pub start: usize,
    /// Start of the payload (after the 8- or 16-byte header).
    pub body: usize,
    /// One past the end of the box.
    pub end: usize,
}

/// Reads the box header at `at`: `Ok(None)` when more bytes are needed.
pub fn box_at(data: &[u8], at: usize) -> Result<Option<BoxRef>, Fmp4Error> {
    let Some(h) = data.get(at..at + 8) else {
        return Ok(None);
    };
    let size32 = u32::from_be_bytes([h[0], h[1], h[2], h[3]]) as u64;
    let kind = [h[4], h[5], h[6], h[7]];
    let (size, body) = match size32 {
        1 => {
            let Some(l) = data.get(at + 8..at + 16) else {
                return Ok(None);
            };
            (
                u64::from_be_bytes([l[0], l[1], l[2], l[3], l[4], l[5], l[6], l[7]]),
                at + 16,
            )
        }
        _ => (size32, at + 8),
    };
    // Size 0 ("to the end of the file") cannot be framed in a live stream.
    if size < (body - at) as u64 || size > MAX_PENDING as u64 {
        return Err(Fmp4Error::BadBoxSize {
            kind: String::from_utf8_lossy(&kind).into_owned(),
            size,
            at,
        });
    }
    let end = at + size as usize;
    if end > data.len() {
        return Ok(None);
    }
    Ok(Some(BoxRef {
        kind,
        start: at,
        body,
        end,
    }))
}

/// All complete boxes in `data[from..to]` (children of a container when given its body range).
pub fn children(data: &[u8], from: usize, to: usize) -> Result<Vec<BoxRef>, Fmp4Error> {
    let slice = &data[..to];
    let mut out = Vec::new();
    let mut at = from;
    while at < to {
        match box_at(slice, at)? {
            Some(b) => {
                at = b.end;
                out.push(b);
            }
            None => return Err(Fmp4Error::Truncated("container")),
        }
    }
    Ok(out)
}

fn find<'a>(boxes: &'a [BoxRef], kind: &[u8; 4]) -> Option<&'a BoxRef> {
    boxes.iter().find(|b| &b.kind == kind)
}

fn be32(d: &[u8], at: usize) -> Result<u32, Fmp4Error> {
    d.get(at..at + 4)
        .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
        .ok_or(Fmp4Error::Truncated("field"))
}

fn be64(d: &[u8], at: usize) -> Result<u64, Fmp4Error> {
    d.get(at..at + 8)
        .map(|b| u64::from_be_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]))
        .ok_or(Fmp4Error::Truncated("field"))
}

/// One track of a `moov` box.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Track {
    /// `tkhd` track_ID, which track fragments name in `tfhd`.
    pub id: u32,
    /// `mdhd` media timescale (ticks per second; 0 if the box says 0).
    pub timescale: u32,
    /// `hdlr` handler type: `vide`, `soun`, … (zeros when the box is missing).
    pub handler: [u8; 4],
}

impl Track {
    /// A sound track: its fragments are never key frames or seek targets of a video stream.
    pub fn is_audio(&self) -> bool {
        &self.handler == b"soun"
    }
}

/// The tracks of a `moov` box.
pub fn tracks(data: &[u8], moov: &BoxRef) -> Result<Vec<Track>, Fmp4Error> {
    let mut out = Vec::new();
    for trak in children(data, moov.body, moov.end)?
        .iter()
        .filter(|b| &b.kind == b"trak")
    {
        let parts = children(data, trak.body, trak.end)?;
        let (Some(tkhd), Some(mdia)) = (find(&parts, b"tkhd"), find(&parts, b"mdia")) else {
            continue;
        };
        let version = data[tkhd.body];
        // tkhd: version/flags, then creation/modification times (4 or 8 bytes each), then track_ID.
        let id = be32(data, tkhd.body + if version == 1 { 20 } else { 12 })?;
        let mdia_parts = children(data, mdia.body, mdia.end)?;
        let Some(mdhd) = find(&mdia_parts, b"mdhd") else {
            continue;
        };
        let version = data[mdhd.body];
        let timescale = be32(data, mdhd.body + if version == 1 { 20 } else { 12 })?;
        // hdlr: version/flags, pre_defined, then handler_type.
        let handler = match find(&mdia_parts, b"hdlr") {
            Some(h) => be32(data, h.body + 8)?.to_be_bytes(),
            None => [0; 4],
        };
        out.push(Track {
            id,
            timescale,
            handler,
        });
    }
    Ok(out)
}

/// Track id → media timescale, from a `moov` box.
pub fn track_timescales(data: &[u8], moov: &BoxRef) -> Result<HashMap<u32, u32>, Fmp4Error> {
    Ok(tracks(data, moov)?
        .into_iter()
        .filter(|t| t.timescale > 0)
        .map(|t| (t.id, t.timescale))
        .collect())
}

/// The track id of a `moof`'s first track fragment.
pub fn moof_track_id(data: &[u8], moof: &BoxRef) -> Result<Option<u32>, Fmp4Error> {
    let parts = children(data, moof.body, moof.end)?;
    let Some(traf) = find(&parts, b"traf") else {
        return Ok(None);
    };
    let traf_parts = children(data, traf.body, traf.end)?;
    match find(&traf_parts, b"tfhd") {
        Some(tfhd) => Ok(Some(be32(data, tfhd.body + 4)?)),
        None => Ok(None),
    }
}

/// True unless the first sample of the first track fragment is flagged non-sync (ISO 14496-12 sample flags).
pub fn moof_starts_with_sync_sample(data: &[u8], moof: &BoxRef) -> Result<bool, Fmp4Error> {
    const NON_SYNC: u32 = 0x0001_0000;
    let parts = children(data, moof.body, moof.end)?;
    let Some(traf) = find(&parts, b"traf") else {
        return Ok(true);
    };
    let traf_parts = children(data, traf.body, traf.end)?;
    let mut default_flags = None;
    if let Some(tfhd) = find(&traf_parts, b"tfhd") {
        let flags = be32(data, tfhd.body)? & 0x00FF_FFFF;
        let mut at = tfhd.body + 8;
        for (bit, len) in [(0x01, 8), (0x02, 4), (0x08, 4), (0x10, 4)] {
            if flags & bit != 0 {
                at += len;
            }
        }
        if flags & 0x20 != 0 {
            default_flags = Some(be32(data, at)?);
        }
    }
    if let Some(trun) = find(&traf_parts, b"trun") {
        let flags = be32(data, trun.body)? & 0x00FF_FFFF;
        let mut at = trun.body + 8;
        if flags & 0x01 != 0 {
            at += 4;
        }
        if flags & 0x04 != 0 {
            return Ok(be32(data, at)? & NON_SYNC == 0);
        }
        if flags & 0x400 != 0 {
            // Per-sample flags: skip duration and size of the first sample if present.
            let mut s = at;
            if flags & 0x100 != 0 {
                s += 4;
            }
            if flags & 0x200 != 0 {
                s += 4;
            }
            return Ok(be32(data, s)? & NON_SYNC == 0);
        }
    }
    Ok(default_flags.is_none_or(|f| f & NON_SYNC == 0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mp4box(kind: &[u8; 4], body: &[u8]) -> Vec<u8> {
        let mut v = ((body.len() + 8) as u32).to_be_bytes().to_vec();
        v.extend_from_slice(kind);
        v.extend_from_slice(body);
        v
    }

    fn full(version: u8, flags: u32, rest: &[u8]) -> Vec<u8> {
        let mut v = vec![version];
        v.extend_from_slice(&flags.to_be_bytes()[1..]);
        v.extend_from_slice(rest);
        v
    }

    fn moov(timescale: u32) -> Vec<u8> {
        let mut tkhd = vec![0u8; 8];
        tkhd.extend_from_slice(&1u32.to_be_bytes());
        tkhd.extend_from_slice(&[0u8; 68]);
        let mut mdhd = vec![0u8; 8];
        mdhd.extend_from_slice(&timescale.to_be_bytes());
        mdhd.extend_from_slice(&[0u8; 8]);
        let mdia = mp4box(b"mdia", &mp4box(b"mdhd", &full(0, 0, &mdhd)));
        let trak = [mp4box(b"tkhd", &full(0, 0, &tkhd)), mdia].concat();
        mp4box(b"moov", &mp4box(b"trak", &trak))
    }

    /// moof with tfhd(track 1), tfdt v0, trun with data offset and first-sample flags.
    fn moof(ticks: u32, non_sync: bool) -> Vec<u8> {
        let tfhd = mp4box(b"tfhd", &full(0, 0, &1u32.to_be_bytes()));
        let tfdt = mp4box(b"tfdt", &full(0, 0, &ticks.to_be_bytes()));
        let mut trun_body = 1u32.to_be_bytes().to_vec();
        trun_body.extend_from_slice(&0i32.to_be_bytes());
        trun_body.extend_from_slice(&(if non_sync { 0x0001_0000u32 } else { 0 }).to_be_bytes());
        let trun = mp4box(b"trun", &full(0, 0x05, &trun_body));
        let traf = mp4box(b"traf", &[tfhd, tfdt, trun].concat());
        let mut m = mp4box(
            b"moof",
            &[mp4box(b"mfhd", &full(0, 0, &[0, 0, 0, 1])), traf].concat(),
        );
        // data offset = moof size + mdat header
        let off = (m.len() + 8) as i32;
        let pos = m.len() - 8;
        m[pos..pos + 4].copy_from_slice(&off.to_be_bytes());
        m
    }

    fn meta(pts: u64, delta: bool) -> BufferMeta {
        BufferMeta {
            pts: Some(pts),
            dts: Some(pts),
            duration: Some(1),
            delta_unit: delta,
        }
    }

    #[test]
    fn assembles_mp4mux_style_buffers() {
        let mut a = Assembler::new();
        let ftyp = mp4box(b"ftyp", b"iso6");
        assert!(a.push(&ftyp, BufferMeta::default()).expect("push").is_empty());
        assert!(a
            .push(&moov(3000), BufferMeta::default())
            .expect("push")
            .is_empty());
        let m = moof(0, false);
        assert!(a.push(&m, BufferMeta::default()).expect("push").is_empty());
        assert!(a
            .push(&[0, 0, 0, 12, b'm', b'd', b'a', b't'], BufferMeta::default())
            .expect("push")
            .is_empty());
        let frags = a.push(b"KEY!", meta(0, false)).expect("push");
        assert_eq!(frags.len(), 1);
        assert!(frags[0].key);
        assert!(frags[0].data.starts_with(&ftyp));
        assert_eq!(frags[0].meta.map(|m| m.pts), Some(Some(0)));

        // A delta fragment delivered as one buffer gets no header.
        let mut whole = moof(100, true);
        whole.extend_from_slice(&mp4box(b"mdat", b"DELT"));
        let frags = a.push(&whole, meta(33, true)).expect("push");
        assert_eq!(frags.len(), 1);
        assert!(!frags[0].key);
        assert!(frags[0].data.starts_with(&whole[..8]));
        assert_eq!(frags[0].data, whole);
    }

    #[test]
    fn key_flag_falls_back_to_sample_flags() {
        let mut a = Assembler::new();
        let mut f = moof(0, true);
        f.extend_from_slice(&mp4box(b"mdat", b"x"));
        assert!(!a.push(&f, BufferMeta::default()).expect("push")[0].key);
        let mut f = moof(0, false);
        f.extend_from_slice(&mp4box(b"mdat", b"x"));
        assert!(a.push(&f, BufferMeta::default()).expect("push")[0].key);
    }

    #[test]
    fn garbage_is_an_error() {
        let mut a = Assembler::new();
        assert!(a
            .push(&[0, 0, 0, 3, b'b', b'a', b'd', b'!'], BufferMeta::default())
            .is_err());
    }

    #[test]
    fn retime_rewrites_tfdt_and_fixes_offsets() {
        let mut r = Retimer::new();
        let mut payload = [mp4box(b"ftyp", b"iso6"), moov(3000), moof(300, false)].concat();
        let mdat = mp4box(b"mdat", b"SAMPLE");
        payload.extend_from_slice(&mdat);
        let tai = 1_700_000_000_123_456_789u64;
        let out = r.retime(&payload, tai).expect("retime");
        assert_eq!(out.len(), payload.len() + 4);
        let top = children(&out, 0, out.len()).expect("boxes");
        let moof_box = find(&top, b"moof").expect("moof");
        let traf = &children(&out, moof_box.body, moof_box.end).expect("parts")[1];
        let parts = children(&out, traf.body, traf.end).expect("traf");
        let tfdt = find(&parts, b"tfdt").expect("tfdt");
        assert_eq!(out[tfdt.body], 1);
        let ticks = be64(&out, tfdt.body + 4).expect("ticks");
        assert_eq!(ticks, (tai as u128 * 3000).div_ceil(1_000_000_000) as u64);
        // trun data offset still points at the sample bytes.
        let trun = find(&parts, b"trun").expect("trun");
        let off = be32(&out, trun.body + 8).expect("offset") as usize;
        assert_eq!(&out[moof_box.start + off..moof_box.start + off + 6], b"SAMPLE");

        // A later delta fragment without moov keeps using the learned timescale.
        let mut delta = moof(400, true);
        delta.extend_from_slice(&mdat);
        let out = r.retime(&delta, tai + 33_333_333).expect("retime");
        assert_eq!(out.len(), delta.len() + 4);

        // Non-MP4 payloads pass through.
        let ts = vec![0x47u8; 188];
        assert_eq!(r.retime(&ts, tai).expect("retime"), ts);
    }
}
