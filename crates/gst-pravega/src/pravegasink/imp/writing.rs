//! Writing: opening the stream's writer, stamping frames with stored times, appending them, retention, and
//! the end record on stop.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use gst::prelude::*;
use gst::subclass::prelude::*;
use gst_base::prelude::*;
use hindsight_store::evidence::{self, SigningKey};
use hindsight_store::retention::{self, RetentionPolicy};
use hindsight_store::video::{FrameRole, IndexPolicy, VideoWriter};
use hindsight_store::{Backend, StreamName, Timestamp};

use crate::errors;
use crate::fmp4::{Assembler, BufferMeta, Fragment, Interleaver};
use crate::location::OpenError;
use crate::settings::TimestampMode;

use super::*;

pub(super) struct Started {
    pub(super) store: Arc<dyn Backend>,
    pub(super) name: StreamName,
    pub(super) writer: Option<VideoWriter>,
    pub(super) assembler: Option<Assembler>,
    /// Puts fMP4 fragments of several tracks (video and sound) in time order.
    pub(super) interleaver: Interleaver,
    /// This writer stored a video key frame: sound before it is dropped, since no reader could start there
    /// (the first frame of a run must carry the header a demuxer starts from).
    pub(super) video_started: bool,
    /// MPEG-TS input: tables waiting for the media buffer they precede.
    pub(super) tables: Option<crate::mpegts::TableHold>,
    /// Unix nanoseconds minus pipeline clock time, measured once so frames stay evenly spaced.
    pub(super) clock_to_unix: Option<i128>,
    /// TAI of running time 0 in `base-plus-running-time` mode, fixed at the first buffer.
    pub(super) base: Option<Timestamp>,
    pub(super) end: Option<Timestamp>,
    pub(super) retention: RetentionPolicy,
    pub(super) retention_interval: Duration,
    /// A retention pass is due: at the first frame (old footage goes at once) and after each indexed key frame.
    pub(super) retention_due: bool,
    pub(super) last_retention: Option<Instant>,
    pub(super) seal: bool,
    pub(super) frames: u64,
    /// An NTP-mode buffer time before 1970 was already reported.
    pub(super) warned_ntp: bool,
}

/// Seconds from the NTP epoch (1900-01-01 UTC) to the Unix epoch.
const NTP_TO_UNIX_SECS: i128 = 2_208_988_800;

fn unix_now_ns() -> i128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as i128)
        .unwrap_or(0)
}

impl PravegaSink {
    /// Opens the store and the stream's writer as the settings say.
    pub(super) fn open(&self) -> Result<Started, OpenError> {
        let s = lock(&self.settings).clone();
        if s.index_min_sec > s.index_max_sec {
            return Err(OpenError::settings(format!(
                "index-min-sec ({}) must not be above index-max-sec ({})",
                s.index_min_sec, s.index_max_sec
            )));
        }
        let retention = retention_policy(&s).map_err(|e| OpenError::settings(e.to_owned()))?;
        let (store, name) = s.location.open(true)?;
        let policy = IndexPolicy {
            min_interval: Duration::from_secs_f64(s.index_min_sec.max(0.0)),
            max_interval: Duration::from_secs_f64(s.index_max_sec.max(0.0)),
        };
        let open_failed = |e| {
            OpenError::store(
                &format!("Cannot open stream {name} for writing in {}", store.uri()),
                e,
                gst::ResourceError::OpenWrite,
            )
        };
        let mut writer = VideoWriter::open(store.as_ref(), &name, policy).map_err(open_failed)?;
        if s.hash_chain {
            let path = s
                .signing_key
                .as_ref()
                .map(PathBuf::from)
                .unwrap_or_else(evidence::default_key_path);
            let key = SigningKey::load_or_create(&path).map_err(|e| OpenError {
                code: gst::ResourceError::OpenWrite,
                message: format!("Cannot sign the hash chain of {name}: {e}"),
                store_error: None,
            })?;
            writer = writer
                .with_chain(store.as_ref(), Arc::new(key))
                .map_err(open_failed)?;
        }
        gst::info!(
            CAT,
            imp = self,
            "writing {name} in {} from offset {}",
            store.uri(),
            writer.data_tail()
        );
        Ok(Started {
            store,
            name,
            writer: Some(writer),
            assembler: None,
            interleaver: Interleaver::default(),
            video_started: false,
            tables: None,
            clock_to_unix: None,
            base: (s.timestamp_base > 0).then(|| Timestamp::from_nanos(s.timestamp_base)),
            end: None,
            retention,
            retention_interval: retention_interval(&s),
            retention_due: true,
            last_retention: None,
            seal: s.seal,
            frames: 0,
            warned_ntp: false,
        })
    }

