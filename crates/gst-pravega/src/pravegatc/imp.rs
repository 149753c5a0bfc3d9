//! Implementation of `pravegatc`.

use std::sync::{LazyLock, Mutex};

use gst::glib;
use gst::prelude::*;
use gst::subclass::prelude::*;
use gst_base::subclass::prelude::*;
use hindsight_store::video::{video_stream_exists, written_until};
use hindsight_store::Timestamp;

use crate::lifecycle::{self, lock};
use crate::location::{Location, OpenError};
use crate::settings::TimestampMode;

static CAT: LazyLock<gst::DebugCategory> = LazyLock::new(|| {
    gst::DebugCategory::new(
        "pravegatc",
        gst::DebugColorFlags::empty(),
        Some("Hindsight resumable processing"),
    )
});

#[derive(Debug, Clone, Default)]
struct Settings {
    /// The output stream (the one the pipeline's pravegasink writes).
    location: Location,
    /// The name of the pravegasrc to resume; empty: the pipeline's only one.
    source: Option<String>,
}

#[derive(Debug, Default)]
struct State {
    /// The output holds everything up to this time: frames at or before it are dropped.
    resume_after: Option<Timestamp>,
    dropped: u64,
    resumed: bool,
}

/// The element's instance data.
#[derive(Default)]
pub struct PravegaTc {
    settings: Mutex<Settings>,
    state: Mutex<State>,
}

#[glib::object_subclass]
impl ObjectSubclass for PravegaTc {
    const NAME: &'static str = "GstPravegaTc";
    type Type = super::PravegaTc;
    type ParentType = gst_base::BaseTransform;
}

impl ObjectImpl for PravegaTc {
    fn properties() -> &'static [glib::ParamSpec] {
        static PROPS: LazyLock<Vec<glib::ParamSpec>> = LazyLock::new(|| {
            let mut props = Location::param_specs(
                "The output stream, SCOPE/STREAM: the one the pipeline's pravegasink writes (with \
                 timestamp-mode=tai); processing resumes after its last frame",
            );
            props.push(
                glib::ParamSpecString::builder("source")
                    .nick("Source")
                    .blurb(
                        "Name of the pravegasrc element to resume (default: the pipeline's only pravegasrc)",
                    )
                    .mutable_ready()
                    .build(),
            );
            props
        });
        PROPS.as_ref()
    }

    fn set_property(&self, _id: usize, value: &glib::Value, pspec: &glib::ParamSpec) {
        let mut s = lock(&self.settings);
        if s.location.set(pspec.name(), value) {
            return;
        }
        if pspec.name() == "source" {
            s.source = value
                .get::<Option<String>>()
                .ok()
                .flatten()
                .filter(|v| !v.is_empty());
        }
    }

    fn property(&self, _id: usize, pspec: &glib::ParamSpec) -> glib::Value {
        let s = lock(&self.settings);
        if let Some(v) = s.location.get(pspec.name()) {
            return v;
        }
        match pspec.name() {
            "source" => s.source.to_value(),
            _ => pspec.default_value().clone(),
        }
    }
}

impl GstObjectImpl for PravegaTc {}

impl ElementImpl for PravegaTc {
    fn metadata() -> Option<&'static gst::subclass::ElementMetadata> {
        static META: LazyLock<gst::subclass::ElementMetadata> = LazyLock::new(|| {
            lifecycle::metadata(
                "Pravega resumable processing",
                "Filter/Video",
                "Makes pravegasrc ! … ! pravegasink processing resumable: placed after the decoder, it resumes the \
                 source after the output stream's last frame and drops what the output already holds",
            )
        });
        Some(&*META)
    }

    fn pad_templates() -> &'static [gst::PadTemplate] {
        static TEMPLATES: LazyLock<Vec<gst::PadTemplate>> = LazyLock::new(|| {
            vec![
                crate::location::any_caps_template("sink", gst::PadDirection::Sink),
                crate::location::any_caps_template("src", gst::PadDirection::Src),
            ]
        });
        TEMPLATES.as_ref()
    }

    fn change_state(
        &self,
        transition: gst::StateChange,
    ) -> Result<gst::StateChangeSuccess, gst::StateChangeError> {
        // Every element goes NULL→READY before any goes READY→PAUSED, where pravegasrc opens its stream: its
        // start is set here, in time, whatever order the bin starts its (partly unlinked) elements in.
        lifecycle::change_state_opening(
            self.obj().upcast_ref(),
            transition,
            gst::StateChange::NullToReady,
            || self.prepare(),
            || self.parent_change_state(transition),
            || *lock(&self.state) = State::default(),
        )
    }
}

/// Every element of the pipeline `element` is in, bins included.
fn pipeline_elements(element: &gst::Element) -> Vec<gst::Element> {
    let mut top: gst::Object = element.clone().upcast();
    while let Some(parent) = top.parent() {
        top = parent;
    }
    match top.downcast::<gst::Bin>() {
        Ok(bin) => bin.iterate_recurse().into_iter().flatten().collect(),
        Err(_) => Vec::new(),
    }
}

