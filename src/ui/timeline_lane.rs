//! A camera's lane of the timeline: the digest of its index (ranges, truncated head and bytes per minute, grown
//! as records are appended, cached beside the stream) and its newest records, and what is said about the stream
//! (bookmarks, holds, retention). Memory does not follow the length of the stream: a year of footage is its
//! digest (about 12 MB) and the newest [`RECENT_RECORDS`] records.

use hindsight_store::digest::Digest;
use hindsight_store::timeline::ByteSummary;
use hindsight_store::{IndexRecord, Timeline, Timestamp};

/// Newest index records a lane keeps (about 55 h of 1 s key frames, 4 MB): close-up bitrate and hovers over
/// recent footage come from them; older footage is drawn from the digest and hovered through the index.
pub const RECENT_RECORDS: usize = 200_000;

/// What a lane holds of its index, to read only what was appended since: the digest's first record number,
/// its end and its last record.
pub type LaneKnown = (u64, u64, IndexRecord);

/// One camera's lane: its index and what it makes of it.
#[derive(Debug, Clone)]
pub struct Lane {
    /// The camera's name, drawn in its lane when there are several.
    pub name: String,
    /// Ranges, truncated head and bytes per minute of the whole index.
    pub digest: Digest,
    /// The newest records, ending with the digest's last.
    pub recent: Vec<IndexRecord>,
}

impl Default for Lane {
    fn default() -> Self {
        Lane::new(String::new(), Digest::new(0), Vec::new())
    }
}

impl Lane {
    /// A lane of a digest and the newest records it ends with (only the last [`RECENT_RECORDS`] are kept).
    pub fn new(name: String, digest: Digest, mut recent: Vec<IndexRecord>) -> Self {
        if recent.len() > RECENT_RECORDS {
            recent.drain(..recent.len() - RECENT_RECORDS);
        }
        Lane { name, digest, recent }
    }

    /// A lane of `records`, the first of which is record number `first` of the index.
    pub fn from_records(name: String, first: u64, records: Vec<IndexRecord>) -> Self {
        let mut digest = Digest::new(first);
        digest.extend(&records);
        Lane::new(name, digest, records)
    }

    /// Ranges and the truncated head.
    pub fn timeline(&self) -> &Timeline {
        &self.digest.timeline
    }

    /// Bytes per minute, for the bitrate strip of wide views and of footage older than the recent records.
    pub fn summary(&self) -> &ByteSummary {
        &self.digest.bytes
    }

    /// Takes in records appended to the index since: the digest grows, nothing is gone over again.
    pub fn append(&mut self, new: &[IndexRecord]) {
        self.digest.extend(new);
        self.recent.extend_from_slice(new);
        // Dropped in batches so that appending stays cheap.
        if self.recent.len() > RECENT_RECORDS + RECENT_RECORDS / 4 {
            self.recent.drain(..self.recent.len() - RECENT_RECORDS);
        }
    }

    /// What an index read must bring to bring this lane up to date.
    pub fn known(&self) -> Option<LaneKnown> {
        self.digest
            .last()
            .map(|r| (self.digest.first(), self.digest.end(), r))
    }

    /// Time of the first footage still stored.
    pub fn head(&self) -> Option<Timestamp> {
        self.digest.timeline.ranges.first().map(|r| r.start)
    }

    /// Time of the newest record.
    pub fn newest(&self) -> Option<Timestamp> {
        self.digest.last().map(|r| r.timestamp)
    }

    /// The recent records, when they reach back before `from` (or are the whole index).
    pub fn records_over(&self, from: Timestamp) -> Option<&[IndexRecord]> {
        let whole = self.recent.len() as u64 == self.digest.end() - self.digest.first();
        let first = self.recent.first()?;
        (whole || first.timestamp < from).then_some(&self.recent[..])
    }

