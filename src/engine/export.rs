//! Export a time range of a stream to a standard MP4 file, without re-encoding:
//! `pravegasrc start=FROM end=TO ! qtdemux ! queue ! h264parse ! mp4mux faststart ! filesink` (`tsdemux` for a
//! stream of MPEG-TS), and its sound when it has some: `qtdemux. ! queue ! PARSER ! mp4mux.`. The clip starts at
//! the key frame at or before FROM, so it decodes from its first frame in any player.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use anyhow::{anyhow, bail, Context};
use gst::prelude::*;
use hindsight_store::search;
use hindsight_store::video::{IndexReader, ReadOutcome, VideoReader};
use hindsight_store::{Backend, RecordedRange, StreamName, Timeline, Timestamp, DEFAULT_RANGE_GAP};

/// What to export.
#[derive(Clone)]
pub struct ExportOptions {
    /// The store.
    pub store: Arc<dyn Backend>,
    /// The stream.
    pub stream: StreamName,
    /// Start of the range (the clip starts at the key frame at or before it).
    pub from: Timestamp,
    /// End of the range.
    pub to: Timestamp,
    /// The MP4 file to write.
    pub output: PathBuf,
}

/// What was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExportSummary {
    /// Time of the first frame (a key frame at or before `from`).
    pub first: Timestamp,
    /// Time of the last frame.
    pub last: Timestamp,
    /// File size.
    pub bytes: u64,
}

fn temp_path(output: &Path) -> PathBuf {
    let mut name = output.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(".part");
    output.with_file_name(name)
}

/// Where the clip starts: the key frame at or before `from` when `from` lies in recorded footage, else the start
/// of the first recording that begins within the range. A recording still being written (or cut off by a
/// crash) has frames up to one key-frame interval after its last index record; `DEFAULT_RANGE_GAP` bounds that.
fn clip_start(index: &mut IndexReader, opts: &ExportOptions) -> anyhow::Result<Timestamp> {
    let (first_record, records) = index
        .read_all()
        .with_context(|| format!("cannot read the index of {}", opts.stream))?;
    let timeline = Timeline::from_records(first_record, &records, DEFAULT_RANGE_GAP);
    let covers = |r: &RecordedRange| {
        let end = if r.closed {
            r.end
        } else {
            Timestamp::from_nanos(r.end.nanos().saturating_add(DEFAULT_RANGE_GAP.as_nanos() as u64))
        };
        r.start <= opts.from && opts.from <= end
    };
    if timeline.ranges.iter().any(covers) {
        if let Some((_, r)) = search::seek_target_at_or_before(index, opts.from)? {
            return Ok(r.timestamp);
        }
    }
    let later = timeline
        .ranges
        .iter()
        .filter(|r| r.start > opts.from && r.start <= opts.to)
        .find_map(|r| {
            records
                .iter()
                .skip((r.first_record - first_record) as usize)
                .take((r.end_record - r.first_record) as usize)
                .find(|rec| rec.is_seek_target() && rec.timestamp <= opts.to)
                .map(|rec| rec.timestamp)
        });
    later.ok_or_else(|| {
        anyhow!(
            "{} has no footage between {} and {}",
            opts.stream,
            opts.from,
            opts.to
        )
    })
}

/// The demuxer for the stream's payload, judged by the frame at `first` (the clip's first key frame).
fn demuxer_for(opts: &ExportOptions, first: Timestamp) -> anyhow::Result<&'static str> {
    let cannot = || format!("cannot read stream {}", opts.stream);
    let mut reader = VideoReader::open(opts.store.as_ref(), &opts.stream).with_context(cannot)?;
    reader.seek_to_time(first).with_context(cannot)?;
    let interrupt = hindsight_store::Interrupt::new().with_context(cannot)?;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    match reader.next_frame(deadline, &interrupt).with_context(cannot)? {
        ReadOutcome::Frame(f) if gstpravega::mpegts::is_ts(&f.payload) => Ok("tsdemux"),
        _ => Ok("qtdemux"),
    }
}

