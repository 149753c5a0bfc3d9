//! `GET /streams/{scope}/{stream}/index.m3u8` and `iframes.m3u8`: playlists from the index
//! ([`hindsight_store::hls`]), with `begin`/`end` (RFC 3339) and `target` (seconds to merge GOPs into, for
//! complete playlists). Rendered playlists are cached ([`super::cache`]), so a live playlist is built once per
//! GOP however many clients poll it.

use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use hindsight_store::hls::{self, InitSection, KeyFrame, PlaylistOptions, Segment};
use hindsight_store::video::{read_exact_at, IndexReader, VideoStreamNames};
use hindsight_store::{Backend, StreamName, Timestamp, DEFAULT_RANGE_GAP};
use serde::Deserialize;

use super::cache::Rendered;
use super::error::{blocking, ApiError};
use super::media::stream_name;
use super::AppState;

/// Segments of complete playlists merge GOPs up to this by default; live playlists list every GOP (a listed
/// segment never changes, and the newest is at most one GOP behind the writer).
const DEFAULT_TARGET: Duration = Duration::from_secs(6);
/// The media URI in playlists, relative to them: the data stream under a name players accept for segments.
const MEDIA_URI: &str = "data.mp4";
/// Bytes read at the start of a key frame to find its ftyp+moov.
const INIT_PROBE: usize = 64 * 1024;

/// The query of a playlist request.
#[derive(Debug, Deserialize, Default)]
pub struct PlaylistQuery {
    begin: Option<String>,
    end: Option<String>,
    target: Option<String>,
    token: Option<String>,
}

/// Which playlist.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Kind {
    Media,
    IFrames,
}

fn time(text: Option<&str>, what: &str) -> Result<Option<Timestamp>, ApiError> {
    text.map(|t| {
        Timestamp::parse_rfc3339(t).map_err(|e| ApiError::bad_request(format!("bad {what} time {t:?}: {e}")))
    })
    .transpose()
}

fn target(text: Option<&str>) -> Result<Option<Duration>, ApiError> {
    text.map(|t| {
        t.parse::<f64>()
            .ok()
            .filter(|s| s.is_finite() && (0.1..=600.0).contains(s))
            .map(Duration::from_secs_f64)
            .ok_or_else(|| ApiError::bad_request(format!("bad target {t:?}: seconds from 0.1 to 600")))
    })
    .transpose()
}

/// `index.m3u8`.
pub async fn media(
    state: State<AppState>,
    path: Path<(String, String)>,
    query: Query<PlaylistQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    playlist(state, path, query, headers, Kind::Media).await
}

/// `iframes.m3u8`.
pub async fn iframes(
    state: State<AppState>,
    path: Path<(String, String)>,
    query: Query<PlaylistQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    playlist(state, path, query, headers, Kind::IFrames).await
}

