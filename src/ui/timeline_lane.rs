//! A camera's lane of the timeline: its index records, the ranges and byte summary made of them (grown as
//! records are appended, not rebuilt), and what is said about the stream (bookmarks, holds, retention).

use std::time::Duration;

use hindsight_store::timeline::ByteSummary;
use hindsight_store::{IndexRecord, Timeline, Timestamp, DEFAULT_RANGE_GAP};

/// Cells of the bitrate summary: a day is 8 640 of them, a month 259 200.
pub const SUMMARY_STEP: Duration = Duration::from_secs(10);

/// One camera's lane: its index and what it makes of it.
#[derive(Debug, Clone)]
pub struct Lane {
    /// The camera's name, drawn in its lane when there are several.
    pub name: String,
    /// Number of `records[0]` in the index.
    pub first: u64,
    /// Index records from the head on.
    pub records: Vec<IndexRecord>,
    /// Ranges and the truncated head, from `records`.
    pub timeline: Timeline,
    /// Bytes per [`SUMMARY_STEP`], for the bitrate strip of wide views.
    pub summary: ByteSummary,
}

impl Default for Lane {
    fn default() -> Self {
        Lane::new(String::new(), 0, Vec::new())
    }
}

impl Lane {
    /// A lane of `records`, the first of which is record number `first` of the index.
    pub fn new(name: String, first: u64, records: Vec<IndexRecord>) -> Self {
        let timeline = Timeline::from_records(first, &records, DEFAULT_RANGE_GAP);
        let mut summary = ByteSummary::new(SUMMARY_STEP, DEFAULT_RANGE_GAP);
        summary.extend(&records);
        Lane {
            name,
            first,
            records,
            timeline,
            summary,
        }
    }

    /// Takes in records appended to the index since: ranges and summary grow, nothing is gone over again.
    pub fn append(&mut self, new: &[IndexRecord]) {
        let from = self.records.len();
        self.records.extend_from_slice(new);
        self.timeline
            .extend(self.first, &self.records, from, DEFAULT_RANGE_GAP);
        self.summary.extend(new);
    }

    /// What an index read must bring to bring this lane up to date: `(first, count, last record)`.
    pub fn known(&self) -> Option<(u64, usize, IndexRecord)> {
        self.records.last().map(|r| (self.first, self.records.len(), *r))
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
