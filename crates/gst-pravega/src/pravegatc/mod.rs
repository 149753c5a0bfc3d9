//! `pravegatc`: makes a processing pipeline `pravegasrc ! … decoder ! pravegatc ! … encoder ! … ! pravegasink`
//! resumable. Killed at any moment and started again, it continues where the output stream ends, with no
//! output frame written twice and none missing.
//!
//! The output stream itself is the checkpoint: the pipeline stores each output frame at its input frame's time
//! (the element makes running time equal to the input's stored TAI time, and the sink stores it with
//! `timestamp-mode=tai`), and a frame's time is in the header written in the same append as the frame. A kill
//! leaves the output whole up to its last complete frame (a torn one is repaired away when the sink opens), so
//! "how far the output got" is read from the output alone and can never disagree with it. At the start the
//! element reads that time, points the pipeline's `pravegasrc` at the key frame at or before it, and drops the
//! decoded frames up to it; the encoder after it starts afresh, with a key frame, at the first new frame.

mod imp;

use gst::glib;
use gst::prelude::*;

glib::wrapper! {
    /// The element; see the module documentation.
    pub struct PravegaTc(ObjectSubclass<imp::PravegaTc>) @extends gst_base::BaseTransform, gst::Element, gst::Object;
}

/// Registers the element with a plugin (or statically).
pub fn register(plugin: Option<&gst::Plugin>) -> Result<(), glib::BoolError> {
    gst::Element::register(plugin, "pravegatc", gst::Rank::NONE, PravegaTc::static_type())
}
