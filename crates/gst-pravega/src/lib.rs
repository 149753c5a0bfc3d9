//! GStreamer elements for Hindsight's byte-stream video format.
//!
//! - `pravegasink` appends one frame per buffer (one fMP4 fragment per frame behind
//!   `mp4mux streamable=true fragment-duration=1`) to a stream, with key-frame index records, retention and
//!   an end record on stop.
//! - `pravegasrc` reads a stream from any start point, seeks in TIME through the index (stream time is
//!   absolute TAI nanoseconds) and tails a stream being written with low latency.
//!
//! Both use the storage API of `hindsight-store`, so the embedded store and Pravega work alike; a process shares
//! one store per address among all its elements ([`location`]). Store failures are element errors whose details
//! say what kind of failure it was ([`errors`]). The app
//! registers them statically with [`register_static`]; the cdylib is the loadable plugin `libgstpravega.so`.

pub mod errors;
pub mod fmp4;
pub mod location;
mod pravegasink;
mod pravegasrc;
mod settings;

use gst::glib;

pub use errors::StoreErrorInfo;
pub use settings::{EndMode, StartMode, TimestampMode};

fn plugin_init(plugin: &gst::Plugin) -> Result<(), glib::BoolError> {
    pravegasink::register(plugin)?;
    pravegasrc::register(plugin)?;
    Ok(())
}

gst::plugin_define!(
    pravega,
    env!("CARGO_PKG_DESCRIPTION"),
    plugin_init,
    concat!(env!("CARGO_PKG_VERSION"), "-", env!("COMMIT_ID")),
    "GPL",
    env!("CARGO_PKG_NAME"),
    env!("CARGO_PKG_NAME"),
    env!("CARGO_PKG_REPOSITORY"),
    env!("BUILD_REL_DATE")
);

/// Registers the elements in this process without loading a plugin file. Idempotent: GStreamer ignores a
/// second registration of the same static plugin.
pub fn register_static() -> Result<(), glib::BoolError> {
    if gst::ElementFactory::find("pravegasink").is_some() && gst::ElementFactory::find("pravegasrc").is_some()
    {
        return Ok(());
    }
    plugin_register_static()
}
