//! The loadable GStreamer plugin `pravega` (`libgstpravega.so`) with the elements `pravegasink`, `pravegasrc`
//! and `pravegatc` of the `gst-plugin-pravega` crate, for `gst-launch-1.0` and `gst-inspect-1.0`.

fn plugin_init(plugin: &gst::Plugin) -> Result<(), gst::glib::BoolError> {
    elements::register_elements(Some(plugin))
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