async fn playlist(
    State(state): State<AppState>,
    Path((scope, stream)): Path<(String, String)>,
    Query(q): Query<PlaylistQuery>,
    headers: HeaderMap,
    kind: Kind,
) -> Result<Response, ApiError> {
    let name = stream_name(&scope, &stream)?;
    let begin = time(q.begin.as_deref(), "begin")?;
    let end = time(q.end.as_deref(), "end")?;
    if let (Some(b), Some(e)) = (begin, end) {
        if e <= b {
            return Err(ApiError::bad_request("end must be after begin"));
        }
    }
    let target = target(q.target.as_deref())?;
    // The media URI is relative to the playlist; it carries the token the playlist was asked with.
    let media_uri = match &q.token {
        Some(t) if state.token.is_some() => format!("{MEDIA_URI}?token={}", url_encode(t)),
        _ => MEDIA_URI.to_owned(),
    };
    let key = format!("{kind:?} {name} {begin:?} {end:?} {target:?} {media_uri}");
    let (store, cache) = (state.store.clone(), state.cache.clone());
    blocking(move || {
        let names = VideoStreamNames::new(&name)?;
        if !store.exists(&names.data)? {
            return Err(ApiError::not_found(format!("stream {name} does not exist")));
        }
        let data = store.info(&names.data)?;
        let index_tail = store.info(&names.index)?.tail;
        let live = data.writer_active == Some(true) && !data.sealed;
        // The response is made here, on a blocking thread: compressing a large playlist the first time is
        // work the runtime's threads should not do.
        let respond = |r: &Rendered| r.response(&headers, "application/vnd.apple.mpegurl");
        if let Some(hit) = cache.get(&key, index_tail, live) {
            return Ok(respond(&hit));
        }
        let (_, records) = IndexReader::open(store.as_ref(), &name)?.read_all()?;
        let opts = PlaylistOptions {
            media_uri,
            target: match (target, live && end.is_none()) {
                (_, true) => Duration::ZERO,
                (Some(t), false) => t,
                (None, false) => DEFAULT_TARGET,
            },
            gap: DEFAULT_RANGE_GAP,
            begin,
            end,
            live,
        };
        let text = match kind {
            Kind::Media => {
                let segs = hls::segments(&records, &opts);
                hls::media_playlist(&segs, &opts, |s| init_section(store.as_ref(), &name, s))
            }
            Kind::IFrames => {
                let gop_opts = PlaylistOptions {
                    target: Duration::ZERO,
                    ..opts.clone()
                };
                let frames = key_frames(store.as_ref(), &name, &hls::segments(&records, &gop_opts))?;
                hls::iframe_playlist(&frames, &opts, |s| init_section(store.as_ref(), &name, s))
            }
        };
        let rendered = Rendered::new(text);
        cache.put(key, index_tail, live, rendered.clone());
        Ok(respond(&rendered))
    })
    .await
}

/// The ftyp+moov at the start of the key frame a run's first segment starts at; `None` when the frame does not
/// start with them (the segments are then self-contained as they are).
fn init_section(store: &dyn Backend, name: &StreamName, s: &Segment) -> Option<InitSection> {
    let mut reader = store.reader(name).ok()?;
    let mut buf = vec![0u8; INIT_PROBE];
    let payload = s.start + hindsight_store::format::FRAME_HEADER_LEN as u64;
    let avail = (s.end.saturating_sub(payload) as usize).min(INIT_PROBE);
    let buf = &mut buf[..avail];
    if !read_exact_at(reader.as_mut(), payload, buf).ok()? {
        return None;
    }
    let mut len = 0usize;
    for kind in [b"ftyp", b"moov"] {
        let b = gstpravega::fmp4::box_at(buf, len).ok().flatten()?;
        if &b.kind != kind {
            return None;
        }
        len = b.end;
    }
    Some(InitSection::in_frame(s.start, len as u64))
}

/// Each GOP's key frame with the length of its frame (read from its header).
fn key_frames(store: &dyn Backend, name: &StreamName, gops: &[Segment]) -> Result<Vec<KeyFrame>, ApiError> {
    let mut reader = store.reader(name)?;
    let mut out = Vec::with_capacity(gops.len());
    let mut h = [0u8; hindsight_store::format::FRAME_HEADER_LEN];
    for g in gops {
        if !read_exact_at(reader.as_mut(), g.start, &mut h)? {
            continue;
        }
        let header = hindsight_store::FrameHeader::decode(&h)
            .map_err(|e| ApiError::internal(format!("{name}: corrupt frame at {}: {e}", g.start)))?;
        out.push(KeyFrame {
            gop: *g,
            len: (header.frame_len() as u64).min(g.end - g.start),
        });
    }
    Ok(out)
}

/// Percent-encodes a query value.
pub fn url_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_values_are_checked() {
        assert!(time(Some("yesterday"), "begin").is_err());
        assert!(time(Some("2024-05-01T12:00:00Z"), "begin")
            .expect("time")
            .is_some());
        assert!(target(Some("-1")).is_err() && target(Some("NaN")).is_err() && target(Some("1e9")).is_err());
        assert_eq!(
            target(Some("2.5")).expect("target"),
            Some(Duration::from_millis(2500))
        );
        assert_eq!(url_encode("a b&c"), "a%20b%26c");
    }
}
