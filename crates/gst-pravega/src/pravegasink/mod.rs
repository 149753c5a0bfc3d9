//! `pravegasink`: appends buffers to a video stream (data + index), one frame per buffer.

mod imp;

use gst::glib;
use gst::prelude::*;

glib::wrapper! {
    /// The sink element; see the crate documentation for its properties.
    pub struct PravegaSink(ObjectSubclass<imp::PravegaSink>) @extends gst_base::BaseSink, gst::Element, gst::Object;
}

/// Registers the element with a plugin (or statically).
pub fn register(plugin: Option<&gst::Plugin>) -> Result<(), glib::BoolError> {
    gst::Element::register(plugin, "pravegasink", gst::Rank::NONE, PravegaSink::static_type())
}
