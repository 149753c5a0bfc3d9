//! Retention: delete old footage by age or by size, always at an indexed key frame so what stays is playable.

use std::time::Duration;

use crate::backend::Backend;
use crate::error::Result;
use crate::name::StreamName;
use crate::search;
use crate::timestamp::Timestamp;
use crate::video::{truncate_before_time, IndexReader, VideoStreamNames};

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
/// deleted. Size retention cuts at the first key frame whose offset leaves at most `max_bytes` behind it; when
/// even the newest key frame leaves more (a limit below one GOP), it cuts at the newest key frame, so that
/// the stream stays as small as it can while playable instead of growing without bound.
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
            let mut key = None;
            while let Some((n, rec)) = candidate {
                if rec.is_seek_target() {
                    key = Some(rec);
                    break;
                }
                candidate = if n + 1 < end {
                    Some((n + 1, search::IndexSource::record(&mut index, n + 1)?))
                } else {
                    None
                };
            }
            if key.is_none() {
                key = search::last_seek_target(&mut index)?
                    .map(|(_, rec)| rec)
                    .filter(|rec| rec.offset > info.head);
            }
            if let Some(rec) = key {
                cut_at = Some(cut_at.map_or(rec.timestamp, |t| t.max(rec.timestamp)));
            }
        }
    }
    match cut_at {
        Some(t) => Ok(truncate_before_time(backend, name, t)?.map(|r| r.timestamp)),
        None => Ok(None),
    }
}

