//! Thumbnails: one key frame decoded to a small RGBA image from one ranged read of its stored bytes. Nothing is
//! written while recording; the index says where each key frame is, and every stored key frame carries its own
//! ftyp+moov, so its bytes alone decode.
//!
//! ```text
//! frame bytes ─▶ appsrc ! qtdemux ! decodebin ! videoconvert ! videoscale ! RGBA,WIDTH ─▶ appsink
//! ```
//!
//! Blocking: run it on a worker thread.

use std::time::Duration;

use anyhow::{anyhow, bail, Context};
use gst::prelude::*;
use hindsight_store::format::{Flags, FrameHeader, FRAME_HEADER_LEN, MAX_FRAME_PAYLOAD};
use hindsight_store::search;
use hindsight_store::video::{read_exact_at, IndexReader};
use hindsight_store::{Backend, IndexRecord, StreamName, Timestamp};

/// Longest a decode may take before it counts as failed (a broken frame must not hang a worker).
const DECODE_TIMEOUT: Duration = Duration::from_secs(5);

/// A decoded key frame.
#[derive(Clone, PartialEq, Eq)]
pub struct Thumbnail {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Bytes per row.
    pub stride: usize,
    /// RGBA pixels, `stride * height` bytes.
    pub rgba: Vec<u8>,
    /// The stored time of the frame.
    pub time: Timestamp,
    /// The index record of the key frame (its data offset identifies it).
    pub record: IndexRecord,
}

impl Thumbnail {
    /// The image as a GDK texture (made on the main thread, where GTK draws it).
    pub fn texture(&self) -> relm4::gtk::gdk::Texture {
        use relm4::gtk::prelude::Cast;
        let bytes = relm4::gtk::glib::Bytes::from(&self.rgba[..]);
        relm4::gtk::gdk::MemoryTexture::new(
            self.width as i32,
            self.height as i32,
            relm4::gtk::gdk::MemoryFormat::R8g8b8a8,
            &bytes,
            self.stride,
        )
        .upcast()
    }
}

impl std::fmt::Debug for Thumbnail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Thumbnail")
            .field("size", &(self.width, self.height))
            .field("time", &self.time)
            .field("offset", &self.record.offset)
            .finish()
    }
}

/// The newest indexed key frame of `stream`, at most `max_width` wide; `None` while nothing is indexed yet.
pub fn latest(store: &dyn Backend, stream: &StreamName, max_width: u32) -> anyhow::Result<Option<Thumbnail>> {
    let mut index = IndexReader::open(store, stream).with_context(|| format!("cannot read {stream}"))?;
    let Some((_, record)) = search::last_seek_target(&mut index).context("cannot read the index")? else {
        return Ok(None);
    };
    at_record(store, stream, record, max_width).map(Some)
}

/// The key frame `record` points at, at most `max_width` wide.
pub fn at_record(
    store: &dyn Backend,
    stream: &StreamName,
    record: IndexRecord,
    max_width: u32,
) -> anyhow::Result<Thumbnail> {
    // Exactly the frame the record points at: a reader would step over a damaged one to the next that reads,
    // and the image would then show another time than the one it is labelled with.
    let (header, payload) = frame_at(store, stream, record.offset)?;
    let (width, height, stride, rgba) = decode(&payload, max_width)
        .with_context(|| format!("cannot decode the key frame of {stream} at {}", record.timestamp))?;
    Ok(Thumbnail {
        width,
        height,
        stride,
        rgba,
        time: header.timestamp,
        record,
    })
}