/// Drops buffers leaving `pad` that decode after `to` and, when given, keeps the latest presentation time seen.
fn limit_to_range(pad: &gst::Pad, to: Timestamp, last: Option<Arc<AtomicU64>>) {
    let to = to.nanos();
    pad.add_probe(gst::PadProbeType::BUFFER, move |_, info| {
        let Some(buffer) = info.buffer() else {
            return gst::PadProbeReturn::Ok;
        };
        if buffer.dts_or_pts().is_some_and(|t| t.nseconds() > to) {
            return gst::PadProbeReturn::Drop;
        }
        if let (Some(pts), Some(last)) = (buffer.pts(), last.as_ref()) {
            last.fetch_max(pts.nseconds(), Ordering::Relaxed);
        }
        gst::PadProbeReturn::Ok
    });
}

/// `queue ! PARSER ! mp4mux.audio_%u` for the stream's first sound track (stored as it was recorded, so one
/// mp4mux takes as it is).
fn add_sound(
    pipeline: &gst::Pipeline,
    mux: &gst::Element,
    pad: &gst::Pad,
    to: Timestamp,
) -> anyhow::Result<()> {
    if mux.sink_pads().iter().any(|p| p.name().starts_with("audio_")) {
        return Ok(());
    }
    let caps = pad.current_caps().ok_or_else(|| anyhow!("sound without caps"))?;
    let parser = crate::engine::sound::parser_for(&caps)
        .ok_or_else(|| anyhow!("sound of type {caps} cannot go into an MP4 unchanged"))?;
    let queue = gst::ElementFactory::make("queue").build()?;
    let parse = gst::ElementFactory::make(parser)
        .build()
        .with_context(|| format!("{parser} is not installed"))?;
    pipeline.add_many([&queue, &parse])?;
    queue.link(&parse)?;
    let mux_pad = mux
        .request_pad_simple("audio_%u")
        .ok_or_else(|| anyhow!("mp4mux refused a sound track"))?;
    let parse_src = parse
        .static_pad("src")
        .ok_or_else(|| anyhow!("parser without src pad"))?;
    parse_src
        .link(&mux_pad)
        .map_err(|e| anyhow!("cannot link the sound into the muxer: {e:?}"))?;
    limit_to_range(&parse_src, to, None);
    for e in [&queue, &parse] {
        e.sync_state_with_parent()?;
    }
    let sink = queue
        .static_pad("sink")
        .ok_or_else(|| anyhow!("queue without sink pad"))?;
    pad.link(&sink)
        .map_err(|e| anyhow!("cannot link the stream's sound: {e:?}"))?;
    Ok(())
}

