//! The logic behind the timeline widget, free of GTK so it is unit-tested: time ↔ pixel mapping with zoom and
//! pan, scrub throttling, and the live/behind state.

use std::time::{Duration, Instant};

use hindsight_store::Timestamp;

/// Narrowest window: two seconds across the widget, where each frame has its tick.
pub const MIN_SPAN: Duration = Duration::from_secs(2);
/// Widest window: a year and a month, so that a year of footage fits (wide views are drawn from the index's
/// digest, a cell a minute, never from its records).
pub const MAX_SPAN: Duration = Duration::from_secs(400 * 24 * 3600);
/// Narrowest window fitted to the data: a minute (zooming goes further).
pub const FIT_MIN_SPAN: Duration = Duration::from_secs(60);
/// Frame ticks are drawn when the window is at most this wide.
pub const FRAME_TICKS_SPAN: Duration = Duration::from_secs(10);

/// The visible part of the time axis.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeWindow {
    /// Time at the left edge.
    pub start: Timestamp,
    /// Time across the whole width.
    pub span: Duration,
}

impl TimeWindow {
    /// A window covering `[from, to]` with a small margin, within the zoom limits.
    pub fn around(from: Timestamp, to: Timestamp) -> Self {
        let span = to
            .duration_since(from)
            .mul_f64(1.05)
            .clamp(FIT_MIN_SPAN, MAX_SPAN);
        let middle = from.nanos() / 2 + to.nanos() / 2;
        TimeWindow {
            start: Timestamp::from_nanos(middle.saturating_sub(span.as_nanos() as u64 / 2).max(1)),
            span,
        }
    }

    /// Time at the right edge.
    pub fn end(&self) -> Timestamp {
        self.start.saturating_add(self.span)
    }

    /// Horizontal position of `t` in a widget `width` pixels wide (may be outside 0..width).
    pub fn x_of(&self, t: Timestamp, width: f64) -> f64 {
        let dt = t.nanos() as f64 - self.start.nanos() as f64;
        dt / self.span.as_nanos() as f64 * width
    }

    /// Time under pixel `x`.
    pub fn t_of(&self, x: f64, width: f64) -> Timestamp {
        let frac = if width > 0.0 { x / width } else { 0.0 };
        let nanos = self.start.nanos() as f64 + frac * self.span.as_nanos() as f64;
        Timestamp::from_nanos(nanos.max(1.0) as u64)
    }

    /// Zooms by `factor` (< 1 zooms in) keeping the time under `anchor_x` in place.
    pub fn zoom(&mut self, factor: f64, anchor_x: f64, width: f64) {
        let anchor = self.t_of(anchor_x, width);
        let span = self.span.mul_f64(factor.max(0.01)).clamp(MIN_SPAN, MAX_SPAN);
        let left = Duration::from_nanos((span.as_nanos() as f64 * (anchor_x / width.max(1.0))) as u64);
        self.start = anchor.saturating_sub(left);
        self.span = span;
    }

    /// Moves the window by `dx` pixels (positive moves towards later times).
    pub fn pan(&mut self, dx: f64, width: f64) {
        let dt = dx / width.max(1.0) * self.span.as_nanos() as f64;
        let nanos = (self.start.nanos() as f64 + dt).max(1.0);
        self.start = Timestamp::from_nanos(nanos as u64);
    }

    /// Moves the window so `t` is visible, keeping the zoom (used to follow the playhead).
    pub fn reveal(&mut self, t: Timestamp) {
        if t < self.start || t > self.end() {
            self.start = t.saturating_sub(self.span / 2);
        }
    }

    /// Tick spacing for labels: the smallest "nice" step giving at least `min_px` between ticks.
    pub fn tick_step(&self, width: f64, min_px: f64) -> Duration {
        const STEPS: [u64; 18] = [
            1,
            5,
            10,
            30,
            60,
            300,
            600,
            900,
            1800,
            3600,
            3 * 3600,
            6 * 3600,
            12 * 3600,
            86400,
            2 * 86400,
            7 * 86400,
            14 * 86400,
            28 * 86400,
        ];
        let per_px = self.span.as_secs_f64() / width.max(1.0);
        STEPS
            .iter()
            .map(|&s| Duration::from_secs(s))
            .find(|s| s.as_secs_f64() / per_px >= min_px)
            .unwrap_or(Duration::from_secs(28 * 86400))
    }
}