    /// Records standing in for the index in retention estimates: a record at the start of each minute cell
    /// of the digest before the recent records (at the bytes the digest counted up to it), then those.
    pub fn retention_records(&self) -> Vec<IndexRecord> {
        let Some(first_recent) = self.recent.first() else {
            return Vec::new();
        };
        let head = self.digest.timeline.ranges.first();
        let mut out = Vec::new();
        if let Some(head) = head.filter(|h| h.start < first_recent.timestamp) {
            let mut offset = head.start_offset;
            for (lo, bytes) in self.digest.bytes.cells_before(first_recent.timestamp) {
                out.push(IndexRecord {
                    flags: hindsight_store::Flags::new(false, true, false),
                    timestamp: lo.max(head.start),
                    offset,
                });
                offset += bytes;
            }
        }
        out.extend_from_slice(&self.recent);
        out
    }
}

/// A lane's new index data: all of it, or the records appended since the last read.
#[derive(Debug, Clone)]
pub enum LaneUpdate {
    /// Replace the lane.
    Whole(Lane),
    /// Append these records to the lane in this place.
    Append(Vec<IndexRecord>),
}

/// What is said about the first camera's stream, drawn over its lane: bookmarks, held ranges, and the footage
/// retention deletes within the hour.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LaneMarks {
    /// Bookmarks: time and name.
    pub bookmarks: Vec<(Timestamp, String)>,
    /// Held ranges.
    pub holds: Vec<(Timestamp, Timestamp)>,
    /// Deleted by retention within the next hour.
    pub due: Option<(Timestamp, Timestamp)>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use hindsight_store::{Flags, DEFAULT_RANGE_GAP};

    const SEC: u64 = 1_000_000_000;

    /// A key frame a second, 1 000 bytes apart.
    fn records(n: u64) -> Vec<IndexRecord> {
        (0..n)
            .map(|i| IndexRecord {
                flags: Flags::new(false, true, i == 0),
                timestamp: Timestamp::from_nanos((1_000 + i) * SEC),
                offset: i * 1_000,
            })
            .collect()
    }

    #[test]
    fn a_long_lane_keeps_its_digest_and_only_the_newest_records() {
        let all = records(RECENT_RECORDS as u64 + 50_000);
        let mut lane = Lane::from_records("cam".into(), 0, all[..RECENT_RECORDS + 40_000].to_vec());
        assert_eq!(lane.recent.len(), RECENT_RECORDS);
        lane.append(&all[RECENT_RECORDS + 40_000..]);
        assert!(lane.recent.len() <= RECENT_RECORDS + RECENT_RECORDS / 4);
        assert_eq!(lane.recent.last(), all.last());
        assert_eq!(
            *lane.timeline(),
            Timeline::from_records(0, &all, DEFAULT_RANGE_GAP)
        );
        assert_eq!(
            lane.known(),
            Some((0, all.len() as u64, *all.last().expect("a record")))
        );
        assert_eq!(lane.head(), Some(all[0].timestamp));
        assert_eq!(lane.newest(), Some(all[all.len() - 1].timestamp));
        // Old footage is not in the records kept; recent footage is.
        assert!(lane.records_over(all[10].timestamp).is_none());
        assert!(lane.records_over(all[all.len() - 10].timestamp).is_some());
        // Retention estimates see the whole stream: from the head, in time and offset order, about where the
        // records were (a record a minute before the recent ones).
        let stand_in = lane.retention_records();
        assert_eq!(stand_in[0].timestamp, all[0].timestamp);
        assert_eq!(stand_in[0].offset, 0);
        assert!(stand_in
            .windows(2)
            .all(|w| w[0].timestamp <= w[1].timestamp && w[0].offset <= w[1].offset));
        let minute = stand_in
            .iter()
            .find(|r| r.timestamp >= all[6_000].timestamp)
            .expect("a record after 6 000 s");
        assert!(minute.offset.abs_diff(all[6_000].offset) <= 60_000, "{minute:?}");
    }

    #[test]
    fn a_short_lane_keeps_every_record() {
        let all = records(100);
        let lane = Lane::from_records("cam".into(), 0, all.clone());
        assert_eq!(lane.records_over(all[0].timestamp), Some(&all[..]));
        assert_eq!(lane.retention_records(), all);
    }
}