/// The footage `policy` will delete within `within` from `now`, as `(head, until)`: what a player shades as
/// going soon. `records` is the stream's index from its head on and `size` its stored data bytes. Age retention
/// cuts what will be older than the limit; size retention cuts what the stream will hold beyond the limit,
/// growing at its bitrate over the last ten minutes of records. Nothing at or after `protected_from` (the
/// first hold) is due. `None` when nothing is due.
pub fn due_within(
    policy: RetentionPolicy,
    records: &[crate::IndexRecord],
    size: u64,
    now: Timestamp,
    within: Duration,
    protected_from: Option<Timestamp>,
) -> Option<(Timestamp, Timestamp)> {
    let first = records.first()?;
    let head = first.timestamp;
    let mut until: Option<Timestamp> = None;
    if let Some(age) = policy.max_age {
        let cut = now.saturating_add(within).saturating_sub(age);
        until = until.max(Some(cut).filter(|&c| c > head));
    }
    if let (Some(max), Some(last)) = (policy.max_bytes, records.last()) {
        // Bytes a second over the last ten minutes of index records.
        let since = last.timestamp.saturating_sub(Duration::from_secs(600));
        let from = records.iter().find(|r| r.timestamp >= since).unwrap_or(first);
        let secs = last.timestamp.duration_since(from.timestamp).as_secs_f64();
        let rate = if secs > 0.0 {
            last.offset.saturating_sub(from.offset) as f64 / secs
        } else {
            0.0
        };
        let grown = size.saturating_add((rate * within.as_secs_f64()) as u64);
        if grown > max {
            // Deleting the oldest `grown - max` bytes: up to the first record past that many bytes from the head.
            let cut_offset = first.offset.saturating_add(grown - max);
            let cut = records
                .iter()
                .find(|r| r.offset >= cut_offset)
                .map_or(last.timestamp, |r| r.timestamp);
            until = until.max(Some(cut).filter(|&c| c > head));
        }
    }
    let until = match protected_from {
        Some(p) => until?.min(p),
        None => until?,
    };
    (until > head).then_some((head, until))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::video::{IndexPolicy, VideoWriter};
    use crate::StoreUri;

    const SEC: u64 = 1_000_000_000;

    /// Three GOPs of a key frame and nine delta frames, 1 kB each, one frame every 0.1 s.
    fn recorded() -> (tempfile::TempDir, std::sync::Arc<dyn Backend>, StreamName) {
        let dir = tempfile::tempdir().expect("temp dir");
        let backend = StoreUri::embedded(dir.path()).open_new().expect("store");
        let name = StreamName::parse("ret/unit").expect("name");
        let mut writer = VideoWriter::open(backend.as_ref(), &name, IndexPolicy::default()).expect("writer");
        for i in 0..30u64 {
            let ts = Timestamp::from_nanos(1_000 * SEC + i * SEC / 10);
            writer.append(&[0u8; 1000], ts, i % 10 == 0).expect("append");
        }
        writer.finish(None).expect("finish");
        (dir, backend, name)
    }

    fn head_time(backend: &dyn Backend, name: &StreamName) -> u64 {
        let mut index = IndexReader::open(backend, name).expect("index");
        search::first_record(&mut index)
            .expect("first")
            .expect("a record")
            .1
            .timestamp
            .nanos()
    }

    #[test]
    fn what_is_due_within_the_hour() {
        use crate::format::{Flags, IndexRecord};
        const HOUR: u64 = 3600;
        // A record a minute for two hours, 1 MB a minute.
        let records: Vec<IndexRecord> = (0..=120u64)
            .map(|m| IndexRecord {
                flags: Flags::new(false, true, false),
                timestamp: Timestamp::from_nanos((10_000 + m * 60) * SEC),
                offset: m * 1_000_000,
            })
            .collect();
        let t = |s: u64| Timestamp::from_nanos(s * SEC);
        let now = t(10_000 + 2 * HOUR);
        let within = Duration::from_secs(HOUR);
        let days = |d| RetentionPolicy {
            max_age: Some(Duration::from_secs(d)),
            max_bytes: None,
        };
        // Keep 90 minutes: in an hour everything older than now - 30 min goes.
        assert_eq!(
            due_within(days(90 * 60), &records, 120_000_000, now, within, None),
            Some((t(10_000), t(10_000 + 90 * 60)))
        );
        // Keep a day: nothing due.
        assert_eq!(
            due_within(days(86_400), &records, 120_000_000, now, within, None),
            None
        );
        // Keep 150 MB at 1 MB a minute: in an hour 180 MB, so the oldest 30 MB (30 minutes) go.
        let size = RetentionPolicy {
            max_age: None,
            max_bytes: Some(150_000_000),
        };
        assert_eq!(
            due_within(size, &records, 120_000_000, now, within, None),
            Some((t(10_000), t(10_000 + 30 * 60)))
        );
        // A hold from 10 minutes in keeps the rest.
        assert_eq!(
            due_within(size, &records, 120_000_000, now, within, Some(t(10_000 + 600))),
            Some((t(10_000), t(10_000 + 600)))
        );
        assert_eq!(
            due_within(size, &records, 120_000_000, now, within, Some(t(10_000))),
            None
        );
        assert_eq!(
            due_within(RetentionPolicy::default(), &records, 1, now, within, None),
            None
        );
        assert_eq!(due_within(size, &[], 0, now, within, None), None);
    }

    #[test]
    fn size_limit_cuts_at_the_first_key_frame_that_fits() {
        let (_dir, backend, name) = recorded();
        let policy = RetentionPolicy {
            max_age: None,
            max_bytes: Some(15 * 1020),
        };
        let now = Timestamp::now();
        let kept = apply(backend.as_ref(), &name, policy, now).expect("apply");
        // 15 frames may stay: the key frame at 2 s leaves 10.
        assert_eq!(kept.map(Timestamp::nanos), Some(1_002 * SEC));
        assert_eq!(head_time(backend.as_ref(), &name), 1_002 * SEC);
        assert_eq!(apply(backend.as_ref(), &name, policy, now).expect("again"), None);
    }

    #[test]
    fn a_limit_below_one_gop_keeps_only_the_newest_gop() {
        let (_dir, backend, name) = recorded();
        let policy = RetentionPolicy {
            max_age: None,
            max_bytes: Some(3000),
        };
        let now = Timestamp::now();
        let kept = apply(backend.as_ref(), &name, policy, now).expect("apply");
        assert_eq!(kept.map(Timestamp::nanos), Some(1_002 * SEC));
        // Nothing more can go without losing the newest key frame.
        assert_eq!(apply(backend.as_ref(), &name, policy, now).expect("again"), None);
    }

    #[test]
    fn unlimited_and_small_streams_keep_everything() {
        let (_dir, backend, name) = recorded();
        let now = Timestamp::now();
        assert_eq!(
            apply(backend.as_ref(), &name, RetentionPolicy::default(), now).expect("apply"),
            None
        );
        let policy = RetentionPolicy {
            max_age: None,
            max_bytes: Some(1 << 20),
        };
        assert_eq!(apply(backend.as_ref(), &name, policy, now).expect("apply"), None);
        assert_eq!(head_time(backend.as_ref(), &name), 1_000 * SEC);
    }
}
