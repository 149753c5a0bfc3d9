//! GStreamer elements for Hindsight's byte-stream video format.
//!
//! - `pravegasink` appends one frame per buffer (one fMP4 fragment per frame behind
//!   `mp4mux streamable=true fragment-duration=1`) to a stream, with key-frame index records, retention and
//!   an end record on stop.
//! - `pravegasrc` reads a stream from any start point, seeks in TIME through the index (stream time is
//!   absolute TAI nanoseconds) and tails a stream being written with low latency.
//! - `pravegatc` makes `pravegasrc ! … ! pravegasink` processing resumable after a kill, with no output frame
//!   duplicated or missing (the original plugin's transaction coordinator, on this store).
//!
//! Both use the storage API of `hindsight-store`, so the embedded store and Pravega work alike; a process shares
//! one store per address among all its elements ([`location`]). Store failures are element errors whose details
//! say what kind of failure it was ([`errors`]). The app
//! registers them statically with [`register_static`]; the crate `gst-plugin-pravega-loadable` builds the
//! loadable plugin `libgstpravega.so` around [`register_elements`].

pub mod errors;
mod lifecycle;
pub mod location;
pub mod mpegts;
mod pravegasink;
mod pravegasrc;
mod pravegatc;
mod settings;

use gst::glib;

pub use errors::StoreErrorInfo;
/// The fMP4 parsing the elements use lives with the byte-stream format, where it is fuzzed without GStreamer.
pub use hindsight_store::fmp4;
pub use settings::{EndMode, RetentionType, StartMode, TimestampMode};

/// Registers the elements with `plugin` (the loadable plugin's init calls this too).
pub fn register_elements(plugin: Option<&gst::Plugin>) -> Result<(), glib::BoolError> {
    pravegasink::register(plugin)?;
    pravegasrc::register(plugin)?;
    pravegatc::register(plugin)?;
    Ok(())
}

/// Registers the elements in this process without loading a plugin file. Idempotent.
pub fn register_static() -> Result<(), glib::BoolError> {
    if ["pravegasink", "pravegasrc", "pravegatc"]
        .iter()
        .all(|f| gst::ElementFactory::find(f).is_some())
    {
        return Ok(());
    }
    register_elements(None)
}
