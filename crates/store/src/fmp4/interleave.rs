//! [`Interleaver`]: the fragments of several tracks put in decode-time order before they are stored.
//!
//! mp4mux writes one track per fragment, and with a fragment per sample it does not always write them in time
//! order across tracks: an audio sample may follow a video frame that starts after it. A stream stores times
//! that only increase (the writer raises a time that steps back), so a sample written late would be stored
//! late and play out of sync. The interleaver holds each track's fragments until every other track has caught
//! up with them, then releases the earliest first. A track that stops (a file whose sound ends early, a camera
//! that sends no audio for a while) holds the others for at most the hold time.

use std::collections::VecDeque;
use std::time::Duration;

use super::Fragment;

/// The longest a fragment waits for the other tracks: well above mp4mux's interleaving (a few samples), and
/// short enough that a live recording whose sound stalls stays live.
pub const DEFAULT_HOLD: Duration = Duration::from_millis(300);

/// Reorders the fragments of several tracks by decode time; see the module docs.
#[derive(Debug)]
pub struct Interleaver {
    hold_ns: u64,
    /// One queue per track of the current moov, in arrival order (decode times increase within a track).
    queues: Vec<(u32, VecDeque<Fragment>)>,
    /// The latest time of any fragment seen since the last drain.
    newest: u64,
}

impl Default for Interleaver {
    fn default() -> Self {
        Self::new(DEFAULT_HOLD)
    }
}

fn time_of(f: &Fragment) -> Option<u64> {
    f.meta.and_then(|m| m.dts.or(m.pts))
}

impl Interleaver {
    /// An interleaver that holds a fragment for at most `hold` of stream time.
    pub fn new(hold: Duration) -> Self {
        Interleaver {
            hold_ns: hold.as_nanos().min(u128::from(u64::MAX)) as u64,
            queues: Vec::new(),
            newest: 0,
        }
    }

    /// The tracks to wait for (a moov's track ids). When they change, what is held is released first, in order.
    pub fn set_tracks(&mut self, ids: &[u32]) -> Vec<Fragment> {
        let same = self.queues.len() == ids.len() && self.queues.iter().zip(ids).all(|((a, _), b)| a == b);
        if same {
            return Vec::new();
        }
        let out = self.drain();
        self.queues = ids.iter().map(|&id| (id, VecDeque::new())).collect();
        out
    }

    /// Takes one fragment; returns those now due, in decode-time order.
    pub fn push(&mut self, f: Fragment) -> Vec<Fragment> {
        // One track needs no waiting; untimed or unknown-track fragments cannot be placed, so they go out
        // after everything held (in their arrival order).
        let slot = if self.queues.len() > 1 && time_of(&f).is_some() {
            f.track
                .and_then(|id| self.queues.iter().position(|(t, _)| *t == id))
        } else {
            None
        };
        let Some(slot) = slot else {
            let mut out = self.drain();
            out.push(f);
            return out;
        };
        self.newest = self.newest.max(time_of(&f).unwrap_or(0));
        self.queues[slot].1.push_back(f);
        let mut out = Vec::new();
        while let Some((slot, t)) = self.earliest() {
            let all_waiting = self.queues.iter().all(|(_, q)| !q.is_empty());
            if !all_waiting && self.newest.saturating_sub(t) <= self.hold_ns {
                break;
            }
            if let Some(f) = self.queues[slot].1.pop_front() {
                out.push(f);
            }
        }
        out
    }

    /// Releases everything held, in decode-time order (at the end of the input).
    pub fn drain(&mut self) -> Vec<Fragment> {
        let mut out = Vec::new();
        while let Some((slot, _)) = self.earliest() {
            if let Some(f) = self.queues[slot].1.pop_front() {
                out.push(f);
            }
        }
        self.newest = 0;
        out
    }

    /// The queue whose first fragment is the earliest, and that fragment's time.
    fn earliest(&self) -> Option<(usize, u64)> {
        self.queues
            .iter()
            .enumerate()
            .filter_map(|(i, (_, q))| q.front().map(|f| (i, time_of(f).unwrap_or(0))))
            .min_by_key(|&(i, t)| (t, i))
    }

    /// True if no fragment is held.
    pub fn is_empty(&self) -> bool {
        self.queues.iter().all(|(_, q)| q.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fmp4::BufferMeta;

    fn frag(track: u32, ms: u64) -> Fragment {
        Fragment {
            data: vec![track as u8],
            key: track == 1,
            audio: track == 2,
            track: Some(track),
            meta: Some(BufferMeta {
                pts: Some(ms * 1_000_000),
                dts: Some(ms * 1_000_000),
                duration: None,
                delta_unit: false,
            }),
        }
    }

    fn times(frags: &[Fragment]) -> Vec<(u32, u64)> {
        frags
            .iter()
            .map(|f| (f.track.unwrap_or(0), time_of(f).unwrap_or(0) / 1_000_000))
            .collect()
    }

    #[test]
    fn one_track_passes_straight_through() {
        let mut i = Interleaver::default();
        assert!(i.set_tracks(&[1]).is_empty());
        assert_eq!(times(&i.push(frag(1, 0))), [(1, 0)]);
        assert_eq!(times(&i.push(frag(1, 40))), [(1, 40)]);
        assert!(i.is_empty());
    }

    #[test]
    fn two_tracks_come_out_in_time_order() {
        let mut i = Interleaver::default();
        i.set_tracks(&[1, 2]);
        let mut out = Vec::new();
        // mp4mux-like order: a video frame, then the audio samples that started before it.
        for (t, ms) in [
            (1, 0),
            (2, 0),
            (1, 40),
            (2, 21),
            (2, 42),
            (1, 80),
            (2, 64),
            (2, 85),
        ] {
            out.extend(i.push(frag(t, ms)));
        }
        out.extend(i.drain());
        let got = times(&out);
        assert_eq!(got.len(), 8);
        assert!(got.windows(2).all(|w| w[0].1 <= w[1].1), "{got:?}");
        assert!(i.is_empty());
    }

    #[test]
    fn a_silent_track_holds_the_others_at_most_the_hold_time() {
        let mut i = Interleaver::new(Duration::from_millis(300));
        i.set_tracks(&[1, 2]);
        let mut released = Vec::new();
        for n in 0..20u64 {
            released.extend(i.push(frag(1, n * 40)));
        }
        // Frames up to 760 - 300 ms are out; the rest wait for audio that may still come.
        let got = times(&released);
        assert_eq!(got.last(), Some(&(1, 440)));
        // Audio that comes late is still placed before the video held after it.
        let mut rest = i.push(frag(2, 470));
        rest.extend(i.drain());
        let got = times(&rest);
        assert_eq!(got[..2], [(2, 470), (1, 480)]);
        assert!(got.windows(2).all(|w| w[0].1 <= w[1].1), "{got:?}");
    }

    #[test]
    fn new_tracks_release_what_was_held() {
        let mut i = Interleaver::default();
        i.set_tracks(&[1, 2]);
        assert!(i.push(frag(1, 0)).is_empty());
        let out = i.set_tracks(&[1]);
        assert_eq!(times(&out), [(1, 0)]);
        assert!(i.set_tracks(&[1]).is_empty());
    }

    #[test]
    fn untimed_fragments_follow_everything_held() {
        let mut i = Interleaver::default();
        i.set_tracks(&[1, 2]);
        assert!(i.push(frag(2, 10)).is_empty());
        let mut untimed = frag(1, 0);
        untimed.meta = None;
        let out = i.push(untimed);
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].track, Some(2));
        assert!(out[1].meta.is_none());
    }
}
