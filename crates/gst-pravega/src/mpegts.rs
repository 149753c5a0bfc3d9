//! MPEG-TS payloads: what `pravegasrc` needs to know of a stored frame of 188-byte packets so that `tsdemux`
//! gives its pictures their stored times.
//!
//! In a TIME segment, GStreamer 1.22's `tsdemux` anchors its clock on the first PCR it meets: the PCR is taken
//! to happen at the PTS of the input buffer that carries it, and every PES time is placed relative to that
//! (`output = buffer time + (PES time - PCR)`). A muxer sends the PCR ahead of the pictures by its delay
//! (`mpegtsmux`: about 125 ms, more after a restart), so a buffer stamped with its frame's stored time comes out
//! late by that delay. Stamping the buffers with the stored time minus the [`pcr_lead`] (a PES time minus the
//! PCR before it) makes every picture come out at its stored time.

/// Size of one transport stream packet.
pub const PACKET: usize = 188;
const SYNC: u8 = 0x47;
const NULL_PID: u16 = 0x1fff;
/// 33-bit PES timestamps wrap at this many 90 kHz ticks.
const WRAP_90K: i64 = 1 << 33;

/// True if `payload` looks like whole MPEG-TS packets.
pub fn is_ts(payload: &[u8]) -> bool {
    !payload.is_empty() && payload.len() % PACKET == 0 && payload.first() == Some(&SYNC)
}

/// True if every packet of `payload` is a table section start (PAT, PMT, SDT, …) or a null packet: no media.
pub fn is_tables_only(payload: &[u8]) -> bool {
    is_ts(payload)
        && payload.chunks_exact(PACKET).all(|p| {
            pid(p) == NULL_PID
                || (p[1] & 0x40 != 0 && payload_start(p).is_some_and(|s| p[s..].get(..3) != Some(&[0, 0, 1])))
        })
}

/// Makes every key frame the writer stores start with the tables (PAT, PMT) a reader needs to find the video,
/// since a reader that starts at a key frame's index record sees nothing before it. `mpegtsmux` pushes tables
/// as buffers of their own, at the start and then every 100 ms wherever that falls: tables are held back and
/// stored in front of the media buffer they precede, and a key frame that comes without them gets a copy of
/// the last ones (repeating a table is ordinary in a transport stream).
#[derive(Debug, Default)]
pub struct TableHold {
    held: Vec<u8>,
    key: bool,
    last: Vec<u8>,
}

impl TableHold {
    /// Takes one input buffer: tables are held (`None`); media comes back with the tables in front, and is a
    /// key frame if it or the held tables were flagged so.
    pub fn push(&mut self, payload: &[u8], key: bool) -> Option<(Vec<u8>, bool)> {
        if is_tables_only(payload) {
            self.held.extend_from_slice(payload);
            self.key |= key;
            return None;
        }
        let key = std::mem::take(&mut self.key) || key;
        let mut out = if self.held.is_empty() {
            if key && is_ts(payload) {
                self.last.clone()
            } else {
                Vec::new()
            }
        } else {
            self.last.clone_from(&self.held);
            std::mem::take(&mut self.held)
        };
        out.extend_from_slice(payload);
        Some((out, key))
    }
}

/// How long before its first picture's decode time the buffer's first PCR is, in nanoseconds: the first PES
/// header (with a PTS) on the PID that carries the PCR, minus that PCR. `None` when the buffer has no PCR, no
/// PES time on its PID, or is not whole packets.
pub fn pcr_lead(payload: &[u8]) -> Option<i64> {
    if !is_ts(payload) {
        return None;
    }
    let packets = || payload.chunks_exact(PACKET).filter(|p| p[0] == SYNC);
    let (pcr_pid, pcr) = packets().find_map(|p| Some((pid(p), pcr(p)?)))?;
    let pes = packets()
        .filter(|p| pid(p) == pcr_pid && p[1] & 0x40 != 0)
        .find_map(pes_time)?;
    // PCR is 27 MHz (base * 300 + extension), PES times 90 kHz; compare in 27 MHz ticks, modulo the wrap.
    let diff_90k = (pes - pcr / 300).rem_euclid(WRAP_90K);
    let diff_90k = if diff_90k >= WRAP_90K / 2 {
        diff_90k - WRAP_90K
    } else {
        diff_90k
    };
    let diff_27m = diff_90k * 300 - pcr % 300;
    Some(diff_27m * 1000 / 27)
}

fn pid(p: &[u8]) -> u16 {
    (u16::from(p[1] & 0x1f) << 8) | u16::from(p[2])
}

/// Where a packet's payload starts, after any adaptation field.
fn payload_start(p: &[u8]) -> Option<usize> {
    let control = (p[3] >> 4) & 0x3;
    match control {
        0b01 => Some(4),
        0b11 => {
            let start = 5 + usize::from(p[4]);
            (start < PACKET).then_some(start)
        }
        _ => None,
    }
}

/// The packet's PCR in 27 MHz ticks, when its adaptation field has one.
fn pcr(p: &[u8]) -> Option<i64> {
    let control = (p[3] >> 4) & 0x3;
    if control & 0b10 == 0 || p[4] < 7 || p[5] & 0x10 == 0 {
        return None;
    }
    let b = &p[6..12];
    let base = (i64::from(b[0]) << 25)
        | (i64::from(b[1]) << 17)
        | (i64::from(b[2]) << 9)
        | (i64::from(b[3]) << 1)
        | (i64::from(b[4]) >> 7);
    let ext = (i64::from(b[4] & 1) << 8) | i64::from(b[5]);
    Some(base * 300 + ext)
}

