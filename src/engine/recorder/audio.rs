//! The sound of a recording: a file's or a camera's audio track into the muxer beside the video.
//!
//! ```text
//! file:  parsebin ─(AAC, Opus, MP3, AC-3)─ PARSER ─────────────────────────────┐
//!                 └(other)─ decodebin ! audioconvert ! audioresample ! avenc_aac ─┤
//! rtsp:  rtspsrc ─ rtpmp4gdepay | rtpmp4adepay | rtpopusdepay ! PARSER ───────────┤
//!                └ rtppcmudepay | rtppcmadepay ! G.711 decoder ! … ! avenc_aac ──┤
//!                                                                   queue ! mp4mux.audio_0
//! ```
//! Sound mp4mux takes as it is (AAC, Opus, MP3, AC-3) is not re-encoded. Only the first audio track is kept.
//! mp4mux cannot add a track once it has written its header, so the muxer's audio pad is requested before any
//! data flows: from parsebin's pad-added (it exposes all of a file's pads before data) and from rtspsrc's
//! select-stream (the SDP, before the session plays).

use anyhow::{anyhow, Context};
use gst::prelude::*;

use crate::engine::sound::parser_for;

/// The elements that turn a camera's RTP sound into what mp4mux stores, by the SDP's encoding name: AAC and
/// Opus are depayloaded and parsed, G.711 (common on cameras, not storable in MP4) is decoded for AAC.
pub(super) fn rtp_audio_chain(encoding: &str) -> Option<&'static [&'static str]> {
    const ENCODE: [&str; 4] = ["audioconvert", "audioresample", "avenc_aac", "aacparse"];
    static PCMU: [&str; 6] = [
        "rtppcmudepay",
        "mulawdec",
        ENCODE[0],
        ENCODE[1],
        ENCODE[2],
        ENCODE[3],
    ];
    static PCMA: [&str; 6] = [
        "rtppcmadepay",
        "alawdec",
        ENCODE[0],
        ENCODE[1],
        ENCODE[2],
        ENCODE[3],
    ];
    match encoding.to_ascii_uppercase().as_str() {
        "MPEG4-GENERIC" => Some(&["rtpmp4gdepay", "aacparse"]),
        "MP4A-LATM" => Some(&["rtpmp4adepay", "aacparse"]),
        "OPUS" => Some(&["rtpopusdepay", "opusparse"]),
        "PCMU" => Some(&PCMU),
        "PCMA" => Some(&PCMA),
        _ => None,
    }
}

/// True once the muxer has a sound track: further audio tracks are not recorded.
pub(super) fn mux_has_audio(mux: &gst::Element) -> bool {
    mux.sink_pads().iter().any(|p| p.name().starts_with("audio_"))
}

fn make(factory: &str) -> anyhow::Result<gst::Element> {
    gst::ElementFactory::make(factory)
        .build()
        .with_context(|| format!("GStreamer element {factory} is not installed"))
}

/// Adds `elements` to `pipeline`, links them in a row ending in a `queue` into a new audio pad of `mux`, starts
/// them, and returns the first one.
fn add_chain_into_mux(
    pipeline: &gst::Pipeline,
    mux: &gst::Element,
    mut elements: Vec<gst::Element>,
) -> anyhow::Result<gst::Element> {
    // The queue decouples the sound from the video: a file's demuxer feeds both from one thread, and the muxer
    // waits for data on both pads.
    elements.push(make("queue")?);
    pipeline.add_many(&elements)?;
    gst::Element::link_many(&elements).context("cannot link the audio chain")?;
    let mux_pad = mux
        .request_pad_simple("audio_%u")
        .ok_or_else(|| anyhow!("mp4mux refused an audio track"))?;
    let last = elements.last().ok_or_else(|| anyhow!("empty audio chain"))?;
    last.static_pad("src")
        .ok_or_else(|| anyhow!("queue without src pad"))?
        .link(&mux_pad)
        .map_err(|e| anyhow!("cannot link the sound into the muxer: {e:?}"))?;
    for e in &elements {
        e.sync_state_with_parent()?;
    }
    Ok(elements[0].clone())
}