/// Runs the export on the calling thread. `progress` gets 0.0..=1.0; setting `cancel` stops it and removes
/// the partial file.
pub fn run(
    opts: &ExportOptions,
    cancel: &AtomicBool,
    mut progress: impl FnMut(f64),
) -> anyhow::Result<ExportSummary> {
    super::init()?;
    if opts.to <= opts.from {
        bail!("the end of the range must be after its start");
    }
    let mut index = IndexReader::open(opts.store.as_ref(), &opts.stream)
        .with_context(|| format!("cannot read stream {}", opts.stream))?;
    let first = clip_start(&mut index, opts)?;
    // pravegasrc's end-mode=timestamp ends at the first frame after the range, which may not exist yet: when
    // no key frame follows the range, the clip ends at the data tail as it is now (end-mode=latest) and frames
    // after the range are dropped below, so an export of a range reaching past the recording never waits.
    let after = Timestamp::from_nanos(opts.to.nanos().saturating_add(1));
    let ends_at_tail = search::seek_target_at_or_after(&mut index, after)?.is_none();

    let part = temp_path(&opts.output);
    let src = gst::ElementFactory::make("pravegasrc")
        .property("store", opts.store.open_uri())
        .property("stream", opts.stream.to_string())
        .property("start-timestamp", first.nanos())
        .property("end-timestamp", opts.to.nanos())
        .build()
        .context("cannot create pravegasrc")?;
    src.set_property_from_str("start-mode", "timestamp");
    src.set_property_from_str("end-mode", if ends_at_tail { "latest" } else { "timestamp" });
    let demuxer = demuxer_for(opts, first)?;
    let demux = gst::ElementFactory::make(demuxer)
        .build()
        .with_context(|| format!("{demuxer} is not installed"))?;
    let parse = gst::ElementFactory::make("h264parse")
        .build()
        .context("h264parse is not installed")?;
    let mux = gst::ElementFactory::make("mp4mux")
        .property("faststart", true)
        .build()
        .context("mp4mux is not installed")?;
    let sink = gst::ElementFactory::make("filesink")
        .property("location", part.display().to_string())
        .build()?;
    let pipeline = gst::Pipeline::with_name("export");
    // The demuxer feeds video and sound from one thread while the muxer waits for both: each gets a queue.
    let queue = gst::ElementFactory::make("queue").build()?;
    pipeline.add_many([&src, &demux, &queue, &parse, &mux, &sink])?;
    src.link(&demux)?;
    gst::Element::link_many([&queue, &parse, &mux, &sink])?;
    // The last frame time seen, for progress; frames decoded after the range are dropped (only reached when the
    // clip ends at the tail). By decode time, not presentation time: every frame shown within the range keeps
    // the frames it references, which precede it in decode order. Stream time is TAI ns.
    let last_pts = Arc::new(AtomicU64::new(0));
    if let Some(pad) = parse.static_pad("src") {
        limit_to_range(&pad, opts.to, Some(last_pts.clone()));
    }
    let (queue_weak, pipeline_weak, mux_weak) = (queue.downgrade(), pipeline.downgrade(), mux.downgrade());
    let to = opts.to;
    demux.connect_pad_added(move |_, pad| {
        let Some(caps) = pad.current_caps() else { return };
        if crate::engine::sound::is_audio(&caps) {
            let (Some(pipeline), Some(mux)) = (pipeline_weak.upgrade(), mux_weak.upgrade()) else {
                return;
            };
            if let Err(e) = add_sound(&pipeline, &mux, pad, to) {
                tracing::warn!(error = %e, "the clip is exported without its sound");
            }
            return;
        }
        let Some(sinkpad) = queue_weak.upgrade().and_then(|q| q.static_pad("sink")) else {
            return;
        };
        if pad.name().starts_with("video") && !sinkpad.is_linked() {
            if let Err(e) = pad.link(&sinkpad) {
                tracing::warn!(error = ?e, "cannot link the stream's video");
            }
        }
    });

    let bus = pipeline.bus().ok_or_else(|| anyhow!("pipeline without a bus"))?;
    pipeline
        .set_state(gst::State::Playing)
        .context("cannot start the export")?;
    let span = opts.to.duration_since(first).as_nanos().max(1) as f64;
    let result = loop {
        if cancel.load(Ordering::SeqCst) {
            break Err(anyhow!("export cancelled"));
        }
        let msg = bus.timed_pop_filtered(
            gst::ClockTime::from_mseconds(100),
            &[
                gst::MessageType::Eos,
                gst::MessageType::Error,
                gst::MessageType::Warning,
            ],
        );
        let done = last_pts.load(Ordering::Relaxed).saturating_sub(first.nanos()) as f64;
        progress((done / span).clamp(0.0, 1.0));
        match msg.as_ref().map(|m| m.view()) {
            Some(gst::MessageView::Eos(_)) => break Ok(()),
            // A clip must not leave footage out silently: corrupt frames the source stepped over stop it.
            Some(gst::MessageView::Warning(w))
                if w.error().matches(gst::StreamError::Format)
                    && w.src().is_some_and(|s| s.type_().name() == "GstPravegaSrc") =>
            {
                break Err(anyhow!(
                    "{}; the export stopped rather than leave that footage out",
                    w.error()
                ))
            }
            Some(gst::MessageView::Error(err)) => {
                break Err(anyhow!(
                    "export failed: {} ({})",
                    err.error(),
                    err.debug().map(|d| d.to_string()).unwrap_or_default()
                ))
            }
            _ => {}
        }
    };
    pipeline
        .set_state(gst::State::Null)
        .context("cannot stop the export")?;
    if let Err(e) = result {
        let _ = std::fs::remove_file(&part);
        return Err(e);
    }
    std::fs::rename(&part, &opts.output)
        .with_context(|| format!("cannot move the clip to {}", opts.output.display()))?;
    progress(1.0);
    let bytes = std::fs::metadata(&opts.output).map(|m| m.len()).unwrap_or(0);
    let last = Timestamp::from_nanos(last_pts.load(Ordering::Relaxed).max(first.nanos()));
    Ok(ExportSummary { first, last, bytes })
}
