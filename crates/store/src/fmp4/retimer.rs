//! [`Retimer`]: a fragment's `tfdt` decode time rewritten to the frame's stored TAI time.

use std::collections::HashMap;

use super::*;

/// Rewrites fragment decode times onto the TAI timeline while reading.
#[derive(Debug, Default)]
pub struct Retimer {
    timescales: HashMap<u32, u32>,
}

impl Retimer {
    /// A retimer that has not seen a moov yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Rewrites `payload` (one stored frame) so that its first track fragment decodes at `tai_ns`, shifting any
    /// other tracks by the same amount. Payloads without a moof (e.g. MPEG-TS) come back unchanged. A moov in
    /// the payload updates the known timescales first.
    pub fn retime(&mut self, payload: &[u8], tai_ns: u64) -> Result<Vec<u8>, Fmp4Error> {
        let Ok(top) = children(payload, 0, payload.len()) else {
            return Ok(payload.to_vec());
        };
        if top.is_empty() || !top.iter().all(|b| b.kind.iter().all(u8::is_ascii_graphic)) {
            return Ok(payload.to_vec());
        }
        if let Some(moov) = find(&top, b"moov") {
            self.timescales = track_timescales(payload, moov)?;
        }
        let mut out = Vec::with_capacity(payload.len() + 16);
        let mut shift_ns: Option<i128> = None;
        for b in &top {
            if &b.kind == b"moof" {
                self.rewrite_moof(payload, b, tai_ns, &mut shift_ns, &mut out)?;
            } else {
                out.extend_from_slice(&payload[b.start..b.end]);
            }
        }
        Ok(out)
    }

    fn rewrite_moof(
        &self,
        data: &[u8],
        moof: &BoxRef,
        tai_ns: u64,
        shift_ns: &mut Option<i128>,
        out: &mut Vec<u8>,
    ) -> Result<(), Fmp4Error> {
        let parts = children(data, moof.body, moof.end)?;
        // First pass: new traf bodies; tfdt v0 becomes v1 (4 bytes more) since TAI ticks exceed 32 bits.
        let mut new_parts: Vec<Vec<u8>> = Vec::with_capacity(parts.len());
        let mut growth = 0usize;
        for p in &parts {
            if &p.kind != b"traf" {
                new_parts.push(data[p.start..p.end].to_vec());
                continue;
            }
            let traf_parts = children(data, p.body, p.end)?;
            let track_id = match find(&traf_parts, b"tfhd") {
                Some(tfhd) => be32(data, tfhd.body + 4)?,
                None => 0,
            };
            let timescale = u128::from(*self.timescales.get(&track_id).unwrap_or(&0));
            let mut traf = Vec::with_capacity(p.end - p.start + 4);
            traf.extend_from_slice(&[0, 0, 0, 0]);
            traf.extend_from_slice(b"traf");
            for c in &traf_parts {
                if &c.kind == b"tfdt" && timescale > 0 {
                    let version = data[c.body];
                    let old_ticks = if version == 1 {
                        be64(data, c.body + 4)?
                    } else {
                        u64::from(be32(data, c.body + 4)?)
                    };
                    let old_ns = old_ticks as u128 * 1_000_000_000 / timescale;
                    let shift = *shift_ns.get_or_insert(tai_ns as i128 - old_ns as i128);
                    let new_ns = (old_ns as i128 + shift).max(0) as u128;
                    // Round up: the demuxer rounds ticks down to nanoseconds, and a time below the stored one
                    // would fall before a segment that starts at the stored time and be clipped.
                    let new_ticks = (new_ns * timescale)
                        .div_ceil(1_000_000_000)
                        .min(u128::from(u64::MAX)) as u64;
                    traf.extend_from_slice(&20u32.to_be_bytes());
                    traf.extend_from_slice(b"tfdt");
                    traf.extend_from_slice(&[1, 0, 0, 0]);
                    traf.extend_from_slice(&new_ticks.to_be_bytes());
                    if version != 1 {
                        growth += 4;
                    }
                } else {
                    traf.extend_from_slice(&data[c.start..c.end]);
                }
            }
            let len = traf.len() as u32;
            traf[0..4].copy_from_slice(&len.to_be_bytes());
            new_parts.push(traf);
        }
        // Second pass: trun data offsets are relative to the moof start; the mdat moved by `growth`.
        if growth > 0 {
            for part in new_parts.iter_mut().filter(|p| p.get(4..8) == Some(b"traf")) {
                fix_trun_offsets(part, growth as i32)?;
            }
        }
        let size = 8 + new_parts.iter().map(Vec::len).sum::<usize>();
        out.extend_from_slice(&(size as u32).to_be_bytes());
        out.extend_from_slice(b"moof");
        for p in new_parts {
            out.extend_from_slice(&p);
        }
        Ok(())
    }
}

fn fix_trun_offsets(traf: &mut [u8], growth: i32) -> Result<(), Fmp4Error> {
    let parts = children(traf, 8, traf.len())?;
    // An explicit base data offset is absolute; leave such fragments alone.
    if let Some(tfhd) = find(&parts, b"tfhd") {
        if be32(traf, tfhd.body)? & 0x01 != 0 {
            return Ok(());
        }
    }
    for trun in parts.iter().filter(|b| &b.kind == b"trun") {
        let flags = be32(traf, trun.body)? & 0x00FF_FFFF;
        if flags & 0x01 != 0 {
            let at = trun.body + 8;
            let old = be32(traf, at)? as i32;
            traf[at..at + 4].copy_from_slice(&(old + growth).to_be_bytes());
        }
    }
    Ok(())
}