/// The decode time (DTS, else PTS) of the PES header a packet starts with, in 90 kHz ticks.
fn pes_time(p: &[u8]) -> Option<i64> {
    let h = &p[payload_start(p)?..];
    if h.len() < 14 || h[0..3] != [0, 0, 1] {
        return None;
    }
    // Streams without the optional header (padding, private 2, ECM, …) carry no times.
    if matches!(h[3], 0xbc | 0xbe | 0xbf | 0xf0 | 0xf1 | 0xf2 | 0xf8 | 0xff) {
        return None;
    }
    let flags = h[7] >> 6;
    let time = |b: &[u8]| {
        (i64::from((b[0] >> 1) & 0x7) << 30)
            | (i64::from(b[1]) << 22)
            | (i64::from(b[2] >> 1) << 15)
            | (i64::from(b[3]) << 7)
            | i64::from(b[4] >> 1)
    };
    match flags {
        0b11 if h.len() >= 19 => Some(time(&h[14..19])),
        0b10 | 0b11 => Some(time(&h[9..14])),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A packet on `pid` with an adaptation field carrying `pcr` (27 MHz) when given, and a PES header with
    /// `pts` (90 kHz) when given.
    fn packet(pid: u16, pcr: Option<i64>, pts: Option<i64>) -> Vec<u8> {
        let mut p = vec![
            SYNC,
            ((pid >> 8) as u8 & 0x1f) | if pts.is_some() { 0x40 } else { 0 },
        ];
        p.push(pid as u8);
        match pcr {
            Some(pcr) => {
                p.push(0x30);
                let (base, ext) = (pcr / 300, pcr % 300);
                p.extend([7, 0x10]);
                p.extend([
                    (base >> 25) as u8,
                    (base >> 17) as u8,
                    (base >> 9) as u8,
                    (base >> 1) as u8,
                    (((base & 1) << 7) as u8) | 0x7e | ((ext >> 8) as u8 & 1),
                    ext as u8,
                ]);
            }
            None => p.push(0x10),
        }
        if let Some(pts) = pts {
            p.extend([0, 0, 1, 0xe0, 0, 0, 0x80, 0x80, 5]);
            p.extend([
                0x21 | ((pts >> 29) as u8 & 0x0e),
                (pts >> 22) as u8,
                ((pts >> 14) as u8 & 0xfe) | 1,
                (pts >> 7) as u8,
                ((pts << 1) as u8 & 0xfe) | 1,
            ]);
        }
        p.resize(PACKET, 0xff);
        p
    }

    #[test]
    fn the_lead_is_the_pes_time_after_the_pcr() {
        // PCR at 1 s, the picture at 1.125 s: 125 ms.
        let frame = [
            packet(0, None, None),
            packet(0x41, Some(27_000_000), None),
            packet(0x41, None, Some(90_000 + 11_250)),
        ]
        .concat();
        assert_eq!(pcr_lead(&frame), Some(125_000_000));
        // The PES time may sit in the PCR's own packet; the extension counts.
        let same = packet(0x41, Some(27_000_000 + 150), Some(90_000 + 9_000));
        assert_eq!(pcr_lead(&same), Some((9_000 * 300 - 150) * 1000 / 27));
    }

    /// A PAT-like section start on `pid`.
    fn table(pid: u16) -> Vec<u8> {
        let mut p = vec![SYNC, 0x40 | (pid >> 8) as u8, pid as u8, 0x10, 0, 0, 0xb0, 0x0d];
        p.resize(PACKET, 0xff);
        p
    }

    #[test]
    fn tables_are_held_for_the_media_after_them() {
        let (pat, pmt) = (table(0), table(0x20));
        assert!(is_tables_only(&[pat.clone(), pmt.clone()].concat()));
        let video = packet(0x41, Some(27_000_000), Some(90_000));
        assert!(!is_tables_only(&video));
        let mut hold = TableHold::default();
        assert_eq!(hold.push(&pat, true), None);
        assert_eq!(hold.push(&pmt, false), None);
        let (frame, key) = hold.push(&video, false).expect("media");
        assert_eq!(frame, [pat.as_slice(), &pmt, &video].concat());
        assert!(key, "the key flag of the held PAT carries over");
        let delta = packet(0x41, None, None);
        assert_eq!(hold.push(&delta, false), Some((delta.clone(), false)));
        // A key frame without tables right before it gets the last ones.
        let (frame, key) = hold.push(&video, true).expect("media");
        assert_eq!(frame, [pat.as_slice(), &pmt, &video].concat());
        assert!(key);
        // Not TS at all: passed through.
        assert_eq!(hold.push(b"moof", true), Some((b"moof".to_vec(), true)));
    }

    #[test]
    fn the_lead_survives_the_33_bit_wrap() {
        let pcr = (WRAP_90K - 900) * 300;
        let frame = [packet(0x41, Some(pcr), None), packet(0x41, None, Some(8_100))].concat();
        assert_eq!(pcr_lead(&frame), Some(100_000_000));
    }

    #[test]
    fn no_lead_without_a_pcr_a_pes_time_on_its_pid_or_whole_packets() {
        let no_pcr = packet(0x41, None, Some(90_000));
        assert_eq!(pcr_lead(&no_pcr), None);
        let other_pid = [
            packet(0x41, Some(27_000_000), None),
            packet(0x42, None, Some(90_000)),
        ]
        .concat();
        assert_eq!(pcr_lead(&other_pid), None);
        let mut torn = packet(0x41, Some(27_000_000), Some(90_000));
        torn.pop();
        assert_eq!(pcr_lead(&torn), None);
        assert!(!is_ts(b"\0\0\0\x10ftyp"));
        assert_eq!(pcr_lead(&[]), None);
    }
}
