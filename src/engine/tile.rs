//! What a wall tile is showing, decided by the engine from facts (the newest frame that reached the screen, the
//! stream's writer and seal as the store reports them, errors, the end of the stream), never by a widget
//! guessing from its own timers; and whether a tile decodes every frame or key frames only.

use std::time::{Duration, Instant};

use hindsight_store::Timestamp;

/// A tile without a new frame for this long while its stream is being written says so.
pub const STALL_AFTER: Duration = Duration::from_secs(2);
/// A tile whose stream is being written and that has shown nothing for this long says so (its first image
/// is the stored key frame, so this is generous).
pub const FIRST_FRAME_WITHIN: Duration = Duration::from_secs(6);
/// Within this of the newest data counts as live (the player's LIVE badge uses the same).
pub const LIVE_WITHIN: Duration = Duration::from_millis(1500);

/// The state a tile shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TileState {
    /// Waiting for the first frame.
    Starting,
    /// At the live edge.
    Live,
    /// Showing frames this far behind the wall clock.
    Behind(Duration),
    /// The stream is being written, but no new frame arrived for this long (a camera reconnecting).
    Stalled(Duration),
    /// Nobody writes the stream any more; the newest frame is from this time.
    WriterStopped(Option<Timestamp>),
    /// The stream was sealed (or deleted and gone): nothing more will come.
    Ended,
    /// The tile failed; the message says why.
    Error(String),
}

impl TileState {
    /// A stable word for the status report and tests.
    pub fn word(&self) -> &'static str {
        match self {
            TileState::Starting => "starting",
            TileState::Live => "live",
            TileState::Behind(_) => "behind",
            TileState::Stalled(_) => "stalled",
            TileState::WriterStopped(_) => "writer-stopped",
            TileState::Ended => "ended",
            TileState::Error(_) => "error",
        }
    }
}

/// What is known about a tile.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TileFacts {
    /// When the tile started.
    pub started: Option<Instant>,
    /// Stored time of the newest frame that reached the screen.
    pub last_frame: Option<Timestamp>,
    /// When it arrived.
    pub last_arrival: Option<Instant>,
    /// A writer holds the stream (from the store, refreshed about once a second).
    pub writer_active: Option<bool>,
    /// The stream is sealed.
    pub sealed: bool,
    /// The stream ended (end of stream from the pipeline).
    pub ended: bool,
    /// The error the tile failed with.
    pub error: Option<String>,
}

impl TileFacts {
    /// The state at `now` (monotonic) and `wall` (the TAI wall clock).
    pub fn state(&self, now: Instant, wall: Timestamp) -> TileState {
        if let Some(e) = &self.error {
            return TileState::Error(e.clone());
        }
        if self.sealed || self.ended {
            return TileState::Ended;
        }
        let writing = self.writer_active == Some(true);
        let Some(arrival) = self.last_arrival else {
            // No frame yet: a stream nobody writes and that shows nothing after a while has stopped.
            let waited = self
                .started
                .map_or(Duration::ZERO, |s| now.saturating_duration_since(s));
            return match self.writer_active {
                Some(false) if waited > STALL_AFTER => TileState::WriterStopped(None),
                // Written, yet nothing to show after a GOP or two: unreadable data or a stuck pipeline, and the
                // tile says so rather than "connecting" forever.
                Some(true) if waited > FIRST_FRAME_WITHIN => TileState::Stalled(waited),
                _ => TileState::Starting,
            };
        };
        let quiet = now.saturating_duration_since(arrival);
        if quiet > STALL_AFTER {
            return if writing {
                TileState::Stalled(quiet)
            } else {
                TileState::WriterStopped(self.last_frame)
            };
        }
        match self.last_frame {
            Some(t) if wall.duration_since(t) > LIVE_WITHIN => TileState::Behind(wall.duration_since(t)),
            _ => TileState::Live,
        }
    }
}

/// A tile narrower than this decodes key frames only.
pub const SMALL_TILE_WIDTH: i32 = 240;
/// Falling this far behind the live edge means the machine cannot keep up with full decoding.
const OVERLOAD_BEHIND: Duration = Duration::from_secs(3);
/// A tile that fell back to key frames because of load tries full decoding again after this long.
const RETRY_FULL_AFTER: Duration = Duration::from_secs(30);

/// How a tile decodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecodeMode {
    /// Every frame.
    Full,
    /// Key frames only: the tile is small.
    KeyFramesSmall,
    /// Key frames only: the machine could not keep up with every frame.
    KeyFramesLoad,
}

impl DecodeMode {
    /// True when only key frames are decoded.
    pub fn key_frames_only(self) -> bool {
        self != DecodeMode::Full
    }
}

/// Decides a tile's decode mode from its size and how it keeps up. Key frames only when the tile is small, or
/// when a full-decode tile of a stream being written falls behind; full decoding again when the tile grows, or a
/// while after an overload (if it cannot keep up then, it falls back again).
#[derive(Debug, Clone)]
pub struct DecodePolicy {
    mode: DecodeMode,
    since: Option<Instant>,
}

impl Default for DecodePolicy {
    fn default() -> Self {
        DecodePolicy {
            mode: DecodeMode::Full,
            since: None,
        }
    }
}

impl DecodePolicy {
    /// The mode now.
    pub fn mode(&self) -> DecodeMode {
        self.mode
    }

