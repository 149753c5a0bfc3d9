//! Element tests for pravegasink and pravegasrc with the real x264enc, mp4mux, qtdemux, h264parse and
//! avdec_h264, on temporary embedded stores and (module `pravega`) on a real Pravega server.
//!
//! Timestamps: pravegasrc buffers carry the stored TAI time as PTS; after qtdemux a PTS is the stored time
//! plus less than one tick of the track timescale (see `common::assert_times_match`); the accurate-seek test
//! also records with mp4mux trak-timescale=1000000000, where decoded times are exact.
//!
//! Tests run in parallel; the whole binary takes about 10 s. Readers of unsealed streams use end-mode=latest
//! or their own timeouts, so nothing waits at a tail forever.

mod audio;
mod bytes;
mod common;
mod compat;
mod errors;
mod layout;
mod live;
mod mpegts;
mod playback;
mod pravega;
mod resume;
mod retention;
mod seek;
