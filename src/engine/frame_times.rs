//! The stored times of a stream's video frames in a time range, for the timeline's frame ticks at its deepest
//! zoom. The index holds key frames only, so the frames between them are read (a few seconds' worth). Sound
//! fragments stored between the pictures are told apart by their track: each key frame's header lists the sound
//! tracks.

use std::time::Instant;

use anyhow::Context;
use gstpravega::fmp4;
use hindsight_store::{Backend, Interrupt, ReadOutcome, StreamName, Timestamp, VideoReader};

/// Most frames read for one range (a few seconds at any real frame rate).
const MAX_FRAMES: usize = 5_000;

/// The sound tracks of a payload's moov, if it has one.
fn sound_tracks(payload: &[u8]) -> Option<Vec<u32>> {
    let top = fmp4::children(payload, 0, payload.len()).ok()?;
    let moov = top.iter().find(|b| &b.kind == b"moov")?;
    let tracks = fmp4::tracks(payload, moov).ok()?;
    Some(tracks.iter().filter(|t| t.is_audio()).map(|t| t.id).collect())
}

/// True if the payload's first track fragment is one of `sound`.
fn is_sound(payload: &[u8], sound: &[u32]) -> bool {
    if sound.is_empty() {
        return false;
    }
    let Ok(top) = fmp4::children(payload, 0, payload.len()) else {
        return false;
    };
    top.iter()
        .find(|b| &b.kind == b"moof")
        .and_then(|moof| fmp4::moof_track_id(payload, moof).ok().flatten())
        .is_some_and(|id| sound.contains(&id))
}

/// Stored times of the video frames of `stream` in `[from, to]`, oldest first.
pub fn video_frame_times(
    store: &dyn Backend,
    stream: &StreamName,
    from: Timestamp,
    to: Timestamp,
) -> anyhow::Result<Vec<Timestamp>> {
    let mut reader = VideoReader::open(store, stream).with_context(|| format!("cannot read {stream}"))?;
    reader
        .seek_to_time(from)
        .with_context(|| format!("cannot search the index of {stream}"))?;
    let interrupt = Interrupt::new().context("cannot read frames")?;
    let mut sound = Vec::new();
    let mut out = Vec::new();
    while out.len() < MAX_FRAMES {
        // Stored frames only: a frame still being written is not waited for.
        let frame = match reader
            .next_frame(Instant::now(), &interrupt)
            .with_context(|| format!("cannot read a frame of {stream}"))?
        {
            ReadOutcome::Frame(f) => f,
            _ => break,
        };
        let t = frame.header.timestamp;
        if t > to {
            break;
        }
        if let Some(tracks) = sound_tracks(&frame.payload) {
            sound = tracks;
        }
        if t >= from && !t.is_unknown() && !is_sound(&frame.payload, &sound) {
            out.push(t);
        }
    }
    Ok(out)
}
