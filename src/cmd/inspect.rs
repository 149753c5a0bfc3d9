//! `hindsight inspect`: a stream's byte ranges, index and recorded time ranges.

use std::io::Write;
use std::time::Duration;

use anyhow::Context;
use hindsight_store::video::{summarize, IndexReader};
use hindsight_store::{digest, Backend, IndexRecord, StreamName, Timeline, DEFAULT_RANGE_GAP};
use serde::Serialize;

use crate::human;

#[derive(Debug, Serialize)]
struct Report {
    stream: String,
    store: String,
    state: &'static str,
    data_head: u64,
    data_tail: u64,
    stored_bytes: u64,
    sealed: bool,
    index_first_record: u64,
    index_end_record: u64,
    first_time: Option<String>,
    last_time: Option<String>,
    truncated_before: Option<String>,
    ranges: Vec<RangeReport>,
    gaps: Vec<GapReport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    records: Option<Vec<RecordReport>>,
}

#[derive(Debug, Serialize)]
struct RangeReport {
    start: String,
    end: String,
    seconds: f64,
    first_record: u64,
    end_record: u64,
    bytes: u64,
    closed: bool,
}

#[derive(Debug, Serialize)]
struct GapReport {
    from: String,
    to: String,
    seconds: f64,
}

#[derive(Debug, Serialize)]
struct RecordReport {
    number: u64,
    time: String,
    timestamp_ns: u64,
    offset: u64,
    random_access: bool,
    discontinuity: bool,
}

impl RecordReport {
    fn new(number: u64, r: &IndexRecord) -> Self {
        RecordReport {
            number,
            time: r.timestamp.to_rfc3339(),
            timestamp_ns: r.timestamp.nanos(),
            offset: r.offset,
            random_access: r.flags.random_access(),
            discontinuity: r.flags.discontinuity(),
        }
    }
}

/// Runs the command.
pub fn run(
    store: &dyn Backend,
    name: &StreamName,
    json: bool,
    with_records: bool,
    gap: Duration,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    let summary = summarize(store, name).with_context(|| format!("cannot read stream {name}"))?;
    // The records themselves are read only when asked for, or for another gap than the cached digest's: a
    // year of footage is 630 MB of index, its digest a few MB.
    let (timeline, records) = if with_records || gap != DEFAULT_RANGE_GAP {
        let (first, records) = IndexReader::open(store, name)
            .and_then(|mut index| index.read_all())
            .with_context(|| format!("cannot read the index of {name}"))?;
        (
            Timeline::from_records(first, &records, gap),
            Some((first, records)),
        )
    } else {
        let loaded = digest::load(store, name).with_context(|| format!("cannot read the index of {name}"))?;
        (loaded.digest.timeline, None)
    };
    let report = Report {
        stream: name.to_string(),
        store: store.uri(),
        state: super::list::state(&summary),
        data_head: summary.data.head,
        data_tail: summary.data.tail,
        stored_bytes: summary.stored_bytes(),
        sealed: summary.data.sealed,
        index_first_record: summary.first_record,
        index_end_record: summary.end_record,
        first_time: summary.first_time.map(|t| t.to_rfc3339()),
        last_time: summary.last_time.map(|t| t.to_rfc3339()),
        truncated_before: timeline.truncated_before.map(|t| t.to_rfc3339()),
        ranges: timeline
            .ranges
            .iter()
            .map(|r| RangeReport {
                start: r.start.to_rfc3339(),
                end: r.end.to_rfc3339(),
                seconds: r.duration().as_secs_f64(),
                first_record: r.first_record,
                end_record: r.end_record,
                bytes: r.end_offset - r.start_offset,
                closed: r.closed,
            })
            .collect(),
        gaps: timeline
            .gaps()
            .iter()
            .map(|(a, b)| GapReport {
                from: a.to_rfc3339(),
                to: b.to_rfc3339(),
                seconds: b.duration_since(*a).as_secs_f64(),
            })
            .collect(),
        records: records.filter(|_| with_records).map(|(first, records)| {
            records
                .iter()
                .enumerate()
                .map(|(i, r)| RecordReport::new(first + i as u64, r))
                .collect()
        }),
    };
    if json {
        serde_json::to_writer_pretty(&mut *out, &report)?;
        writeln!(out)?;
        return Ok(());
    }
    writeln!(out, "stream      {} ({})", report.stream, report.state)?;
    writeln!(out, "store       {}", report.store)?;
    writeln!(
        out,
        "data        offsets {}..{} ({} stored){}",
        report.data_head,
        report.data_tail,
        human::bytes(report.stored_bytes),
        if report.sealed { ", sealed" } else { "" }
    )?;
    writeln!(
        out,
        "index       records {}..{}",
        report.index_first_record, report.index_end_record
    )?;
    writeln!(
        out,
        "time        {} .. {}",
        report.first_time.as_deref().unwrap_or("-"),
        report.last_time.as_deref().unwrap_or("-")
    )?;
    if let Some(t) = &report.truncated_before {
        writeln!(out, "truncated   footage before {t} was deleted")?;
    }
    writeln!(out, "ranges      {}", report.ranges.len())?;
    for r in &report.ranges {
        writeln!(
            out,
            "  {} .. {}  {:>12}  {:>10}  records {}..{}{}",
            r.start,
            r.end,
            human::duration(Duration::from_secs_f64(r.seconds)),
            human::bytes(r.bytes),
            r.first_record,
            r.end_record,
            if r.closed { "" } else { "  (open)" }
        )?;
    }
    writeln!(out, "gaps        {}", report.gaps.len())?;
    for g in &report.gaps {
        writeln!(
            out,
            "  {} .. {}  {}",
            g.from,
            g.to,
            human::duration(Duration::from_secs_f64(g.seconds))
        )?;
    }
    if let Some(records) = &report.records {
        writeln!(out, "records")?;
        for r in records {
            writeln!(
                out,
                "  {:>8}  {}  offset {:>12}  {}{}",
                r.number,
                r.time,
                r.offset,
                if r.random_access { "key" } else { "---" },
                if r.discontinuity { " discont" } else { "" }
            )?;
        }
    }
    Ok(())
}