/// Limits how often a drag issues seeks, so dragging stays smooth: at most one seek per interval, and the
/// last position of a drag is always sought once the interval has passed.
#[derive(Debug, Clone)]
pub struct ScrubThrottle {
    interval: Duration,
    last_sent: Option<Instant>,
    pending: Option<Timestamp>,
}

impl ScrubThrottle {
    /// A throttle allowing one seek per `interval`.
    pub fn new(interval: Duration) -> Self {
        ScrubThrottle {
            interval,
            last_sent: None,
            pending: None,
        }
    }

    /// Offers a scrub position at `now`: returns it if a seek may go now, else keeps it for [`Self::due`].
    pub fn offer(&mut self, t: Timestamp, now: Instant) -> Option<Timestamp> {
        match self.last_sent {
            Some(last) if now.duration_since(last) < self.interval => {
                self.pending = Some(t);
                None
            }
            _ => {
                self.last_sent = Some(now);
                self.pending = None;
                Some(t)
            }
        }
    }

    /// The kept position once its interval has passed (call from a timer).
    pub fn due(&mut self, now: Instant) -> Option<Timestamp> {
        let ready = self
            .last_sent
            .is_none_or(|last| now.duration_since(last) >= self.interval);
        if ready {
            if let Some(t) = self.pending.take() {
                self.last_sent = Some(now);
                return Some(t);
            }
        }
        None
    }

    /// How long until the kept position may be sought (`None`: nothing is kept). A timer set for this long
    /// sends it at the interval exactly: waiting for the next motion event or a periodic tick would stretch
    /// the gap between seeks to up to twice the interval when events come just under it apart.
    pub fn wait(&self, now: Instant) -> Option<Duration> {
        self.pending?;
        Some(self.last_sent.map_or(Duration::ZERO, |last| {
            self.interval.saturating_sub(now.duration_since(last))
        }))
    }

    /// True while a position waits to be sought.
    pub fn has_pending(&self) -> bool {
        self.pending.is_some()
    }

    /// The drag ended: what was pending is dropped (the end of the drag is sought on its own).
    pub fn finish(&mut self) {
        self.pending = None;
        self.last_sent = None;
    }
}

/// How far playback is from the live edge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LiveStatus {
    /// Within the threshold of the newest data of a stream being recorded.
    Live,
    /// Behind the newest data of a stream being recorded.
    Behind(Duration),
    /// The stream is not being recorded.
    NotRecording,
}

impl LiveStatus {
    /// Within this of the edge counts as live.
    pub const THRESHOLD: Duration = Duration::from_millis(1500);

    /// Compares the playhead with the live edge (`None` when the stream is not being written).
    pub fn compute(position: Option<Timestamp>, edge: Option<Timestamp>) -> Self {
        match (position, edge) {
            (_, None) => LiveStatus::NotRecording,
            (None, Some(_)) => LiveStatus::Behind(Duration::MAX),
            (Some(p), Some(e)) => {
                let behind = e.duration_since(p);
                if behind <= Self::THRESHOLD {
                    LiveStatus::Live
                } else {
                    LiveStatus::Behind(behind)
                }
            }
        }
    }
}

/// The clip marked for export: set by Shift-dragging on the timeline or by marking its start and end (I, O)
/// at the playhead. Always ordered; a mark on the wrong side of the other one starts a new clip there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ClipSelection {
    start: Option<Timestamp>,
    end: Option<Timestamp>,
}

impl ClipSelection {
    /// The shortest clip worth exporting.
    pub const MIN: Duration = Duration::from_millis(100);

    /// A dragged selection between two times in either order.
    pub fn between(a: Timestamp, b: Timestamp) -> Self {
        ClipSelection {
            start: Some(a.min(b)),
            end: Some(a.max(b)),
        }
    }

    /// Marks the start; an end at or before it is dropped.
    pub fn mark_start(&mut self, t: Timestamp) {
        self.start = Some(t);
        if self.end.is_some_and(|e| e <= t) {
            self.end = None;
        }
    }

