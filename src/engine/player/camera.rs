//! One camera of a player: its stream, its branch's video sink, and the frame that sink shows.

use std::sync::Arc;
use std::time::Duration;

use gst::prelude::*;
use hindsight_store::{StreamName, Timestamp};
use relm4::gtk::gdk;

use super::pipeline::{CodedTimes, FrameStats, KeyFrameFilter};

/// A camera's frame on screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShownFrame {
    /// Its stored (TAI) time.
    pub time: Timestamp,
    /// How long it stays until the next frame, when the stream says.
    pub duration: Option<Duration>,
}

impl ShownFrame {
    /// The frame's duration, or a 25 fps frame's when the stream does not say.
    pub fn duration_or_default(&self) -> Duration {
        self.duration
            .filter(|d| !d.is_zero())
            .unwrap_or(Duration::from_millis(40))
    }
}

/// One camera's branch of a player's pipeline.
pub struct Camera {
    pub(super) stream: StreamName,
    pub(super) sink: gst::Element,
    pub(super) paintable: gdk::Paintable,
    pub(super) filter: Arc<KeyFrameFilter>,
    pub(super) stats: Arc<FrameStats>,
    pub(super) coded: Arc<CodedTimes>,
}

impl Camera {
    /// The stream played.
    pub fn stream(&self) -> &StreamName {
        &self.stream
    }

    /// Its video frames, for a `gtk::Picture`.
    pub fn paintable(&self) -> &gdk::Paintable {
        &self.paintable
    }

    /// What reached its video sink so far.
    pub fn frame_stats(&self) -> &FrameStats {
        &self.stats
    }

    /// The frame its sink shows now (the last one rendered or prerolled), read from the sink: no store access.
    pub fn shown(&self) -> Option<ShownFrame> {
        shown_by(&self.sink, &self.coded)
    }
}

/// The frame `sink` shows, in stream time (which pravegasrc makes the stored TAI time).
///
/// After an accurate seek the decoder clips the first frame to the segment: its PTS becomes the seek target
/// and its duration what is left of it. Its end is untouched, and its own start is among the coded frame times
/// that entered the decoder ([`CodedTimes`]).
pub(super) fn shown_by(sink: &gst::Element, coded: &CodedTimes) -> Option<ShownFrame> {
    let sample = sink.property::<Option<gst::Sample>>("last-sample")?;
    let buffer = sample.buffer()?;
    let pts = buffer.pts()?;
    let end = buffer.duration().map(|d| pts + d);
    let start = coded
        .start_of(pts.nseconds())
        .map_or(pts, gst::ClockTime::from_nseconds);
    let duration = end
        .map(|e| Duration::from_nanos(e.saturating_sub(start).nseconds()))
        .or_else(|| sample.caps().and_then(frame_period));
    let time = sample
        .segment()
        .and_then(|s| s.downcast_ref::<gst::ClockTime>())
        .and_then(|s| s.to_stream_time(start))
        .unwrap_or(start);
    Some(ShownFrame {
        time: Timestamp::from_nanos(time.nseconds()),
        duration,
    })
}

/// One frame's time from the caps' frame rate.
fn frame_period(caps: &gst::CapsRef) -> Option<Duration> {
    let rate = caps.structure(0)?.get::<gst::Fraction>("framerate").ok()?;
    let (n, d) = (
        u64::try_from(rate.numer()).ok()?,
        u64::try_from(rate.denom()).ok()?,
    );
    (n > 0).then(|| Duration::from_nanos(1_000_000_000 * d / n))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_frame_lasts_what_the_caps_say_when_the_buffer_does_not() {
        crate::engine::init().expect("gstreamer");
        let caps = gst::Caps::builder("video/x-raw")
            .field("framerate", gst::Fraction::new(15, 1))
            .build();
        assert_eq!(frame_period(&caps), Some(Duration::from_nanos(66_666_666)));
        let still = gst::Caps::builder("video/x-raw")
            .field("framerate", gst::Fraction::new(0, 1))
            .build();
        assert_eq!(frame_period(&still), None);
        let unknown = ShownFrame {
            time: Timestamp::from_nanos(1),
            duration: None,
        };
        assert_eq!(unknown.duration_or_default(), Duration::from_millis(40));
    }
}
