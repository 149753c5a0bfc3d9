//! Property enums shared by the elements and their users.
//!
//! The nicks and the integer values are the original plugin's, so a pipeline written for it (`start-mode=3`
//! as well as `start-mode=timestamp`) means the same here; values the original does not have come after its
//! own.

use gst::glib;

/// How `pravegasink` turns buffer times into stored TAI timestamps.
#[derive(Debug, Eq, PartialEq, Ord, PartialOrd, Hash, Clone, Copy, glib::Enum, Default)]
#[repr(u32)]
#[enum_type(name = "GstPravegaTimestampMode")]
pub enum TimestampMode {
    /// Running time + base time on the pipeline clock, mapped to the system's real-time clock: wall-clock
    /// time of capture for live sources, evenly spaced frames from the start for files.
    #[default]
    #[enum_value(
        name = "Realtime clock: running time mapped to the wall clock",
        nick = "realtime-clock"
    )]
    RealtimeClock = 0,
    /// Buffer timestamps are nanoseconds since the NTP epoch (1900-01-01 UTC), as `rtspsrc ntp-sync=true
    /// ntp-time-source=running-time` stamps them from the camera's RTCP sender reports.
    #[enum_value(
        name = "NTP: buffer timestamps are nanoseconds since 1900-01-01 UTC",
        nick = "ntp"
    )]
    Ntp = 1,
    /// Buffer timestamps already are TAI nanoseconds since 1970 (e.g. copied from pravegasrc).
    #[enum_value(name = "TAI: buffer timestamps are TAI nanoseconds", nick = "tai")]
    Tai = 2,
    /// `timestamp-base` (TAI; 0 = the wall clock at the first buffer) plus running time: for files, whose
    /// frames keep their spacing from a chosen start time however fast they are recorded.
    #[enum_value(
        name = "Base plus running time: timestamp-base + running time",
        nick = "base-plus-running-time"
    )]
    BasePlusRunningTime = 3,
}

/// Where `pravegasrc` starts.
#[derive(Debug, Eq, PartialEq, Ord, PartialOrd, Hash, Clone, Copy, glib::Enum, Default)]
#[repr(u32)]
#[enum_type(name = "GstPravegaSrcStartMode")]
pub enum StartMode {
    /// The first byte still stored, without the index: segment times are left at 0 (running time is the
    /// stored time), for pipelines that restamp or only copy.
    #[enum_value(
        name = "No seek: the first stored frame, without the index, segment at 0",
        nick = "no-seek"
    )]
    NoSeek = 0,
    /// The oldest key frame still stored.
    #[default]
    #[enum_value(name = "Earliest: the oldest key frame", nick = "earliest")]
    Earliest = 1,
    /// The newest key frame (the live edge); waits for the first one in an empty stream.
    #[enum_value(name = "Latest: the newest key frame", nick = "latest")]
    Latest = 2,
    /// The key frame at or before `start-timestamp` / `start-utc`.
    #[enum_value(name = "Timestamp: the key frame at or before start-utc", nick = "timestamp")]
    Timestamp = 3,
    /// Exactly `start-timestamp` / `start-utc`: reading starts at the key frame before it and the segment at
    /// the time itself, so decoders drop the frames before it (resuming a pipeline at a precise time).
    #[enum_value(
        name = "Timestamp exact: the segment starts at start-utc, decoding from the key frame before",
        nick = "timestamp-exact"
    )]
    TimestampExact = 4,
}

/// Where `pravegasrc` ends.
#[derive(Debug, Eq, PartialEq, Ord, PartialOrd, Hash, Clone, Copy, glib::Enum, Default)]
#[repr(u32)]
#[enum_type(name = "GstPravegaSrcEndMode")]
pub enum EndMode {
    /// Never: tail the stream until it is sealed.
    #[default]
    #[enum_value(
        name = "Unbounded: follow the tail until the stream is sealed",
        nick = "unbounded"
    )]
    Unbounded = 0,
    /// At the end of the data when the element started.
    #[enum_value(name = "Latest: the end of the data at start", nick = "latest")]
    Latest = 1,
    /// Just before the last index record when the element started: the end of a finished recording, or the
    /// newest indexed key frame of one still being written.
    #[enum_value(
        name = "Latest indexed: up to the last index record at start",
        nick = "latest-indexed"
    )]
    LatestIndexed = 2,
    /// After the last frame at or before `end-timestamp` / `end-utc`.
    #[enum_value(name = "Timestamp: frames up to end-utc", nick = "timestamp")]
    Timestamp = 3,
}

/// Which of `retention-days` / `retention-bytes` apply (the original plugin's `retention-type`).
#[derive(Debug, Eq, PartialEq, Ord, PartialOrd, Hash, Clone, Copy, glib::Enum, Default)]
#[repr(u32)]
#[enum_type(name = "GstPravegaSinkRetentionType")]
pub enum RetentionType {
    /// No retention, whatever the two limits say.
    #[enum_value(name = "None: keep everything", nick = "none")]
    None = 0,
    /// Only `retention-days` (which must be set).
    #[enum_value(name = "Days: delete footage older than retention-days", nick = "days")]
    Days = 1,
    /// Only `retention-bytes` (which must be set).
    #[enum_value(name = "Bytes: keep at most retention-bytes", nick = "bytes")]
    Bytes = 2,
    /// Both limits (both must be set).
    #[enum_value(name = "Days and bytes: both limits", nick = "daysAndBytes")]
    DaysAndBytes = 3,
    /// Whichever of the two limits is set (non-zero).
    #[default]
    #[enum_value(name = "Automatic: the limits that are set", nick = "auto")]
    Auto = 4,
}
