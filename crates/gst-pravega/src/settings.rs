//! Property enums shared by the elements and their users.

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
    RealtimeClock,
    /// Buffer timestamps already are TAI nanoseconds since 1970 (e.g. copied from pravegasrc).
    #[enum_value(name = "TAI: buffer timestamps are TAI nanoseconds", nick = "tai")]
    Tai,
    /// `timestamp-base` (TAI; 0 = the wall clock at the first buffer) plus running time: for files, whose
    /// frames keep their spacing from a chosen start time however fast they are recorded.
    #[enum_value(
        name = "Base plus running time: timestamp-base + running time",
        nick = "base-plus-running-time"
    )]
    BasePlusRunningTime,
}

/// Where `pravegasrc` starts.
#[derive(Debug, Eq, PartialEq, Ord, PartialOrd, Hash, Clone, Copy, glib::Enum, Default)]
#[repr(u32)]
#[enum_type(name = "GstPravegaSrcStartMode")]
pub enum StartMode {
    /// The oldest key frame still stored.
    #[default]
    #[enum_value(name = "Earliest: the oldest key frame", nick = "earliest")]
    Earliest,
    /// The newest key frame (the live edge); waits for the first one in an empty stream.
    #[enum_value(name = "Latest: the newest key frame", nick = "latest")]
    Latest,
    /// The key frame at or before `start-timestamp` / `start-utc`.
    #[enum_value(name = "Timestamp: the key frame at or before start-utc", nick = "timestamp")]
    Timestamp,
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
    Unbounded,
    /// At the end of the data when the element started.
    #[enum_value(name = "Latest: the end of the data at start", nick = "latest")]
    Latest,
    /// After the last frame at or before `end-timestamp` / `end-utc`.
    #[enum_value(name = "Timestamp: frames up to end-utc", nick = "timestamp")]
    Timestamp,
}