    pub(super) fn timestamp_for(
        &self,
        state: &mut Started,
        mode: TimestampMode,
        meta: &BufferMeta,
    ) -> Timestamp {
        // Decode time keeps stored times increasing with B-frames, and fMP4 fragment times are decode times.
        let Some(t) = meta.dts.or(meta.pts) else {
            return Timestamp::from_nanos(0);
        };
        match mode {
            TimestampMode::Tai => Timestamp::from_nanos(t),
            TimestampMode::Ntp => {
                let unix = t as i128 - NTP_TO_UNIX_SECS * 1_000_000_000;
                match Timestamp::from_unix_nanos(unix) {
                    Ok(ts) if unix > 0 => ts,
                    _ => {
                        if !std::mem::replace(&mut state.warned_ntp, true) {
                            gst::warning!(
                                CAT,
                                imp = self,
                                "timestamp-mode=ntp, but buffer time {t} ns is not an NTP time after 1970 \
                                 (is upstream NTP-synchronised, e.g. rtspsrc ntp-sync=true?): stored as unknown"
                            );
                        }
                        Timestamp::from_nanos(0)
                    }
                }
            }
            TimestampMode::BasePlusRunningTime => {
                let obj = self.obj();
                let segment = obj.segment();
                let running = match segment.downcast_ref::<gst::ClockTime>() {
                    Some(s) => s.to_running_time(gst::ClockTime::from_nseconds(t)),
                    None => Some(gst::ClockTime::from_nseconds(t)),
                };
                let base = *state.base.get_or_insert_with(Timestamp::now);
                base.saturating_add(Duration::from_nanos(running.map_or(0, |r| r.nseconds())))
            }
            TimestampMode::RealtimeClock => {
                let obj = self.obj();
                let segment = obj.segment();
                // Muxers such as mp4mux send a BYTES segment; their buffer times are already running times.
                let running = match segment.downcast_ref::<gst::ClockTime>() {
                    Some(s) => s.to_running_time(gst::ClockTime::from_nseconds(t)),
                    None => Some(gst::ClockTime::from_nseconds(t)),
                };
                let (Some(running), Some(base), Some(clock)) = (running, obj.base_time(), obj.clock()) else {
                    return Timestamp::now();
                };
                let clock_time = running.nseconds() as i128 + base.nseconds() as i128;
                let offset = *state
                    .clock_to_unix
                    .get_or_insert_with(|| unix_now_ns() - clock.time().nseconds() as i128);
                Timestamp::from_unix_nanos(clock_time + offset).unwrap_or_else(|_| Timestamp::now())
            }
        }
    }

    /// Writes fMP4 fragments released by the interleaver: video frames as key or delta frames, sound as frames
    /// that are never indexed.
    pub(super) fn write_fragments(
        &self,
        state: &mut Started,
        fragments: Vec<Fragment>,
    ) -> Result<(), gst::FlowError> {
        for f in fragments {
            let role = match (f.audio, f.key) {
                (true, _) => FrameRole::Aux,
                (false, true) => FrameRole::Key,
                (false, false) => FrameRole::Delta,
            };
            if role == FrameRole::Aux && !state.video_started {
                gst::trace!(
                    CAT,
                    imp = self,
                    "dropping a sound fragment before the first key frame"
                );
                continue;
            }
            state.video_started |= role == FrameRole::Key;
            self.write(state, &f.data, f.meta.unwrap_or_default(), role)?;
        }
        Ok(())
    }

