//! Encoder profiles as data (`data/profiles.json`): which encoder and which properties, so adding a profile is
//! an edit of that file, and a test builds and links every one.

use anyhow::{anyhow, Context};
use gst::prelude::*;
use serde::Deserialize;
use std::collections::BTreeMap;

const PROFILES_JSON: &str = include_str!("../../data/profiles.json");

/// One encoder profile.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct Profile {
    /// Identifier used on the command line (`--profile`).
    pub id: String,
    /// Name shown in the app.
    pub name: String,
    /// One line for people.
    pub description: String,
    /// GStreamer encoder element.
    pub encoder: String,
    /// Encoder properties as strings, set with GStreamer's own parsing.
    pub properties: BTreeMap<String, String>,
}

/// All profiles, in file order.
pub fn all() -> anyhow::Result<Vec<Profile>> {
    serde_json::from_str(PROFILES_JSON).context("data/profiles.json is invalid")
}

/// The profile used when none is chosen: H.264 tuned for live viewing.
pub const DEFAULT_PROFILE: &str = "h264-live";

/// The profile with `id`.
pub fn by_id(id: &str) -> anyhow::Result<Profile> {
    let profiles = all()?;
    let ids: Vec<String> = profiles.iter().map(|p| p.id.clone()).collect();
    profiles
        .into_iter()
        .find(|p| p.id == id)
        .ok_or_else(|| anyhow!("unknown profile {id:?}; choose one of {}", ids.join(", ")))
}

impl Profile {
    /// Builds the encoder element with the profile's properties.
    pub fn make_encoder(&self) -> anyhow::Result<gst::Element> {
        let enc = gst::ElementFactory::make(&self.encoder)
            .build()
            .with_context(|| {
                format!(
                    "encoder {} is not installed (gstreamer1.0-plugins-ugly)",
                    self.encoder
                )
            })?;
        for (key, value) in &self.properties {
            if enc.find_property(key).is_none() {
                anyhow::bail!("profile {}: {} has no property {key}", self.id, self.encoder);
            }
            enc.set_property_from_str(key, value);
        }
        Ok(enc)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_profile_builds_and_links_into_a_recording_pipeline() {
        gst::init().expect("gstreamer");
        let profiles = all().expect("profiles parse");
        assert!(profiles.len() >= 2);
        for p in profiles {
            let pipeline = gst::Pipeline::new();
            let src = gst::ElementFactory::make("videotestsrc")
                .property("num-buffers", 5)
                .build()
                .expect("videotestsrc");
            let enc = p.make_encoder().expect("encoder");
            let parse = gst::ElementFactory::make("h264parse").build().expect("h264parse");
            let mux = gst::ElementFactory::make("mp4mux")
                .property("streamable", true)
                .property("fragment-duration", 1u32)
                .build()
                .expect("mp4mux");
            let sink = gst::ElementFactory::make("fakesink").build().expect("fakesink");
            pipeline.add_many([&src, &enc, &parse, &mux, &sink]).expect("add");
            gst::Element::link_many([&src, &enc, &parse, &mux, &sink])
                .unwrap_or_else(|e| panic!("{}: {e}", p.id));
            pipeline.set_state(gst::State::Playing).expect("play");
            let msg = pipeline
                .bus()
                .expect("bus")
                .timed_pop_filtered(
                    gst::ClockTime::from_seconds(20),
                    &[gst::MessageType::Eos, gst::MessageType::Error],
                )
                .expect("finished");
            assert!(
                matches!(msg.view(), gst::MessageView::Eos(_)),
                "{}: {msg:?}",
                p.id
            );
            pipeline.set_state(gst::State::Null).expect("stop");
        }
        assert!(by_id("nope").is_err());
    }
}