    /// Marks the end; a start at or after it is dropped.
    pub fn mark_end(&mut self, t: Timestamp) {
        self.end = Some(t);
        if self.start.is_some_and(|s| s >= t) {
            self.start = None;
        }
    }

    /// The marks as they are (for drawing a half-made selection).
    pub fn marks(&self) -> (Option<Timestamp>, Option<Timestamp>) {
        (self.start, self.end)
    }

    /// The clip to export: both marks set and at least [`Self::MIN`] apart.
    pub fn range(&self) -> Option<(Timestamp, Timestamp)> {
        match (self.start, self.end) {
            (Some(s), Some(e)) if e.duration_since(s) >= Self::MIN => Some((s, e)),
            _ => None,
        }
    }
}

/// A file name for an exported clip: the stream and the clip's local start time, safe on any file system.
pub fn clip_file_name(stream: &str, start_local: &str) -> String {
    format!("{}.mp4", portable_name(stream, start_local))
}

/// The folder offered for a case export whose first camera is `stream`, e.g.
/// `case-site-cam1-2024-05-01-12-00-00`.
pub fn case_folder_name(stream: &str, start_local: &str) -> String {
    format!("case-{}", portable_name(stream, start_local))
}

/// `stream` and `start_local` with anything but ASCII letters, digits, `-` and `_` made a `-`.
fn portable_name(stream: &str, start_local: &str) -> String {
    let clean = |s: &str| -> String {
        s.chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                    c
                } else {
                    '-'
                }
            })
            .collect()
    };
    format!("{}-{}", clean(stream), clean(start_local))
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: u64 = 1_000_000_000;

    fn t(secs: u64) -> Timestamp {
        Timestamp::from_nanos(1_700_000_000 * S + secs * S)
    }

    #[test]
    fn pixels_and_times_map_both_ways_at_every_zoom() {
        for span in [60u64, 3600, 86400, 7 * 86400, 14 * 86400] {
            let w = TimeWindow {
                start: t(0),
                span: Duration::from_secs(span),
            };
            for width in [100.0, 1280.0] {
                assert_eq!(w.x_of(t(0), width), 0.0);
                assert!((w.x_of(w.end(), width) - width).abs() < 1e-6);
                let mid = w.t_of(width / 2.0, width);
                assert!((w.x_of(mid, width) - width / 2.0).abs() < 1e-3, "span {span}");
            }
        }
    }

    #[test]
    fn zoom_keeps_the_anchor_and_respects_limits() {
        let mut w = TimeWindow {
            start: t(0),
            span: Duration::from_secs(3600),
        };
        let anchor = w.t_of(300.0, 1000.0);
        w.zoom(0.5, 300.0, 1000.0);
        assert_eq!(w.span, Duration::from_secs(1800));
        let after = w.t_of(300.0, 1000.0);
        assert!(
            after.nanos().abs_diff(anchor.nanos()) < 1_000_000,
            "{anchor} vs {after}"
        );
        for _ in 0..40 {
            w.zoom(0.5, 500.0, 1000.0);
        }
        assert_eq!(w.span, MIN_SPAN);
        for _ in 0..80 {
            w.zoom(2.0, 500.0, 1000.0);
        }
        assert_eq!(w.span, MAX_SPAN);
    }

    #[test]
    fn pan_and_reveal() {
        let mut w = TimeWindow {
            start: t(0),
            span: Duration::from_secs(1000),
        };
        w.pan(100.0, 1000.0);
        assert_eq!(w.start, t(100));
        w.pan(-200.0, 1000.0);
        assert_eq!(w.start.nanos(), t(0).nanos() - 100 * S);
        w.reveal(t(5000));
        assert!(w.start <= t(5000) && t(5000) <= w.end());
    }

    #[test]
    fn around_fits_a_range() {
        let w = TimeWindow::around(t(0), t(7200));
        assert!(w.start <= t(0) && w.end() >= t(7200));
        let tiny = TimeWindow::around(t(0), t(1));
        assert_eq!(tiny.span, FIT_MIN_SPAN);
    }

    #[test]
    fn tick_steps_grow_with_the_span() {
        let hour = TimeWindow {
            start: t(0),
            span: Duration::from_secs(3600),
        };
        let week = TimeWindow {
            start: t(0),
            span: Duration::from_secs(7 * 86400),
        };
        assert!(hour.tick_step(1000.0, 80.0) < week.tick_step(1000.0, 80.0));
        assert_eq!(hour.tick_step(1000.0, 80.0), Duration::from_secs(300));
    }

    #[test]
    fn scrub_throttle_sends_first_then_latest() {
        let mut th = ScrubThrottle::new(Duration::from_millis(100));
        let t0 = Instant::now();
        assert_eq!(th.offer(t(1), t0), Some(t(1)));
        assert_eq!(th.offer(t(2), t0 + Duration::from_millis(10)), None);
        assert_eq!(th.offer(t(3), t0 + Duration::from_millis(20)), None);
        assert!(th.has_pending());
        assert_eq!(th.due(t0 + Duration::from_millis(50)), None);
        assert_eq!(th.due(t0 + Duration::from_millis(100)), Some(t(3)));
        assert_eq!(th.due(t0 + Duration::from_millis(300)), None);
        assert_eq!(th.offer(t(4), t0 + Duration::from_millis(400)), Some(t(4)));
    }

    #[test]
    fn scrub_throttle_says_when_the_kept_position_may_go() {
        let mut th = ScrubThrottle::new(Duration::from_millis(60));
        let t0 = Instant::now();
        assert_eq!(th.wait(t0), None, "nothing kept");
        assert_eq!(th.offer(t(1), t0), Some(t(1)));
        // Motion 50 ms apart: without a timer the next seek would wait for the event at 100 ms.
        assert_eq!(th.offer(t(2), t0 + Duration::from_millis(50)), None);
        assert_eq!(
            th.wait(t0 + Duration::from_millis(50)),
            Some(Duration::from_millis(10))
        );
        assert_eq!(th.due(t0 + Duration::from_millis(60)), Some(t(2)));
        assert_eq!(th.wait(t0 + Duration::from_millis(60)), None);
        assert_eq!(th.offer(t(3), t0 + Duration::from_millis(200)), Some(t(3)));
        assert_eq!(
            th.offer(t(4), t0 + Duration::from_millis(300)),
            Some(t(4)),
            "late: at once"
        );
    }

    #[test]
    fn live_status() {
        assert_eq!(LiveStatus::compute(Some(t(10)), None), LiveStatus::NotRecording);
        assert_eq!(LiveStatus::compute(Some(t(10)), Some(t(11))), LiveStatus::Live);
        assert_eq!(
            LiveStatus::compute(Some(t(10)), Some(t(40))),
            LiveStatus::Behind(Duration::from_secs(30))
        );
        assert_eq!(LiveStatus::compute(Some(t(50)), Some(t(40))), LiveStatus::Live);
    }

    #[test]
    fn clip_selection_orders_marks_and_drops_crossed_ones() {
        let mut c = ClipSelection::default();
        assert_eq!(c.range(), None);
        c.mark_start(t(10));
        assert_eq!(c.range(), None, "one mark is no clip");
        c.mark_end(t(20));
        assert_eq!(c.range(), Some((t(10), t(20))));
        // A start after the end begins a new clip there.
        c.mark_start(t(30));
        assert_eq!(c.marks(), (Some(t(30)), None));
        c.mark_end(t(25));
        assert_eq!(c.marks(), (None, Some(t(25))));
        c.mark_start(t(5));
        assert_eq!(c.range(), Some((t(5), t(25))));
        // Dragging right to left is the same clip as left to right.
        assert_eq!(ClipSelection::between(t(9), t(3)).range(), Some((t(3), t(9))));
        // A click (no drag) selects nothing.
        assert_eq!(ClipSelection::between(t(9), t(9)).range(), None);
    }

    #[test]
    fn clip_file_names_are_portable() {
        assert_eq!(
            clip_file_name("site/cam1", "2024-05-01 12:00:00"),
            "site-cam1-2024-05-01-12-00-00.mp4"
        );
        assert_eq!(
            case_folder_name("site/cam1", "2024-05-01 12:00:00"),
            "case-site-cam1-2024-05-01-12-00-00"
        );
    }
}
