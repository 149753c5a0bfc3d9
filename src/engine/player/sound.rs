//! The player's sound: the first camera's audio track, when it has one, played beside its pictures.
//!
//! ```text
//! decodebin ─(audio)─▶ [live gate] queue ▶ audioconvert ▶ audioresample ▶ volume ▶ audio sink
//! ```
//!
//! The branch is made when decodebin finds a sound track (a stream without one has no audio sink that would
//! wait to preroll). The other cameras of a review are not decoded for sound at all. Sound is muted at speeds
//! other than 1× (it stays in the pipeline, so seeks and prerolls are the same at every speed). At the live
//! edge the pictures are shown on arrival, so the sound is played on arrival too; the gate drops the sound
//! older than the newest picture (the burst decoded from the key frame when going live), which would otherwise
//! stay queued in the audio device and make the sound lag.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{anyhow, Context};
use gst::prelude::*;

use hindsight_store::Timestamp;

use super::pipeline::FrameStats;

/// The audio sink used instead of the desktop's (`autoaudiosink`) when set, e.g. `fakeaudiosink` in tests.
pub const AUDIO_SINK_ENV: &str = "HINDSIGHT_AUDIO_SINK";

/// At the live edge, sound this much older than the newest picture is dropped.
const LIVE_SOUND_SLACK: Duration = Duration::from_millis(80);

/// Volume and mute as the user set them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SoundSettings {
    /// 0.0..=1.0 (linear).
    pub volume: f64,
    /// Muted by the user.
    pub muted: bool,
}

impl Default for SoundSettings {
    fn default() -> Self {
        SoundSettings {
            volume: 1.0,
            muted: false,
        }
    }
}

/// The sound branch's state, shared by the player and the branch made in decodebin's pad-added.
#[derive(Debug)]
pub struct Sound {
    volume: AtomicU64,
    muted: AtomicBool,
    /// Playing at a speed other than 1×.
    trick: AtomicBool,
    live: AtomicBool,
    /// The `volume` and audio sink elements, once the branch exists.
    elements: Mutex<Option<(gst::Element, gst::Element)>>,
    /// Sound buffers that reached the audio sink.
    played: AtomicU64,
    /// Stream time (ns) of the last sound buffer a handoff-capable sink rendered (0: none, or a real device).
    heard: AtomicU64,
    /// The first camera's video sink figures (newest picture time, for the live gate).
    video: Arc<FrameStats>,
}

impl Sound {
    /// Sound with `settings`, gated against the pictures counted in `video`.
    pub fn new(settings: SoundSettings, video: Arc<FrameStats>) -> Self {
        Sound {
            volume: AtomicU64::new(settings.volume.clamp(0.0, 1.0).to_bits()),
            muted: AtomicBool::new(settings.muted),
            trick: AtomicBool::new(false),
            live: AtomicBool::new(false),
            elements: Mutex::new(None),
            played: AtomicU64::new(0),
            heard: AtomicU64::new(0),
            video,
        }
    }

    /// True once the stream's sound track is being played.
    pub fn is_present(&self) -> bool {
        self.lock().is_some()
    }

    /// Volume and mute as the user set them.
    pub fn settings(&self) -> SoundSettings {
        SoundSettings {
            volume: f64::from_bits(self.volume.load(Ordering::SeqCst)),
            muted: self.muted.load(Ordering::SeqCst),
        }
    }

    /// Sound buffers that reached the audio sink so far.
    pub fn buffers_played(&self) -> u64 {
        self.played.load(Ordering::Relaxed)
    }

    /// The stream time being heard: the last buffer a test sink (`fakeaudiosink`, which renders on the clock
    /// and signals each buffer) rendered, or the audio sink's own position (a device's sink knows what its
    /// speaker plays, ahead of which it buffers).
    pub fn position(&self) -> Option<Timestamp> {
        match self.heard.load(Ordering::Relaxed) {
            0 => {
                let guard = self.lock();
                let (_, sink) = guard.as_ref()?;
                sink.query_position::<gst::ClockTime>()
                    .filter(|t| t.nseconds() > 0)
                    .map(|t| Timestamp::from_nanos(t.nseconds()))
            }
            ns => Some(Timestamp::from_nanos(ns)),
        }
    }

    /// True while nothing is heard: muted by the user, at volume 0, or at a speed other than 1×.
    pub fn is_silent(&self) -> bool {
        let s = self.settings();
        s.muted || s.volume <= 0.0 || self.trick.load(Ordering::SeqCst)
    }

    /// Sets the volume (0.0..=1.0).
    pub fn set_volume(&self, volume: f64) {
        self.volume
            .store(volume.clamp(0.0, 1.0).to_bits(), Ordering::SeqCst);
        self.apply();
    }

    /// Mutes or unmutes.
    pub fn set_muted(&self, muted: bool) {
        self.muted.store(muted, Ordering::SeqCst);
        self.apply();
    }

    /// The playback speed changed: sound is only heard at 1×.
    pub fn set_rate(&self, rate: f64) {
        self.trick
            .store((rate - 1.0).abs() > f64::EPSILON, Ordering::SeqCst);
        self.apply();
    }