/// `audioconvert ! audioresample ! avenc_aac ! aacparse`, for sound mp4mux cannot store as it is.
fn encoder_chain() -> anyhow::Result<Vec<gst::Element>> {
    Ok(vec![
        make("audioconvert")?,
        make("audioresample")?,
        make("avenc_aac").context("no AAC encoder (gstreamer1.0-libav)")?,
        make("aacparse")?,
    ])
}

/// Links a file's parsed sound (a parsebin pad) into `mux`, re-encoding to AAC only what mp4mux cannot take.
pub(super) fn link_file_audio(
    pipeline: &gst::Pipeline,
    mux: &gst::Element,
    pad: &gst::Pad,
) -> anyhow::Result<()> {
    if mux_has_audio(mux) {
        tracing::info!(pad = %pad.name(), "recording only the file's first audio track");
        return Ok(());
    }
    let caps = pad
        .current_caps()
        .ok_or_else(|| anyhow!("audio pad without caps"))?;
    let first = match parser_for(&caps) {
        Some(parser) => add_chain_into_mux(pipeline, mux, vec![make(parser)?])?,
        None if caps.structure(0).is_some_and(|s| s.name() == "audio/x-raw") => {
            add_chain_into_mux(pipeline, mux, encoder_chain()?)?
        }
        None => {
            tracing::info!(%caps, "re-encoding the file's sound to AAC");
            let encode = add_chain_into_mux(pipeline, mux, encoder_chain()?)?;
            let decode = make("decodebin")?;
            pipeline.add(&decode)?;
            let encode_weak = encode.downgrade();
            decode.connect_pad_added(move |_, dpad| {
                let Some(sink) = encode_weak.upgrade().and_then(|e| e.static_pad("sink")) else {
                    return;
                };
                if !sink.is_linked() {
                    if let Err(e) = dpad.link(&sink) {
                        tracing::error!(error = ?e, "cannot link the file's decoded sound");
                    }
                }
            });
            decode.sync_state_with_parent()?;
            decode
        }
    };
    let sink = first
        .static_pad("sink")
        .ok_or_else(|| anyhow!("audio chain without sink pad"))?;
    pad.link(&sink)
        .map_err(|e| anyhow!("cannot link the file's sound: {e:?}"))?;
    Ok(())
}

/// For a camera's sound stream announced in the SDP (`caps` of rtspsrc's select-stream): adds
/// `DEPAY ! PARSER ! queue` into `mux` and returns the depayloader to link the stream's pad to, or `None` when
/// the sound cannot be recorded (then the stream is not set up at all).
pub(super) fn add_rtsp_audio(
    pipeline: &gst::Pipeline,
    mux: &gst::Element,
    caps: &gst::CapsRef,
) -> anyhow::Result<Option<gst::Element>> {
    let Some(encoding) = caps
        .structure(0)
        .and_then(|s| s.get::<&str>("encoding-name").ok())
    else {
        return Ok(None);
    };
    let Some(chain) = rtp_audio_chain(encoding) else {
        tracing::info!(
            encoding,
            "the camera's sound is not recorded: no depayloader for it"
        );
        return Ok(None);
    };
    if mux_has_audio(mux) {
        return Ok(None);
    }
    let elements = chain
        .iter()
        .map(|f| make(f))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let first = add_chain_into_mux(pipeline, mux, elements)?;
    Ok(Some(first))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn camera_sound_is_depayloaded_by_its_encoding() {
        let first = |e| rtp_audio_chain(e).map(|c| c[0]);
        assert_eq!(first("MPEG4-GENERIC"), Some("rtpmp4gdepay"));
        assert_eq!(first("mp4a-latm"), Some("rtpmp4adepay"));
        assert_eq!(first("OPUS"), Some("rtpopusdepay"));
        assert_eq!(
            rtp_audio_chain("PCMA").and_then(|c| c.last().copied()),
            Some("aacparse")
        );
        assert_eq!(rtp_audio_chain("L16"), None);
        // Every element named is installed here.
        crate::engine::init().expect("gstreamer");
        for enc in ["MPEG4-GENERIC", "MP4A-LATM", "OPUS", "PCMU", "PCMA"] {
            for f in rtp_audio_chain(enc).unwrap_or_default() {
                assert!(gst::ElementFactory::find(f).is_some(), "{f} for {enc}");
            }
        }
    }
}
