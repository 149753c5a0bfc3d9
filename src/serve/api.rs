//! The JSON API: `GET /api/streams` (every stream with its span, size and state) and
//! `GET /api/streams/{scope}/{stream}` (what the timeline shows: recorded ranges, the gaps between them, the
//! deleted head).

use std::time::Duration;

use axum::extract::{Path, State};
use axum::Json;
use hindsight_store::video::{list_video_streams, summarize, IndexReader, VideoSummary};
use hindsight_store::{StoreError, Timeline, Timestamp, DEFAULT_RANGE_GAP};
use serde::Serialize;

use super::error::{blocking, ApiError};
use super::media::stream_name;
use super::AppState;

/// One stream in the list.
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct StreamRow {
    /// SCOPE/STREAM.
    pub name: String,
    /// First indexed time, RFC 3339 UTC.
    pub first: Option<String>,
    /// Last indexed time.
    pub last: Option<String>,
    /// Stored data bytes.
    pub bytes: u64,
    /// A writer holds the stream now.
    pub recording: bool,
    /// Sealed: finished for good.
    pub sealed: bool,
    /// Footage before this was deleted (retention or truncation); `None` when nothing was.
    pub truncated_before: Option<String>,
}

fn rfc(t: Option<Timestamp>) -> Option<String> {
    t.map(Timestamp::to_rfc3339)
}

impl StreamRow {
    fn new(s: &VideoSummary) -> Self {
        StreamRow {
            name: s.name.to_string(),
            first: rfc(s.first_time),
            last: rfc(s.last_time),
            bytes: s.stored_bytes(),
            recording: s.data.writer_active == Some(true),
            sealed: s.data.sealed,
            truncated_before: (s.data.head > 0).then(|| rfc(s.first_time)).flatten(),
        }
    }
}

/// `GET /api/streams`.
pub async fn streams(State(state): State<AppState>) -> Result<Json<Vec<StreamRow>>, ApiError> {
    let store = state.store.clone();
    let rows = blocking(move || {
        let names = match list_video_streams(store.as_ref()) {
            Err(StoreError::StoreMissing(_)) => Vec::new(),
            other => other?,
        };
        let mut rows = Vec::with_capacity(names.len());
        for n in &names {
            match summarize(store.as_ref(), n) {
                Ok(s) => rows.push(StreamRow::new(&s)),
                // Deleted between the listing and now.
                Err(StoreError::NotFound(_)) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(rows)
    })
    .await?;
    Ok(Json(rows))
}

/// A recorded range.
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct Range {
    /// Start, RFC 3339 UTC.
    pub start: String,
    /// End.
    pub end: String,
    /// Closed by an end record (the writer stopped cleanly).
    pub closed: bool,
}

/// A gap between two ranges.
#[derive(Debug, Serialize, PartialEq)]
pub struct Gap {
    /// Where the footage stops.
    pub start: String,
    /// Where it goes on.
    pub end: String,
    /// Seconds.
    pub seconds: f64,
}

/// What the timeline of a stream shows.
#[derive(Debug, Serialize, PartialEq)]
pub struct StreamDetail {
    /// The stream.
    #[serde(flatten)]
    pub row: StreamRow,
    /// Recorded ranges in time order.
    pub ranges: Vec<Range>,
    /// The gaps between them.
    pub gaps: Vec<Gap>,
}

/// The ranges and gaps of a timeline.
pub fn ranges_and_gaps(t: &Timeline) -> (Vec<Range>, Vec<Gap>) {
    let ranges = t
        .ranges
        .iter()
        .map(|r| Range {
            start: r.start.to_rfc3339(),
            end: r.end.to_rfc3339(),
            closed: r.closed,
        })
        .collect();
    let gaps = t
        .ranges
        .windows(2)
        .map(|w| Gap {
            start: w[0].end.to_rfc3339(),
            end: w[1].start.to_rfc3339(),
            seconds: w[1].start.duration_since(w[0].end).as_secs_f64(),
        })
        .collect();
    (ranges, gaps)
}

/// `GET /api/streams/{scope}/{stream}`.
pub async fn stream(
    State(state): State<AppState>,
    Path((scope, stream)): Path<(String, String)>,
) -> Result<Json<StreamDetail>, ApiError> {
    let name = stream_name(&scope, &stream)?;
    let store = state.store.clone();
    let detail = blocking(move || {
        let summary = summarize(store.as_ref(), &name)?;
        let (first, records) = IndexReader::open(store.as_ref(), &name)?.read_all()?;
        let timeline = Timeline::from_records(first, &records, gap());
        let (ranges, gaps) = ranges_and_gaps(&timeline);
        Ok(StreamDetail {
            row: StreamRow::new(&summary),
            ranges,
            gaps,
        })
    })
    .await?;
    Ok(Json(detail))
}

fn gap() -> Duration {
    DEFAULT_RANGE_GAP
}