    /// Updates the mode; `enlarged` tiles always decode every frame.
    pub fn update(&mut self, width: i32, enlarged: bool, state: &TileState, now: Instant) -> DecodeMode {
        let next = if enlarged {
            DecodeMode::Full
        } else if width > 0 && width < SMALL_TILE_WIDTH {
            DecodeMode::KeyFramesSmall
        } else {
            match (self.mode, state) {
                (DecodeMode::Full, TileState::Behind(d)) if *d > OVERLOAD_BEHIND => DecodeMode::KeyFramesLoad,
                (DecodeMode::KeyFramesLoad, _)
                    if self
                        .since
                        .is_some_and(|s| now.saturating_duration_since(s) < RETRY_FULL_AFTER) =>
                {
                    DecodeMode::KeyFramesLoad
                }
                _ => DecodeMode::Full,
            }
        };
        if next != self.mode {
            self.mode = next;
            self.since = Some(now);
        }
        next
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEC: Duration = Duration::from_secs(1);

    fn facts(now: Instant, wall: Timestamp) -> TileFacts {
        TileFacts {
            started: Some(now - 10 * SEC),
            last_frame: Some(wall.saturating_sub(Duration::from_millis(100))),
            last_arrival: Some(now - Duration::from_millis(100)),
            writer_active: Some(true),
            ..TileFacts::default()
        }
    }

    #[test]
    fn a_tile_is_live_behind_stalled_or_stopped_by_its_facts() {
        let (now, wall) = (Instant::now() + 60 * SEC, Timestamp::now());
        let f = facts(now, wall);
        assert_eq!(f.state(now, wall), TileState::Live);
        let behind = TileFacts {
            last_frame: Some(wall.saturating_sub(5 * SEC)),
            ..f.clone()
        };
        assert_eq!(behind.state(now, wall), TileState::Behind(5 * SEC));
        // No frame for 3 s while the stream is being written: it says so, never freezes silently.
        let quiet = TileFacts {
            last_arrival: Some(now - 3 * SEC),
            ..f.clone()
        };
        assert_eq!(quiet.state(now, wall), TileState::Stalled(3 * SEC));
        let stopped = TileFacts {
            writer_active: Some(false),
            ..quiet.clone()
        };
        assert_eq!(stopped.state(now, wall), TileState::WriterStopped(f.last_frame));
        // A short pause is no stall yet.
        let short = TileFacts {
            last_arrival: Some(now - SEC),
            writer_active: Some(false),
            ..f.clone()
        };
        assert_eq!(short.state(now, wall), TileState::Live);
    }

    #[test]
    fn ends_and_errors_win() {
        let (now, wall) = (Instant::now() + 60 * SEC, Timestamp::now());
        let f = facts(now, wall);
        let sealed = TileFacts {
            sealed: true,
            ..f.clone()
        };
        assert_eq!(sealed.state(now, wall), TileState::Ended);
        let failed = TileFacts {
            error: Some("gone".into()),
            sealed: true,
            ..f
        };
        assert_eq!(failed.state(now, wall), TileState::Error("gone".into()));
        assert_eq!(failed.state(now, wall).word(), "error");
    }

    #[test]
    fn a_tile_without_frames_starts_then_reports_a_stopped_writer() {
        let now = Instant::now() + 60 * SEC;
        let wall = Timestamp::now();
        let mut f = TileFacts {
            started: Some(now - SEC),
            writer_active: Some(false),
            ..TileFacts::default()
        };
        assert_eq!(f.state(now, wall), TileState::Starting);
        f.started = Some(now - 5 * SEC);
        assert_eq!(f.state(now, wall), TileState::WriterStopped(None));
        f.writer_active = Some(true);
        assert_eq!(
            f.state(now, wall),
            TileState::Starting,
            "a writer may still deliver"
        );
        f.started = Some(now - 9 * SEC);
        assert_eq!(
            f.state(now, wall),
            TileState::Stalled(9 * SEC),
            "but not for ever"
        );
    }

    #[test]
    fn small_or_overloaded_tiles_decode_key_frames_only() {
        let t0 = Instant::now();
        let mut p = DecodePolicy::default();
        assert_eq!(p.update(640, false, &TileState::Live, t0), DecodeMode::Full);
        assert_eq!(
            p.update(200, false, &TileState::Live, t0),
            DecodeMode::KeyFramesSmall
        );
        assert_eq!(
            p.update(200, true, &TileState::Live, t0),
            DecodeMode::Full,
            "enlarged"
        );
        assert_eq!(
            p.update(640, false, &TileState::Live, t0),
            DecodeMode::Full,
            "grew again"
        );
        let late = TileState::Behind(5 * SEC);
        assert_eq!(p.update(640, false, &late, t0), DecodeMode::KeyFramesLoad);
        // It keeps up again in key-frame mode; it stays there for a while, then tries full decoding.
        assert_eq!(
            p.update(640, false, &TileState::Live, t0 + 10 * SEC),
            DecodeMode::KeyFramesLoad
        );
        assert_eq!(
            p.update(640, false, &TileState::Live, t0 + 31 * SEC),
            DecodeMode::Full
        );
        assert!(DecodeMode::KeyFramesSmall.key_frames_only() && !DecodeMode::Full.key_frames_only());
    }
}
