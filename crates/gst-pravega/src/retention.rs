//! Retention: delete old footage by age or by size, always at an indexed key frame so what stays is playable.

use std::time::Duration;

use hindsight_store::search;
use hindsight_store::video::{truncate_before_time, IndexReader, VideoStreamNames};
use hindsight_store::{Backend, Result, StreamName, Timestamp};

/// What a retention pass may keep.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct RetentionPolicy {
    /// Keep footage newer than this; `None` keeps any age.
    pub max_age: Option<Duration>,
    /// Keep at most about this many data bytes; `None` keeps any size.
    pub max_bytes: Option<u64>,
}

impl RetentionPolicy {
    /// True when the policy never deletes anything.
    pub fn is_unlimited(&self) -> bool {
        self.max_age.is_none() && self.max_bytes.is_none()
    }
}

/// Applies the policy once, `now` being the current time. Returns the first timestamp kept if anything was
/// deleted. Size retention cuts at the first key frame whose offset leaves at most `max_bytes` behind it.
pub fn apply(
    backend: &dyn Backend,
    name: &StreamName,
    policy: RetentionPolicy,
    now: Timestamp,
) -> Result<Option<Timestamp>> {
    let mut cut_at: Option<Timestamp> = None;
    if let Some(age) = policy.max_age {
        cut_at = Some(now.saturating_sub(age));
    }
    if let Some(max) = policy.max_bytes {
        let names = VideoStreamNames::new(name)?;
        let info = backend.info(&names.data)?;
        if info.tail - info.head > max {
            let mut index = IndexReader::open(backend, name)?;
            let keep_from = info.tail - max;
            // The first key frame at or after the byte position that leaves `max` bytes.
            let mut candidate = index.first_with_offset_after(keep_from.saturating_sub(1))?;
            let (_, end) = search::IndexSource::bounds(&mut index)?;
            while let Some((n, rec)) = candidate {
                if rec.is_seek_target() {
                    cut_at = Some(cut_at.map_or(rec.timestamp, |t| t.max(rec.timestamp)));
                    break;
                }
                candidate = if n + 1 < end {
                    Some((n + 1, search::IndexSource::record(&mut index, n + 1)?))
                } else {
                    None
                };
            }
        }
    }
    match cut_at {
        Some(t) => Ok(truncate_before_time(backend, name, t)?.map(|r| r.timestamp)),
        None => Ok(None),
    }
}