    /// Writes what the interleaver still holds (end of the input, or stopping).
    pub(super) fn drain_fragments(&self, state: &mut Started) -> Result<(), gst::FlowError> {
        let held = state.interleaver.drain();
        self.write_fragments(state, held)
    }

    pub(super) fn write(
        &self,
        state: &mut Started,
        data: &[u8],
        meta: BufferMeta,
        role: FrameRole,
    ) -> Result<(), gst::FlowError> {
        let mode = lock(&self.settings).timestamp_mode;
        let ts = self.timestamp_for(state, mode, &meta);
        let Some(writer) = state.writer.as_mut() else {
            return Err(gst::FlowError::Flushing);
        };
        let key = role == FrameRole::Key;
        match writer.append_as(data, ts, role) {
            Ok(appended) => {
                state.frames += 1;
                if appended.record.is_some_and(|r| r.is_seek_target()) {
                    state.retention_due = true;
                }
                // The end record lies after the last frame, as the original plugin writes it, even for a
                // buffer without a duration.
                let d = meta.duration.unwrap_or(0).max(1);
                state.end = Some(appended.timestamp.saturating_add(Duration::from_nanos(d)));
                gst::trace!(
                    CAT,
                    imp = self,
                    "frame {} at {} ({} bytes, key {key})",
                    state.frames,
                    appended.timestamp,
                    data.len()
                );
                Ok(())
            }
            Err(e) => {
                let context = format!("Cannot append to stream {}", state.name);
                errors::post(
                    self.obj().upcast_ref(),
                    &OpenError::store(&context, e, gst::ResourceError::Write),
                );
                Err(gst::FlowError::Error)
            }
        }
    }

    /// Writes the end record (and seals when asked) and releases the writer.
    pub(super) fn finish(&self) -> Result<(), gst::ErrorMessage> {
        let Some(mut state) = lock(&self.state).take() else {
            return Ok(());
        };
        if !state.interleaver.is_empty() {
            if let Err(e) = self.drain_fragments(&mut state) {
                gst::warning!(CAT, imp = self, "cannot write the last fragments: {e:?}");
            }
        }
        let Some(writer) = state.writer.take() else {
            return Ok(());
        };
        let result = if state.seal {
            writer.finish_and_seal(state.end)
        } else {
            writer.finish(state.end)
        };
        result.map_err(|e| {
            gst::error_msg!(
                errors::resource_error(e.kind(), gst::ResourceError::Write),
                ("Cannot finish stream {}: {e}", state.name)
            )
        })?;
        gst::info!(
            CAT,
            imp = self,
            "stopped {} after {} frames",
            state.name,
            state.frames
        );
        Ok(())
    }

    pub(super) fn run_retention(&self, state: &mut Started) {
        if state.retention.is_unlimited()
            || !state.retention_due
            || state
                .last_retention
                .is_some_and(|t| t.elapsed() < state.retention_interval)
        {
            return;
        }
        state.retention_due = false;
        state.last_retention = Some(Instant::now());
        match retention::apply(
            state.store.as_ref(),
            &state.name,
            state.retention,
            Timestamp::now(),
        ) {
            Ok(Some(t)) => gst::info!(CAT, imp = self, "retention: {} now starts at {t}", state.name),
            Ok(None) => gst::debug!(CAT, imp = self, "retention: nothing to delete in {}", state.name),
            // Retention failing must not stop a recording; the next pass tries again.
            Err(e) => gst::warning!(CAT, imp = self, "retention on {} failed: {e}", state.name),
        }
    }
}
