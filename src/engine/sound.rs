//! What the recorder, the exporter and the player share about sound: which caps are sound, and which parser
//! puts it in the form mp4mux stores unchanged.

/// The parser mp4mux needs in front of sound of these caps, when it can store them unchanged.
pub fn parser_for(caps: &gst::CapsRef) -> Option<&'static str> {
    let s = caps.structure(0)?;
    match s.name().as_str() {
        "audio/mpeg" => match s.get::<i32>("mpegversion").ok()? {
            1 => Some("mpegaudioparse"),
            2 | 4 => Some("aacparse"),
            _ => None,
        },
        "audio/x-opus" => Some("opusparse"),
        "audio/x-ac3" => Some("ac3parse"),
        _ => None,
    }
}

/// True if `caps` describe sound.
pub fn is_audio(caps: &gst::CapsRef) -> bool {
    caps.structure(0)
        .is_some_and(|s| s.name().starts_with("audio/") || s.get::<&str>("media").is_ok_and(|m| m == "audio"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sound_mp4mux_stores_is_parsed_not_reencoded() {
        crate::engine::init().expect("gstreamer");
        let aac = gst::Caps::builder("audio/mpeg")
            .field("mpegversion", 4i32)
            .build();
        assert_eq!(parser_for(&aac), Some("aacparse"));
        let mp3 = gst::Caps::builder("audio/mpeg")
            .field("mpegversion", 1i32)
            .build();
        assert_eq!(parser_for(&mp3), Some("mpegaudioparse"));
        assert_eq!(
            parser_for(&gst::Caps::builder("audio/x-opus").build()),
            Some("opusparse")
        );
        assert_eq!(parser_for(&gst::Caps::builder("audio/x-vorbis").build()), None);
        assert_eq!(parser_for(&gst::Caps::builder("audio/x-raw").build()), None);
    }

    #[test]
    fn sound_is_told_by_its_caps() {
        crate::engine::init().expect("gstreamer");
        let rtp = gst::Caps::builder("application/x-rtp")
            .field("media", "audio")
            .build();
        assert!(is_audio(&rtp));
        assert!(is_audio(&gst::Caps::builder("audio/x-raw").build()));
        assert!(!is_audio(&gst::Caps::builder("video/x-h264").build()));
    }
}
