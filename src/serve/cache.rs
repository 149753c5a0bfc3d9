//! Rendered playlists, kept by what they depend on (the index's length and whether the stream is being
//! written), and compressed once for the clients that take gzip: a 24-hour playlist is 1.5 MB of text that
//! gzip makes about a tenth of, and fifty viewers polling one camera should cost one rendering and one
//! compression, not fifty.

use std::collections::HashMap;
use std::io::Write as _;
use std::sync::{Arc, Mutex, OnceLock};

use axum::body::{Body, Bytes};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::Response;

/// Playlists kept; the one used longest ago goes first.
const ENTRIES: usize = 64;
/// Smaller bodies go out as they are: compressing them saves less than it costs.
const COMPRESS_FROM: usize = 1024;

/// A rendered playlist.
pub struct Rendered {
    text: Bytes,
    gzip: OnceLock<Option<Bytes>>,
}

impl Rendered {
    pub fn new(text: String) -> Arc<Self> {
        Arc::new(Rendered {
            text: Bytes::from(text),
            gzip: OnceLock::new(),
        })
    }

    /// The gzip body, made on first use; `None` when not worth it (or the encoder failed, which it only does
    /// out of memory: the text is served then).
    fn gzip(&self) -> Option<&Bytes> {
        self.gzip
            .get_or_init(|| {
                if self.text.len() < COMPRESS_FROM {
                    return None;
                }
                // The fastest level: a playlist is repetitive enough that it compresses to a tenth anyway.
                let mut enc = flate2::write::GzEncoder::new(
                    Vec::with_capacity(self.text.len() / 8),
                    flate2::Compression::fast(),
                );
                enc.write_all(&self.text)
                    .and_then(|()| enc.finish())
                    .map(Bytes::from)
                    .ok()
            })
            .as_ref()
    }

    /// The response for a request with `request` headers: gzip when the client takes it.
    pub fn response(&self, request: &HeaderMap, content_type: &'static str) -> Response {
        let gzip = accepts_gzip(request).then(|| self.gzip()).flatten();
        let mut response = Response::new(Body::from(gzip.unwrap_or(&self.text).clone()));
        let h = response.headers_mut();
        h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
        // Players poll a live playlist: they must ask again, and a cache between must not mix encodings.
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        h.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
        if gzip.is_some() {
            h.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        }
        response
    }
}

/// True when `Accept-Encoding` lists gzip (or `*`) with a weight above zero (RFC 9110 §12.5.3).
fn accepts_gzip(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|item| {
            let mut parts = item.split(';').map(str::trim);
            let coding = parts.next().unwrap_or("");
            let weight = parts
                .filter_map(|p| p.strip_prefix("q=").or_else(|| p.strip_prefix("Q=")))
                .filter_map(|q| q.trim().parse::<f32>().ok())
                .next_back()
                .unwrap_or(1.0);
            (coding.eq_ignore_ascii_case("gzip") || coding == "*") && weight > 0.0
        })
}

struct Entry {
    index_tail: u64,
    live: bool,
    used: u64,
    rendered: Arc<Rendered>,
}

/// Rendered playlists by request.
#[derive(Default)]
pub struct Cache {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    entries: HashMap<String, Entry>,
    clock: u64,
}

impl Cache {
    /// The playlist rendered for `key` when the index was `index_tail` bytes long and the stream as `live`.
    pub fn get(&self, key: &str, index_tail: u64, live: bool) -> Option<Arc<Rendered>> {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        inner.clock += 1;
        let now = inner.clock;
        let e = inner
            .entries
            .get_mut(key)
            .filter(|e| e.index_tail == index_tail && e.live == live)?;
        e.used = now;
        Some(e.rendered.clone())
    }

    pub fn put(&self, key: String, index_tail: u64, live: bool, rendered: Arc<Rendered>) {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        inner.clock += 1;
        let used = inner.clock;
        if inner.entries.len() >= ENTRIES && !inner.entries.contains_key(&key) {
            let oldest = inner
                .entries
                .iter()
                .min_by_key(|(_, e)| e.used)
                .map(|(k, _)| k.clone());
            if let Some(k) = oldest {
                inner.entries.remove(&k);
            }
        }
        inner.entries.insert(
            key,
            Entry {
                index_tail,
                live,
                used,
                rendered,
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(accept: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            header::ACCEPT_ENCODING,
            HeaderValue::from_str(accept).expect("header"),
        );
        h
    }

    #[test]
    fn gzip_only_when_the_client_takes_it() {
        assert!(accepts_gzip(&headers("gzip, deflate, br")));
        assert!(accepts_gzip(&headers("br;q=1.0, GZIP;q=0.5")));
        assert!(accepts_gzip(&headers("*")));
        assert!(!accepts_gzip(&headers("gzip;q=0")));
        assert!(!accepts_gzip(&headers("identity")));
        assert!(!accepts_gzip(&headers("gzipx")));
        assert!(!accepts_gzip(&HeaderMap::new()));
    }

    #[test]
    fn a_large_playlist_goes_out_compressed_and_inflates_to_the_text() {
        let text: String = (0..2000)
            .map(|i| format!("#EXTINF:6.000,\n#EXT-X-BYTERANGE:{i}@0\n"))
            .collect();
        let r = Rendered::new(text.clone());
        let plain = r.response(&HeaderMap::new(), "text/plain");
        assert!(plain.headers().get(header::CONTENT_ENCODING).is_none());
        let zipped = r.response(&headers("gzip"), "text/plain");
        assert_eq!(zipped.headers()[header::CONTENT_ENCODING], "gzip");
        let body = r.gzip().expect("compressed").clone();
        assert!(body.len() * 5 < text.len(), "{} of {}", body.len(), text.len());
        let mut back = String::new();
        std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&body[..]), &mut back)
            .expect("inflate");
        assert_eq!(back, text);
        // A small one is not worth it.
        assert!(Rendered::new("#EXTM3U\n".into())
            .response(&headers("gzip"), "x")
            .headers()
            .get(header::CONTENT_ENCODING)
            .is_none());
    }

    #[test]
    fn entries_answer_only_for_the_same_index_and_the_oldest_goes_first() {
        let c = Cache::default();
        c.put("k".into(), 100, true, Rendered::new("p".into()));
        assert!(c.get("k", 100, true).is_some());
        assert!(c.get("k", 120, true).is_none(), "the index grew");
        assert!(c.get("k", 100, false).is_none(), "the writer stopped");
        for i in 0..ENTRIES {
            c.put(format!("other {i}"), 1, false, Rendered::new(String::new()));
            // "k" is in use all along: never the oldest.
            assert!(c.get("k", 100, true).is_some(), "after {i}");
        }
        assert!(c.get("other 0", 1, false).is_none(), "the oldest went");
    }
}
