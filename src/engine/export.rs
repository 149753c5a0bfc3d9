//! Export a time range of a stream to a standard MP4 file, without re-encoding:
//! `pravegasrc start=FROM end=TO ! qtdemux ! h264parse ! mp4mux faststart ! filesink`. The clip starts at the
//! key frame at or before FROM, so it decodes from its first frame in any player.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use anyhow::{anyhow, bail, Context};
use gst::prelude::*;
use hindsight_store::search;
use hindsight_store::video::IndexReader;
use hindsight_store::{Backend, StreamName, Timestamp};

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
    let first = match search::seek_target_at_or_before(&mut index, opts.from)? {
        Some((_, r)) => r.timestamp,
        None => search::seek_target_at_or_after(&mut index, opts.from)?
            .map(|(_, r)| r.timestamp)
            .filter(|t| *t <= opts.to)
            .ok_or_else(|| {
                anyhow!(
                    "{} has no footage between {} and {}",
                    opts.stream,
                    opts.from,
                    opts.to
                )
            })?,
    };

    let part = temp_path(&opts.output);
    let src = gst::ElementFactory::make("pravegasrc")
        .property("store", opts.store.uri())
        .property("stream", opts.stream.to_string())
        .property("start-timestamp", first.nanos())
        .property("end-timestamp", opts.to.nanos())
        .build()
        .context("cannot create pravegasrc")?;
    src.set_property_from_str("start-mode", "timestamp");
    src.set_property_from_str("end-mode", "timestamp");
    let demux = gst::ElementFactory::make("qtdemux")
        .build()
        .context("qtdemux is not installed")?;
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
    pipeline.add_many([&src, &demux, &parse, &mux, &sink])?;
    src.link(&demux)?;
    gst::Element::link_many([&parse, &mux, &sink])?;
    let parse_weak = parse.downgrade();
    demux.connect_pad_added(move |_, pad| {
        let Some(parse) = parse_weak.upgrade() else { return };
        let Some(sinkpad) = parse.static_pad("sink") else {
            return;
        };
        if pad.name().starts_with("video") && !sinkpad.is_linked() {
            if let Err(e) = pad.link(&sinkpad) {
                tracing::warn!(error = ?e, "cannot link the stream's video");
            }
        }
    });
    // The last frame time seen, for progress.
    let last_pts = Arc::new(AtomicU64::new(0));
    if let Some(pad) = parse.static_pad("src") {
        let last = last_pts.clone();
        pad.add_probe(gst::PadProbeType::BUFFER, move |_, info| {
            if let Some(pts) = info.buffer().and_then(|b| b.pts()) {
                last.fetch_max(pts.nseconds(), Ordering::Relaxed);
            }
            gst::PadProbeReturn::Ok
        });
    }

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
            &[gst::MessageType::Eos, gst::MessageType::Error],
        );
        let done = last_pts.load(Ordering::Relaxed).saturating_sub(first.nanos()) as f64;
        progress((done / span).clamp(0.0, 1.0));
        match msg.as_ref().map(|m| m.view()) {
            Some(gst::MessageView::Eos(_)) => break Ok(()),
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
