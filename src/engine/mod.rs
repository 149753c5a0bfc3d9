//! The media engine: GStreamer pipelines wrapped as small objects that report through events. Widgets talk to
//! these and never hold elements (DESIGN.md §1).

pub mod case;
pub mod export;
pub mod frame_times;
pub mod hover;
pub mod job;
pub mod library;
pub mod player;
pub mod profile;
pub mod recorder;
pub mod sound;
pub mod store_watch;
pub mod thumbnail;
pub mod tile;

use std::sync::OnceLock;

use anyhow::Context;

/// Loads the plugins a player's pipeline needs (demuxer, parser, decoder, conversion; libav alone is tens of
/// megabytes of shared libraries) so that opening the first stream does not wait for the loader. Run at start
/// on a thread of its own; a plugin that is missing is left for [`init`]'s check and the pipeline to report.
pub fn preload_player_plugins() {
    use gst::prelude::PluginFeatureExtManual;
    for name in [
        "typefind",
        "decodebin",
        "qtdemux",
        "h264parse",
        "avdec_h264",
        "videoscale",
        "videoconvert",
        "capsfilter",
    ] {
        if let Some(Err(e)) = gst::ElementFactory::find(name).map(|f| f.load()) {
            tracing::debug!(element = name, error = %e, "cannot preload");
        }
    }
}

/// Initialises GStreamer once and registers the elements the app needs statically (pravegasrc/sink and
/// gtk4paintablesink), then checks the decoders and muxers it uses are installed. Safe to call from any thread:
/// the app starts it on a thread of its own while GTK starts, and callers that come meanwhile wait for it.
pub fn init() -> anyhow::Result<()> {
    static INIT: OnceLock<Result<(), String>> = OnceLock::new();
    INIT.get_or_init(|| {
        (|| -> anyhow::Result<()> {
            gst::init().context("cannot initialise GStreamer")?;
            gstpravega::register_static().context("cannot register pravegasrc/pravegasink")?;
            gstgtk4::plugin_register_static().context("cannot register gtk4paintablesink")?;
            Ok(())
        })()
        // Every caller gets the first one's failure, not only the first.
        .map_err(|e| format!("{e:#}"))
    })
    .clone()
    .map_err(anyhow::Error::msg)?;
    let missing: Vec<&str> = [
        "decodebin",
        "qtdemux",
        "videoconvert",
        "videoscale",
        "gtk4paintablesink",
        "pravegasrc",
    ]
    .into_iter()
    .filter(|name| gst::ElementFactory::find(name).is_none())
    .collect();
    if !missing.is_empty() {
        anyhow::bail!(
            "missing GStreamer elements: {} (install gstreamer1.0-plugins-base, -good and -libav)",
            missing.join(", ")
        );
    }
    Ok(())
}
