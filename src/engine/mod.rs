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

use std::sync::Once;

use anyhow::Context;

/// Initialises GStreamer once and registers the elements the app needs statically (pravegasrc/sink and
/// gtk4paintablesink), then checks the decoders and muxers it uses are installed.
pub fn init() -> anyhow::Result<()> {
    static INIT: Once = Once::new();
    let mut result: anyhow::Result<()> = Ok(());
    INIT.call_once(|| {
        result = (|| {
            gst::init().context("cannot initialise GStreamer")?;
            gstpravega::register_static().context("cannot register pravegasrc/pravegasink")?;
            gstgtk4::plugin_register_static().context("cannot register gtk4paintablesink")?;
            Ok(())
        })();
    });
    result?;
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