fn is_factory(e: &gst::Element, name: &str) -> bool {
    e.factory().is_some_and(|f| f.name() == name)
}

impl PravegaTc {
    /// Reads how far the output got and points the source after it.
    fn prepare(&self) -> Result<(), OpenError> {
        let s = lock(&self.settings).clone();
        let (store, name) = s.location.open(false)?;
        let elements = pipeline_elements(self.obj().upcast_ref());
        // The output must be stored at the input's times, or "how far it got" says nothing about the input.
        for sink in elements.iter().filter(|e| is_factory(e, "pravegasink")) {
            let same = sink.property::<Option<String>>("stream") == Some(name.to_string());
            if same && sink.property::<TimestampMode>("timestamp-mode") != TimestampMode::Tai {
                return Err(OpenError::settings(format!(
                    "pravegatc: the pravegasink writing {name} must have timestamp-mode=tai, so that each output \
                     frame keeps its input frame's time"
                )));
            }
        }
        let sources: Vec<&gst::Element> = elements
            .iter()
            .filter(|e| is_factory(e, "pravegasrc"))
            .filter(|e| s.source.as_deref().is_none_or(|n| e.name() == n))
            .collect();
        let [source] = sources.as_slice() else {
            return Err(OpenError::settings(match &s.source {
                Some(n) => format!("pravegatc: no pravegasrc named {n} in the pipeline"),
                None => format!(
                    "pravegatc: the pipeline has {} pravegasrc elements; name the one to resume with source=NAME",
                    sources.len()
                ),
            }));
        };
        let exists = video_stream_exists(store.as_ref(), &name).map_err(|e| {
            OpenError::store("Cannot read the output stream", e, gst::ResourceError::OpenRead)
        })?;
        let until = if exists {
            written_until(store.as_ref(), &name).map_err(|e| {
                OpenError::store(
                    &format!("Cannot read how far {name} got"),
                    e,
                    gst::ResourceError::OpenRead,
                )
            })?
        } else {
            None
        };
        match until {
            Some(t) => {
                gst::info!(
                    CAT,
                    imp = self,
                    "{name} holds the input up to {t}: resuming after it"
                );
                source.set_property_from_str("start-mode", "timestamp");
                source.set_property("start-utc", None::<String>);
                source.set_property("start-timestamp", t.nanos());
            }
            None => gst::info!(
                CAT,
                imp = self,
                "{name} is empty: processing from the source's start"
            ),
        }
        *lock(&self.state) = State {
            resume_after: until,
            ..State::default()
        };
        Ok(())
    }
}

impl BaseTransformImpl for PravegaTc {
    const MODE: gst_base::subclass::BaseTransformMode = gst_base::subclass::BaseTransformMode::AlwaysInPlace;
    const PASSTHROUGH_ON_SAME_CAPS: bool = false;
    const TRANSFORM_IP_ON_PASSTHROUGH: bool = true;

    fn sink_event(&self, event: gst::Event) -> bool {
        // Running time becomes the input's stored time, so the sink (timestamp-mode=tai) stores every output
        // frame at its input frame's time, whatever the encoder and muxer do with the timeline in between.
        if let gst::EventView::Segment(e) = event.view() {
            if let Some(seg) = e.segment().downcast_ref::<gst::ClockTime>() {
                if (seg.rate() - 1.0).abs() < f64::EPSILON {
                    let mut seg = seg.clone();
                    seg.set_base(seg.start().unwrap_or(gst::ClockTime::ZERO));
                    let new = gst::event::Segment::builder(&seg).seqnum(event.seqnum()).build();
                    return self.parent_sink_event(new);
                }
                gst::warning!(
                    CAT,
                    imp = self,
                    "segment at rate {}: output times will not be input times",
                    seg.rate()
                );
            }
        }
        self.parent_sink_event(event)
    }

    fn transform_ip(&self, buf: &mut gst::BufferRef) -> Result<gst::FlowSuccess, gst::FlowError> {
        let mut st = lock(&self.state);
        let Some(after) = st.resume_after else {
            return Ok(gst::FlowSuccess::Ok);
        };
        // Decoded frames carry the input's stored time as PTS (pravegasrc's stream time is TAI).
        if buf.pts().is_some_and(|p| p.nseconds() <= after.nanos()) {
            st.dropped += 1;
            return Ok(gst_base::BASE_TRANSFORM_FLOW_DROPPED);
        }
        if !std::mem::replace(&mut st.resumed, true) {
            gst::info!(
                CAT,
                imp = self,
                "resuming at {:?} after dropping {} frames the output already holds",
                buf.pts(),
                st.dropped
            );
        }
        Ok(gst::FlowSuccess::Ok)
    }
}
