//! `pravegasrc`: reads a video stream, seeks through its index, tails it while it is written.

mod imp;

use gst::glib;
use gst::prelude::*;

glib::wrapper! {
    /// The source element; see the crate documentation for its properties.
    pub struct PravegaSrc(ObjectSubclass<imp::PravegaSrc>) @extends gst_base::PushSrc, gst_base::BaseSrc, gst::Element, gst::Object;
}

/// Registers the element with a plugin (or statically).
pub fn register(plugin: Option<&gst::Plugin>) -> Result<(), glib::BoolError> {
    gst::Element::register(plugin, "pravegasrc", gst::Rank::NONE, PravegaSrc::static_type())
}