    /// Following the live edge (play on arrival) or history (play on the clock).
    pub fn set_live(&self, live: bool) {
        self.live.store(live, Ordering::SeqCst);
        if let Some((_, sink)) = self.lock().as_ref() {
            sink.set_property("sync", !live);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<(gst::Element, gst::Element)>> {
        self.elements.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn apply(&self) {
        if let Some((volume, _)) = self.lock().as_ref() {
            let s = self.settings();
            volume.set_property("volume", s.volume);
            volume.set_property("mute", self.is_silent());
        }
    }

    /// Whether a sound buffer at `pts` (stream time, ns) is played: at the live edge, not when it is older than
    /// the newest picture.
    fn passes(&self, pts: Option<u64>) -> bool {
        if !self.live.load(Ordering::SeqCst) {
            return true;
        }
        match (pts, self.video.last_time()) {
            (Some(pts), Some(newest)) => {
                pts.saturating_add(LIVE_SOUND_SLACK.as_nanos() as u64) >= newest.nanos()
            }
            _ => true,
        }
    }
}

/// The audio sink: [`AUDIO_SINK_ENV`]'s element, or the desktop's. `autoaudiosink` falls back to a silent sink
/// on a machine without sound, so a missing sound card never stops playback.
fn audio_sink(name: String) -> anyhow::Result<gst::Element> {
    let factory = std::env::var(AUDIO_SINK_ENV).unwrap_or_else(|_| "autoaudiosink".to_owned());
    gst::ElementFactory::make(&factory)
        .name(name)
        .build()
        .or_else(|e| {
            tracing::warn!(%factory, error = %e, "no audio sink; sound is not played");
            gst::ElementFactory::make("fakesink").build()
        })
        .context("cannot create an audio sink")
}

/// Plays decodebin's sound pad `pad` through `queue ! audioconvert ! audioresample ! volume ! sink`.
pub(super) fn add_branch(
    pipeline: &gst::Pipeline,
    pad: &gst::Pad,
    prefix: &str,
    sound: &Arc<Sound>,
) -> anyhow::Result<()> {
    if sound.is_present() {
        return Ok(());
    }
    let make = |factory: &str, name: &str| {
        gst::ElementFactory::make(factory)
            .name(format!("{prefix}{name}"))
            .build()
            .with_context(|| format!("cannot create {factory}"))
    };
    let queue = make("queue", "audio-queue")?;
    let convert = make("audioconvert", "audio-convert")?;
    let resample = make("audioresample", "audio-resample")?;
    let volume = make("volume", "volume")?;
    let sink = audio_sink(format!("{prefix}audio-sink"))?;
    let live = sound.live.load(Ordering::SeqCst);
    if sink.find_property("sync").is_some() {
        sink.set_property("sync", !live);
    }
    let elements = [&queue, &convert, &resample, &volume, &sink];
    pipeline.add_many(elements)?;
    gst::Element::link_many(elements).context("cannot link the sound branch")?;
    *sound.lock() = Some((volume.clone(), sink.clone()));
    sound.apply();
    if let Some(queue_pad) = queue.static_pad("sink") {
        let gate = sound.clone();
        queue_pad.add_probe(gst::PadProbeType::BUFFER, move |_, info| {
            let pts = info.buffer().and_then(|b| b.pts()).map(|t| t.nseconds());
            if gate.passes(pts) {
                gst::PadProbeReturn::Ok
            } else {
                gst::PadProbeReturn::Drop
            }
        });
    }
    if let Some(sink_pad) = sink.static_pad("sink") {
        let counter = sound.clone();
        sink_pad.add_probe(gst::PadProbeType::BUFFER, move |_, _| {
            counter.played.fetch_add(1, Ordering::Relaxed);
            gst::PadProbeReturn::Ok
        });
    }
    if sink.find_property("signal-handoffs").is_some() {
        sink.set_property("signal-handoffs", true);
        let heard = sound.clone();
        sink.connect("handoff", false, move |args| {
            let pts = args
                .get(1)
                .and_then(|v| v.get::<gst::Buffer>().ok())
                .and_then(|b| b.pts());
            if let Some(pts) = pts.filter(|t| t.nseconds() > 0) {
                heard.heard.store(pts.nseconds(), Ordering::Relaxed);
            }
            None
        });
    }
    for e in elements {
        e.sync_state_with_parent()?;
    }
    let target = queue
        .static_pad("sink")
        .ok_or_else(|| anyhow!("queue without sink pad"))?;
    pad.link(&target)
        .map_err(|e| anyhow!("cannot link the sound: {e:?}"))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sound_is_silent_when_muted_at_zero_or_off_speed() {
        let s = Sound::new(SoundSettings::default(), Arc::default());
        assert!(!s.is_silent() && !s.is_present());
        s.set_rate(2.0);
        assert!(s.is_silent(), "muted at 2x");
        s.set_rate(1.0);
        assert!(!s.is_silent());
        s.set_volume(3.0);
        assert_eq!(s.settings().volume, 1.0, "clamped");
        s.set_volume(0.0);
        assert!(s.is_silent());
        s.set_volume(0.5);
        s.set_muted(true);
        assert!(s.is_silent());
        assert_eq!(
            s.settings(),
            SoundSettings {
                volume: 0.5,
                muted: true
            }
        );
    }

    #[test]
    fn the_live_gate_drops_sound_older_than_the_pictures() {
        let video = Arc::new(FrameStats::default());
        let s = Sound::new(SoundSettings::default(), video.clone());
        video.record(Some(gst::ClockTime::from_seconds(100)));
        assert!(s.passes(Some(1)), "history plays everything");
        s.set_live(true);
        assert!(!s.passes(Some(99_000_000_000)), "a second behind the pictures");
        assert!(s.passes(Some(99_950_000_000)), "within the slack");
        assert!(s.passes(Some(100_500_000_000)));
        assert!(s.passes(None));
        assert_eq!(video.last_time(), Some(Timestamp::from_nanos(100_000_000_000)));
    }
}