/// The stored frame whose header is at `offset`: its header and payload, or why it is not a frame.
fn frame_at(store: &dyn Backend, stream: &StreamName, offset: u64) -> anyhow::Result<(FrameHeader, Vec<u8>)> {
    let mut data = store
        .reader(stream)
        .with_context(|| format!("cannot read {stream}"))?;
    let read =
        |data: &mut Box<dyn hindsight_store::ByteReader>, at: u64, buf: &mut [u8]| match read_exact_at(
            data.as_mut(),
            at,
            buf,
        ) {
            Ok(true) => Ok(()),
            Ok(false) => Err(anyhow!(
                "the frame at offset {offset} of {stream} is not all stored"
            )),
            Err(e) => Err(anyhow::Error::new(e)
                .context(format!("cannot read the frame at offset {offset} of {stream}"))),
        };
    // One read brings the header and, for most key frames, all of the payload (on Pravega a read is a round
    // trip); the rest, if any, comes with a second.
    let mut first = vec![0u8; FIRST_READ];
    let got = data
        .read_at(offset, &mut first)
        .with_context(|| format!("cannot read the frame at offset {offset} of {stream}"))?;
    if got < FRAME_HEADER_LEN {
        read(&mut data, offset, &mut first[..FRAME_HEADER_LEN])?;
    }
    let header = FrameHeader::decode(&first[..FRAME_HEADER_LEN])
        .map_err(|e| anyhow!("the key frame at offset {offset} of {stream} is damaged: {e}"))?;
    let have = got.saturating_sub(FRAME_HEADER_LEN).min(header.payload_len);
    let mut payload = vec![0u8; header.payload_len];
    payload[..have].copy_from_slice(&first[FRAME_HEADER_LEN..FRAME_HEADER_LEN + have]);
    drop(first);
    let mut at = offset + FRAME_HEADER_LEN as u64;
    read(&mut data, at + have as u64, &mut payload[have..])?;
    at += header.payload_len as u64;
    // A fragment larger than a frame holds was stored as several: full frames followed by continuation frames
    // with no flags and the same time.
    let mut last_len = header.payload_len;
    while last_len == MAX_FRAME_PAYLOAD && payload.len() < MAX_KEY_FRAME {
        let mut next = [0u8; FRAME_HEADER_LEN];
        if read(&mut data, at, &mut next).is_err() {
            break;
        }
        let Ok(more) = FrameHeader::decode(&next) else {
            break;
        };
        if more.flags != Flags(0) || more.timestamp != header.timestamp {
            break;
        }
        let start = payload.len();
        payload.resize(start + more.payload_len, 0);
        read(&mut data, at + FRAME_HEADER_LEN as u64, &mut payload[start..])?;
        at += more.frame_len() as u64;
        last_len = more.payload_len;
    }
    Ok((header, payload))
}

/// Bytes asked for in the first read of a key frame: its header and the payload of most.
const FIRST_READ: usize = 256 * 1024;

/// The largest key frame a thumbnail reads (a 4K key frame is a few MB).
const MAX_KEY_FRAME: usize = 64 * 1024 * 1024;

/// Decodes one self-contained fMP4 fragment (ftyp+moov+moof+mdat) to RGBA at most `max_width` wide.
pub fn decode(fragment: &[u8], max_width: u32) -> anyhow::Result<(u32, u32, usize, Vec<u8>)> {
    super::init()?;
    let pipeline = gst::Pipeline::with_name("thumbnail");
    let src = gst_app::AppSrc::builder()
        .caps(&gst::Caps::builder("video/quicktime").build())
        .format(gst::Format::Bytes)
        .build();
    let make = |name: &str| {
        gst::ElementFactory::make(name)
            .build()
            .with_context(|| format!("GStreamer element {name} is not installed"))
    };
    let demux = make("qtdemux")?;
    let decode = make("decodebin")?;
    let convert = make("videoconvert")?;
    let scale = make("videoscale")?;
    let filter = gst::ElementFactory::make("capsfilter")
        .property(
            "caps",
            gst::Caps::builder("video/x-raw")
                .field("format", "RGBA")
                .field("pixel-aspect-ratio", gst::Fraction::new(1, 1))
                .build(),
        )
        .build()?;
    let sink = gst_app::AppSink::builder().sync(false).max_buffers(1).build();
    pipeline.add_many([
        src.upcast_ref(),
        &demux,
        &decode,
        &convert,
        &scale,
        &filter,
        sink.upcast_ref(),
    ])?;
    src.link(&demux)?;
    gst::Element::link_many([&convert, &scale, &filter, sink.upcast_ref()])?;
    let decode_weak = decode.downgrade();
    demux.connect_pad_added(move |_, pad| {
        let Some(decode) = decode_weak.upgrade() else {
            return;
        };
        let Some(sinkpad) = decode.static_pad("sink") else {
            return;
        };
        if pad.name().starts_with("video") && !sinkpad.is_linked() {
            if let Err(e) = pad.link(&sinkpad) {
                tracing::warn!(error = ?e, "thumbnail: cannot link the video track");
            }
        }
    });
    let convert_weak = convert.downgrade();
    decode.connect_pad_added(move |_, pad| {
        let Some(convert) = convert_weak.upgrade() else {
            return;
        };
        let Some(sinkpad) = convert.static_pad("sink") else {
            return;
        };
        if !sinkpad.is_linked() {
            if let Err(e) = pad.link(&sinkpad) {
                tracing::warn!(error = ?e, "thumbnail: cannot link the decoder");
            }
        }
    });
    // Scale once the source size is known: keep the aspect ratio, never upscale.
    let filter_weak = filter.downgrade();
    if let Some(pad) = convert.static_pad("sink") {
        pad.connect_notify(Some("caps"), move |pad, _| {
            let (Some(filter), Some(caps)) = (filter_weak.upgrade(), pad.current_caps()) else {
                return;
            };
            let Some(s) = caps.structure(0) else { return };
            let (Ok(w), Ok(h)) = (s.get::<i32>("width"), s.get::<i32>("height")) else {
                return;
            };
            let (tw, th) = fit(w.max(1) as u32, h.max(1) as u32, max_width);
            filter.set_property(
                "caps",
                gst::Caps::builder("video/x-raw")
                    .field("format", "RGBA")
                    .field("width", tw as i32)
                    .field("height", th as i32)
                    .field("pixel-aspect-ratio", gst::Fraction::new(1, 1))
                    .build(),
            );
        });
    }
    pipeline
        .set_state(gst::State::Playing)
        .context("cannot start the thumbnail decoder")?;
    let pushed = src
        .push_buffer(gst::Buffer::from_slice(fragment.to_vec()))
        .map_err(|e| anyhow!("cannot feed the decoder: {e:?}"))
        .and_then(|_| {
            src.end_of_stream()
                .map_err(|e| anyhow!("cannot end the decoder's input: {e:?}"))
        });
    let result = pushed.and_then(|_| pull(&sink, &pipeline));
    if pipeline.set_state(gst::State::Null).is_err() {
        tracing::warn!("thumbnail decoder did not stop cleanly");
    }
    result
}

