//! `hindsight list`: the video streams of a store.

use std::io::Write;

use anyhow::Context;
use hindsight_store::video::{list_video_streams, summarize_many, VideoSummary};
use hindsight_store::{Backend, StoreError};
use serde::Serialize;

use crate::human;

/// One row of the listing.
#[derive(Debug, Serialize)]
pub struct Row {
    /// SCOPE/STREAM.
    pub stream: String,
    /// First index time, RFC 3339.
    pub first: Option<String>,
    /// Last index time, RFC 3339.
    pub last: Option<String>,
    /// Stored data bytes.
    pub bytes: u64,
    /// `recording`, `sealed` or `idle`.
    pub state: &'static str,
}

impl From<&VideoSummary> for Row {
    fn from(s: &VideoSummary) -> Self {
        Row {
            stream: s.name.to_string(),
            first: s.first_time.map(|t| t.to_rfc3339()),
            last: s.last_time.map(|t| t.to_rfc3339()),
            bytes: s.stored_bytes(),
            state: state(s),
        }
    }
}

/// The stream's state word.
pub fn state(s: &VideoSummary) -> &'static str {
    if s.data.writer_active == Some(true) {
        "recording"
    } else if s.data.sealed {
        "sealed"
    } else {
        "idle"
    }
}

/// How to record a first stream, for an empty listing.
const FIRST_RECORDING_HINT: &str = "record one with: hindsight record --stream site/cam1 --source test";

/// Runs the command. `default_store`: the store was not named, so a store directory that does not exist yet is
/// simply a fresh machine with no streams (a named one that does not exist is an error: likely a typo).
pub fn run(store: &dyn Backend, default_store: bool, json: bool, out: &mut dyn Write) -> anyhow::Result<()> {
    let names = match list_video_streams(store) {
        Err(StoreError::StoreMissing(_)) if default_store => Vec::new(),
        other => other.with_context(|| format!("cannot list streams in {}", store.uri()))?,
    };
    let mut rows = Vec::with_capacity(names.len());
    for (name, summary) in names.iter().zip(summarize_many(store, &names)) {
        let summary = summary.with_context(|| format!("cannot read stream {name}"))?;
        rows.push(Row::from(&summary));
    }
    if json {
        serde_json::to_writer_pretty(&mut *out, &rows)?;
        writeln!(out)?;
        return Ok(());
    }
    if rows.is_empty() {
        writeln!(out, "no streams yet in {}; {FIRST_RECORDING_HINT}", store.uri())?;
        return Ok(());
    }
    writeln!(
        out,
        "{:<32} {:<30} {:<30} {:>10}  STATE",
        "STREAM", "FIRST", "LAST", "SIZE"
    )?;
    for r in rows {
        writeln!(
            out,
            "{:<32} {:<30} {:<30} {:>10}  {}",
            r.stream,
            r.first.as_deref().unwrap_or("-"),
            r.last.as_deref().unwrap_or("-"),
            human::bytes(r.bytes),
            r.state
        )?;
    }
    Ok(())
}