/// Waits for the decoded image (or the pipeline's error).
fn pull(sink: &gst_app::AppSink, pipeline: &gst::Pipeline) -> anyhow::Result<(u32, u32, usize, Vec<u8>)> {
    let sample = match sink.try_pull_sample(gst::ClockTime::from_nseconds(DECODE_TIMEOUT.as_nanos() as u64)) {
        Some(sample) => sample,
        None => {
            let detail = pipeline
                .bus()
                .and_then(|bus| bus.pop_filtered(&[gst::MessageType::Error]))
                .and_then(|m| match m.view() {
                    gst::MessageView::Error(e) => Some(format!("{} ({:?})", e.error(), e.debug())),
                    _ => None,
                })
                .unwrap_or_else(|| format!("no image within {DECODE_TIMEOUT:?}"));
            bail!("the frame does not decode: {detail}");
        }
    };
    let caps = sample
        .caps()
        .ok_or_else(|| anyhow!("decoded image without caps"))?;
    let info = gst_video::VideoInfo::from_caps(caps).context("decoded image with unusable caps")?;
    let buffer = sample
        .buffer()
        .ok_or_else(|| anyhow!("decoded image without pixels"))?;
    let map = buffer.map_readable().context("cannot map the decoded image")?;
    let stride = info.stride()[0].max(0) as usize;
    let height = info.height();
    let needed = stride * height as usize;
    let pixels = map
        .as_slice()
        .get(..needed)
        .ok_or_else(|| anyhow!("decoded image is short"))?;
    Ok((info.width(), height, stride, pixels.to_vec()))
}

/// The size that fits `w`x`h` into `max_width` keeping the aspect ratio, even sizes, never upscaled.
pub fn fit(w: u32, h: u32, max_width: u32) -> (u32, u32) {
    if w <= max_width {
        return (w, h);
    }
    let tw = max_width.max(2) & !1;
    let th = ((u64::from(h) * u64::from(tw) / u64::from(w)) as u32).max(2) & !1;
    (tw, th)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thumbnails_keep_the_aspect_ratio_and_never_upscale() {
        assert_eq!(fit(640, 360, 160), (160, 90));
        assert_eq!(fit(1920, 1080, 240), (240, 134));
        assert_eq!(fit(160, 120, 320), (160, 120));
        assert_eq!(fit(1000, 3, 100), (100, 2));
    }
}
